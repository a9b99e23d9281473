package rooms

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/matrix-org/gomatrixserverlib"
	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/store"
)

// StateEvent is a state event of a createRoom request.
type StateEvent struct {
	Type     string          `json:"type"`
	StateKey string          `json:"state_key"`
	Content  json.RawMessage `json:"content"`
}

// CreateRequest is the body of POST /createRoom.
type CreateRequest struct {
	Visibility                string                     `json:"visibility"`
	RoomAliasName             string                     `json:"room_alias_name"`
	Name                      string                     `json:"name"`
	Topic                     string                     `json:"topic"`
	Invite                    []string                   `json:"invite"`
	RoomVersion               string                     `json:"room_version"`
	CreationContent           map[string]json.RawMessage `json:"creation_content"`
	InitialState              []StateEvent               `json:"initial_state"`
	Preset                    string                     `json:"preset"`
	IsDirect                  bool                       `json:"is_direct"`
	PowerLevelContentOverride map[string]json.RawMessage `json:"power_level_content_override"`
	// CanonicalAlias, set by the API from room_alias_name once the alias
	// is known to be free, becomes the room's m.room.canonical_alias.
	CanonicalAlias string `json:"-"`
}

// sets reports whether initial_state holds the state event (typ, "").
func (req *CreateRequest) sets(typ string) bool {
	return slices.ContainsFunc(req.InitialState, func(st StateEvent) bool { return st.Type == typ && st.StateKey == "" })
}

// EncryptionEvent and MegolmAlgorithm make a room end-to-end encrypted.
const (
	EncryptionEvent = "m.room.encryption"
	MegolmAlgorithm = "m.megolm.v1.aes-sha2"
)

// CreateRoom creates a room with every initial event in one transaction.
func (s *Service) CreateRoom(ctx context.Context, creator Sender, displayName string, req CreateRequest) (string, error) {
	verName := s.DefaultVersion
	if req.RoomVersion != "" {
		verName = gomatrixserverlib.RoomVersion(req.RoomVersion)
	}
	ver, err := gomatrixserverlib.GetRoomVersion(verName)
	if err != nil || !ver.Stable() || ver.DomainlessRoomIDs() {
		// Room version 12 (room id = hash of the create event) is not
		// supported yet.
		return "", &BadRequestError{"unsupported room version " + string(verName)}
	}
	preset := req.Preset
	switch preset {
	case "":
		preset = "private_chat"
		if req.Visibility == "public" {
			preset = "public_chat"
		}
	case "private_chat", "trusted_private_chat", "public_chat":
	default:
		return "", &BadRequestError{"unknown preset " + preset}
	}
	for _, u := range req.Invite {
		if !s.IsLocalUser(u) {
			return "", &BadRequestError{"cannot invite " + u + ": only users of this server can be invited for now"}
		}
	}
	for _, st := range req.InitialState {
		if st.Type == "" || len(st.Content) == 0 || st.Content[0] != '{' {
			return "", &BadRequestError{"initial_state entries need a type and an object content"}
		}
	}

	create := map[string]any{"room_version": string(verName)}
	if verName != gomatrixserverlib.RoomVersionV11 {
		create["creator"] = creator.UserID // removed by room version 11
	}
	for k, v := range req.CreationContent {
		if k != "room_version" && k != "creator" {
			create[k] = v
		}
	}
	pl := map[string]any{
		"users":          map[string]int{creator.UserID: 100},
		"users_default":  0,
		"events_default": 0,
		"state_default":  50,
		"ban":            50, "kick": 50, "redact": 50, "invite": 0,
		"events": map[string]int{
			"m.room.name": 50, "m.room.power_levels": 100, "m.room.history_visibility": 100,
			"m.room.canonical_alias": 50, "m.room.avatar": 50, "m.room.tombstone": 100,
			"m.room.server_acl": 100, "m.room.encryption": 100,
		},
		"notifications": map[string]int{"room": 50},
	}
	joinRule, guest := "invite", "can_join"
	switch preset {
	case "public_chat":
		joinRule, guest = "public", "forbidden"
		pl["invite"] = 50
	case "trusted_private_chat":
		users := pl["users"].(map[string]int)
		for _, u := range req.Invite {
			users[u] = 100
		}
	}
	for k, v := range req.PowerLevelContentOverride {
		pl[k] = v
	}

	type fledgling struct {
		typ, key string
		content  any
	}
	evs := []fledgling{
		{spec.MRoomCreate, "", create},
		{spec.MRoomMember, creator.UserID, map[string]any{"membership": "join", "displayname": displayName}},
		{spec.MRoomPowerLevels, "", pl},
	}
	if req.CanonicalAlias != "" {
		evs = append(evs, fledgling{spec.MRoomCanonicalAlias, "", map[string]any{"alias": req.CanonicalAlias}})
	}
	// The preset's defaults, unless initial_state sets them (as Tchap's
	// client does: history_visibility "invited" for its private rooms).
	// Every preset shares history, as Synapse's do.
	for _, f := range []fledgling{
		{spec.MRoomJoinRules, "", map[string]any{"join_rule": joinRule}},
		{spec.MRoomHistoryVisibility, "", map[string]any{"history_visibility": "shared"}},
		{"m.room.guest_access", "", map[string]any{"guest_access": guest}},
	} {
		if !req.sets(f.typ) {
			evs = append(evs, f)
		}
	}
	// Private rooms and direct chats are encrypted from the start, as on
	// Tchap (unless initial_state sets its own m.room.encryption).
	if (preset != "public_chat" || req.IsDirect) && !req.sets(EncryptionEvent) {
		evs = append(evs, fledgling{EncryptionEvent, "", map[string]any{"algorithm": MegolmAlgorithm}})
	}
	for _, st := range req.InitialState {
		evs = append(evs, fledgling{st.Type, st.StateKey, st.Content})
	}
	if req.Name != "" {
		evs = append(evs, fledgling{spec.MRoomName, "", map[string]any{"name": req.Name}})
	}
	if req.Topic != "" {
		evs = append(evs, fledgling{spec.MRoomTopic, "", map[string]any{"topic": req.Topic}})
	}
	for _, u := range req.Invite {
		c := map[string]any{"membership": "invite"}
		if req.IsDirect {
			c["is_direct"] = true
		}
		evs = append(evs, fledgling{spec.MRoomMember, u, c})
	}

	roomID := s.newRoomID()
	state := map[store.StateKey]gomatrixserverlib.PDU{}
	var out []store.NewEvent
	prev := ""
	for i, f := range evs {
		content, err := json.Marshal(f.content)
		if err != nil {
			return "", &BadRequestError{err.Error()}
		}
		key := f.key
		proto := gomatrixserverlib.ProtoEvent{
			SenderID: creator.UserID, RoomID: roomID, Type: f.typ, StateKey: &key, Content: content,
			Depth: int64(i + 1), Version: ver, PrevEvents: []string{},
		}
		if prev != "" {
			proto.PrevEvents = []string{prev}
		}
		all := make([]gomatrixserverlib.PDU, 0, len(state))
		for _, p := range state {
			all = append(all, p)
		}
		pdu, err := s.build(ver, &proto, all)
		if err != nil {
			return "", err
		}
		ev := s.newEvent(pdu, Sender{}, prev)
		if i == 0 {
			ev.DeviceID = creator.DeviceID
		}
		out = append(out, ev)
		state[store.StateKey{Type: f.typ, StateKey: key}] = pdu
		prev = pdu.EventID()
	}
	if _, err := s.Store.Append(ctx, out); err != nil {
		return "", err
	}
	s.wake(ctx, roomID, nil)
	return roomID, nil
}

// SetMembership sends a membership event: join or leave for oneself,
// invite, kick (leave), ban for others. The auth rules decide.
func (s *Service) SetMembership(ctx context.Context, from Sender, roomID, target, membership, reason, displayName string, extra map[string]any) (string, error) {
	c := map[string]any{"membership": membership}
	if reason != "" {
		c["reason"] = reason
	}
	if displayName != "" {
		c["displayname"] = displayName
	}
	for k, v := range extra {
		c[k] = v
	}
	content, _ := json.Marshal(c)
	return s.Send(ctx, roomID, from, spec.MRoomMember, &target, content)
}
