package sfu

import (
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Congestion control: every outgoing packet gets a transport-wide
// sequence number (one counter per PeerConnection, stamped by ccWriter);
// the subscriber's transport-cc feedback goes to that connection's
// send-side estimator (sendSide: delay trend + loss, allocation-free),
// without a pacer (the SFU forwards at the publisher's pace; it only
// picks layers). The estimate is split over the subscriber's video
// tracks, each getting the highest simulcast layer that fits (allocate).

const (
	// bweInitial is where a new subscriber's estimate starts: high enough
	// for the top layer of one camera, as a browser starts its own
	// encoder optimistic; the estimator brings it down within a second or two if
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
	// rate — one delay-based decrease sets the estimate to 85 % of
	// the received rate, which a jittery but uncongested link triggers
	// now and then; a congested link's received rate, hence estimate,
	// keeps falling below that.
	upHeadroom = 115
	keepFloor  = 80
	// allocateEvery is how often a subscriber's layers are re-chosen from
	// its estimate (also at once when it moves by 5–10 %: sendSide.kick).
	allocateEvery = 500 * time.Millisecond
	// probeHold: how long the estimate must not fall before a subscriber
	// below its wanted layer tries the next one up (see allocate).
	probeHold = 3 * time.Second
)

// registerCC adds the send-side estimator; NewPeer learns each
// PeerConnection's estimator through s.lastEstimator while it holds
// s.newPeerMu.
func (s *SFU) registerCC(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, k); err != nil {
			return err
		}
	}
	ir.Add(ccFactory{s})
	return nil
}

type ccFactory struct{ s *SFU }

func (f ccFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	e := newSendSide()
	f.s.lastEstimator = e
	return &ccInterceptor{e: e}, nil
}

// ccInterceptor stamps the transport-wide sequence number on every
// outgoing packet of its PeerConnection and feeds the subscriber's
// feedback to the estimator. It replaces pion's cc interceptor with GCC
// (a list element, a boxed value and a map insertion per packet sent,
// every feedback decoded into one allocated struct per packet) and its
// TWCC header extension interceptor (2 bytes allocated per packet).
type ccInterceptor struct {
	interceptor.NoOp
	e *sendSide
}

// BindLocalStream stamps video streams. Audio is left out of the
// estimate (it only chooses video layers; allocate reserves a fixed rate
// per audio track): its packets carry no transport-wide number, so a
// subscriber receiving only audio sends no transport-cc feedback at all —
// ten reports a second per subscriber to receive, decrypt and read for
// nothing. The number the publisher stamped, which a forwarded audio
// header still carries, is removed: the subscriber would report on it.
func (c *ccInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 15 {
			if strings.HasPrefix(strings.ToLower(info.MimeType), "audio/") {
				return ccStrip{ext: uint8(e.ID), w: w}
			}
			return &ccWriter{e: c.e, ext: uint8(e.ID), w: w}
		}
	}
	return w
}

// ccStrip removes the transport-wide sequence number of audio packets.
type ccStrip struct {
	ext uint8
	w   interceptor.RTPWriter
}

func (c ccStrip) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	_ = h.DelExtension(c.ext) // absent: nothing to do
	return c.w.Write(h, payload, a)
}

func (c *ccInterceptor) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err == nil {
			c.e.feedback(b[:n], c.e.now())
		}
		return n, a, err
	})
}

// ccWriter is one outgoing stream (and its RTX repair stream, which pion
// writes through the same writer). Writes of one stream are serialised by
// their writer (downTrack.mu, or the one goroutine of an audio track):
// tcc, the extension's storage until the packet is marshalled below,
// needs no lock.
type ccWriter struct {
	e   *sendSide
	ext uint8
	w   interceptor.RTPWriter
	tcc [2]byte
}

func (c *ccWriter) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	seq := c.e.nextSeq()
	binary.BigEndian.PutUint16(c.tcc[:], seq)
	if err := h.SetExtension(c.ext, c.tcc[:]); err != nil {
		return 0, err
	}
	c.e.record(seq, h.MarshalSize()+len(payload), c.e.now())
	return c.w.Write(h, payload, a)
}

// estimator is the bandwidth estimator of a peer (nil: congestion control
// off, the loss of the receiver reports decides).
type estimator struct {
	bwe  *sendSide
	stop chan struct{}
	once sync.Once
	// Owned by the allocation goroutine.
	last     int       // the estimate at the last allocation
	lastDrop time.Time // when it last fell (by 5 % or more)
}

func (p *Peer) startEstimator(bwe *sendSide) {
	e := &estimator{bwe: bwe, stop: make(chan struct{})}
	p.est = e
	kick := make(chan struct{}, 1)
	bwe.setKick(func() {
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
			p.allocate(bwe.Bitrate(), time.Now())
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
	return p.est.bwe.Bitrate()
}

// allocate splits budget (bit/s) over the peer's subscriptions: audio
// first (a fixed reserve each), then video, screen shares before cameras
// (text must stay readable), each taking the highest layer within its
// size cap whose measured rate fits in what is left.
//
// The estimate climbs back slowly after congestion (+8 % a second), and a
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
