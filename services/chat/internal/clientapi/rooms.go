package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/rooms"
	"bureau/services/chat/internal/store"
	"bureau/services/chat/internal/visibility"
)

// roomID reads and validates the {roomId} path value.
func roomID(r *http.Request, name string) (string, error) {
	id := r.PathValue(name)
	if _, err := spec.NewRoomID(id); err != nil {
		return "", badParam("Invalid room id")
	}
	return id, nil
}

func (a *API) displayName(r *http.Request, userID string) string {
	u, err := a.store.User(r.Context(), userID)
	if err != nil {
		return ""
	}
	return u.DisplayName
}

func sender(dev store.Device) rooms.Sender {
	return rooms.Sender{UserID: dev.UserID, DeviceID: dev.DeviceID}
}

func (a *API) createRoom(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req rooms.CreateRequest
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Visibility != "" && req.Visibility != "public" && req.Visibility != "private" {
		a.fail(w, r, badJSON("visibility must be public or private"))
		return
	}
	roomInUse := errf(http.StatusBadRequest, "M_ROOM_IN_USE", "Room alias already taken")
	if req.RoomAliasName != "" {
		req.CanonicalAlias = "#" + req.RoomAliasName + ":" + a.cfg.ServerName
		if err := a.localAlias(req.CanonicalAlias); err != nil {
			a.fail(w, r, errf(http.StatusBadRequest, "M_INVALID_PARAM", "Invalid room_alias_name"))
			return
		}
		if _, _, err := a.store.Alias(r.Context(), req.CanonicalAlias); !errors.Is(err, store.ErrNotFound) {
			a.fail(w, r, cmpErr(err, roomInUse))
			return
		}
	}
	id, err := a.rooms.CreateRoom(r.Context(), sender(dev), a.displayName(r, dev.UserID), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if req.CanonicalAlias != "" {
		// Taken between the check and now: the room exists, without it.
		err := a.store.CreateAlias(r.Context(), req.CanonicalAlias, id, dev.UserID, a.now().UnixMilli())
		if errors.Is(err, store.ErrConflict) {
			err = roomInUse
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if req.Visibility == "public" {
		if err := a.store.SetPublished(r.Context(), id, true); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"room_id": id})
}

func (a *API) join(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	id := r.PathValue("roomId")
	if id == "" {
		id = r.PathValue("roomIdOrAlias")
		if len(id) > 0 && id[0] == '#' {
			var err error
			if id, err = a.resolveAlias(r.Context(), id); err != nil {
				a.fail(w, r, err)
				return
			}
		}
	}
	if _, err := spec.NewRoomID(id); err != nil {
		a.fail(w, r, badParam("Invalid room id or alias"))
		return
	}
	if _, err := a.rooms.SetMembership(r.Context(), sender(dev), id, dev.UserID, "join", req.Reason, a.displayName(r, dev.UserID), nil); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"room_id": id})
}

// membershipOf handles invite, kick, ban and unban: a target user and a
// reason.
func (a *API) membershipOf(membership string) func(http.ResponseWriter, *http.Request, store.Device) {
	return func(w http.ResponseWriter, r *http.Request, dev store.Device) {
		id, err := roomID(r, "roomId")
		if err != nil {
			a.fail(w, r, err)
			return
		}
		var req struct {
			UserID string `json:"user_id"`
			Reason string `json:"reason"`
		}
		if err := readJSON(r, maxBody, &req); err != nil {
			a.fail(w, r, err)
			return
		}
		if _, err := spec.NewUserID(req.UserID, true); err != nil {
			a.fail(w, r, badParam("Invalid user_id"))
			return
		}
		if !a.rooms.IsLocalUser(req.UserID) {
			a.fail(w, r, errf(http.StatusForbidden, "M_FORBIDDEN", "Users of other servers cannot be reached yet"))
			return
		}
		if _, err := a.rooms.SetMembership(r.Context(), sender(dev), id, req.UserID, membership, req.Reason, "", nil); err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	}
}

func (a *API) invite(w http.ResponseWriter, r *http.Request, dev store.Device) {
	a.membershipOf("invite")(w, r, dev)
}
func (a *API) kick(w http.ResponseWriter, r *http.Request, dev store.Device) {
	a.membershipOf("leave")(w, r, dev)
}
func (a *API) ban(w http.ResponseWriter, r *http.Request, dev store.Device) {
	a.membershipOf("ban")(w, r, dev)
}

func (a *API) unban(w http.ResponseWriter, r *http.Request, dev store.Device) {
	a.membershipOf("leave")(w, r, dev)
}

func (a *API) leave(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, reason, ok := a.roomAndReason(w, r)
	if !ok {
		return
	}
	if _, err := a.rooms.SetMembership(r.Context(), sender(dev), id, dev.UserID, "leave", reason, "", nil); err != nil {
		a.fail(w, r, notMemberIfUnknown(err))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// cmpErr returns err when set, else def.
func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// notMemberIfUnknown hides whether a room exists from non-members.
func notMemberIfUnknown(err error) error {
	if errors.Is(err, rooms.ErrUnknownRoom) {
		return errNotMember
	}
	return err
}

// readContent reads an event content: a JSON object of at most
// MaxEventSize bytes (the whole event must fit; the pipeline checks that).
func readContent(r *http.Request) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	var raw json.RawMessage
	if err := readJSON(r, rooms.MaxEventSize, &raw); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, badJSON("Content must be a JSON object")
	}
	return raw, nil
}

func (a *API) send(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !a.allowSend(w, dev) {
		return
	}
	content, err := readContent(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	from := sender(dev)
	from.TxnID = r.PathValue("txnId")
	evID, err := a.rooms.Send(r.Context(), id, from, r.PathValue("type"), nil, content)
	if err != nil {
		a.fail(w, r, notMemberIfUnknown(err))
		return
	}
	if err := a.presenceActive(r.Context(), dev.UserID); err != nil {
		// The event is sent: a presence refresh is not worth failing it.
		a.log.WarnContext(r.Context(), "chat: presence refresh failed", "err", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"event_id": evID})
}

// roomAndReason reads {roomId} and a body with an optional reason,
// answering the error itself.
func (a *API) roomAndReason(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	id, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return "", "", false
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return "", "", false
	}
	return id, req.Reason, true
}

func (a *API) redact(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, reason, ok := a.roomAndReason(w, r)
	if !ok || !a.allowSend(w, dev) {
		return
	}
	target := r.PathValue("eventId")
	if !validEventID(target) {
		a.fail(w, r, badParam("Invalid event id"))
		return
	}
	from := sender(dev)
	from.TxnID = r.PathValue("txnId")
	evID, err := a.rooms.Redact(r.Context(), id, from, target, reason)
	if errors.Is(err, rooms.ErrUnknownEvent) {
		err = errf(http.StatusNotFound, "M_NOT_FOUND", "Event not found")
	}
	if err != nil {
		a.fail(w, r, notMemberIfUnknown(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"event_id": evID})
}

func (a *API) statePut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	content, err := readContent(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	key := r.PathValue("stateKey")
	if r.PathValue("type") == spec.MRoomCanonicalAlias && key == "" {
		if err := a.checkCanonicalAlias(r.Context(), id, content); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	evID, err := a.rooms.Send(r.Context(), id, sender(dev), r.PathValue("type"), &key, content)
	if err != nil {
		a.fail(w, r, notMemberIfUnknown(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"event_id": evID})
}

// readable is what userID may read of roomID's history by its
// history_visibility, up to the current stream position (returned too);
// errNotMember when they may read none of it.
func (a *API) readable(ctx context.Context, roomID, userID string) (visibility.Ranges, int64, error) {
	upTo, err := a.store.MaxPos(ctx)
	if err != nil {
		return nil, 0, err
	}
	hs, err := a.store.Histories(ctx, userID, []string{roomID}, upTo)
	if err != nil {
		return nil, 0, err
	}
	rs, ok := hs[roomID].For(upTo)
	if !ok {
		return nil, 0, errNotMember
	}
	return rs, upTo, nil
}

func (a *API) state(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, ok := a.joinedRoom(w, r, dev)
	if !ok {
		return
	}
	evs, err := a.store.State(r.Context(), id, nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, clientEvents(evs, store.Device{}))
}

// joinedRoom reads the {roomId} path value and checks the caller is joined
// to it, answering the error itself when not.
func (a *API) joinedRoom(w http.ResponseWriter, r *http.Request, dev store.Device) (string, bool) {
	id, err := roomID(r, "roomId")
	if err == nil {
		err = a.requireJoined(r, id, dev.UserID)
	}
	if err != nil {
		a.fail(w, r, err)
		return "", false
	}
	return id, true
}

func (a *API) requireJoined(r *http.Request, roomID, userID string) error {
	m, err := a.store.Membership(r.Context(), roomID, userID)
	if err != nil {
		return err
	}
	if m.Membership != "join" {
		return errNotMember
	}
	return nil
}

func (a *API) stateGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, ok := a.joinedRoom(w, r, dev)
	if !ok {
		return
	}
	evs, err := a.store.State(r.Context(), id, []store.StateKey{{Type: r.PathValue("type"), StateKey: r.PathValue("stateKey")}})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(evs) == 0 {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "No such state event"))
		return
	}
	ce := toClient(evs[0], "")
	if r.URL.Query().Get("format") == "event" {
		writeJSON(w, http.StatusOK, ce)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(ce.Content)
}

func (a *API) members(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, ok := a.joinedRoom(w, r, dev)
	if !ok {
		return
	}
	var evs []store.Event
	var err error
	if at := r.URL.Query().Get("at"); at != "" {
		// A sync's prev_batch: the members as of that point.
		pos, perr := ParseToken(at)
		if perr != nil {
			a.fail(w, r, badParam("Invalid at: "+perr.Error()))
			return
		}
		evs, err = a.store.StateAt(r.Context(), id, pos)
	} else {
		evs, err = a.store.State(r.Context(), id, nil)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	want, not := r.URL.Query().Get("membership"), r.URL.Query().Get("not_membership")
	out := []clientEvent{}
	for _, ev := range evs {
		if ev.Type != spec.MRoomMember {
			continue
		}
		ce := toClient(ev, "")
		m := ce.membership()
		if (want != "" && m != want) || (not != "" && m == not) {
			continue
		}
		out = append(out, ce)
	}
	writeJSON(w, http.StatusOK, map[string]any{"chunk": out})
}

func (a *API) joinedMembers(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, ok := a.joinedRoom(w, r, dev)
	if !ok {
		return
	}
	evs, err := a.store.State(r.Context(), id, nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	joined := map[string]any{}
	for _, ev := range evs {
		if ev.Type != spec.MRoomMember || ev.StateKey == nil {
			continue
		}
		ce := toClient(ev, "")
		if ce.membership() != "join" {
			continue
		}
		var c struct {
			DisplayName *string `json:"displayname"`
			AvatarURL   *string `json:"avatar_url"`
		}
		_ = json.Unmarshal(ce.Content, &c)
		joined[*ev.StateKey] = map[string]*string{"display_name": c.DisplayName, "avatar_url": c.AvatarURL}
	}
	writeJSON(w, http.StatusOK, map[string]any{"joined": joined})
}

func (a *API) event(w http.ResponseWriter, r *http.Request, dev store.Device) {
	ev, rs, err := a.readableEvent(r, dev)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ce := toClient(ev, dev.DeviceID)
	if err := a.bundle(r.Context(), dev.UserID, rs.Last(), []*clientEvent{&ce}); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ce)
}

func (a *API) joinedRooms(w http.ResponseWriter, r *http.Request, dev store.Device) {
	ms, err := a.store.UserMemberships(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ids := []string{}
	for _, m := range ms {
		if m.Membership == "join" {
			ids = append(ids, m.RoomID)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"joined_rooms": ids})
}

// messages pages through a room's history with stream tokens.
func (a *API) messages(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	backwards := true
	switch q.Get("dir") {
	case "b", "":
	case "f":
		backwards = false
	default:
		a.fail(w, r, badParam("dir must be b or f"))
		return
	}
	limit := 10
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			a.fail(w, r, badParam("Invalid limit"))
			return
		}
		limit = min(n, 1000)
	}
	filter, err := parseRoomEventFilter(q.Get("filter"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rs, upTo, err := a.readable(r.Context(), id, dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var from int64
	if s := q.Get("from"); s != "" {
		if from, err = ParseToken(s); err != nil {
			a.fail(w, r, badParam(err.Error()))
			return
		}
	} else if backwards {
		from = upTo
	}
	to := int64(-1)
	if s := q.Get("to"); s != "" {
		if to, err = ParseToken(s); err != nil {
			a.fail(w, r, badParam(err.Error()))
			return
		}
	}
	evs, err := a.store.Messages(r.Context(), id, rs, filter.eventsIn(id), from, backwards, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	chunk := make([]clientEvent, 0, len(evs))
	end := ""
	for _, ev := range evs {
		if to >= 0 && ((backwards && ev.Pos <= to) || (!backwards && ev.Pos > to)) {
			limit = -1 // reached the caller's bound: no further page
			break
		}
		chunk = append(chunk, toClient(ev, dev.DeviceID))
		if backwards {
			end = FormatToken(ev.Pos - 1)
		} else {
			end = FormatToken(ev.Pos)
		}
	}
	if err := a.bundle(r.Context(), dev.UserID, rs.Last(), ptrs(chunk)); err != nil {
		a.fail(w, r, err)
		return
	}
	resp := map[string]any{"start": FormatToken(from), "chunk": chunk}
	if filter.LazyLoadMembers {
		if resp["state"], err = a.lazyMembers(r.Context(), id, chunk); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	// A short page is the last one: the spec says so by omitting end.
	if len(evs) == limit && end != "" {
		resp["end"] = end
	}
	writeJSON(w, http.StatusOK, resp)
}
