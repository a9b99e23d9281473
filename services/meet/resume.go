package meet

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"bureau/services/meet/internal/rooms"
	"bureau/services/meet/internal/signal"
)

// Resume: a participant's socket may drop (network change, proxy restart)
// without them leaving. At join the server gives a random token; a new
// socket on the same room path, with the same identity (gateway user, or
// guest link and guest key), sends resume with it and the seq of the last
// message it received, and is re-attached to the participant: the others
// see nothing, the PeerConnection and tracks are kept, and the messages
// missed are sent again. The token lives in this node's memory only: a
// room moved to another node cannot be resumed (the client joins again).

func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func secretKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// registerResumable gives s a resume token.
func (svc *Service) registerResumable(s *session) {
	s.token = newSecret()
	svc.mu.Lock()
	svc.resumable[secretKey(s.token)] = s
	svc.mu.Unlock()
}

func (svc *Service) forgetResumable(s *session) {
	if s.token == "" {
		return
	}
	svc.mu.Lock()
	if svc.resumable[secretKey(s.token)] == s {
		delete(svc.resumable, secretKey(s.token))
	}
	svc.mu.Unlock()
}

// resume re-attaches socket a (opened as the fresh session ss) to the
// participant of m's token, or refuses and ends ss.
func (svc *Service) resume(a *attachment, ss *session, room *rooms.Room, m *signal.Message) *session {
	svc.mu.Lock()
	t := svc.resumable[secretKey(m.Token)]
	svc.mu.Unlock()
	if ss.guest && t != nil {
		ss.setGuestKey(room.ID, m.GuestKey)
	}
	// The same identity, checked again: a stolen token is worth nothing
	// to anyone else.
	if t == nil || t.roomID != room.ID || t.user.ID != ss.user.ID || t.guest != ss.guest || t.link != ss.link {
		if t != nil {
			svc.base.Log.Warn("resume refused: another identity", "room", room.ID, "participant", t.id, "user", ss.user.ID)
		}
		svc.resumesRefused.Add(1)
		ss.refuseResume("this session cannot be resumed: join again")
		return nil
	}
	if !t.attach(a, m.Seq) {
		// Too far behind (or over): the same person joins again, so the
		// old participant leaves now rather than at the grace's end.
		t.closeWith(websocket.CloseGoingAway, "gone")
		svc.resumesRefused.Add(1)
		ss.refuseResume("too many messages missed: join again")
		return nil
	}
	// The fresh session is dropped without a trace: the socket is t's.
	ss.mu.Lock()
	ss.att, ss.over = nil, true
	ss.mu.Unlock()
	svc.resumes.Add(1)
	svc.base.Log.Info("session resumed", "room", room.ID, "participant", t.id, "from_seq", m.Seq)
	return t
}

// refuseResume answers a resume with an error outside the numbering (the
// client's last seq is the old session's) and closes the socket.
func (s *session) refuseResume(msg string) {
	b, _ := json.Marshal(&signal.Message{Type: signal.TypeError, Code: signal.CodeResumeFailed, Message: msg})
	s.mu.Lock()
	s.over = true
	a := s.att
	s.mu.Unlock()
	if a != nil {
		a.push(frame{data: b})
		a.push(frame{closeCode: websocket.ClosePolicyViolation, reason: signal.CodeResumeFailed})
		a.stop()
	}
}

// setGuestKey fixes a guest's identity from the key their browser keeps
// (a new one is issued when they have none): the id is derived from the
// key and the room, so a moderator's ban holds against that browser, and
// ids cannot be linked across meetings.
func (s *session) setGuestKey(roomID, key string) {
	if !signal.ValidToken(key) {
		key = newSecret()
	}
	s.guestKey = key
	h := sha256.Sum256([]byte("bureau-meet-guest\x00" + roomID + "\x00" + key))
	s.user.ID = "guest-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:10]))
}

// sessionLimits are a participant's token buckets.
type sessionLimits struct {
	chat, question, reaction, hand *rate.Limiter
}

func newSessionLimits(l *Limits) sessionLimits {
	b := func(r Rate) *rate.Limiter { return rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst) }
	return sessionLimits{chat: b(l.Chat), question: b(l.Question), reaction: b(l.Reaction), hand: b(l.Hand)}
}

// allow takes a token from b, or tells the participant they are over the
// limit (the message is dropped; the socket stays).
func (s *session) allow(b *rate.Limiter) bool {
	if b.Allow() {
		return true
	}
	s.svc.rateLimited.Add(1)
	s.sendError(signal.CodeRateLimited, "too many messages: slow down")
	return false
}

// mediaFailed ends a participant whose media connection failed, unless
// their socket is down too: then the resume (and an ICE restart) or the
// grace's end decides.
func (s *session) mediaFailed() {
	s.mu.Lock()
	detached := s.att == nil
	s.mu.Unlock()
	if !detached {
		s.fail(signal.CodeInternal, "media connection failed")
	}
}
