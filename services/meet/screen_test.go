package meet_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"bureau/services/meet/internal/sfu"
	"bureau/services/meet/internal/signal"
)

// A screen share is its own video track, announced with source "screen",
// received next to the camera, not affected by a camera mute, and ended
// alone with unpublish.
func TestScreenShare(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	pub, jp := h.join(alice, r.ID, signal.TypeJoined)
	sub, _ := h.join(bob, r.ID, signal.TypeJoined)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Like a browser's screen share, the screen sends a keyframe only
	// when asked (PLI), never periodically.
	var tracks []*webrtc.TrackLocalStaticSample
	var pli [2]atomic.Bool
	for j, id := range []string{"cam", "screen"} {
		v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, id, "alice")
		if err != nil {
			t.Fatal(err)
		}
		x, err := pub.pc.AddTransceiverFromTrack(v, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			buf := make([]byte, 1500)
			for {
				n, _, err := x.Sender().Read(buf)
				if err != nil {
					return
				}
				if sfu.WantsKeyframe(buf[:n]) {
					pli[j].Store(true)
				}
			}
		}()
		tracks = append(tracks, v)
	}
	pub.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "video", Source: "camera"}, {Kind: "video", Source: "screen"}}})
	go func() {
		frame := make([]byte, 2000)
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for j, v := range tracks {
				frame[0] = 1
				if (j == 0 && i%15 == 0) || pli[j].Swap(false) {
					frame[0] = 0 // keyframe
				}
				frame[2] = byte(j)
				_ = v.WriteSample(media.Sample{Data: frame, Duration: 33 * time.Millisecond})
			}
		}
	}()
	bySource := map[string]string{}
	for len(bySource) < 2 {
		m := sub.expect(signal.TypeTrackPublished)
		if m.Info.Participant != jp.Self.ID || m.Info.Kind != "video" {
			t.Fatalf("track_published %+v", m.Info)
		}
		bySource[m.Info.Source] = m.Info.ID
	}
	if bySource["camera"] == "" || bySource["screen"] == "" {
		t.Fatalf("sources %v", bySource)
	}
	ks := sub.waitTracks(2)
	byID := map[string]*counter{}
	for _, k := range ks {
		byID[k.track.ID()] = k
	}
	screen := byID[bySource["screen"]]
	if screen == nil || byID[bySource["camera"]] == nil {
		t.Fatalf("received %v, announced %v", byID, bySource)
	}
	// Stopping the camera leaves the screen flowing.
	yes := true
	pub.send(signal.Message{Type: signal.TypeMute, Kind: "video", Muted: &yes})
	sub.expect(signal.TypeMute)
	for n := screen.packets.Load(); screen.packets.Load() < n+30; {
		screen.next(t)
	}
	// The share ends alone.
	pub.send(signal.Message{Type: signal.TypeUnpublish, Track: bySource["screen"]})
	if m := sub.expect(signal.TypeTrackUnpublished); m.Track != bySource["screen"] {
		t.Fatalf("unpublished %+v", m)
	}
	pub.send(signal.Message{Type: signal.TypeUnpublish, Track: bySource["screen"]})
	if m := pub.expect(signal.TypeError); m.Code != signal.CodeNotFound {
		t.Fatalf("unpublish twice: %+v", m)
	}
}
