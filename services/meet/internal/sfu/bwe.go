package sfu

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Congestion control: every outgoing packet gets a transport-wide
// sequence number (pion's TWCC header extension interceptor, one counter
// per PeerConnection); the subscriber's transport-cc feedback goes to a
// send-side estimator per PeerConnection (pion's GCC: delay gradient +
// loss), without a pacer (the SFU forwards at the publisher's pace; it
// only picks layers). The estimate is split over the subscriber's video
// tracks, each getting the highest simulcast layer that fits (allocate).

const (
	// bweInitial is where a new subscriber's estimate starts: high enough
	// for the top layer of one camera, as a browser starts its own
	// encoder optimistic; GCC brings it down within a second or two if
	// the link says otherwise.
	bweInitial = 2_500_000
	bweMin     = 50_000
	bweMax     = 20_000_000
	// audioReserve is kept out of the estimate per forwarded audio track.
	audioReserve = 40_000
	// upHeadroom: a layer above the current one must fit with 15 %
	// to spare, so that an estimate hovering at a layer's rate does not
	// make the subscriber flap between two layers. keepFloor: the
	// current layer is kept while the estimate stays above 80 % of its
	// rate — one delay-based decrease of GCC sets the estimate to 85 % of
	// the received rate, which a jittery but uncongested link triggers
	// now and then; a congested link's received rate, hence estimate,
	// keeps falling below that.
	upHeadroom = 115
	keepFloor  = 80
	// allocateEvery is how often a subscriber's layers are re-chosen from
	// its estimate (also on every change GCC reports).
	allocateEvery = 500 * time.Millisecond
	// probeHold: how long the estimate must not fall before a subscriber
	// below its wanted layer tries the next one up (see allocate).
	probeHold = 3 * time.Second
)

// registerCC adds the send-side estimator (pion's cc interceptor with
// GCC); NewPeer learns each PeerConnection's estimator through
// s.lastEstimator while it holds s.newPeerMu. The transport-wide sequence
// numbers are stamped by our pacer (see ccPacer), not by pion's header
// extension interceptor, which allocates per packet.
func (s *SFU) registerCC(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, k); err != nil {
			return err
		}
	}
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		p := &ccPacer{}
		g, err := gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(bweInitial),
			gcc.SendSideBWEMinBitrate(bweMin),
			gcc.SendSideBWEMaxBitrate(bweMax),
			gcc.SendSideBWEPacer(p),
		)
		if err != nil {
			return nil, err
		}
		return &sendSide{SendSideBWE: g, pacer: p}, nil
	})
	if err != nil {
		return err
	}
	f.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { s.lastEstimator = e })
	ir.Add(f)
	return nil
}

// sendSide is pion's GCC estimator with our pacer; it tells the pacer
// each stream's retransmission SSRC and transport-cc extension id.
type sendSide struct {
	*gcc.SendSideBWE
	pacer *ccPacer
}

func (s *sendSide) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var ext uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 15 {
			ext = uint8(e.ID)
		}
	}
	s.pacer.addMu.Lock()
	defer s.pacer.addMu.Unlock()
	s.pacer.pending = ccStream{ext: ext, rtx: info.SSRCRetransmission}
	return s.SendSideBWE.AddStream(info, w)
}

// ccPacer is a gcc.Pacer that does not pace (the SFU forwards at the
// publisher's pace and adapts by layer): it stamps the transport-wide
// sequence number and hands the packet to GCC's bookkeeping and on. It
// replaces pion's NoOpPacer (a mutex, and an error allocated for the
// retransmission SSRC it does not know) and pion's TWCC header extension
// interceptor (2 bytes allocated per packet), and it passes GCC an
// attributes map per stream so that GCC does not make one per packet.
// Writes of one stream are serialised by their writer (downTrack.mu, or
// the one goroutine of an audio track).
type ccPacer struct {
	seq     atomic.Uint32
	addMu   sync.Mutex
	pending ccStream
	streams atomic.Pointer[map[uint32]*ccStream] // copy on write, by SSRC
}

type ccStream struct {
	ext   uint8
	rtx   uint32
	w     interceptor.RTPWriter
	attrs interceptor.Attributes
	tcc   [2]byte
}

func (p *ccPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	st := p.pending
	st.w, st.attrs = w, interceptor.Attributes{}
	next := map[uint32]*ccStream{}
	if cur := p.streams.Load(); cur != nil {
		maps.Copy(next, *cur)
	}
	next[ssrc] = &st
	if st.rtx != 0 {
		rtx := st // its own buffers: the primary and its repair stream may interleave
		rtx.attrs = interceptor.Attributes{}
		next[st.rtx] = &rtx
	}
	p.streams.Store(&next)
}

func (p *ccPacer) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	m := p.streams.Load()
	if m == nil {
		return 0, errUnknownSSRC
	}
	st := (*m)[h.SSRC]
	if st == nil {
		return 0, errUnknownSSRC
	}
	if st.ext != 0 {
		binary.BigEndian.PutUint16(st.tcc[:], uint16(p.seq.Add(1)-1))
		if err := h.SetExtension(st.ext, st.tcc[:]); err != nil {
			return 0, err
		}
	}
	return st.w.Write(h, payload, st.attrs)
}

func (p *ccPacer) SetTargetBitrate(int) {}
func (p *ccPacer) Close() error         { return nil }

var errUnknownSSRC = errors.New("sfu: packet for an unknown SSRC")

// estimator is the bandwidth estimator of a peer (nil: congestion control
// off, the loss of the receiver reports decides).
type estimator struct {
	bwe  cc.BandwidthEstimator
	stop chan struct{}
	once sync.Once
	// Owned by the allocation goroutine.
	last     int       // the estimate at the last allocation
	lastDrop time.Time // when it last fell (by 5 % or more)
}

func (p *Peer) startEstimator(bwe cc.BandwidthEstimator) {
	e := &estimator{bwe: bwe, stop: make(chan struct{})}
	p.est = e
	kick := make(chan struct{}, 1)
	bwe.OnTargetBitrateChange(func(int) {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	go func() {
		t := time.NewTicker(allocateEvery)
		defer t.Stop()
		for {
			select {
			case <-e.stop:
				return
			case <-t.C:
			case <-kick:
			}
			p.allocate(bwe.GetTargetBitrate(), time.Now())
		}
	}()
}

func (e *estimator) close() {
	if e != nil {
		e.once.Do(func() { close(e.stop) })
	}
}

// TargetBitrate is the peer's current send-side estimate in bit/s (0:
// congestion control off).
func (p *Peer) TargetBitrate() int {
	if p.est == nil {
		return 0
	}
	return p.est.bwe.GetTargetBitrate()
}

// allocate splits budget (bit/s) over the peer's subscriptions: audio
// first (a fixed reserve each), then video, screen shares before cameras
// (text must stay readable), each taking the highest layer within its
// size cap whose measured rate fits in what is left.
//
// GCC climbs back slowly after congestion (+5 % per 200 ms at best), and a
// subscriber on a low layer sends too little to show that more would fit:
// after probeHold without the estimate falling, a subscriber below the
// layer it wants is moved one layer up whatever the estimate — that
// layer's traffic is the probe — and kept there until the estimate falls.
func (p *Peer) allocate(budget int, now time.Time) {
	e := p.est
	if budget < e.last*95/100 {
		e.lastDrop = now
	}
	e.last = budget
	stable := now.Sub(e.lastDrop) >= probeHold
	p.mu.Lock()
	downs := make([]*downTrack, 0, len(p.subs))
	for _, sub := range p.subs {
		switch {
		case sub.down != nil:
			downs = append(downs, sub.down)
		case sub.t.Kind == "audio":
			budget -= audioReserve
		}
	}
	p.mu.Unlock()
	slices.SortFunc(downs, func(a, b *downTrack) int {
		if sa, sb := a.t.Source == "screen", b.t.Source == "screen"; sa != sb {
			if sa {
				return -1
			}
			return 1
		}
		if a.t.ID < b.t.ID {
			return -1
		}
		return 1
	})
	for _, d := range downs {
		if !d.t.simulcast {
			budget -= d.t.layerRate(LayerLow) // one encoding: nothing to choose
			continue
		}
		l := d.probe(d.fit(budget), e.lastDrop, stable, now)
		budget -= d.t.layerRate(l)
		d.setEstimate(l, &p.sfu.Stats)
	}
}

// fit is the highest layer within d's size cap that fits in budget; the
// lowest when none does. A layer with no measured rate yet fits.
func (d *downTrack) fit(budget int) int {
	d.mu.Lock()
	top, cur := min(d.sizeMax, d.t.topLayer()), d.current
	d.mu.Unlock()
	for l := top; l > LayerLow; l-- {
		if d.t.layers[l].Load() == nil {
			continue
		}
		need := d.t.layerRate(l)
		switch {
		case l > cur:
			need = need * upHeadroom / 100
		case l == cur:
			need = need * keepFloor / 100
		}
		if need <= budget {
			return l
		}
	}
	return LayerLow
}

// probe raises l (what the estimate allows) to a probing layer: the one
// being probed while the estimate has not fallen since, or the next one up
// when the estimate has been stable for probeHold since the last probe.
func (d *downTrack) probe(l int, lastDrop time.Time, stable bool, now time.Time) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.probing > l && lastDrop.Before(d.probeAt) {
		l = d.probing
	} else {
		d.probing = -1
	}
	if want := min(d.sizeMax, d.t.topLayer()); stable && l < want && now.Sub(d.probeAt) >= probeHold {
		l++
		d.probing, d.probeAt = l, now
	}
	return l
}

// setEstimate caps d at layer l from the bandwidth estimate.
func (d *downTrack) setEstimate(l int, st *Stats) {
	d.mu.Lock()
	prev := d.ccMax
	d.ccMax = l
	d.mu.Unlock()
	if l < prev {
		st.BWEDowns.Add(1)
	}
	if l != prev {
		d.retarget()
	}
}

// layerRate is the measured rate of layer l in bit/s (0: unknown).
func (t *Track) layerRate(l int) int {
	if x := t.layers[l].Load(); x != nil {
		return int(x.rate.Load())
	}
	return 0
}

// rateMeter measures a layer's bitrate over one-second windows; owned by
// the layer's forwarding loop, published through layer.rate.
type rateMeter struct {
	bytes int
	n     int
	start int64
}

// add counts a packet of n bytes; every 32 packets it looks at the clock
// and publishes the rate of a finished window.
func (m *rateMeter) add(l *layer, n int) {
	m.bytes += n
	m.n++
	if m.n%32 != 0 {
		return
	}
	now := time.Now().UnixNano()
	if m.start == 0 {
		m.start, m.bytes = now, 0
		return
	}
	if el := now - m.start; el >= int64(time.Second) {
		l.rate.Store(int64(m.bytes) * 8 * int64(time.Second) / el)
		m.start, m.bytes = now, 0
	}
}
