package sfu

import (
	"math/rand/v2"
	"time"

	"github.com/pion/rtcp"
)

// Sender reports (RFC 3550 6.4.1) of the streams the SFU sends: a
// receiver maps each stream's RTP timestamps to wall time with them — the
// audio and video of one participant are played in sync only through
// this mapping — and compares the counts with what it received.
//
// The counts live with the writer of each stream, updated as it writes,
// under the lock it already holds (downTrack.mu) or once per fan-out for
// all the subscribers of an audio track (Track.srMu); the time is the
// fan-out's own clock read. Each peer sends its reports from one
// goroutine, about once a second.

// srCounts is one outgoing stream as its sender report tells it: packets
// and payload octets sent, and the RTP timestamp of the newest packet with
// the wall time it was sent.
type srCounts struct {
	packets, octets uint32
	ts              uint32
	at              int64 // unix ns; 0: nothing sent yet
}

// add counts a packet sent at now; newest: its sequence number is the
// highest sent so far (a late packet does not move the mapping back).
func (c *srCounts) add(payload int, ts uint32, now int64, newest bool) {
	c.packets++
	c.octets += uint32(payload)
	if newest || c.at == 0 {
		c.ts, c.at = ts, now
	}
}

// since is c less the counts of base: a subscriber bound to an audio
// track after it started counts from then.
func (c srCounts) since(base srCounts) srCounts {
	c.packets -= base.packets
	c.octets -= base.octets
	return c
}

// report is the sender report of stream ssrc at now: the newest
// timestamp carried forward by the time elapsed since it was sent.
func (c srCounts) report(ssrc, clockRate uint32, now time.Time) *rtcp.SenderReport {
	elapsed := now.UnixNano() - c.at
	return &rtcp.SenderReport{
		SSRC:        ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     c.ts + uint32(elapsed*int64(clockRate)/1e9),
		PacketCount: c.packets,
		OctetCount:  c.octets,
	}
}

// ntpTime is t in NTP format: seconds since 1900 and a 32-bit fraction.
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2_208_988_800
	sec := uint64(t.Unix()) + unixToNTP
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac
}

const (
	// srInterval is the mean time between a peer's reports, jittered
	// by ±50 % so that peers do not report in step.
	srInterval = time.Second
	// srPerPacket: sender reports per compound RTCP packet (28 bytes
	// each: well within one datagram).
	srPerPacket = 32
)

// sendReports sends the peer's sender reports until stop is closed.
func (p *Peer) sendReports(stop <-chan struct{}) {
	t := time.NewTimer(srInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		pkts := p.senderReports(time.Now())
		// Held like a fan-out: this goroutine sends its own datagrams
		// (no wake-up of the batch sender).
		p.sfu.out.hold()
		for len(pkts) > 0 {
			n := min(len(pkts), srPerPacket)
			_ = p.pc.WriteRTCP(pkts[:n])
			pkts = pkts[n:]
		}
		p.sfu.out.release()
		t.Reset(srInterval/2 + rand.N(srInterval))
	}
}

// senderReports are the reports of every stream sent to the peer that
// has sent something.
func (p *Peer) senderReports(now time.Time) []rtcp.Packet {
	p.mu.Lock()
	subs := make([]subscription, 0, len(p.subs))
	for _, s := range p.subs {
		subs = append(subs, s)
	}
	p.mu.Unlock()
	var pkts []rtcp.Packet
	for _, s := range subs {
		var c srCounts
		var ssrc uint32
		switch {
		case s.down != nil:
			c, ssrc = s.down.senderCounts()
		case s.aud != nil:
			c, ssrc = s.aud.senderCounts()
		}
		if ssrc != 0 && c.at != 0 {
			pkts = append(pkts, c.report(ssrc, s.t.clockRate, now))
		}
	}
	return pkts
}
