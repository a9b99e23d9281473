package sfu

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// audioDown is an audio track as one subscriber receives it: the packets
// as published, with this subscriber's SSRC and payload type. It
// implements webrtc.TrackLocal; the track's forwarding goroutine is its
// only writer, through the binding it adds to the track's list when bound
// (values side by side: the fan-out does not chase a pointer or two per
// subscriber, each a likely cache miss).
type audioDown struct {
	t *Track
	b atomic.Pointer[audioBinding] // nil: not bound (yet, or any more)
}

// audioBinding is what the forwarding loop needs of a bound subscriber.
type audioBinding struct {
	ws   webrtc.TrackLocalWriter
	ssrc uint32
	pt   uint8
	a    *audioDown
	base srCounts // the track's counts when bound
}

// Bind implements webrtc.TrackLocal.
func (a *audioDown) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, a.t.codec.MimeType) {
			a.t.srMu.Lock()
			base := a.t.sr
			a.t.srMu.Unlock()
			b := audioBinding{ws: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), a: a, base: base}
			a.unbind() // bound once: never twice in the fan-out
			a.b.Store(&b)
			cowAdd(&a.t.downMu, &a.t.auds, b)
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// Unbind implements webrtc.TrackLocal.
func (a *audioDown) Unbind(webrtc.TrackLocalContext) error {
	a.unbind()
	return nil
}

// unbind takes the subscriber out of the fan-out.
func (a *audioDown) unbind() {
	a.b.Store(nil)
	cowRemove(&a.t.downMu, &a.t.auds, func(b audioBinding) bool { return b.a != a })
}

func (a *audioDown) ID() string                       { return a.t.ID }
func (a *audioDown) RID() string                      { return "" }
func (a *audioDown) StreamID() string                 { return a.t.StreamID }
func (a *audioDown) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeAudio }
func (a *audioDown) Codec() webrtc.RTPCodecCapability { return a.t.codec }

// senderCounts are the counts of the stream this subscriber receives.
func (a *audioDown) senderCounts() (srCounts, uint32) {
	b := a.b.Load()
	if b == nil {
		return srCounts{}, 0
	}
	a.t.srMu.Lock()
	c := a.t.sr
	a.t.srMu.Unlock()
	return c.since(b.base), b.ssrc
}

// forward is the hot path of an audio track: each packet is parsed once
// and written to every subscriber as a copy of its header (SSRC and
// payload type rewritten) and the shared payload; the writes are sent
// together when the fan-out ends (out). The clock is read once per
// packet.
func (t *Track) forward(st *Stats, out fanout) {
	defer t.doneOnce.Do(func() { close(t.done) })
	buf := make([]byte, 1500)
	var h rtp.Header
	var lastSeq uint16
	for {
		n, _, err := t.remote.Read(buf)
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		if t.level != nil {
			t.level.observe(buf[:n], now)
		}
		downs := t.auds.Load()
		if !t.received(n, downs != nil && len(*downs) > 0, st) {
			continue
		}
		payload, ok := parsePacket(&h, buf[:n])
		if !ok {
			continue
		}
		if t.tccID != 0 {
			// The publisher's transport-wide number: subscribers would
			// report on it (see ccStrip). Removed here once, not in each
			// subscriber's copy, which shares the extensions' storage.
			_ = h.DelExtension(t.tccID)
		}
		t.srMu.Lock()
		t.sr.add(len(payload), h.Timestamp, now, int16(h.SequenceNumber-lastSeq) > 0)
		t.srMu.Unlock()
		lastSeq = h.SequenceNumber
		// A failing subscriber does not stop the others: a broken
		// binding leaves with its participant.
		sent := 0
		out.hold()
		// One header, rewritten for each subscriber: the writers below
		// marshal it and keep nothing.
		for i := range *downs {
			b := &(*downs)[i]
			h.SSRC, h.PayloadType = b.ssrc, b.pt
			if _, err := b.ws.WriteRTP(&h, payload); err == nil {
				sent++
			}
		}
		out.release()
		st.PacketsOut.Add(uint64(sent))
		st.BytesOut.Add(uint64(sent * (h.MarshalSize() + len(payload))))
	}
}

// received counts a packet read from the publisher and reports whether
// it is to be forwarded: someone subscribes, and the track is not paused.
func (t *Track) received(n int, subscribed bool, st *Stats) bool {
	st.PacketsIn.Add(1)
	st.BytesIn.Add(uint64(n))
	if !subscribed {
		return false
	}
	if t.paused.Load() {
		st.PacketsMuted.Add(1)
		return false
	}
	return true
}

// parsePacket reads an RTP packet's header into h and returns its
// payload without padding (false: malformed, or padding only — a
// bandwidth probe, nothing to forward).
func parsePacket(h *rtp.Header, b []byte) ([]byte, bool) {
	hl, err := h.Unmarshal(b)
	if err != nil {
		return nil, false
	}
	end := len(b)
	if h.Padding {
		pad := int(b[end-1])
		if pad == 0 || hl+pad > end {
			return nil, false
		}
		end -= pad
		h.Padding, h.PaddingSize = false, 0
	}
	return b[hl:end], end > hl
}
