package rooms

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/matrix-org/gomatrixserverlib"
	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/store"
)

// ErrUnknownEvent is a redaction target that is not in the room.
var ErrUnknownEvent = errors.New("rooms: unknown event")

// Redact sends an m.room.redaction of eventID. Room versions up to 10 name
// the target at the top level, 11 in the content. The auth rules accept
// any redaction from a member (since room version 3 the server checks at
// presentation), so the rule is applied here: one's own events, or
// others' with the room's "redact" power level. The target is stored
// redacted (gomatrixserverlib's algorithm for the room version) in the
// same transaction, with the redaction for unsigned.redacted_because.
func (s *Service) Redact(ctx context.Context, roomID string, from Sender, eventID, reason string) (string, error) {
	m, err := s.Store.Membership(ctx, roomID, from.UserID)
	if err != nil {
		return "", err
	}
	if m.Membership != "join" {
		return "", &ForbiddenError{"You are not a member of this room"}
	}
	target, err := s.Store.EventByID(ctx, eventID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && target.RoomID != roomID) {
		return "", ErrUnknownEvent
	}
	if err != nil {
		return "", err
	}
	if target.Sender != from.UserID {
		if err := s.requireRedactPower(ctx, roomID, from.UserID); err != nil {
			return "", err
		}
	}
	content := map[string]any{}
	if reason != "" {
		content["reason"] = reason
	}
	prepare := func(ver gomatrixserverlib.IRoomVersion, proto *gomatrixserverlib.ProtoEvent) (func(*store.NewEvent), error) {
		if ver.Version() == gomatrixserverlib.RoomVersionV11 {
			content["redacts"] = eventID
		} else {
			proto.Redacts = eventID
		}
		raw, _ := json.Marshal(content)
		proto.Content = raw
		redacted, err := ver.RedactEventJSON(target.JSON)
		if err != nil {
			return nil, err
		}
		return func(ev *store.NewEvent) {
			because, _ := json.Marshal(map[string]any{"event_id": ev.EventID, "pdu": json.RawMessage(ev.JSON)})
			ev.Redaction = &store.Redaction{EventID: eventID, RedactedJSON: redacted, Because: because}
		}, nil
	}
	return s.send(ctx, roomID, from, spec.MRoomRedaction, nil, json.RawMessage(`{}`), prepare)
}

// requireRedactPower checks userID's power level against the room's
// "redact" level.
func (s *Service) requireRedactPower(ctx context.Context, roomID, userID string) error {
	pl, err := s.PowerLevels(ctx, roomID)
	if err != nil {
		return err
	}
	if pl.UserLevel(spec.SenderID(userID)) < pl.Redact {
		return &ForbiddenError{"You may only redact your own events here"}
	}
	return nil
}

// PowerLevels returns the room's current power levels (the spec's
// defaults when the room has none).
func (s *Service) PowerLevels(ctx context.Context, roomID string) (*gomatrixserverlib.PowerLevelContent, error) {
	room, err := s.Store.Room(ctx, roomID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnknownRoom
	}
	if err != nil {
		return nil, err
	}
	evs, err := s.Store.State(ctx, roomID, []store.StateKey{{Type: spec.MRoomPowerLevels}})
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		var pl gomatrixserverlib.PowerLevelContent
		pl.Defaults()
		return &pl, nil
	}
	ver, err := gomatrixserverlib.GetRoomVersion(gomatrixserverlib.RoomVersion(room.Version))
	if err != nil {
		return nil, err
	}
	pdu, err := ver.NewEventFromTrustedJSONWithEventID(evs[0].EventID, evs[0].JSON, false)
	if err != nil {
		return nil, err
	}
	pl, err := gomatrixserverlib.NewPowerLevelContentFromEvent(pdu)
	return &pl, err
}
