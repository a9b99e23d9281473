package sfu

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Handlers are a peer's way out: the conference sends offers and
// candidates on the participant's socket and wires published tracks to the
// other participants. They may be called from pion's goroutines and must
// not block.
type Handlers struct {
	Offer     func(sdp string)
	Candidate func(c webrtc.ICECandidateInit)
	// Track is called once per published track when its first packet
	// arrives; the track is forwarded from then on until it ends.
	Track func(t *Track)
	// Failed is called once when the connection fails or is closed by the
	// remote side.
	Failed func()
}

// Peer is one participant's PeerConnection.
type Peer struct {
	ID  string
	sfu *SFU
	pc  *webrtc.PeerConnection
	h   Handlers

	// neg serialises negotiation: at most one offer is outstanding.
	neg            sync.Mutex
	awaitingAnswer bool
	again          bool
	restart        bool // the next offer restarts ICE
	restarting     bool // the outstanding offer restarts ICE: candidates wait for its answer
	remoteSet      bool
	pendingCands   []webrtc.ICECandidateInit
	fresh          []*Track // subscribed since the last answer: need a keyframe

	mu        sync.Mutex
	closed    bool
	sources   map[*webrtc.RTPTransceiver]string
	published int
	subs      map[string]subscription // by track id
	tracks    []*Track                // published by this peer
	simul     map[*webrtc.RTPReceiver]*Track
	// simulOffer are the receive transceivers offered with simulcast rids.
	simulOffer map[*webrtc.RTPTransceiver]bool
	failOnce   sync.Once
	trackSeq   int
	est        *estimator    // nil without congestion control
	srStop     chan struct{} // ends sendReports
}

type subscription struct {
	tr   *webrtc.RTPTransceiver
	t    *Track
	down *downTrack // video
	aud  *audioDown // audio
}

// NewPeer opens a PeerConnection for a participant.
func (s *SFU) NewPeer(id string, h Handlers) (*Peer, error) {
	s.newPeerMu.Lock()
	s.lastEstimator = nil
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	bwe := s.lastEstimator
	s.newPeerMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sfu: peer connection: %w", err)
	}
	p := &Peer{ID: id, sfu: s, pc: pc, h: h, sources: map[*webrtc.RTPTransceiver]string{}, subs: map[string]subscription{}, simul: map[*webrtc.RTPReceiver]*Track{}, simulOffer: map[*webrtc.RTPTransceiver]bool{}, srStop: make(chan struct{})}
	if bwe != nil {
		p.startEstimator(bwe)
	}
	go p.sendReports(p.srStop)
	s.Stats.Peers.Add(1)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			// Gathering starts with SetLocalDescription, before the offer
			// is sent: a candidate must not overtake its offer (after an
			// ICE restart the client would drop it, its ufrag unknown).
			// pion calls this from its own goroutine, never from within
			// negotiate.
			p.neg.Lock()
			p.neg.Unlock() //nolint:staticcheck // a barrier, nothing guarded
			p.h.Candidate(c.ToJSON())
		}
	})
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			// Subscriptions made before the transport was up missed the
			// keyframe their decoder needs.
			p.requestKeyframes()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			p.failOnce.Do(func() {
				if p.h.Failed != nil {
					go p.h.Failed()
				}
			})
		}
	})
	return p, nil
}

// Publish adds one receive-only transceiver per announced track and offers.
//
// simulcast marks video tracks whose m-line the offer declares as
// receiving three rid encodings (q, h, f): browsers answer such an offer
// with simulcast. pion clients declare their encodings in their answer and
// do not need it (pion's answerer would echo the receive rids).
func (p *Peer) Publish(kinds []string, sourceNames []string, simulcast []bool, limit int) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if p.published+len(kinds) > limit {
		p.mu.Unlock()
		return fmt.Errorf("sfu: at most %d published tracks", limit)
	}
	for i, k := range kinds {
		kind := webrtc.RTPCodecTypeAudio
		if k == "video" {
			kind = webrtc.RTPCodecTypeVideo
		}
		tr, err := p.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			p.mu.Unlock()
			return fmt.Errorf("sfu: transceiver: %w", err)
		}
		if kind == webrtc.RTPCodecTypeVideo {
			// Publishers retransmit on the primary SSRC: pion clients
			// would send RTX of simulcast encodings tagged with the
			// encoding's rid (not the repair rid), which a receiver takes
			// for the encoding itself.
			if err := tr.SetCodecPreferences(p.sfu.videoNoRTX); err != nil {
				p.mu.Unlock()
				return fmt.Errorf("sfu: codecs: %w", err)
			}
		}
		p.sources[tr] = sourceNames[i]
		if i < len(simulcast) && simulcast[i] && kind == webrtc.RTPCodecTypeVideo {
			p.simulOffer[tr] = true
		}
		p.published++
	}
	p.mu.Unlock()
	return p.negotiate()
}

// negotiate offers now, or after the outstanding offer is answered.
func (p *Peer) negotiate() error {
	p.neg.Lock()
	defer p.neg.Unlock()
	if p.isClosed() {
		return ErrClosed
	}
	if p.awaitingAnswer {
		p.again = true
		return nil
	}
	var opts *webrtc.OfferOptions
	if p.restart {
		opts, p.restart = &webrtc.OfferOptions{ICERestart: true}, false
	}
	offer, err := p.pc.CreateOffer(opts)
	if err != nil {
		return fmt.Errorf("sfu: offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("sfu: local description: %w", err)
	}
	// pion refuses a modified local offer: the simulcast lines go only to
	// the client; the answer's rids are what pion uses to receive.
	p.mu.Lock()
	var mids []string
	for tr := range p.simulOffer {
		if m := tr.Mid(); m != "" && tr.Direction() == webrtc.RTPTransceiverDirectionRecvonly {
			mids = append(mids, m)
		}
	}
	p.mu.Unlock()
	if len(mids) > 0 {
		offer.SDP = AddSimulcastRecv(offer.SDP, mids)
	}
	p.awaitingAnswer, p.restarting = true, opts != nil
	p.h.Offer(offer.SDP)
	return nil
}

// RestartICE offers again with new ICE credentials (the client's network
// changed or dropped): the connection, its tracks and subscriptions are
// kept; the client answers and trickles its new candidates. With an offer
// outstanding, the restart goes into the next one.
func (p *Peer) RestartICE() error {
	p.neg.Lock()
	p.restart = true
	p.neg.Unlock()
	return p.negotiate()
}

// ErrUnexpectedAnswer is an answer with no offer outstanding.
var ErrUnexpectedAnswer = errors.New("sfu: answer without an outstanding offer")

// HandleAnswer applies the participant's answer to the outstanding offer.
func (p *Peer) HandleAnswer(sdp string) error {
	p.neg.Lock()
	if !p.awaitingAnswer {
		p.neg.Unlock()
		return ErrUnexpectedAnswer
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		p.neg.Unlock()
		return fmt.Errorf("sfu: remote description: %w", err)
	}
	p.awaitingAnswer, p.remoteSet, p.restarting = false, true, false
	cands := p.pendingCands
	p.pendingCands = nil
	again := p.again
	p.again = false
	fresh := p.fresh
	p.fresh = nil
	p.neg.Unlock()

	for _, c := range cands {
		if err := p.pc.AddICECandidate(c); err != nil {
			return fmt.Errorf("sfu: candidate: %w", err)
		}
	}
	for _, t := range fresh {
		t.RequestKeyframe()
	}
	if again {
		return p.negotiate()
	}
	return nil
}

// AddCandidate adds a remote candidate, held until the first answer.
func (p *Peer) AddCandidate(c webrtc.ICECandidateInit) error {
	p.neg.Lock()
	if !p.remoteSet || p.restarting {
		// Before the answer that carries their ICE credentials.
		if len(p.pendingCands) >= 64 {
			p.neg.Unlock()
			return errors.New("sfu: too many early candidates")
		}
		p.pendingCands = append(p.pendingCands, c)
		p.neg.Unlock()
		return nil
	}
	p.neg.Unlock()
	if c.Candidate == "" {
		return nil // end of candidates
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("sfu: candidate: %w", err)
	}
	return nil
}

// Subscribe forwards t to this peer.
func (p *Peer) Subscribe(t *Track) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if _, ok := p.subs[t.ID]; ok {
		p.mu.Unlock()
		return nil
	}
	sub := subscription{t: t}
	var local webrtc.TrackLocal
	if t.layered {
		sub.down = newDownTrack(t)
		local = sub.down
	} else {
		sub.aud = &audioDown{t: t}
		local = sub.aud
	}
	tr, err := p.pc.AddTransceiverFromTrack(local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("sfu: subscribe: %w", err)
	}
	sub.tr = tr
	p.subs[t.ID] = sub
	p.mu.Unlock()
	down := sub.down
	if down != nil {
		down.retarget()
	}
	t.addSub(sub)
	t.subscribers.Add(1)
	p.sfu.Stats.Forwards.Add(1)
	go p.readRTCP(tr.Sender(), t, down)
	p.neg.Lock()
	p.fresh = append(p.fresh, t)
	p.neg.Unlock()
	return p.negotiate()
}

// Unsubscribe stops forwarding t to this peer.
func (p *Peer) Unsubscribe(t *Track) error {
	p.mu.Lock()
	sub, ok := p.subs[t.ID]
	delete(p.subs, t.ID)
	closed := p.closed
	p.mu.Unlock()
	if !ok {
		return nil
	}
	t.removeSub(sub)
	t.subscribers.Add(-1)
	p.sfu.Stats.Forwards.Add(-1)
	if closed {
		return nil
	}
	if err := p.pc.RemoveTrack(sub.tr.Sender()); err != nil {
		return fmt.Errorf("sfu: unsubscribe: %w", err)
	}
	return p.negotiate()
}

// Unpublish stops every receive transceiver of this peer (a speaker sent
// back to the audience): its tracks end, their m-lines become inactive in
// the next offer, and the peer may publish again later on new ones.
func (p *Peer) Unpublish() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	trs := make([]*webrtc.RTPTransceiver, 0, len(p.sources))
	for tr := range p.sources {
		trs = append(trs, tr)
	}
	p.sources = map[*webrtc.RTPTransceiver]string{}
	p.published = 0
	p.tracks = nil
	p.simul = map[*webrtc.RTPReceiver]*Track{}
	p.simulOffer = map[*webrtc.RTPTransceiver]bool{}
	p.mu.Unlock()
	if len(trs) == 0 {
		return nil
	}
	for _, tr := range trs {
		if err := tr.Stop(); err != nil {
			return fmt.Errorf("sfu: unpublish: %w", err)
		}
	}
	return p.negotiate()
}

// UnpublishTrack stops one published track (a screen share ends): its
// transceiver stops, the track ends, the m-line goes inactive.
func (p *Peer) UnpublishTrack(id string) error {
	p.mu.Lock()
	var t *Track
	for i, x := range p.tracks {
		if x.ID == id {
			t = x
			p.tracks = append(p.tracks[:i:i], p.tracks[i+1:]...)
			break
		}
	}
	if t == nil {
		p.mu.Unlock()
		return ErrNoTrack
	}
	var tr *webrtc.RTPTransceiver
	for x := range p.sources {
		if x.Receiver() == t.recv {
			tr = x
		}
	}
	if tr != nil {
		delete(p.sources, tr)
		delete(p.simulOffer, tr)
		p.published--
	}
	delete(p.simul, t.recv)
	p.mu.Unlock()
	if tr == nil {
		return ErrNoTrack
	}
	if err := tr.Stop(); err != nil {
		return fmt.Errorf("sfu: unpublish: %w", err)
	}
	return p.negotiate()
}

// ErrNoTrack: the peer publishes no track with that id.
var ErrNoTrack = errors.New("sfu: no such published track")

// Tracks are the tracks this peer publishes.
func (p *Peer) Tracks() []*Track {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Track(nil), p.tracks...)
}

// Close ends the connection: its published tracks end, their forwarding
// loops return.
func (p *Peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	// The connection's close stops the senders; only the counts remain.
	for _, sub := range p.subs {
		sub.t.subscribers.Add(-1)
		sub.t.removeSub(sub)
	}
	n := len(p.subs)
	p.subs = map[string]subscription{}
	p.mu.Unlock()
	p.sfu.Stats.Forwards.Add(-int64(n))
	p.sfu.Stats.Peers.Add(-1)
	p.failOnce.Do(func() {}) // closing is not failing
	p.est.close()
	close(p.srStop)
	return p.pc.Close()
}

func (p *Peer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *Peer) requestKeyframes() {
	p.mu.Lock()
	ts := make([]*Track, 0, len(p.subs))
	for _, sub := range p.subs {
		ts = append(ts, sub.t)
	}
	p.mu.Unlock()
	for _, t := range ts {
		t.RequestKeyframe()
	}
}

// SetQuality caps the simulcast layer this peer receives of a track from
// the size it renders (LayerLow…LayerHigh); other tracks ignore it.
func (p *Peer) SetQuality(trackID string, l int) bool {
	p.mu.Lock()
	sub, ok := p.subs[trackID]
	p.mu.Unlock()
	if !ok {
		return false
	}
	if sub.down != nil {
		sub.down.setSize(l)
	}
	return true
}

// Layer is the simulcast layer forwarded to this peer for a track (-1:
// none or not simulcast) and the target.
func (p *Peer) Layer(trackID string) (current, target int) {
	p.mu.Lock()
	sub, ok := p.subs[trackID]
	p.mu.Unlock()
	if !ok || sub.down == nil {
		return -1, -1
	}
	return sub.down.Layer()
}

func (p *Peer) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	p.mu.Lock()
	source := ""
	for tr, s := range p.sources {
		if tr.Receiver() == recv {
			source = s
		}
	}
	if source != "" && remote.Kind() == webrtc.RTPCodecTypeVideo {
		// Every video track goes through the layer path (simulcast or a
		// single layer): one buffer per layer answers NACKs.
		p.onLayer(remote, recv, source, remote.RID()) // unlocks
		return
	}
	p.trackSeq++
	id := fmt.Sprintf("%s-t%d", p.ID, p.trackSeq)
	p.mu.Unlock()
	if source == "" {
		// Not a transceiver the server offered: refuse to forward it.
		return
	}
	codec := remote.Codec().RTPCodecCapability
	t := &Track{
		ID: id, StreamID: p.ID, Kind: "audio", Source: source, Publisher: p,
		remote: remote, recv: recv, codec: codec, clockRate: codec.ClockRate, done: make(chan struct{}),
	}
	for _, e := range recv.GetParameters().HeaderExtensions {
		switch {
		case e.ID <= 0 || e.ID >= 256:
		case e.URI == sdp.AudioLevelURI:
			t.level = &levelMeter{id: uint8(e.ID)}
		case e.URI == sdp.TransportCCURI:
			t.tccID = uint8(e.ID)
		}
	}
	p.mu.Lock()
	p.tracks = append(p.tracks, t)
	p.mu.Unlock()
	p.sfu.Stats.addTrack(t, 1)
	defer p.sfu.Stats.addTrack(t, -1)
	go drainRTCP(recv)
	p.h.Track(t)
	t.forward(&p.sfu.Stats, p.sfu.out)
}

// onLayer handles one encoding of a simulcast track; the first one
// announces the track. Called with p.mu held; unlocks it.
func (p *Peer) onLayer(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver, source, rid string) {
	l := &layer{idx: LayerLow, remote: remote, ring: newRing()}
	l.last.Store(time.Now().UnixNano()) // pion calls this on the first packet
	if rid != "" {
		l.idx = layerIndex(rid)
	}
	t := p.simul[recv]
	first := t == nil
	if first {
		p.trackSeq++
		id := fmt.Sprintf("%s-t%d", p.ID, p.trackSeq)
		t = &Track{
			ID: id, StreamID: p.ID, Kind: "video", Source: source, Publisher: p,
			remote: remote, recv: recv, codec: remote.Codec().RTPCodecCapability, clockRate: remote.Codec().ClockRate, layered: true, simulcast: rid != "", done: make(chan struct{}),
		}
		t.vp8 = strings.EqualFold(t.codec.MimeType, webrtc.MimeTypeVP8)
		t.isKey = keyframeFunc(t.codec.MimeType)
		p.simul[recv] = t
		p.tracks = append(p.tracks, t)
	}
	t.running.Add(1)
	t.layers[l.idx].Store(l)
	p.mu.Unlock()
	go func() {
		buf := make([]byte, 1500)
		for {
			var err error
			if rid == "" {
				_, _, err = recv.Read(buf)
			} else {
				_, _, err = recv.ReadSimulcast(buf, rid)
			}
			if err != nil {
				return
			}
		}
	}()
	if first {
		p.sfu.Stats.addTrack(t, 1)
		go func() {
			<-t.done
			p.sfu.Stats.addTrack(t, -1)
		}()
		p.h.Track(t)
	} else if downs := t.downs.Load(); downs != nil {
		// A higher layer may now be reachable.
		for _, d := range *downs {
			d.retarget()
		}
	}
	t.forwardLayer(l, &p.sfu.Stats, p.sfu.out)
}

// Receivers' RTCP (sender reports) must be read for the interceptors to
// process it; the SFU itself has no use for it yet.
func drainRTCP(r *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}

// readRTCP reads a subscriber's feedback for t: NACKs are answered by the
// interceptor below this read; keyframe requests go to the publisher.
func (p *Peer) readRTCP(s *webrtc.RTPSender, t *Track, down *downTrack) {
	buf := make([]byte, 1500)
	var loss lossCounter
	var audioSSRC uint32
	if down == nil {
		if enc := s.GetParameters().Encodings; len(enc) > 0 {
			audioSSRC = uint32(enc[0].SSRC)
		}
	}
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		if down == nil {
			if WantsKeyframe(buf[:n]) {
				t.RequestKeyframe()
			}
			if _, cum, ok := ReportBlock(buf[:n], audioSSRC); ok && audioSSRC != 0 {
				loss.report(cum, &p.sfu.Stats)
			}
			continue
		}
		if WantsKeyframe(buf[:n]) {
			down.keyframe()
		}
		down.mu.Lock()
		ssrc := down.ssrc
		down.mu.Unlock()
		if frac, cum, ok := ReportBlock(buf[:n], ssrc); ok {
			loss.report(cum, &p.sfu.Stats)
			if p.est == nil {
				down.onReport(frac, time.Now())
			}
		}
		ForEachNack(buf[:n], ssrc, func(seq uint16) { down.retransmit(seq, &p.sfu.Stats) })
	}
}

// keyframeInterval throttles keyframe requests per track: N subscribers
// losing a packet at once must not make the publisher send N keyframes.
const keyframeInterval = 500 * time.Millisecond
