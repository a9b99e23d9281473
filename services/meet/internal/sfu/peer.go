package sfu

import (
	"errors"
	"fmt"
	"sync"
	"time"

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
	remoteSet      bool
	pendingCands   []webrtc.ICECandidateInit
	fresh          []*Track // subscribed since the last answer: need a keyframe

	mu        sync.Mutex
	closed    bool
	sources   map[*webrtc.RTPTransceiver]string
	published int
	subs      map[string]subscription // by track id
	tracks    []*Track                // published by this peer
	failOnce  sync.Once
	trackSeq  int
}

type subscription struct {
	tr *webrtc.RTPTransceiver
	t  *Track
}

// NewPeer opens a PeerConnection for a participant.
func (s *SFU) NewPeer(id string, h Handlers) (*Peer, error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("sfu: peer connection: %w", err)
	}
	p := &Peer{ID: id, sfu: s, pc: pc, h: h, sources: map[*webrtc.RTPTransceiver]string{}, subs: map[string]subscription{}}
	s.Stats.Peers.Add(1)
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
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
func (p *Peer) Publish(kinds []string, sourceNames []string, limit int) error {
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
		p.sources[tr] = sourceNames[i]
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
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("sfu: offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("sfu: local description: %w", err)
	}
	p.awaitingAnswer = true
	p.h.Offer(offer.SDP)
	return nil
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
	p.awaitingAnswer, p.remoteSet = false, true
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
	if !p.remoteSet {
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
	tr, err := p.pc.AddTransceiverFromTrack(t.local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		p.mu.Unlock()
		return fmt.Errorf("sfu: subscribe: %w", err)
	}
	p.subs[t.ID] = subscription{tr, t}
	p.mu.Unlock()
	t.subscribers.Add(1)
	p.sfu.Stats.Forwards.Add(1)
	go p.readRTCP(tr.Sender(), t)
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
	}
	n := len(p.subs)
	p.subs = map[string]subscription{}
	p.mu.Unlock()
	p.sfu.Stats.Forwards.Add(-int64(n))
	p.sfu.Stats.Peers.Add(-1)
	p.failOnce.Do(func() {}) // closing is not failing
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

func (p *Peer) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	p.mu.Lock()
	source := ""
	for tr, s := range p.sources {
		if tr.Receiver() == recv {
			source = s
		}
	}
	p.trackSeq++
	id := fmt.Sprintf("%s-t%d", p.ID, p.trackSeq)
	p.mu.Unlock()
	if source == "" {
		// Not a transceiver the server offered: refuse to forward it.
		return
	}
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, id, p.ID)
	if err != nil {
		p.sfu.log.Warn("local track", "err", err)
		return
	}
	kind := "audio"
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		kind = "video"
	}
	t := &Track{
		ID: id, StreamID: p.ID, Kind: kind, Source: source, Publisher: p,
		remote: remote, local: local, done: make(chan struct{}),
	}
	p.mu.Lock()
	p.tracks = append(p.tracks, t)
	p.mu.Unlock()
	p.sfu.Stats.Tracks.Add(1)
	defer p.sfu.Stats.Tracks.Add(-1)
	go drainRTCP(recv)
	p.h.Track(t)
	t.forward(&p.sfu.Stats)
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
func (p *Peer) readRTCP(s *webrtc.RTPSender, t *Track) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		if WantsKeyframe(buf[:n]) {
			t.RequestKeyframe()
		}
	}
}

// keyframeInterval throttles keyframe requests per track: N subscribers
// losing a packet at once must not make the publisher send N keyframes.
const keyframeInterval = 500 * time.Millisecond
