// Package rooms is the event pipeline: it builds and signs events with
// gomatrixserverlib on top of a room's current state, checks them against
// the room version's auth rules, appends them through the store in one
// transaction and wakes the syncs concerned.
//
// Local events are built on the room's single forward extremity. The append
// is conditional on that extremity (optimistic concurrency), so two writers
// — goroutines or replicas — never fork a room; the loser rebuilds. Events
// received over federation will enter through the same append after
// gomatrixserverlib's checks and state resolution.
package rooms

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/matrix-org/gomatrixserverlib"
	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/notifier"
	"bureau/services/chat/internal/store"
)

// MaxEventSize is the spec's limit on a PDU's size.
const MaxEventSize = 65536

var (
	// ErrUnknownRoom is returned for a room this server does not know.
	ErrUnknownRoom = errors.New("rooms: unknown room")
	// ErrTooLarge is returned for events over MaxEventSize.
	ErrTooLarge = errors.New("rooms: event too large")
)

// ForbiddenError is an event the auth rules refuse.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string { return e.Reason }

// BadRequestError is a request that cannot make a valid event.
type BadRequestError struct{ Reason string }

func (e *BadRequestError) Error() string { return e.Reason }

// Service builds and appends events.
type Service struct {
	Store          *store.Store
	Notifier       *notifier.Notifier
	ServerName     spec.ServerName
	KeyID          gomatrixserverlib.KeyID
	Key            ed25519.PrivateKey
	DefaultVersion gomatrixserverlib.RoomVersion
	Now            func() time.Time

	// roomLocks serialises this process's writers of one room: they
	// would otherwise conflict on the forward extremity and rebuild. The
	// conditional append still protects against other replicas.
	roomLocks sync.Map // room id → *sync.Mutex
}

func (s *Service) lockRoom(roomID string) func() {
	m, _ := s.roomLocks.LoadOrStore(roomID, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// Sender is who sends an event, and from which device and transaction.
type Sender struct {
	UserID, DeviceID, TxnID string
}

func userIDForSender(_ spec.RoomID, s spec.SenderID) (*spec.UserID, error) {
	return spec.NewUserID(string(s), true)
}

// Send builds an event of the sender in roomID on the current state and
// appends it. A reused transaction id returns the first event's id.
func (s *Service) Send(ctx context.Context, roomID string, from Sender, evType string, stateKey *string, content json.RawMessage) (string, error) {
	return s.send(ctx, roomID, from, evType, stateKey, content, nil)
}

// prepareFunc adjusts an event before it is built (redactions name their
// target) and its stored form before it is appended.
type prepareFunc func(ver gomatrixserverlib.IRoomVersion, proto *gomatrixserverlib.ProtoEvent) (func(*store.NewEvent), error)

func (s *Service) send(ctx context.Context, roomID string, from Sender, evType string, stateKey *string, content json.RawMessage, prepare prepareFunc) (string, error) {
	unlock := s.lockRoom(roomID)
	defer unlock()
	// The in-process lock orders this replica's writers; writers on other
	// replicas race on the room's forward extremity. The loser rebuilds,
	// after a short random pause so that it does not lose to the same
	// steady sender again and again.
	const attempts = 32
	for i := range attempts {
		id, err := s.trySend(ctx, roomID, from, evType, stateKey, content, prepare)
		if errors.Is(err, store.ErrConflict) {
			pause := time.Duration(mrand.Int64N(int64(time.Millisecond) << min(i, 6)))
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return "", ctx.Err()
			}
			continue
		}
		if errors.Is(err, store.ErrDuplicateTxn) {
			return s.Store.TxnEvent(ctx, from.UserID, from.DeviceID, from.TxnID)
		}
		return id, err
	}
	return "", fmt.Errorf("rooms: %s: too much contention", roomID)
}

func (s *Service) trySend(ctx context.Context, roomID string, from Sender, evType string, stateKey *string, content json.RawMessage, prepare prepareFunc) (string, error) {
	room, err := s.Store.Room(ctx, roomID)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrUnknownRoom
	}
	if err != nil {
		return "", err
	}
	ver, err := gomatrixserverlib.GetRoomVersion(gomatrixserverlib.RoomVersion(room.Version))
	if err != nil {
		return "", err
	}
	proto := gomatrixserverlib.ProtoEvent{
		SenderID: from.UserID, RoomID: roomID, Type: evType, StateKey: stateKey, Content: spec.RawJSON(content),
		PrevEvents: []string{room.LastEventID}, Depth: room.Depth + 1, Version: ver,
	}
	var finish func(*store.NewEvent)
	if prepare != nil {
		if finish, err = prepare(ver, &proto); err != nil {
			return "", err
		}
	}
	needed, err := gomatrixserverlib.StateNeededForProtoEvent(&proto)
	if err != nil {
		return "", &BadRequestError{err.Error()}
	}
	keys := make([]store.StateKey, 0, 8)
	for _, t := range needed.Tuples() {
		keys = append(keys, store.StateKey{Type: t.EventType, StateKey: t.StateKey})
	}
	stored, err := s.Store.State(ctx, roomID, keys)
	if err != nil {
		return "", err
	}
	state := make([]gomatrixserverlib.PDU, 0, len(stored))
	for _, e := range stored {
		pdu, err := ver.NewEventFromTrustedJSONWithEventID(e.EventID, e.JSON, false)
		if err != nil {
			return "", fmt.Errorf("rooms: stored event %s: %w", e.EventID, err)
		}
		state = append(state, pdu)
	}
	pdu, err := s.build(ver, &proto, state)
	if err != nil {
		return "", err
	}
	ev := s.newEvent(pdu, from, room.LastEventID)
	if finish != nil {
		finish(&ev)
	}
	if _, err := s.Store.Append(ctx, []store.NewEvent{ev}); err != nil {
		return "", err
	}
	s.wake(ctx, roomID, pdu)
	return pdu.EventID(), nil
}

// build signs proto on top of state and checks it against the auth rules.
func (s *Service) build(ver gomatrixserverlib.IRoomVersion, proto *gomatrixserverlib.ProtoEvent, state []gomatrixserverlib.PDU) (gomatrixserverlib.PDU, error) {
	auth, err := gomatrixserverlib.NewAuthEvents(state)
	if err != nil {
		return nil, err
	}
	b := ver.NewEventBuilderFromProtoEvent(proto)
	if err := b.AddAuthEvents(auth); err != nil {
		return nil, &BadRequestError{err.Error()}
	}
	pdu, err := b.Build(s.Now(), s.ServerName, s.KeyID, s.Key)
	var invalid gomatrixserverlib.EventValidationError
	if errors.As(err, &invalid) && invalid.Code == gomatrixserverlib.EventValidationTooLarge {
		return nil, ErrTooLarge
	}
	if err != nil {
		return nil, &BadRequestError{err.Error()}
	}
	if len(pdu.JSON()) > MaxEventSize {
		return nil, ErrTooLarge
	}
	if err := gomatrixserverlib.Allowed(pdu, auth, userIDForSender); err != nil {
		return nil, &ForbiddenError{err.Error()}
	}
	return pdu, nil
}

func (s *Service) newEvent(pdu gomatrixserverlib.PDU, from Sender, prev string) store.NewEvent {
	return store.NewEvent{
		Event: store.Event{
			EventID: pdu.EventID(), RoomID: pdu.RoomID().String(), Type: pdu.Type(), StateKey: pdu.StateKey(),
			Sender: string(pdu.SenderID()), DeviceID: from.DeviceID, TxnID: from.TxnID, JSON: pdu.JSON(),
		},
		RoomVersion: string(pdu.Version()), Depth: pdu.Depth(), PrevEventID: prev,
	}
}

// wake notifies the room's joined and invited users, and the target of a
// membership change (who may just have left).
func (s *Service) wake(ctx context.Context, roomID string, last gomatrixserverlib.PDU) {
	users, err := s.Store.RoomMembers(ctx, roomID, "join", "invite")
	if err != nil {
		// The event is stored; syncs still see it at their timeout.
		return
	}
	if last != nil && last.Type() == spec.MRoomMember && last.StateKey() != nil {
		users = append(users, *last.StateKey())
	}
	s.Notifier.Notify(users...)
}

// newRoomID returns a fresh room id on this server.
func (s *Service) newRoomID() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 18)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "!" + string(b) + ":" + string(s.ServerName)
}

// IsLocalUser reports whether a user id is well formed and on this server.
func (s *Service) IsLocalUser(userID string) bool {
	u, err := spec.NewUserID(userID, true)
	return err == nil && u.Domain() == s.ServerName && !strings.ContainsAny(u.Local(), " ")
}
