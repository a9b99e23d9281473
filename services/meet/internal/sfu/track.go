package sfu

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Track is a published track and its fan-out: one local track bound to
// every subscriber's connection.
type Track struct {
	ID        string
	StreamID  string // the publisher's participant id
	Kind      string // audio | video
	Source    string // microphone, camera, screen, screen_audio
	Publisher *Peer

	remote      *webrtc.TrackRemote // the first (or only) encoding
	recv        *webrtc.RTPReceiver
	clockRate   uint32
	subscribers atomic.Int32
	lastPLI     atomic.Int64 // unix ns
	paused      atomic.Bool  // muted: received but not forwarded
	done        chan struct{}
	doneOnce    sync.Once
	level       *levelMeter // audio with the level extension

	// Audio: one audioDown per subscriber (copy on write), the
	// transport-cc extension id the publisher stamps (0: none), and the
	// counts of the sender reports, shared by all subscribers.
	auds  atomic.Pointer[[]audioBinding]
	tccID uint8
	srMu  sync.Mutex
	sr    srCounts

	// Simulcast tracks: the encodings received, and one downTrack per
	// subscriber (copy on write: the hot path loads it without a lock).
	codec     webrtc.RTPCodecCapability
	layered   bool // video: forwarded through layers and downTracks
	vp8       bool
	isKey     func(payload []byte) bool
	simulcast bool // several encodings
	layers    [numLayers]atomic.Pointer[layer]
	running   atomic.Int32
	downMu    sync.Mutex
	downs     atomic.Pointer[[]*downTrack]
}

// Simulcast reports whether the track has several encodings.
func (t *Track) Simulcast() bool { return t.simulcast }

// SetPaused stops (true) or resumes forwarding: a muted microphone or a
// stopped camera is enforced by the server, whatever the client sends.
// Resuming video asks for a keyframe so subscribers' decoders recover.
func (t *Track) SetPaused(p bool) {
	if t.paused.Swap(p) && !p {
		t.RequestKeyframe()
	}
}

// Paused reports whether forwarding is paused.
func (t *Track) Paused() bool { return t.paused.Load() }

// Done is closed when the publisher stops sending (left, closed).
func (t *Track) Done() <-chan struct{} { return t.done }

// RequestKeyframe asks the publisher for a keyframe (PLI), at most once
// per keyframeInterval.
func (t *Track) RequestKeyframe() {
	if t.Kind != "video" {
		return
	}
	if t.layered {
		for i := range numLayers {
			if t.layers[i].Load() != nil {
				t.requestLayerKeyframe(i)
			}
		}
		return
	}
	t.Publisher.throttledPLI(&t.lastPLI, uint32(t.remote.SSRC()))
}

// throttledPLI asks the publisher for a keyframe on ssrc unless one was
// asked within keyframeInterval (last holds when): subscribers joining or
// switching layers at once must not flood the publisher.
func (p *Peer) throttledPLI(last *atomic.Int64, ssrc uint32) {
	st := &p.sfu.Stats
	now := time.Now().UnixNano()
	prev := last.Load()
	if now-prev < int64(keyframeInterval) || !last.CompareAndSwap(prev, now) {
		st.PLIsThrottle.Add(1)
		return
	}
	st.PLIsSent.Add(1)
	_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// WantsKeyframe reports whether a compound RTCP packet holds a PLI or FIR.
// It walks the headers in place: no parsing into allocated packets for
// every receiver report.
func WantsKeyframe(b []byte) bool {
	for len(b) >= 4 {
		fmt, pt := b[0]&0x1f, b[1]
		size := (int(binary.BigEndian.Uint16(b[2:4])) + 1) * 4
		if b[0]>>6 != 2 || size > len(b) {
			return false
		}
		// 206 = payload-specific feedback: FMT 1 = PLI, 4 = FIR.
		if pt == 206 && (fmt == 1 || fmt == 4) {
			return true
		}
		b = b[size:]
	}
	return false
}
