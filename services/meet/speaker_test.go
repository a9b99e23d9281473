package meet_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"bureau/services/meet/internal/signal"
)

// extID is the id the client negotiated for a header extension (0: none).
func (c *client) extID(uri string) uint8 {
	d := c.pc.LocalDescription()
	if d == nil {
		return 0
	}
	return signal.ExtmapID(d.SDP, uri)
}

// publishLevel sends Opus packets every 20 ms carrying the audio level
// extension (RFC 6464: -dBov, 0 loudest, 127 silence) from level.
func (c *client) publishLevel(ctx context.Context, level *atomic.Int32) {
	c.t.Helper()
	a, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", c.name)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.pc.AddTransceiverFromTrack(a, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		c.t.Fatal(err)
	}
	c.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "audio", Source: "microphone"}}})
	go func() {
		payload := bytes.Repeat([]byte{0xfc, 0xff, 0xfe}, 40)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var id uint8
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if id == 0 {
				if id = c.extID(sdp.AudioLevelURI); id == 0 {
					continue
				}
			}
			p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(i), Timestamp: uint32(i) * 960}, Payload: payload}
			_ = p.Header.SetExtension(id, []byte{byte(level.Load()) | 0x80})
			_ = a.WriteRTP(&p)
		}
	}()
}

// Two Opus publishers at different levels: the louder is the active
// speaker; when they swap levels, the speaker changes; a newcomer learns
// the current speaker in joined.
func TestActiveSpeaker(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	a, ja := h.join(alice, r.ID, signal.TypeJoined)
	b, jb := h.join(bob, r.ID, signal.TypeJoined)
	obs, _ := h.join(carol, r.ID, signal.TypeJoined)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var la, lb atomic.Int32
	la.Store(25) // -25 dBov: speaking
	lb.Store(70) // -70 dBov: room noise
	a.publishLevel(ctx, &la)
	b.publishLevel(ctx, &lb)
	if m := obs.expect(signal.TypeActiveSpeaker); m.ID != ja.Self.ID {
		t.Fatalf("active speaker %s, want alice %s", m.ID, ja.Self.ID)
	}
	la.Store(75)
	lb.Store(20)
	start := time.Now()
	if m := obs.expect(signal.TypeActiveSpeaker); m.ID != jb.Self.ID {
		t.Fatalf("active speaker %s, want bob %s", m.ID, jb.Self.ID)
	}
	t.Logf("speaker change detected in %s", time.Since(start).Round(time.Millisecond))
	// Close levels: hysteresis keeps bob while alice is not clearly louder
	// (2 dB), for 60 packets (1.2 s) of her audio.
	la.Store(18)
	k := obs.waitTracks(2)[0]
	for range 60 {
		k.next(t)
	}
	_, jd := h.join(frank, r.ID, signal.TypeJoined)
	if jd.Speaker != jb.Self.ID {
		t.Fatalf("joined.speaker %q, want bob", jd.Speaker)
	}
	// A marker proves no speaker change happened in between.
	a.send(signal.Message{Type: signal.TypeChat, Text: "marqueur"})
	obs.expectBefore(signal.TypeChat, func(m signal.Message) bool { return m.Text == "marqueur" }, signal.TypeActiveSpeaker)
}
