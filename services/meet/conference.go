package meet

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"bureau/services/meet/internal/rooms"
	"bureau/services/meet/internal/sfu"
	"bureau/services/meet/internal/signal"
	"bureau/services/meet/internal/store"
)

// conference is the live state of a room on this node: the admitted
// members, the lobby, and the tracks being forwarded. Its lock is never
// held while calling into the SFU or a socket.
type conference struct {
	svc  *Service
	id   string
	room atomic.Pointer[rooms.Room] // replaced when a join reads newer settings

	mu        sync.Mutex
	members   map[string]*session // by participant id
	lobby     map[string]*session
	tracks    map[string]*sfu.Track
	gone      bool              // dropped from the service: sessions must start a new one
	locked    bool              // new arrivals without moderation rights wait in the lobby
	chatScope rooms.WebinarChat // who may chat in a webinar (changed live, not by a join's newer settings)
	banned    map[string]bool   // user ids removed by a moderator
	speaker   string            // the active speaker's participant id

	speakerOnce sync.Once
	countOnce   sync.Once
	stop        chan struct{} // closed when the conference is dropped
	stopOnce    sync.Once
}

// Active speaker: every speakerTick the loudest microphone (smoothed audio
// level, see sfu.Track.Loudness) above speakThreshold becomes the active
// speaker if it stays the loudest for speakerTicks evaluations and beats a
// still-speaking current speaker by speakMargin dB.
const (
	speakerTick    = 200 * time.Millisecond
	speakerTicks   = 2
	speakThreshold = 60 // dB above silence: -67 dBov
	speakMargin    = 6
)

func (c *conference) speakerLoop() {
	tick := time.NewTicker(speakerTick)
	defer tick.Stop()
	var cand string
	var candN int
	for {
		var now time.Time
		select {
		case <-c.stop:
			return
		case now = <-tick.C:
		}
		c.mu.Lock()
		cur := c.speaker
		loud := make(map[string]float64, len(c.tracks))
		for _, t := range c.tracks {
			if t.Kind == signal.KindAudio && t.Source == "microphone" {
				loud[t.StreamID] = max(loud[t.StreamID], t.Loudness(now))
			}
		}
		c.mu.Unlock()
		best, bestL := "", 0.0
		for id, l := range loud {
			if l > bestL || (l == bestL && id < best) {
				best, bestL = id, l
			}
		}
		curL := loud[cur]
		if bestL < speakThreshold || best == cur || (curL >= speakThreshold && bestL < curL+speakMargin) {
			cand, candN = "", 0
			continue
		}
		if best != cand {
			cand, candN = best, 0
		}
		if candN++; candN < speakerTicks {
			continue
		}
		cand, candN = "", 0
		c.mu.Lock()
		c.speaker = best
		c.mu.Unlock()
		c.broadcast(&signal.Message{Type: signal.TypeActiveSpeaker, ID: best})
	}
}

// countLoop tells a webinar's members how many participants there are,
// at most every countPeriod and only when it changed: attendees do not
// receive every other attendee's arrival (O(n²) messages in a webinar of
// hundreds).
func (c *conference) countLoop() {
	tick := time.NewTicker(countPeriod)
	defer tick.Stop()
	last := -1
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		if n := c.memberCount(); n != last {
			last = n
			c.broadcast(&signal.Message{Type: signal.TypeCount, Count: n})
		}
	}
}

const countPeriod = time.Second

func (c *conference) webinar() bool { return c.room.Load().Kind == rooms.KindWebinar }

// hearsAll reports whether s is told about every participant: everyone in
// a meeting; in a webinar, all but attendees, who are told about the
// stage (hosts, moderators, presenters, speakers) and the count.
func (c *conference) hearsAll(s *session) bool {
	return !c.webinar() || s.getRole() != rooms.RoleAttendee
}

// audienceLocked are the members told about what concerns about (its
// arrival, departure, hand, mute, reaction): everyone, except that an
// attendee of a webinar is heard only by the stage and themselves.
func (c *conference) audienceLocked(about *session) []*session {
	if c.hearsAll(about) {
		return c.membersLocked()
	}
	out := make([]*session, 0, 8)
	for _, m := range c.members {
		if m == about || c.hearsAll(m) {
			out = append(out, m)
		}
	}
	return out
}

// tell sends m, about a member, to its audience.
func (c *conference) tell(about *session, m *signal.Message) {
	c.mu.Lock()
	to := c.audienceLocked(about)
	c.mu.Unlock()
	sendAll(to, m)
}

// sendAll encodes m once and sends it to every session of to.
func sendAll(to []*session, m *signal.Message) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	for _, s := range to {
		s.sendJSON(b)
	}
}

func (c *conference) stopLoops() { c.stopOnce.Do(func() { close(c.stop) }) }

func newConference(s *Service, r *rooms.Room) *conference {
	c := &conference{svc: s, id: r.ID, locked: r.Locked, chatScope: r.Chat(), members: map[string]*session{}, lobby: map[string]*session{}, tracks: map[string]*sfu.Track{}, banned: map[string]bool{}, stop: make(chan struct{})}
	c.room.Store(r)
	return c
}

func (c *conference) setRoom(r *rooms.Room) { c.room.Store(r) }

func (c *conference) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members) + len(c.lobby)
}

// memberCount counts the admitted participants (lobby excluded).
func (c *conference) memberCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.members)
}

func (c *conference) info() *signal.Room {
	c.mu.Lock()
	locked, chat := c.locked, c.chatScope
	c.mu.Unlock()
	r := c.room.Load()
	info := &signal.Room{ID: c.id, Title: r.Title, Kind: string(r.Kind), Locked: locked}
	if r.Kind == rooms.KindWebinar {
		info.WebinarChat = string(chat)
	}
	return info
}

// chat delivers a chat message from s. In a webinar the room's setting
// decides for attendees: to everyone, to the stage only (and back to the
// sender), or refused; the stage's messages go to everyone.
func (c *conference) chat(from *session, text string) {
	m := &signal.Message{Type: signal.TypeChat, ID: from.id, Name: signal.MaxDisplayName(from.user.DisplayName()), Text: text, Time: nowMillis()}
	if c.hearsAll(from) { // a meeting, or the stage of a webinar
		c.broadcast(m)
		return
	}
	c.mu.Lock()
	chat := c.chatScope
	c.mu.Unlock()
	switch chat {
	case rooms.ChatOff:
		from.sendError(signal.CodeChatDisabled, "the chat of this webinar is for the speakers only")
	case rooms.ChatStage:
		c.tell(from, m) // the stage and the sender
	default:
		c.broadcast(m)
	}
}

// setWebinarChat changes who may chat in a webinar, stores it and tells
// everyone (by: the participant who changed it; nil for a change through
// the REST API, already stored).
func (c *conference) setWebinarChat(by *session, w rooms.WebinarChat) {
	if by != nil {
		if !rooms.CanModerate(by.getRole()) {
			by.sendError(signal.CodeForbidden, "only a host or a moderator sets who may chat")
			return
		}
		if !c.webinar() {
			by.sendError(signal.CodeUnsupported, "only a webinar restricts its chat")
			return
		}
		ctx, cancel := bg()
		err := c.svc.store.SetWebinarChat(ctx, c.id, w)
		cancel()
		if err != nil {
			c.svc.base.Log.Error("webinar chat not stored", "room", c.id, "err", err)
			by.sendError(signal.CodeInternal, "the setting could not be saved")
			return
		}
	}
	c.mu.Lock()
	c.chatScope = w
	c.mu.Unlock()
	m := &signal.Message{Type: signal.TypeWebinarChat, WebinarChat: string(w)}
	if by != nil {
		m.ID = by.id
		c.svc.base.Log.Info("webinar chat", "room", c.id, "scope", w, "by", by.user.ID)
	}
	c.broadcast(m)
}

// enter places s: admitted directly or queued in the lobby. It reports
// false when the conference was dropped meanwhile (the caller retries on a
// fresh one).
func (c *conference) enter(s *session) bool {
	c.mu.Lock()
	banned, locked := c.banned[s.user.ID], c.locked
	c.mu.Unlock()
	ctx, cancel := bg()
	st, err := c.svc.store.Standing(ctx, c.id, s.user.ID)
	cancel()
	if err != nil {
		c.svc.base.Log.Error("ban and admission check", "room", c.id, "err", err)
		s.fail(signal.CodeInternal, "try again later")
		return true
	}
	if banned || st.Banned {
		s.fail(signal.CodeForbidden, "a moderator removed you from this meeting")
		return true
	}
	// Someone let in earlier in this meeting (admitted from the lobby,
	// promoted, hand raised) comes back as they were: after the resume
	// grace, or on another node once the room's node stopped.
	if st.Admitted {
		s.restore(st.Was)
		return c.admit(s)
	}
	role := s.getRole()
	// A locked room still lets in those who run it. Guests always wait.
	if !s.guest && c.room.Load().Admission(s.user) == rooms.Direct && (!locked || rooms.CanModerate(role) || role == rooms.RolePresenter) {
		return c.admit(s)
	}
	// State and message before a host can see, and admit, the entry: the
	// participant reads lobby before joined.
	s.setState(stateLobby)
	s.send(&signal.Message{Type: signal.TypeLobby, Room: c.info(), Token: s.token, GuestKey: s.guestKey})
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

// hostsLocked are the members who may moderate (hosts and moderators).
func (c *conference) hostsLocked() []*session {
	var hs []*session
	for _, m := range c.members {
		if rooms.CanModerate(m.getRole()) {
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
	if s.isOver() { // left while being admitted
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
	others := c.audienceLocked(s) // before s is a member: without s
	c.members[s.id] = s
	s.setPeer(peer) // under c.mu: a concurrent onTrack sees a member with a peer
	// An attendee of a webinar learns of the stage only, and the count.
	all := c.hearsAll(s)
	parts := make([]signal.Participant, 0, len(c.members))
	for _, m := range c.members {
		if m != s && (all || c.hearsAll(m)) {
			parts = append(parts, m.info())
		}
	}
	count := len(c.members)
	tracks := make([]*sfu.Track, 0, len(c.tracks))
	published := make([]signal.Track, 0, len(c.tracks))
	for _, t := range c.tracks {
		tracks = append(tracks, t)
		published = append(published, trackInfo(t))
	}
	speaker := c.speaker
	// A host or moderator arriving (or coming back) sees who already
	// waits, as if they had been there when each arrived.
	var waiting []*session
	if rooms.CanModerate(s.getRole()) {
		for _, w := range c.lobby {
			waiting = append(waiting, w)
		}
	}
	c.mu.Unlock()
	if c.webinar() {
		c.countOnce.Do(func() { go c.countLoop() })
	}

	self := s.info()
	s.send(&signal.Message{Type: signal.TypeJoined, Self: &self, Room: c.info(), Participants: parts, Published: published, Speaker: speaker, ICEServers: c.svc.iceServers(s.user.ID), Token: s.token, Count: count})
	for _, w := range waiting {
		info := w.info()
		s.send(&signal.Message{Type: signal.TypeLobbyRequest, Participant: &info})
	}
	sendAll(others, &signal.Message{Type: signal.TypeParticipantJoined, Participant: &self})
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
		Failed: s.mediaFailed,
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
	if owner := c.members[t.StreamID]; owner != nil {
		// A participant muted before publishing stays muted.
		for _, k := range []string{signal.KindAudio, signal.KindVideo} {
			if mutedBy(t, k) && owner.muted(k) {
				t.SetPaused(true)
			}
		}
	}
	subs := make([]*session, 0, len(c.members))
	for _, m := range c.members {
		if m.id != t.StreamID {
			subs = append(subs, m)
		}
	}
	all := c.membersLocked()
	c.mu.Unlock()
	info := trackInfo(t)
	sendAll(all, &signal.Message{Type: signal.TypeTrackPublished, Info: &info})
	if t.Kind == signal.KindAudio {
		c.speakerOnce.Do(func() { go c.speakerLoop() })
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
	sendAll(all, m)
}

// leave removes s wherever it is and tells the others.
func (c *conference) leave(s *session) {
	c.mu.Lock()
	_, member := c.members[s.id]
	_, waiting := c.lobby[s.id]
	told := c.audienceLocked(s)
	delete(c.members, s.id)
	delete(c.lobby, s.id)
	if c.speaker == s.id {
		c.speaker = ""
	}
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
		for i, o := range told {
			if o == s {
				told = append(told[:i], told[i+1:]...)
				break
			}
		}
		sendAll(told, &signal.Message{Type: signal.TypeParticipantLeft, ID: s.id})
	case waiting:
		for _, h := range hosts {
			h.send(&signal.Message{Type: signal.TypeLobbyLeft, ID: s.id})
		}
	}
	c.svc.dropIfEmpty(c)
}

// decide lets a host admit or deny a lobby entry.
func (c *conference) decide(host *session, id string, admit bool) {
	if !rooms.CanModerate(host.getRole()) {
		host.sendError(signal.CodeForbidden, "only a host or a moderator admits or denies")
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
	c.svc.base.Log.Info("lobby decision", "room", c.id, "participant", id, "user", s.user.ID, "admit", admit, "by", host.user.ID)
	for _, h := range hosts {
		h.send(&signal.Message{Type: signal.TypeLobbyLeft, ID: id})
	}
	if !admit {
		s.send(&signal.Message{Type: signal.TypeDenied, Room: c.info()})
		s.closeNormal()
		return
	}
	c.remember(s) // stored before they are told: a failover cannot undo it
	c.admit(s)
}

// remember stores what s holds in this meeting (let in, role, hand), so
// that they come back as they are after a drop or a failover.
func (c *conference) remember(s *session) {
	s.mu.Lock()
	a := store.Admission{Role: s.role, Hand: s.hand}
	s.mu.Unlock()
	ctx, cancel := bg()
	defer cancel()
	if err := c.svc.store.Admit(ctx, c.id, s.user.ID, a, c.svc.now()); err != nil {
		c.svc.base.Log.Error("admission not stored", "room", c.id, "user", s.user.ID, "err", err)
	}
}

// forget clears what subject held in this meeting (removed), or every
// admission when subject is empty (the meeting is over).
func (c *conference) forget(subject string) {
	ctx, cancel := bg()
	defer cancel()
	var err error
	if subject == "" {
		err = c.svc.store.ForgetAdmissions(ctx, c.id)
	} else {
		err = c.svc.store.ForgetAdmission(ctx, c.id, subject)
	}
	if err != nil {
		c.svc.base.Log.Error("admissions not cleared", "room", c.id, "err", err)
	}
}

func (c *conference) member(id string) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[id]
}

// target checks that by may act on the member id and returns it.
func (c *conference) target(by *session, id string) *session {
	if !rooms.CanModerate(by.getRole()) {
		by.sendError(signal.CodeForbidden, "only a host or a moderator may do this")
		return nil
	}
	t := c.member(id)
	if t == nil {
		by.sendError(signal.CodeNotFound, "nobody with that id in the room")
		return nil
	}
	if t.getRole() == rooms.RoleHost && by.getRole() != rooms.RoleHost {
		by.sendError(signal.CodeForbidden, "a moderator cannot act on the host")
		return nil
	}
	return t
}

// promote turns an attendee into a speaker (who may then publish), or a
// speaker back into an attendee (their tracks stop, the m-lines go
// inactive).
func (c *conference) promote(by *session, id string, up bool) {
	t := c.target(by, id)
	if t == nil {
		return
	}
	from, to := rooms.RoleAttendee, rooms.RoleSpeaker
	if !up {
		from, to = to, from
	}
	if t.getRole() != from {
		by.sendError(signal.CodeForbidden, "only an attendee is promoted and only a speaker is demoted")
		return
	}
	t.mu.Lock()
	hand := t.hand
	t.hand = false
	t.mu.Unlock()
	t.setRole(to)
	c.remember(t)
	c.svc.base.Log.Info("role", "room", c.id, "participant", id, "role", to, "by", by.user.ID)
	// To everyone, with the participant: attendees add a new speaker to
	// their stage, and drop one demoted.
	info := t.info()
	c.broadcast(&signal.Message{Type: signal.TypeRole, ID: id, Role: to, Participant: &info})
	if hand {
		no := false
		c.tell(t, &signal.Message{Type: signal.TypeHand, ID: id, Raised: &no})
	}
	if !up {
		if p := t.getPeer(); p != nil {
			if err := p.Unpublish(); err != nil {
				c.svc.base.Log.Debug("unpublish", "err", err)
			}
		}
	}
}

// moderate mutes a participant's microphone, stops their camera (the
// server stops forwarding; they are told) or removes them (they cannot
// come back into this meeting).
func (c *conference) moderate(by *session, id, action string) {
	t := c.target(by, id)
	if t == nil {
		return
	}
	c.svc.base.Log.Info("moderation", "room", c.id, "participant", id, "user", t.user.ID, "action", action, "by", by.user.ID)
	yes := true
	switch action {
	case signal.ActionMute, signal.ActionStopVideo:
		kind := signal.KindAudio
		if action == signal.ActionStopVideo {
			kind = signal.KindVideo
		}
		t.setMuted(kind, true)
		t.send(&signal.Message{Type: signal.TypeModerated, Action: action, By: by.id})
		c.broadcast(&signal.Message{Type: signal.TypeMute, ID: id, Kind: kind, Muted: &yes})
	case signal.ActionRemove, signal.ActionRemoveRevoke:
		if action == signal.ActionRemoveRevoke && !t.guest {
			by.sendError(signal.CodeForbidden, "only a guest came through a guest link")
			return
		}
		c.mu.Lock()
		c.banned[t.user.ID] = true
		c.mu.Unlock()
		// Kept for the meeting's lifetime, on every node.
		ctx, cancel := bg()
		defer cancel()
		if err := c.svc.store.Ban(ctx, c.id, t.user.ID, by.user.ID, c.svc.now()); err != nil {
			c.svc.base.Log.Error("ban not stored", "room", c.id, "err", err)
		}
		c.forget(t.user.ID)
		if action == signal.ActionRemoveRevoke {
			if err := c.svc.store.RevokeGuestLink(ctx, c.id, t.link, c.svc.now()); err != nil {
				c.svc.base.Log.Error("guest link not revoked", "room", c.id, "link", t.link, "err", err)
				by.sendError(signal.CodeInternal, "the guest link could not be revoked")
			} else {
				c.dropLink(t.link)
			}
		}
		t.send(&signal.Message{Type: signal.TypeRemoved, By: by.id})
		t.closeNormal()
	}
}

// lock makes new arrivals without moderation rights wait in the lobby.
func (c *conference) lock(by *session, locked bool) {
	if !rooms.CanModerate(by.getRole()) {
		by.sendError(signal.CodeForbidden, "only a host or a moderator locks the room")
		return
	}
	c.mu.Lock()
	c.locked = locked
	c.mu.Unlock()
	// Kept across restarts and moves to another node.
	ctx, cancel := bg()
	defer cancel()
	if err := c.svc.store.SetLocked(ctx, c.id, locked); err != nil {
		c.svc.base.Log.Error("lock not stored", "room", c.id, "err", err)
	}
	c.broadcast(&signal.Message{Type: signal.TypeLock, Locked: &locked, ID: by.id})
}

// end closes the meeting for everyone, lobby included.
func (c *conference) end(by *session) {
	if !rooms.CanModerate(by.getRole()) {
		by.sendError(signal.CodeForbidden, "only a host or a moderator ends the meeting")
		return
	}
	c.svc.base.Log.Info("meeting ended", "room", c.id, "by", by.user.ID)
	c.endAll(by.id)
}

// endAll sends ended (by: a participant id, or empty when the host
// cancelled the meeting) and closes every socket, lobby included.
func (c *conference) endAll(by string) {
	c.forget("") // the next meeting in this room starts from its rules
	c.mu.Lock()
	all := c.membersLocked()
	for _, s := range c.lobby {
		all = append(all, s)
	}
	c.mu.Unlock()
	for _, s := range all {
		s.send(&signal.Message{Type: signal.TypeEnded, By: by})
		s.closeNormal()
	}
}

// question sends a Q&A question to those who answer (hosts, moderators,
// presenters) and echoes it to its author.
func (c *conference) question(from *session, text string) {
	m := &signal.Message{Type: signal.TypeQuestion, ID: from.id, Name: signal.MaxDisplayName(from.user.DisplayName()), Text: text, Time: nowMillis()}
	c.mu.Lock()
	to := make([]*session, 0, 4)
	for _, s := range c.members {
		if s == from || rooms.SeesQuestions(s.getRole()) {
			to = append(to, s)
		}
	}
	c.mu.Unlock()
	for _, s := range to {
		s.send(m)
	}
}

// closeAll ends every session at the node's shutdown with 1012 (service
// restart): clients reconnect and rejoin, on another node when there is
// one.
func (c *conference) closeAll() {
	c.stopLoops()
	c.mu.Lock()
	all := c.membersLocked()
	for _, s := range c.lobby {
		all = append(all, s)
	}
	c.mu.Unlock()
	for _, s := range all {
		s.closeWith(websocket.CloseServiceRestart, "restart")
	}
}

func trackInfo(t *sfu.Track) signal.Track {
	return signal.Track{ID: t.ID, StreamID: t.StreamID, Participant: t.StreamID, Kind: t.Kind, Source: t.Source, Simulcast: t.Simulcast()}
}

func nowMillis() int64 { return time.Now().UnixMilli() }

// dropLink turns away the guests of a revoked link still in the lobby.
func (c *conference) dropLink(link string) {
	c.mu.Lock()
	var gone []*session
	for id, s := range c.lobby {
		if s.guest && s.link == link {
			gone = append(gone, s)
			delete(c.lobby, id)
		}
	}
	hosts := c.hostsLocked()
	c.mu.Unlock()
	for _, s := range gone {
		for _, h := range hosts {
			h.send(&signal.Message{Type: signal.TypeLobbyLeft, ID: s.id})
		}
		s.send(&signal.Message{Type: signal.TypeDenied, Room: c.info()})
		s.closeNormal()
	}
}
