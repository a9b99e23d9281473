package meet

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"bureau/services/meet/internal/rooms"
	"bureau/services/meet/internal/sfu"
	"bureau/services/meet/internal/signal"
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

// session is one participant's websocket.
type session struct {
	id   string
	user identity.User
	// guest: came through a guest link (link: its id) with no account;
	// user is made up here (ID "guest-…", the name typed, External).
	guest bool
	link  string
	conf  *conference
	conn  *websocket.Conn

	out      chan frame
	done     chan struct{}
	doneOnce sync.Once

	mu                 sync.Mutex
	role               string // changes on promote/demote
	st                 state
	peer               *sfu.Peer
	hand, audio, video bool // raised hand, audio muted, video muted
}

func (s *Service) serveWS(w http.ResponseWriter, r *http.Request) {
	u, room, ok := s.lookup(w, r)
	if !ok || !s.joinable(w, room) || s.routed(w, r, room.ID) {
		return
	}
	s.serveSession(w, r, room, &session{id: newParticipantID(), user: u, role: room.Role(u)})
}

// serveSession upgrades to the websocket and runs ss until it ends.
func (s *Service) serveSession(w http.ResponseWriter, r *http.Request, room *rooms.Room, ss *session) {
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	conn.SetReadLimit(signal.MaxMessage)
	ss.conn, ss.out, ss.done = conn, make(chan frame, outQueue), make(chan struct{})
	go ss.writeLoop()
	ss.readLoop(s, room)
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

func (s *session) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// send queues m; a full queue disconnects the participant.
func (s *session) send(m *signal.Message) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	s.enqueue(frame{data: b})
}

func (s *session) enqueue(f frame) {
	if s.isDone() {
		return
	}
	select {
	case s.out <- f:
	default:
		s.finish()
		_ = s.conn.Close()
	}
}

func (s *session) sendError(code, msg string) {
	s.send(&signal.Message{Type: signal.TypeError, Code: code, Message: msg})
}

// fail tells the participant why, then closes its socket: protocol errors
// end this participant only.
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
	s.enqueue(frame{closeCode: cc, reason: code})
	s.finish()
}

func (s *session) closeNormal() { s.closeWith(websocket.CloseNormalClosure, "bye") }

func (s *session) closeWith(code int, reason string) {
	s.enqueue(frame{closeCode: code, reason: reason})
	s.finish()
}

// finish marks the session over; the writer drains what is queued.
func (s *session) finish() { s.doneOnce.Do(func() { close(s.done) }) }

func (s *session) writeLoop() {
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	defer s.conn.Close()
	write := func(f frame) bool {
		_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
		if f.closeCode != 0 {
			_ = s.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(f.closeCode, f.reason))
			return false
		}
		return s.conn.WriteMessage(websocket.TextMessage, f.data) == nil
	}
	for {
		select {
		case f := <-s.out:
			if !write(f) {
				return
			}
		case <-s.done:
			// Flush what was queued before the end (the error, the close).
			for {
				select {
				case f := <-s.out:
					if !write(f) {
						return
					}
				default:
					_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
					_ = s.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
					return
				}
			}
		case <-ping.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		}
	}
}

func (s *session) readLoop(svc *Service, room *rooms.Room) {
	defer func() {
		s.finish()
		if s.conf != nil {
			s.conf.leave(s)
		}
	}()
	_ = s.conn.SetReadDeadline(time.Now().Add(pongWait))
	s.conn.SetPongHandler(func(string) error { return s.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		typ, b, err := s.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				s.fail(signal.CodeTooLarge, "message too large")
			}
			return
		}
		if s.isDone() {
			return
		}
		_ = s.conn.SetReadDeadline(time.Now().Add(pongWait))
		if typ != websocket.TextMessage {
			s.fail(signal.CodeBadMessage, "binary messages are not part of the protocol")
			return
		}
		m, err := signal.Parse(b)
		if err != nil {
			e := signal.AsError(err)
			s.fail(e.Code, e.Msg)
			return
		}
		if !s.handle(svc, room, m) {
			return
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
			s.fail(signal.CodeBadMessage, "the first message must be join")
			return false
		}
		for {
			c, err := svc.conference(room)
			if err != nil {
				s.fail(signal.CodeInternal, "shutting down")
				return false
			}
			s.conf = c
			if c.enter(s) {
				return !s.isDone()
			}
		}
	}
	if m.Type == signal.TypeJoin {
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
		s.conf.broadcast(&signal.Message{Type: signal.TypeMute, ID: s.id, Kind: m.Kind, Muted: m.Muted})
	case signal.TypeHand:
		s.mu.Lock()
		s.hand = *m.Raised
		s.mu.Unlock()
		s.conf.broadcast(&signal.Message{Type: signal.TypeHand, ID: s.id, Raised: m.Raised})
	case signal.TypeChat:
		s.conf.broadcast(&signal.Message{Type: signal.TypeChat, ID: s.id, Name: signal.MaxDisplayName(s.user.DisplayName()), Text: m.Text, Time: nowMillis()})
	case signal.TypeAdmit, signal.TypeDeny:
		s.conf.decide(s, m.ID, m.Type == signal.TypeAdmit)
	case signal.TypePromote, signal.TypeDemote:
		s.conf.promote(s, m.ID, m.Type == signal.TypePromote)
	case signal.TypeModerate:
		s.conf.moderate(s, m.ID, m.Action)
	case signal.TypeLock:
		s.conf.lock(s, *m.Locked)
	case signal.TypeEnd:
		s.conf.end(s)
	case signal.TypeQuestion:
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
