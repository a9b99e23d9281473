package sfu

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

func TestIsH264Keyframe(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"IDR", []byte{0x65, 0x88}, true},
		{"SPS", []byte{0x67, 0x42}, true},
		{"non-IDR slice", []byte{0x41, 0x9a}, false},
		{"STAP-A SPS+PPS", []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true},
		{"STAP-A SEI only", []byte{0x78, 0, 2, 0x06, 0x05}, false},
		{"STAP-A truncated", []byte{0x78, 0, 9, 0x67}, false},
		{"FU-A IDR start", []byte{0x7c, 0x85, 0x88}, true},
		{"FU-A IDR middle", []byte{0x7c, 0x05, 0x88}, false},
		{"FU-A non-IDR start", []byte{0x7c, 0x81}, false},
		{"empty", nil, false},
	} {
		if got := IsH264Keyframe(tc.p); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func FuzzIsH264Keyframe(f *testing.F) {
	f.Add([]byte{0x78, 0, 2, 0x67, 0x42})
	f.Fuzz(func(t *testing.T, b []byte) { IsH264Keyframe(b) })
}

func FuzzParseVP8Desc(f *testing.F) {
	f.Add([]byte{0x90, 0xc0, 0x81, 0x02, 0x07, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d vp8Desc
		parseVP8Desc(b, &d)
		d.put(b, d.pic+1, d.tl0+1)
	})
}

// vp8Packet is a VP8 payload with a 15-bit picture id and a TL0PICIDX.
func vp8Packet(pic uint16, tl0 uint8, key bool) []byte {
	p := []byte{0x90, 0xc0, 0x80 | byte(pic>>8), byte(pic), tl0, 0x01, 0xaa}
	if key {
		p[5] = 0x00
	}
	return p
}

type sink struct {
	hdrs []rtp.Header
	pls  [][]byte
}

func (s *sink) WriteRTP(h *rtp.Header, p []byte) (int, error) {
	if s.hdrs != nil || s.pls != nil {
		s.hdrs = append(s.hdrs, h.Clone())
		s.pls = append(s.pls, append([]byte(nil), p...))
	}
	return len(p), nil
}
func (s *sink) Write(b []byte) (int, error) { return len(b), nil }

// A subscriber switched from one encoding to another sees picture ids and
// TL0PICIDX continue from where they were, header extensions under its
// own ids (mid and rid dropped), and retransmissions on its RTX stream
// with the original sequence number in front.
func TestDownTrackRewrite(t *testing.T) {
	tr := &Track{codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, vp8: true, isKey: IsVP8Keyframe}
	for i := range numLayers {
		tr.layers[i].Store(&layer{idx: i, ring: newRing()})
	}
	s := &sink{hdrs: []rtp.Header{}}
	d := newDownTrack(tr)
	d.ws, d.ssrc, d.pt, d.vp8 = s, 1111, 96, true
	d.rtxSSRC, d.rtxPT = 2222, 97
	d.extMap = extMapping(
		[]webrtc.RTPHeaderExtensionParameter{{URI: sdp.SDESMidURI, ID: 4}, {URI: "urn:3gpp:video-orientation", ID: 13}},
		[]webrtc.RTPHeaderExtensionParameter{{URI: sdp.SDESMidURI, ID: 1}, {URI: "urn:3gpp:video-orientation", ID: 7}},
	)
	var st Stats
	send := func(layer int, seq uint16, pic uint16, tl0 uint8, key bool) {
		h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 9}
		_ = h.SetExtension(4, []byte("0"))
		_ = h.SetExtension(13, []byte{1})
		pl := vp8Packet(pic, tl0, key)
		raw, _ := (&rtp.Packet{Header: h, Payload: pl}).Marshal()
		tr.layers[layer].Load().ring.put(raw)
		var vd vp8Desc
		parseVP8Desc(pl, &vd)
		d.write(layer, &h, pl, key, &vd, &st, time.Now())
	}
	d.target = LayerHigh
	send(LayerHigh, 100, 500, 20, true)
	send(LayerHigh, 101, 501, 21, false)
	d.target = LayerLow
	send(LayerLow, 7000, 30000, 200, true) // switch
	send(LayerLow, 7001, 30001, 200, false)
	if len(s.hdrs) != 4 {
		t.Fatalf("%d packets written", len(s.hdrs))
	}
	for i, want := range []struct {
		seq uint16
		pic uint16
		tl0 uint8
	}{{100, 500, 20}, {101, 501, 21}, {102, 502, 22}, {103, 503, 22}} {
		var vd vp8Desc
		parseVP8Desc(s.pls[i], &vd)
		h := s.hdrs[i]
		if h.SequenceNumber != want.seq || vd.pic != want.pic || vd.tl0 != want.tl0 || h.SSRC != 1111 {
			t.Errorf("packet %d: seq %d pic %d tl0 %d ssrc %d, want %+v", i, h.SequenceNumber, vd.pic, vd.tl0, h.SSRC, want)
		}
		if h.GetExtension(1) != nil || h.GetExtension(4) != nil || len(h.GetExtension(7)) != 1 || h.GetExtension(13) != nil {
			t.Errorf("packet %d: extensions %v", i, h.Extensions)
		}
	}
	// NACK of outgoing 103 (layer low, 7001): RTX with OSN 103, once
	// within resendGap.
	d.retransmit(103, &st)
	d.retransmit(103, &st)
	if len(s.hdrs) != 5 || st.RTXSent.Load() != 1 {
		t.Fatalf("retransmissions: %d packets, %d RTX", len(s.hdrs)-4, st.RTXSent.Load())
	}
	h, pl := s.hdrs[4], s.pls[4]
	if h.SSRC != 2222 || h.PayloadType != 97 || pl[0] != 0 || pl[1] != 103 {
		t.Fatalf("RTX: ssrc %d pt %d osn %x", h.SSRC, h.PayloadType, pl[:2])
	}
	var vd vp8Desc
	parseVP8Desc(pl[2:], &vd)
	if vd.pic != 503 || len(h.GetExtension(7)) != 1 {
		t.Fatalf("RTX payload: pic %d, extensions %v", vd.pic, h.Extensions)
	}
	d.retransmit(99, &st) // before the stream: ignored
	if len(s.hdrs) != 5 {
		t.Fatal("resent a packet it never sent")
	}
}

// BenchmarkForwardPacket is the per-subscriber hot path: rewrite and
// write one packet (the writer discards), then the same through the
// congestion-control writer (transport sequence stamping and send
// history); no allocation.
func BenchmarkForwardPacket(b *testing.B) {
	tr := &Track{codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, vp8: true, isKey: IsVP8Keyframe}
	tr.layers[LayerHigh].Store(&layer{idx: LayerHigh, ring: newRing()})
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1, SSRC: 9}
	_ = h.SetExtension(13, []byte{1})
	pl := append(vp8Packet(1, 1, true), make([]byte, 1100)...)
	var vd vp8Desc
	parseVP8Desc(pl, &vd)
	var st Stats
	for _, withCC := range []bool{false, true} {
		name := "plain"
		d := newDownTrack(tr)
		d.ws, d.ssrc, d.pt, d.vp8 = &sink{}, 1111, 96, true
		d.extMap = []extPair{{13, 7}}
		if withCC {
			name = "cc"
			w := &ccWriter{e: newSendSide(), ext: 3, w: interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, _ interceptor.Attributes) (int, error) { return len(p), nil })}
			d.ws = ccTrackWriter{w}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				h.SequenceNumber = uint16(i)
				d.write(LayerHigh, &h, pl, i == 0, &vd, &st, time.Unix(0, int64(i+1)))
			}
		})
	}
}

type ccTrackWriter struct{ w *ccWriter }

func (w ccTrackWriter) WriteRTP(h *rtp.Header, p []byte) (int, error) { return w.w.Write(h, p, nil) }
func (w ccTrackWriter) Write(b []byte) (int, error)                   { return len(b), nil }
