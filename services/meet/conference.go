package meet

import (
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"bureau/services/meet/internal/rooms"
	"bureau/services/meet/internal/sfu"
	"bureau/services/meet/internal/signal"
)

// conference is the live state of a room on this node: the admitted
// members, the lobby, and the tracks being forwarded. Its lock is never
// held while calling into the SFU or a socket.
type conference struct {
	svc  *Service
	room *rooms.Room

	mu      sync.Mutex
	members map[string]*session // by participant id
	lobby   map[string]*session
	tracks  map[string]*sfu.Track
	gone    bool // dropped from the service: sessions must start a new one
}

func newConference(s *Service, r *rooms.Room) *conference {
	return &conference{svc: s, room: r, members: map[string]*session{}, lobby: map[string]*session{}, tracks: map[string]*sfu.Track{}}
}

func (c *conference) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members) + len(c.lobby)
}

func (c *conference) info() *signal.Room { return &signal.Room{ID: c.room.ID, Title: c.room.Title} }

// enter places s: admitted directly or queued in the lobby. It reports
// false when the conference was dropped meanwhile (the caller retries on a
// fresh one).
func (c *conference) enter(s *session) bool {
	if c.room.Admission(s.user) == rooms.Direct {
		return c.admit(s)
	}
	// State and message before a host can see, and admit, the entry: the
	// participant reads lobby before joined.
	s.setState(stateLobby)
	s.send(&signal.Message{Type: signal.TypeLobby, Room: c.info()})
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return false
	}
	c.lobby[s.id] = s
	hosts := c.hostsLocked()
	c.mu.Unlock()
	info := s.info()
	for _, h := range hosts {
		h.send(&signal.Message{Type: signal.TypeLobbyRequest, Participant: &info})
	}
	return true
}

func (c *conference) hostsLocked() []*session {
	var hs []*session
	for _, m := range c.members {
		if m.role == rooms.RoleHost {
			hs = append(hs, m)
		}
	}
	return hs
}

// admit makes s a member: a PeerConnection, the room's state, and a
// subscription to every track already published.
func (c *conference) admit(s *session) bool {
	peer, err := c.svc.sfu.NewPeer(s.id, sfuHandlers(c, s))
	if err != nil {
		s.fail(signal.CodeInternal, "media unavailable")
		return true
	}
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		_ = peer.Close()
		return false
	}
	if s.isDone() { // left while being admitted
		c.mu.Unlock()
		_ = peer.Close()
		return true
	}
	if len(c.members) >= c.svc.cfg.Rooms.MaxParticipants {
		c.mu.Unlock()
		_ = peer.Close()
		s.fail(signal.CodeRoomFull, "the room is full")
		return true
	}
	delete(c.lobby, s.id)
	others := make([]*session, 0, len(c.members))
	parts := make([]signal.Participant, 0, len(c.members))
	for _, m := range c.members {
		others = append(others, m)
		parts = append(parts, m.info())
	}
	tracks := make([]*sfu.Track, 0, len(c.tracks))
	published := make([]signal.Track, 0, len(c.tracks))
	for _, t := range c.tracks {
		tracks = append(tracks, t)
		published = append(published, trackInfo(t))
	}
	c.members[s.id] = s
	s.setPeer(peer) // under c.mu: a concurrent onTrack sees a member with a peer
	c.mu.Unlock()

	self := s.info()
	s.send(&signal.Message{Type: signal.TypeJoined, Self: &self, Room: c.info(), Participants: parts, Published: published})
	for _, o := range others {
		o.send(&signal.Message{Type: signal.TypeParticipantJoined, Participant: &self})
	}
	for _, t := range tracks {
		if err := peer.Subscribe(t); err != nil {
			c.svc.base.Log.Debug("subscribe", "err", err)
		}
	}
	return true
}

func sfuHandlers(c *conference, s *session) sfu.Handlers {
	return sfu.Handlers{
		Offer: func(sdp string) { s.send(&signal.Message{Type: signal.TypeOffer, SDP: sdp}) },
		Candidate: func(ci webrtc.ICECandidateInit) {
			s.send(&signal.Message{Type: signal.TypeCandidate, Candidate: &signal.Candidate{
				Candidate: ci.Candidate, SDPMid: ci.SDPMid, SDPMLineIndex: ci.SDPMLineIndex,
			}})
		},
		Track:  func(t *sfu.Track) { c.published(t) },
		Failed: func() { s.fail(signal.CodeInternal, "media connection failed") },
	}
}

// published announces t and forwards it to every other member.
func (c *conference) published(t *sfu.Track) {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return
	}
	c.tracks[t.ID] = t
	subs := make([]*session, 0, len(c.members))
	for _, m := range c.members {
		if m.id != t.StreamID {
			subs = append(subs, m)
		}
	}
	all := c.membersLocked()
	c.mu.Unlock()
	info := trackInfo(t)
	for _, m := range all {
		m.send(&signal.Message{Type: signal.TypeTrackPublished, Info: &info})
	}
	for _, m := range subs {
		if p := m.getPeer(); p != nil {
			if err := p.Subscribe(t); err != nil {
				c.svc.base.Log.Debug("subscribe", "err", err)
			}
		}
	}
	go func() {
		<-t.Done()
		c.unpublished(t)
	}()
}

// unpublished stops forwarding t; idempotent.
func (c *conference) unpublished(t *sfu.Track) {
	c.mu.Lock()
	if _, ok := c.tracks[t.ID]; !ok {
		c.mu.Unlock()
		return
	}
	delete(c.tracks, t.ID)
	all := c.membersLocked()
	c.mu.Unlock()
	for _, m := range all {
		if p := m.getPeer(); p != nil && m.id != t.StreamID {
			_ = p.Unsubscribe(t)
		}
		m.send(&signal.Message{Type: signal.TypeTrackUnpublished, Track: t.ID, ID: t.StreamID})
	}
}

func (c *conference) membersLocked() []*session {
	ms := make([]*session, 0, len(c.members))
	for _, m := range c.members {
		ms = append(ms, m)
	}
	return ms
}

// broadcast sends m to every member.
func (c *conference) broadcast(m *signal.Message) {
	c.mu.Lock()
	all := c.membersLocked()
	c.mu.Unlock()
	for _, s := range all {
		s.send(m)
	}
}

// leave removes s wherever it is and tells the others.
func (c *conference) leave(s *session) {
	c.mu.Lock()
	_, member := c.members[s.id]
	_, waiting := c.lobby[s.id]
	delete(c.members, s.id)
	delete(c.lobby, s.id)
	var mine []*sfu.Track
	for id, t := range c.tracks {
		if t.StreamID == s.id {
			mine = append(mine, t)
			delete(c.tracks, id)
		}
	}
	others := c.membersLocked()
	hosts := c.hostsLocked()
	c.mu.Unlock()

	if p := s.getPeer(); p != nil {
		_ = p.Close()
	}
	for _, o := range others {
		for _, t := range mine {
			if p := o.getPeer(); p != nil {
				_ = p.Unsubscribe(t)
			}
			o.send(&signal.Message{Type: signal.TypeTrackUnpublished, Track: t.ID, ID: s.id})
		}
	}
	switch {
	case member:
		for _, o := range others {
			o.send(&signal.Message{Type: signal.TypeParticipantLeft, ID: s.id})
		}
	case waiting:
		for _, h := range hosts {
			h.send(&signal.Message{Type: signal.TypeLobbyLeft, ID: s.id})
		}
	}
	c.svc.dropIfEmpty(c)
}

// decide lets a host admit or deny a lobby entry.
func (c *conference) decide(host *session, id string, admit bool) {
	if host.role != rooms.RoleHost {
		host.sendError(signal.CodeForbidden, "only a host admits or denies")
		return
	}
	c.mu.Lock()
	s := c.lobby[id]
	delete(c.lobby, id) // one decision per entry, even with two hosts

	hosts := c.hostsLocked()
	c.mu.Unlock()
	if s == nil {
		host.sendError(signal.CodeNotFound, "nobody with that id in the lobby")
		return
	}
	c.svc.base.Log.Info("lobby decision", "room", c.room.ID, "participant", id, "user", s.user.ID, "admit", admit, "by", host.user.ID)
	for _, h := range hosts {
		h.send(&signal.Message{Type: signal.TypeLobbyLeft, ID: id})
	}
	if !admit {
		s.send(&signal.Message{Type: signal.TypeDenied, Room: c.info()})
		s.closeNormal()
		return
	}
	c.admit(s)
}

// closeAll ends every session (service shutdown).
func (c *conference) closeAll() {
	c.mu.Lock()
	all := c.membersLocked()
	for _, s := range c.lobby {
		all = append(all, s)
	}
	c.mu.Unlock()
	for _, s := range all {
		s.closeNormal()
	}
}

func trackInfo(t *sfu.Track) signal.Track {
	return signal.Track{ID: t.ID, StreamID: t.StreamID, Participant: t.StreamID, Kind: t.Kind, Source: t.Source}
}

func nowMillis() int64 { return time.Now().UnixMilli() }
