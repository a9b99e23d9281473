package meet_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"bureau/services/meet/internal/signal"
)

// received is what a subscriber got of one stream when a sender report
// came: packets and payload octets, and the newest packet's timestamp
// with its arrival time.
type received struct {
	packets, octets int64
	seq             uint16
	ts              uint32
	at              time.Time
}

// srWatch counts, per SSRC, the RTP a client receives, as it arrives.
type srWatch struct {
	mu      sync.Mutex
	streams map[uint32]*received
}

func (w *srWatch) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &srWatchInterceptor{w: w}, nil
}

type srWatchInterceptor struct {
	interceptor.NoOp
	w *srWatch
}

func (i *srWatchInterceptor) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	var h rtp.Header
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil {
			return n, a, err
		}
		hl, herr := h.Unmarshal(b[:n])
		if herr != nil {
			return n, a, err
		}
		pad := 0
		if h.Padding {
			pad = int(b[n-1])
		}
		now := time.Now()
		i.w.mu.Lock()
		s := i.w.streams[h.SSRC]
		if s == nil {
			s = &received{seq: h.SequenceNumber - 1}
			i.w.streams[h.SSRC] = s
		}
		s.packets++
		s.octets += int64(n - hl - pad)
		if int16(h.SequenceNumber-s.seq) > 0 {
			s.seq, s.ts, s.at = h.SequenceNumber, h.Timestamp, now
		}
		i.w.mu.Unlock()
		return n, a, err
	})
}

// report is a sender report and what had arrived of its stream when it
// was read, at read.
type report struct {
	sr   rtcp.SenderReport
	got  received
	read time.Time
}

// readReports reads the RTCP of every receiver of c and sends the sender
// reports on out, with what had arrived of their streams.
func (w *srWatch) readReports(c *client, out chan<- report) {
	for _, r := range c.pc.GetReceivers() {
		go func() {
			for {
				pkts, _, err := r.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					sr, ok := p.(*rtcp.SenderReport)
					if !ok {
						continue
					}
					now := time.Now()
					w.mu.Lock()
					s := w.streams[sr.SSRC]
					var got received
					if s != nil {
						got = *s
					}
					w.mu.Unlock()
					if s != nil {
						select {
						case out <- report{*sr, got, now}:
						default:
						}
					}
				}
			}
		}()
	}
}

// ntpToTime reads an NTP timestamp.
func ntpToTime(v uint64) time.Time {
	const unixToNTP = 2_208_988_800
	sec := int64(v>>32) - unixToNTP
	return time.Unix(sec, int64((v&0xffffffff)*1e9>>32))
}

// check compares a sender report with what arrived: the counts agree
// (give or take what is in flight and what the reader has not read yet),
// and the RTP timestamp of the newest packet, mapped through the report,
// is the wall time it arrived, give or take the delivery delay — the
// mapping players synchronise audio and video with.
func (r report) check(t *testing.T, what string, clockRate int) {
	t.Helper()
	const slack = 25 // packets: in flight, or not yet read
	if d := int64(r.sr.PacketCount) - r.got.packets; d > slack || d < -slack {
		t.Fatalf("%s: report of %d packets, %d received", what, r.sr.PacketCount, r.got.packets)
	}
	if d := int64(r.sr.OctetCount) - r.got.octets; d > slack*1200 || d < -slack*1200 {
		t.Fatalf("%s: report of %d octets, %d received", what, r.sr.OctetCount, r.got.octets)
	}
	at := ntpToTime(r.sr.NTPTime).Add(-time.Duration(int32(r.sr.RTPTime-r.got.ts)) * time.Second / time.Duration(clockRate))
	if d := r.got.at.Sub(at); d < -50*time.Millisecond || d > 500*time.Millisecond {
		t.Fatalf("%s: timestamp %d maps to %s, arrived at %s (%s)", what, r.got.ts, at.Format(time.StampMicro), r.got.at.Format(time.StampMicro), d)
	}
}

// Subscribers get sender reports for every stream the SFU sends them,
// whose counts match what they received and whose RTP/NTP mapping agrees
// with the packets' timestamps: audio, video, and video after a
// simulcast layer switch. The subscriber joins after another one, so the
// audio it receives started before it.
func TestSenderReports(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub, _ := h.join(alice, r.ID, signal.TypeJoined)
	pub.publishSimulcast(ctx)
	carolC, _ := h.join(carol, r.ID, signal.TypeJoined)
	carolC.publish(ctx)
	pub.waitTracks(2) // carol's tracks flow before bob subscribes
	w := &srWatch{streams: map[uint32]*received{}}
	sub := h.dialWith(bob, r.ID, loopbackAPI(t, w))
	sub.send(signal.Message{Type: signal.TypeJoin})
	sub.expect(signal.TypeJoined)
	ks := sub.waitTracks(3)
	reports := make(chan report, 64)
	w.readReports(sub, reports)

	type stream struct {
		what string
		rate int
		k    *counter
		seen int
	}
	streams := map[uint32]*stream{}
	var simul *stream
	var audioFrom string // carol's participant id: the other video is alice's
	for _, k := range ks {
		if k.track.Kind() == webrtc.RTPCodecTypeAudio {
			audioFrom = k.track.StreamID()
		}
	}
	for _, k := range ks {
		s := &stream{what: k.track.Kind().String() + " " + k.track.StreamID(), rate: int(k.track.Codec().ClockRate), k: k}
		streams[uint32(k.track.SSRC())] = s
		if k.track.Kind() == webrtc.RTPCodecTypeVideo && k.track.StreamID() != audioFrom {
			simul = s
		}
	}
	if simul == nil || len(streams) != 3 {
		t.Fatalf("tracks: %v", streams)
	}
	// Two reports of each stream; then two more of the simulcast one
	// once it has switched layers.
	deadline := time.After(wait)
	need := func(ok func() bool) {
		t.Helper()
		for !ok() {
			select {
			case rep := <-reports:
				// Reports queued before the reader started (or while it
				// was held up) tell of fewer packets than it has seen since.
				if s := streams[rep.sr.SSRC]; s != nil && rep.read.Sub(ntpToTime(rep.sr.NTPTime)) < 200*time.Millisecond {
					rep.check(t, s.what, s.rate)
					s.seen++
				}
			case <-deadline:
				t.Fatalf("sender reports within %s: %+v", wait, streams)
			}
		}
	}
	need(func() bool {
		for _, s := range streams {
			if s.seen < 2 {
				return false
			}
		}
		return true
	})
	waitLayer(t, simul.k, "default", func(l int32) bool { return l == 2 })
	sub.send(signal.Message{Type: signal.TypeSetQuality, Track: simul.k.track.ID(), Quality: "low"})
	waitLayer(t, simul.k, "quality low", func(l int32) bool { return l == 0 })
	simul.seen = 0
	deadline = time.After(wait)
	need(func() bool { return simul.seen >= 2 })
}
