package meet

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"bureau/services/meet/internal/rooms"
	"bureau/services/meet/internal/sfu"
	"bureau/services/meet/internal/signal"
	"bureau/services/meet/internal/store"
	"bureau/services/platform/identity"
)

const (
	writeWait  = 10 * time.Second
	pongWait   = 60 * time.Second
	pingPeriod = 25 * time.Second
	// outQueue bounds what waits for a slow socket; a participant that
	// cannot keep up is disconnected rather than slowing the room.
	outQueue = 256
)

type state int

const (
	stateNew state = iota
	stateLobby
	stateJoined
)

// frame is one queued websocket write; a close frame ends the writer.
type frame struct {
	data      []byte
	closeCode int
	reason    string
}

// session is one participant. Its websocket (attachment) may drop and
// be replaced by a resuming one: the participant, their PeerConnection and
// tracks stay in the room for the resume grace meanwhile.
type session struct {
	id   string
	svc  *Service
	user identity.User
	// guest: came through a guest link (link: its id) with no account;
	// user is made up here (ID "guest-…" derived from the guest's key,
	// the name typed, External).
	guest    bool
	link     string
	guestKey string
	roomID   string // set before the socket is read
	conf     *conference
	// token resumes this session on another websocket (secret, given in
	// joined/lobby).
	token  string
	limits sessionLimits

	mu                 sync.Mutex
	att                *attachment // nil while detached
	over               bool        // left for good
	seq                uint64      // of the last message sent
	ring               [ringSize][]byte
	grace              *time.Timer
	role               string // changes on promote/demote
	st                 state
	peer               *sfu.Peer
	hand, audio, video bool // raised hand, audio muted, video muted
	leaveOnce          sync.Once
}

// ringSize is how many sent messages a session keeps for a resuming
// client that missed them; a client further behind joins again.
const ringSize = 256

// attachment is one websocket of a session.
type attachment struct {
	conn *websocket.Conn
	out  chan frame
	done chan struct{}
	once sync.Once
}

func (a *attachment) stop() { a.once.Do(func() { close(a.done) }) }

// push queues f without blocking; false when the queue is full.
func (a *attachment) push(f frame) bool {
	select {
	case a.out <- f:
		return true
	default:
		return false
	}
}

func (s *Service) newSession(id string, u identity.User, role string) *session {
	return &session{id: id, svc: s, user: u, role: role, limits: newSessionLimits(&s.cfg.Limits)}
}

func (s *Service) serveWS(w http.ResponseWriter, r *http.Request) {
	u, room, ok := s.lookup(w, r)
	if !ok || !s.joinable(w, room) || s.routed(w, r, room.ID) {
		return
	}
	s.serveSession(w, r, room, s.newSession(newParticipantID(), u, room.Role(u)))
}

// serveSession upgrades to the websocket and runs ss until it ends.
func (s *Service) serveSession(w http.ResponseWriter, r *http.Request, room *rooms.Room, ss *session) {
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	conn.SetReadLimit(signal.MaxMessage)
	a := &attachment{conn: conn, out: make(chan frame, outQueue), done: make(chan struct{})}
	ss.att, ss.roomID = a, room.ID
	go a.writeLoop()
	s.readLoop(a, ss, room)
}

func newParticipantID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "p" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func (s *session) info() signal.Participant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return signal.Participant{
		ID: s.id, UserID: s.user.ID, Name: signal.MaxDisplayName(s.user.DisplayName()), Role: s.role,
		Ministry: s.user.Ministry, External: s.user.External, Guest: s.guest, Hand: s.hand, Audio: s.audio, Video: s.video,
	}
}

func (s *session) getRole() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role
}

// restore gives s back what it held earlier in the meeting: a promotion
// to speaker (the room's rules decide every other role, so a change of
// moderators by the host still applies) and a raised hand.
func (s *session) restore(a store.Admission) {
	s.mu.Lock()
	if s.role == rooms.RoleAttendee && a.Role == rooms.RoleSpeaker {
		s.role = rooms.RoleSpeaker
	}
	s.hand = a.Hand
	s.mu.Unlock()
}

func (s *session) setRole(r string) {
	s.mu.Lock()
	s.role = r
	s.mu.Unlock()
}

// muted reports the participant's mute state for a kind.
func (s *session) muted(kind string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == signal.KindAudio {
		return s.audio
	}
	return s.video
}

// setMuted records the mute state of a kind and enforces it: the
// microphone (audio) or camera (video) tracks of this participant stop or
// resume being forwarded. Screen share is not affected.
func (s *session) setMuted(kind string, muted bool) {
	s.mu.Lock()
	if kind == signal.KindAudio {
		s.audio = muted
	} else {
		s.video = muted
	}
	p := s.peer
	s.mu.Unlock()
	if p == nil {
		return
	}
	for _, t := range p.Tracks() {
		if mutedBy(t, kind) {
			t.SetPaused(muted)
		}
	}
}

// mutedBy says whether a mute of kind applies to t.
func mutedBy(t *sfu.Track, kind string) bool {
	return (kind == signal.KindAudio && t.Source == "microphone") || (kind == signal.KindVideo && t.Source == "camera")
}

func (s *session) setState(st state) {
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
}

func (s *session) state() state {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *session) setPeer(p *sfu.Peer) {
	s.mu.Lock()
	s.peer, s.st = p, stateJoined
	s.mu.Unlock()
}

func (s *session) getPeer() *sfu.Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peer
}

func (s *session) isOver() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.over
}

// send numbers m and queues it (kept for a resuming client).
func (s *session) send(m *signal.Message) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	s.sendJSON(b)
}

// sendJSON sends an encoded message (shared by the recipients of a
// broadcast), adding this session's seq in front of its fields. A socket
// whose queue is full is dropped: the participant may resume.
func (s *session) sendJSON(body []byte) {
	if len(body) < 2 || body[0] != '{' {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.over {
		return
	}
	s.seq++
	f := make([]byte, 0, len(body)+24)
	f = append(f, `{"seq":`...)
	f = strconv.AppendUint(f, s.seq, 10)
	f = append(f, ',')
	f = append(f, body[1:]...)
	s.ring[s.seq%ringSize] = f
	// Queued under the lock: the socket gets the seqs in order.
	if a := s.att; a != nil && !a.push(frame{data: f}) {
		_ = a.conn.Close() // its reader detaches the session
	}
}

func (s *session) sendError(code, msg string) {
	s.send(&signal.Message{Type: signal.TypeError, Code: code, Message: msg})
}

// fail tells the participant why, then closes its socket and ends the
// participant: protocol errors end this participant only.
func (s *session) fail(code, msg string) {
	s.sendError(code, msg)
	cc := websocket.ClosePolicyViolation
	switch code {
	case signal.CodeBadMessage, signal.CodeBadSDP, signal.CodeUnknownType:
		cc = websocket.CloseInvalidFramePayloadData
	case signal.CodeTooLarge:
		cc = websocket.CloseMessageTooBig
	case signal.CodeInternal:
		cc = websocket.CloseInternalServerErr
	}
	s.closeWith(cc, code)
}

func (s *session) closeNormal() { s.closeWith(websocket.CloseNormalClosure, "bye") }

// closeWith ends the participant for good: the socket is closed with
// code once what is queued is written, and they leave the room.
func (s *session) closeWith(code int, reason string) {
	s.mu.Lock()
	if s.over {
		s.mu.Unlock()
		return
	}
	s.over = true
	a := s.att
	if s.grace != nil {
		s.grace.Stop()
	}
	s.mu.Unlock()
	if a != nil {
		a.push(frame{closeCode: code, reason: reason})
		a.stop()
	}
	s.leave()
}

// leave takes the participant out of their conference, once.
func (s *session) leave() {
	s.svc.forgetResumable(s)
	if s.conf != nil {
		s.leaveOnce.Do(func() { s.conf.leave(s) })
	}
}

// dropped: the socket a ended without a close from either side (network
// drop, slow reader). A participant who joined (or waits in the lobby)
// stays for the resume grace; anyone else leaves.
func (s *session) dropped(a *attachment) {
	a.stop()
	s.mu.Lock()
	if s.att != a || s.over {
		s.mu.Unlock()
		return // replaced by a resuming socket, or already over
	}
	s.att = nil
	grace := s.svc.cfg.Rooms.ResumeGrace
	if s.st == stateNew || grace <= 0 {
		s.mu.Unlock()
		s.closeWith(websocket.CloseGoingAway, "gone")
		return
	}
	s.grace = time.AfterFunc(grace, func() {
		s.mu.Lock()
		expired := s.att == nil && !s.over
		s.mu.Unlock()
		if expired {
			s.svc.graceExpired.Add(1)
			s.svc.base.Log.Info("resume grace expired", "participant", s.id)
			s.closeWith(websocket.CloseGoingAway, "gone")
		}
	})
	s.mu.Unlock()
}

// attach makes a the session's socket, queueing resumed and the
// messages after seq last. It refuses (false) when the session is over or
// the client missed more than the session kept.
func (s *session) attach(a *attachment, last uint64) bool {
	resumed, _ := json.Marshal(&signal.Message{Type: signal.TypeResumed, ID: s.id})
	s.mu.Lock()
	if s.over || last > s.seq || s.seq-last >= ringSize {
		s.mu.Unlock()
		return false
	}
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	old := s.att
	s.att = a
	a.push(frame{data: resumed})
	for q := last + 1; q <= s.seq; q++ {
		a.push(frame{data: s.ring[q%ringSize]})
	}
	s.mu.Unlock()
	if old != nil {
		// The client came back before this node noticed its old socket
		// was dead.
		old.push(frame{closeCode: websocket.CloseNormalClosure, reason: "replaced"})
		old.stop()
	}
	return true
}

func (a *attachment) writeLoop() {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	defer a.conn.Close()
	write := func(f frame) bool {
		_ = a.conn.SetWriteDeadline(time.Now().Add(writeWait))
		if f.closeCode != 0 {
			_ = a.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(f.closeCode, f.reason))
			return false
		}
		return a.conn.WriteMessage(websocket.TextMessage, f.data) == nil
	}
	for {
		select {
		case f := <-a.out:
			if !write(f) {
				return
			}
		case <-a.done:
			// Flush what was queued before the end (the error, the close).
			for {
				select {
				case f := <-a.out:
					if !write(f) {
						return
					}
				default:
					_ = a.conn.SetWriteDeadline(time.Now().Add(writeWait))
					_ = a.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
					return
				}
			}
		case <-ping.C:
			if err := a.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		}
	}
}

// readLoop reads socket a for session ss, which a resume message
// replaces by the session resumed.
func (svc *Service) readLoop(a *attachment, ss *session, room *rooms.Room) {
	defer func() { ss.dropped(a) }()
	conn := a.conn
	_ = conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		typ, b, err := conn.ReadMessage()
		if err != nil {
			switch {
			case errors.Is(err, websocket.ErrReadLimit):
				ss.fail(signal.CodeTooLarge, "message too large")
			case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway):
				// The client closed on purpose (a tab closing sends 1001):
				// it leaves. A network drop sends no close frame, and a
				// client that wants to resume closes with another code.
				// (A replaced socket's echo of our close is not theirs.)
				ss.mu.Lock()
				current := ss.att == a
				ss.mu.Unlock()
				if current {
					ss.closeNormal()
				}
			}
			return
		}
		if ss.isOver() {
			return
		}
		_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		if typ != websocket.TextMessage {
			ss.fail(signal.CodeBadMessage, "binary messages are not part of the protocol")
			return
		}
		m, err := signal.Parse(b)
		if err != nil {
			e := signal.AsError(err)
			ss.fail(e.Code, e.Msg)
			return
		}
		if m.Type == signal.TypeResume && ss.state() == stateNew {
			t := svc.resume(a, ss, room, m)
			if t == nil {
				return
			}
			ss = t
			continue
		}
		if !ss.handle(svc, room, m) {
			return
		}
		// A burst already in the socket's buffer is read without ever
		// blocking: on one scheduler thread (media.threads adaptive) this
		// socket's own writer would not run before the burst's echoes
		// overflowed its queue, and the socket would be dropped as slow.
		if len(a.out) > cap(a.out)/2 {
			runtime.Gosched()
		}
	}
}

// handle runs one message; false ends the session.
func (s *session) handle(svc *Service, room *rooms.Room, m *signal.Message) bool {
	st := s.state()
	if m.Type == signal.TypeLeave {
		s.closeNormal()
		return false
	}
	if st == stateNew {
		if m.Type != signal.TypeJoin {
			s.fail(signal.CodeBadMessage, "the first message must be join or resume")
			return false
		}
		if s.guest {
			s.setGuestKey(room.ID, m.GuestKey)
		}
		svc.registerResumable(s)
		for {
			c, err := svc.conference(room)
			if err != nil {
				s.fail(signal.CodeInternal, "shutting down")
				return false
			}
			s.conf = c
			if c.enter(s) {
				return !s.isOver()
			}
		}
	}
	if m.Type == signal.TypeJoin || m.Type == signal.TypeResume {
		s.sendError(signal.CodeBadMessage, "already joined")
		return true
	}
	if st == stateLobby {
		s.sendError(signal.CodeNotAdmitted, "waiting for a host to admit you")
		return true
	}
	p := s.getPeer()
	switch m.Type {
	case signal.TypePublish:
		if !rooms.CanPublish(s.getRole()) {
			s.sendError(signal.CodeForbidden, "attendees publish only once promoted to speaker")
			return true
		}
		kinds := make([]string, len(m.Tracks))
		srcs := make([]string, len(m.Tracks))
		sim := make([]bool, len(m.Tracks))
		for i, t := range m.Tracks {
			kinds[i], srcs[i], sim[i] = t.Kind, t.Source, t.Simulcast
		}
		if err := p.Publish(kinds, srcs, sim, signal.MaxPublishTracks); err != nil {
			s.sendError(signal.CodeForbidden, err.Error())
		}
	case signal.TypeAnswer:
		if err := p.HandleAnswer(m.SDP); err != nil {
			s.fail(signal.CodeBadSDP, "answer refused")
			return false
		}
		s.send(&signal.Message{Type: signal.TypeAnswered})
	case signal.TypeCandidate:
		c := m.Candidate
		if err := p.AddCandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex}); err != nil {
			s.fail(signal.CodeBadMessage, "candidate refused")
			return false
		}
	case signal.TypeOffer:
		s.sendError(signal.CodeUnsupported, "the server makes the offers: send publish")
	case signal.TypeRestartICE:
		if err := p.RestartICE(); err != nil {
			s.sendError(signal.CodeInternal, "ICE restart failed")
		}
	case signal.TypeUnpublish:
		if err := p.UnpublishTrack(m.Track); err != nil {
			s.sendError(signal.CodeNotFound, "you publish no track with that id")
		}
	case signal.TypeMute:
		s.setMuted(m.Kind, *m.Muted)
		s.conf.tell(s, &signal.Message{Type: signal.TypeMute, ID: s.id, Kind: m.Kind, Muted: m.Muted})
	case signal.TypeHand:
		if !s.allow(s.limits.hand) {
			return true
		}
		s.mu.Lock()
		s.hand = *m.Raised
		s.mu.Unlock()
		s.conf.remember(s) // a raised hand survives a failover
		s.conf.tell(s, &signal.Message{Type: signal.TypeHand, ID: s.id, Raised: m.Raised})
	case signal.TypeChat:
		if !s.allow(s.limits.chat) {
			return true
		}
		s.conf.chat(s, m.Text)
	case signal.TypeReaction:
		if !s.allow(s.limits.reaction) {
			return true
		}
		s.conf.tell(s, &signal.Message{Type: signal.TypeReaction, ID: s.id, Emoji: m.Emoji, Time: nowMillis()})
	case signal.TypeAdmit, signal.TypeDeny:
		s.conf.decide(s, m.ID, m.Type == signal.TypeAdmit)
	case signal.TypePromote, signal.TypeDemote:
		s.conf.promote(s, m.ID, m.Type == signal.TypePromote)
	case signal.TypeModerate:
		s.conf.moderate(s, m.ID, m.Action)
	case signal.TypeLock:
		s.conf.lock(s, *m.Locked)
	case signal.TypeWebinarChat:
		s.conf.setWebinarChat(s, rooms.WebinarChat(m.WebinarChat))
	case signal.TypeEnd:
		s.conf.end(s)
	case signal.TypeQuestion:
		if !s.allow(s.limits.question) {
			return true
		}
		s.conf.question(s, m.Text)
	case signal.TypeSetQuality:
		l := sfu.LayerForSize(m.Width, m.Height)
		switch m.Quality {
		case "low":
			l = sfu.LayerLow
		case "medium":
			l = sfu.LayerMedium
		case "high":
			l = sfu.LayerHigh
		}
		if !p.SetQuality(m.Track, l) {
			s.sendError(signal.CodeNotFound, "you do not receive that track")
		}
	}
	return true
}
