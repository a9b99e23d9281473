package meet_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"bureau/services/meet/internal/signal"
)

// limiter is a token bucket on the bytes a client receives: packets over
// the rate are dropped before the NACK generator and the receiver reports
// see them, as a congested link would. Rate 0 = unlimited. every > 0
// drops one packet in every (random loss on an uncongested link).
type limiter struct {
	rate    atomic.Int64 // bytes per second
	every   atomic.Int64
	seen    atomic.Int64
	dropped atomic.Int64
	mu      sync.Mutex
	tokens  float64
	last    time.Time
}

func (l *limiter) allow(n int) bool {
	if e := l.every.Load(); e > 0 && l.seen.Add(1)%e == 0 {
		l.dropped.Add(1)
		return false
	}
	r := l.rate.Load()
	if r == 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if !l.last.IsZero() {
		l.tokens += now.Sub(l.last).Seconds() * float64(r)
	}
	l.last = now
	if burst := float64(r) / 4; l.tokens > burst {
		l.tokens = burst
	}
	if l.tokens < float64(n) {
		l.dropped.Add(1)
		return false
	}
	l.tokens -= float64(n)
	return true
}

func (l *limiter) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &limitInterceptor{l: l}, nil
}

type limitInterceptor struct {
	interceptor.NoOp
	l *limiter
}

func (i *limitInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := r.Read(b, a)
			if err != nil || i.l.allow(n) {
				return n, attr, err
			}
		}
	})
}

// publishSimulcast sends one camera track in three VP8 encodings (rids q,
// h, f) at about 70, 290 and 960 kbit/s, 30 fps, a keyframe every half
// second; byte 2 of every frame tags its layer. pion does not add the mid
// and rid header extensions itself (browsers do): the packets carry them.
//
// It returns a switch per layer: a layer set paused stops being sent, as
// a browser pauses an encoding when its uplink or CPU runs short.
func (c *client) publishSimulcast(ctx context.Context) (paused *[3]atomic.Bool) {
	c.t.Helper()
	paused = new([3]atomic.Bool)
	rids := []string{"q", "h", "f"}
	var encs [3]*webrtc.TrackLocalStaticRTP
	for i, rid := range rids {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", c.name, webrtc.WithRTPStreamID(rid))
		if err != nil {
			c.t.Fatal(err)
		}
		encs[i] = tr
	}
	x, err := c.pc.AddTransceiverFromTrack(encs[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, e := range encs[1:] {
		if err := x.Sender().AddEncoding(e); err != nil {
			c.t.Fatal(err)
		}
	}
	for _, rid := range rids {
		go func() {
			for {
				if _, _, err := x.Sender().ReadSimulcastRTCP(rid); err != nil {
					return
				}
			}
		}()
	}
	c.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "video", Source: "camera"}}})
	extID := func(uri string) uint8 {
		d := c.pc.LocalDescription()
		if d == nil {
			return 0
		}
		return signal.ExtmapID(d.SDP, uri)
	}
	go func() {
		sizes := [3]int{300, 1200, 4000}
		var seq [3]uint16
		frame := make([]byte, 1201)
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		var midID, ridID uint8
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if midID == 0 || ridID == 0 {
				midID, ridID = extID(sdp.SDESMidURI), extID(sdp.SDESRTPStreamIDURI)
				if midID == 0 || ridID == 0 || x.Mid() == "" {
					continue
				}
			}
			for l, e := range encs {
				if paused[l].Load() {
					continue
				}
				for off := 0; off < sizes[l]; off += 1200 {
					n := min(1200, sizes[l]-off)
					pl := frame[:n+1]
					pl[0] = 0
					if off == 0 {
						pl[0] = 0x10 // S: start of the frame
						pl[1] = 0x01
						if i%15 == 0 {
							pl[1] = 0x00 // keyframe
						}
						pl[2], pl[3] = byte(i), byte(l)
					}
					p := rtp.Packet{Header: rtp.Header{
						Version: 2, PayloadType: 96, SequenceNumber: seq[l], Timestamp: uint32(i) * 2970,
						Marker: off+n >= sizes[l],
					}, Payload: pl}
					seq[l]++
					_ = p.Header.SetExtension(midID, []byte(x.Mid()))
					_ = p.Header.SetExtension(ridID, []byte(rids[l]))
					_ = e.WriteRTP(&p)
				}
			}
		}
	}()
	return paused
}

// waitLayer waits until the subscriber receives layer want (ok decides).
// layerWait bounds a layer change: a bandwidth estimate built from
// packet timing needs longer to move when the machine's cores are busy
// with other test packages.
const layerWait = 45 * time.Second

func waitLayer(t *testing.T, k *counter, what string, ok func(int32) bool) {
	t.Helper()
	deadline := time.Now().Add(layerWait)
	for !ok(k.layer.Load()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still on layer %d after %s", what, k.layer.Load(), layerWait)
		}
		k.next(t)
	}
	t.Logf("%s: layer %d", what, k.layer.Load())
}

// A publisher sends three simulcast layers; a subscriber gets the top
// one, the low one when it asks, and moves down when its link is limited
// (its bandwidth estimate, from transport-wide CC feedback, drops) and
// back up when the limit is lifted, while another subscriber stays on the
// top layer; the stream it sees stays continuous (one SSRC, no sequence
// or timestamp jumps).
func TestSimulcastLayers(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	pub, _ := h.join(alice, r.ID, signal.TypeJoined)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub.publishSimulcast(ctx)
	lim := &limiter{}
	sub := h.dialWith(bob, r.ID, loopbackAPI(t, lim))
	sub.send(signal.Message{Type: signal.TypeJoin})
	sub.expect(signal.TypeJoined)
	k := sub.waitTracks(1)[0]
	other, _ := h.join(carol, r.ID, signal.TypeJoined)
	ko := other.waitTracks(1)[0]
	st := &h.svc.SFU().Stats

	isHigh := func(l int32) bool { return l == 2 }
	waitLayer(t, k, "default", isHigh)
	sub.send(signal.Message{Type: signal.TypeSetQuality, Track: k.track.ID(), Quality: "low"})
	waitLayer(t, k, "quality low", func(l int32) bool { return l == 0 })
	sub.send(signal.Message{Type: signal.TypeSetQuality, Track: k.track.ID(), Width: 640, Height: 360})
	waitLayer(t, k, "360p", func(l int32) bool { return l == 1 })
	sub.send(signal.Message{Type: signal.TypeSetQuality, Track: k.track.ID(), Quality: "high"})
	waitLayer(t, k, "quality high", isHigh)

	// 480 kbit/s: the top layer (≈ 1 Mbit/s) does not fit, the middle does.
	switches := st.LayerSwitches.Load()
	waitLayer(t, ko, "other subscriber", isHigh)
	ko.lowest.Store(2)
	lim.rate.Store(60_000)
	waitLayer(t, k, "limited", func(l int32) bool { return l < 2 })
	lim.rate.Store(0)
	waitLayer(t, k, "unlimited", isHigh)
	t.Logf("dropped %d packets while limited; %d layer switches; largest jumps: seq %d, ts %d",
		lim.dropped.Load(), st.LayerSwitches.Load()-switches, k.maxJump.Load(), k.tsJump.Load())
	if lim.dropped.Load() == 0 || st.LayerSwitches.Load()-switches < 2 {
		t.Fatal("the limit did not bite")
	}
	if st.BWEDowns.Load() == 0 {
		t.Fatal("the layer did not come down from the bandwidth estimate")
	}
	if l := ko.lowest.Load(); l != 2 {
		t.Fatalf("the unlimited subscriber went down to layer %d", l)
	}
	// NACK repair, on its own: one packet in 50 lost on the way, no
	// bandwidth limit; the subscriber's NACKs are answered from the layer
	// buffers. Not asserted during the limit above: there the estimate
	// may move the subscriber down before its NACKs arrive (on a loaded
	// machine, after a handful of drops), and the packets of the layer it
	// left are not resent by design. Here the losses go on, so losses on
	// the layer it ends up on are repaired whatever it switches to.
	resent := st.Retransmits.Load()
	lim.every.Store(50)
	deadline := time.Now().Add(layerWait)
	for st.Retransmits.Load() == resent {
		if time.Now().After(deadline) {
			t.Fatalf("no retransmission within %s of losses (%d NACKs)", layerWait, st.NACKs.Load())
		}
		k.next(t)
	}
	lim.every.Store(0)
	t.Logf("NACKed %d, retransmitted %d", st.NACKs.Load(), st.Retransmits.Load())
	m := h.metrics()
	t.Logf("metrics: packets lost %v, nacks %v, layer switches %v", m["bureau_meet_packets_lost_total"],
		m["bureau_meet_nacks_received_total"], m["bureau_meet_layer_switches_total"])
	if m["bureau_meet_layer_switches_total"] < 2 || m["bureau_meet_nacks_received_total"] == 0 {
		t.Fatalf("metrics: layer switches %v, nacks %v", m["bureau_meet_layer_switches_total"], m["bureau_meet_nacks_received_total"])
	}
	// A broken rewrite jumps by random 16/32-bit offsets; a loaded
	// machine can stall the stream for a few seconds, which is no bug.
	if k.maxJump.Load() > 1000 || k.tsJump.Load() > 90000*10 {
		t.Fatalf("discontinuous stream: seq jump %d, ts jump %d", k.maxJump.Load(), k.tsJump.Load())
	}
	sub.send(signal.Message{Type: signal.TypeSetQuality, Track: "nope-t9", Quality: "low"})
	if m := sub.expect(signal.TypeError); m.Code != signal.CodeNotFound {
		t.Fatalf("set_quality of an unknown track: %+v", m)
	}
}

// A publisher pauses its top encoding (as Chrome does when its uplink or
// CPU is short): the subscriber on it moves to the middle one rather than
// freezing, and back up when the top one comes back.
func TestSimulcastPausedLayer(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	pub, _ := h.join(alice, r.ID, signal.TypeJoined)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	paused := pub.publishSimulcast(ctx)
	sub, _ := h.join(bob, r.ID, signal.TypeJoined)
	k := sub.waitTracks(1)[0]
	waitLayer(t, k, "default", func(l int32) bool { return l == 2 })
	paused[2].Store(true)
	waitLayer(t, k, "top encoding paused", func(l int32) bool { return l == 1 })
	paused[2].Store(false)
	waitLayer(t, k, "top encoding back", func(l int32) bool { return l == 2 })
}

// A browser publishes simulcast only if the offer asks for it: with
// "simulcast": true the server's offer declares the three receive rids.
func TestSimulcastOffer(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	c, _ := h.join(alice, r.ID, signal.TypeJoined)
	c.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "audio", Source: "microphone"}, {Kind: "video", Source: "camera", Simulcast: true}}})
	var o string
	select {
	case o = <-c.offered:
	case <-time.After(wait):
		t.Fatal("no offer")
	}
	if strings.Count(o, "a=simulcast:recv q;h;f") != 1 || !strings.Contains(o, "a=rid:f recv") || strings.Count(o, "a=rid:") != 3 {
		t.Fatalf("offer without simulcast:\n%s", o)
	}
}
