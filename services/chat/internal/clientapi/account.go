package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"bureau/services/chat/internal/notifier"
	"bureau/services/chat/internal/store"
)

// Ephemeral events (typing, receipts, read markers), account data,
// profiles, devices and the user directory.

func (a *API) registerAccount(route func(pattern, name string, h http.HandlerFunc)) {
	route("PUT /rooms/{roomId}/typing/{userId}", "typing", a.authed(a.typingPut))
	route("POST /rooms/{roomId}/receipt/{receiptType}/{eventId}", "receipt", a.authed(a.receipt))
	route("POST /rooms/{roomId}/read_markers", "read_markers", a.authed(a.readMarkers))
	route("GET /user/{userId}/account_data/{type}", "account_data_get", a.authed(a.accountDataGet))
	route("PUT /user/{userId}/account_data/{type}", "account_data_put", a.authed(a.accountDataPut))
	route("GET /user/{userId}/rooms/{roomId}/account_data/{type}", "account_data_get", a.authed(a.accountDataGet))
	route("PUT /user/{userId}/rooms/{roomId}/account_data/{type}", "account_data_put", a.authed(a.accountDataPut))
	route("GET /profile/{userId}", "profile_get", a.authed(a.profileGet))
	route("GET /profile/{userId}/{field}", "profile_get", a.authed(a.profileGet))
	route("PUT /profile/{userId}/{field}", "profile_put", a.authed(a.profilePut))
	route("GET /devices", "devices", a.authed(a.devicesList))
	route("GET /devices/{deviceId}", "device_get", a.authed(a.deviceGet))
	route("PUT /devices/{deviceId}", "device_put", a.authed(a.devicePut))
	route("DELETE /devices/{deviceId}", "device_delete", a.authed(a.deviceDelete))
	route("POST /delete_devices", "devices_delete", a.authed(a.devicesDelete))
	route("POST /user_directory/search", "user_directory", a.authed(a.userDirectory))
}

// joinedIn fails unless the user is joined to the room.
func (a *API) joinedIn(ctx context.Context, roomID, userID string) error {
	m, err := a.store.Membership(ctx, roomID, userID)
	if err != nil {
		return err
	}
	if m.Membership != "join" {
		return errNotMember
	}
	return nil
}

// validEventID checks the shape of an event id ($ sigil, bounded length).
func validEventID(id string) bool {
	return len(id) > 1 && len(id) <= 255 && id[0] == '$'
}

// ---- typing ----

// typingRooms holds who is typing where, in memory. Each change takes a
// stream position (under the mutex, so a sync that read the stream's
// position after it also sees the change) and wakes the room's members.
type typingRooms struct {
	mu    sync.Mutex
	rooms map[string]*roomTyping
}

type roomTyping struct {
	users map[string]time.Time // expiry
	pos   int64
	timer *time.Timer
}

const maxTypingTimeout = 2 * time.Minute

// typingChange is a typing change relayed to the other replicas.
type typingChange struct {
	Room      string `json:"room"`
	User      string `json:"user"`
	Typing    bool   `json:"typing"`
	TimeoutMS int64  `json:"timeout_ms"`
}

// RelayTyping shares typing with the other replicas sharing the database:
// changes made here are published on r, theirs are applied here (each
// replica keeps the typing state of every room, in memory, and runs its
// own expiry timers). Call it before serving.
func (a *API) RelayTyping(ctx context.Context, r *notifier.Relay) error {
	a.typingRelay = r
	return r.Subscribe(ctx, notifier.TypingTopic, func(data json.RawMessage) {
		var c typingChange
		if json.Unmarshal(data, &c) != nil || c.TimeoutMS < 0 {
			return
		}
		timeout := min(time.Duration(c.TimeoutMS)*time.Millisecond, maxTypingTimeout)
		if err := a.applyTyping(ctx, c.Room, c.User, c.Typing, timeout); err != nil && ctx.Err() == nil {
			a.log.Warn("chat: relayed typing change", "room", c.Room, "err", err)
		}
	}, func() {}) // typing is ephemeral: nothing to catch up
}

// setTyping applies a typing change of this replica's client and relays it.
func (a *API) setTyping(ctx context.Context, roomID, userID string, typing bool, timeout time.Duration) error {
	if err := a.applyTyping(ctx, roomID, userID, typing, timeout); err != nil {
		return err
	}
	if a.typingRelay != nil {
		c := typingChange{Room: roomID, User: userID, Typing: typing, TimeoutMS: timeout.Milliseconds()}
		if err := a.typingRelay.Publish(ctx, notifier.TypingTopic, c); err != nil {
			// The other replicas' clients miss this one; it is ephemeral.
			a.log.Warn("chat: typing not relayed to the other replicas", "err", err)
		}
	}
	return nil
}

func (a *API) applyTyping(ctx context.Context, roomID, userID string, typing bool, timeout time.Duration) error {
	t := &a.typing
	t.mu.Lock()
	if t.rooms == nil {
		t.rooms = map[string]*roomTyping{}
	}
	rt := t.rooms[roomID]
	if rt == nil {
		rt = &roomTyping{users: map[string]time.Time{}}
		t.rooms[roomID] = rt
	}
	now := a.now()
	_, was := rt.users[userID]
	if typing {
		rt.users[userID] = now.Add(timeout)
	} else {
		delete(rt.users, userID)
	}
	changed := was != typing
	if changed {
		pos, err := a.store.AllocPos(ctx)
		if err != nil {
			t.mu.Unlock()
			return err
		}
		rt.pos = pos
	}
	a.scheduleTypingExpiry(roomID, rt, now)
	t.mu.Unlock()
	if changed {
		a.wakeRoom(ctx, roomID)
	}
	return nil
}

// scheduleTypingExpiry arms the room's timer for the next expiry; called
// with the mutex held.
func (a *API) scheduleTypingExpiry(roomID string, rt *roomTyping, now time.Time) {
	if rt.timer != nil {
		rt.timer.Stop()
		rt.timer = nil
	}
	var next time.Time
	for _, exp := range rt.users {
		if next.IsZero() || exp.Before(next) {
			next = exp
		}
	}
	if next.IsZero() {
		return
	}
	rt.timer = time.AfterFunc(next.Sub(now), func() { a.expireTyping(roomID) })
}

func (a *API) expireTyping(roomID string) {
	t := &a.typing
	t.mu.Lock()
	rt := t.rooms[roomID]
	if rt == nil {
		t.mu.Unlock()
		return
	}
	now := a.now()
	changed := false
	for u, exp := range rt.users {
		if !exp.After(now) {
			delete(rt.users, u)
			changed = true
		}
	}
	if changed {
		if pos, err := a.store.AllocPos(context.Background()); err == nil {
			rt.pos = pos
		}
	}
	a.scheduleTypingExpiry(roomID, rt, now)
	t.mu.Unlock()
	if changed {
		a.wakeRoom(context.Background(), roomID)
	}
}

// typingSnapshot returns the typing users of rooms whose typing changed in
// (after, upTo]; after < 0 means every room with someone typing.
func (a *API) typingSnapshot(roomIDs []string, after, upTo int64) map[string][]string {
	t := &a.typing
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string][]string{}
	for _, id := range roomIDs {
		rt := t.rooms[id]
		if rt == nil || rt.pos > upTo || (after >= 0 && rt.pos <= after) || (after < 0 && len(rt.users) == 0) {
			continue
		}
		users := make([]string, 0, len(rt.users))
		for u := range rt.users {
			users = append(users, u)
		}
		out[id] = users
	}
	return out
}

func (a *API) wakeRoom(ctx context.Context, roomID string) {
	users, err := a.store.RoomMembers(ctx, roomID, "join")
	if err == nil {
		a.notifier.Notify(users...)
	}
}

func (a *API) typingPut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	roomID, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if r.PathValue("userId") != dev.UserID {
		a.fail(w, r, errf(http.StatusForbidden, "M_FORBIDDEN", "Cannot set typing for another user"))
		return
	}
	var req struct {
		Typing  *bool `json:"typing"`
		Timeout int64 `json:"timeout"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Typing == nil || req.Timeout < 0 {
		a.fail(w, r, badJSON("typing is required, timeout must be positive"))
		return
	}
	if err := a.joinedIn(r.Context(), roomID, dev.UserID); err != nil {
		a.fail(w, r, err)
		return
	}
	timeout := min(time.Duration(min(req.Timeout, 1<<40))*time.Millisecond, maxTypingTimeout)
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if err := a.setTyping(r.Context(), roomID, dev.UserID, *req.Typing, timeout); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// ---- receipts and read markers ----

var receiptTypes = map[string]bool{"m.read": true, "m.read.private": true}

func (a *API) putReceipt(ctx context.Context, dev store.Device, roomID, typ, eventID, threadID string) error {
	if !receiptTypes[typ] {
		return badParam("Unknown receipt type")
	}
	if !validEventID(eventID) {
		return badParam("Invalid event id")
	}
	if err := a.joinedIn(ctx, roomID, dev.UserID); err != nil {
		return err
	}
	ev, err := a.store.EventByID(ctx, eventID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && ev.RoomID != roomID) {
		return errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown event")
	}
	if err != nil {
		return err
	}
	if err := a.store.PutReceipt(ctx, store.Receipt{RoomID: roomID, UserID: dev.UserID, Type: typ, ThreadID: threadID, EventID: eventID, TS: a.now().UnixMilli()}); err != nil {
		return err
	}
	if typ == "m.read.private" {
		a.notifier.Notify(dev.UserID)
	} else {
		a.wakeRoom(ctx, roomID)
	}
	return nil
}

// receiptThread checks a receipt's thread_id: absent or null (an
// unthreaded receipt), "main" or a thread root's event id; anything else is the
// spec's 400 M_INVALID_PARAM.
func receiptThread(raw json.RawMessage) (string, error) {
	if raw == nil || string(raw) == "null" {
		return "", nil
	}
	var thread string
	if json.Unmarshal(raw, &thread) != nil || (thread != "main" && !validEventID(thread)) {
		return "", badParam("thread_id must be \"main\" or an event id")
	}
	return thread, nil
}

func (a *API) receipt(w http.ResponseWriter, r *http.Request, dev store.Device) {
	roomID, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		ThreadID json.RawMessage `json:"thread_id"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	thread, err := receiptThread(req.ThreadID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.putReceipt(r.Context(), dev, roomID, r.PathValue("receiptType"), r.PathValue("eventId"), thread); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) readMarkers(w http.ResponseWriter, r *http.Request, dev store.Device) {
	roomID, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		FullyRead   string `json:"m.fully_read"`
		Read        string `json:"m.read"`
		ReadPrivate string `json:"m.read.private"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.joinedIn(r.Context(), roomID, dev.UserID); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Read != "" {
		if err := a.putReceipt(r.Context(), dev, roomID, "m.read", req.Read, ""); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if req.ReadPrivate != "" {
		if err := a.putReceipt(r.Context(), dev, roomID, "m.read.private", req.ReadPrivate, ""); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if req.FullyRead != "" {
		if !validEventID(req.FullyRead) {
			a.fail(w, r, badParam("Invalid event id"))
			return
		}
		content, _ := json.Marshal(map[string]string{"event_id": req.FullyRead})
		if err := a.store.PutAccountData(r.Context(), dev.UserID, roomID, "m.fully_read", string(content)); err != nil {
			a.fail(w, r, err)
			return
		}
		a.notifier.Notify(dev.UserID)
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// ---- account data ----

func (a *API) accountDataTarget(r *http.Request, dev store.Device) (string, string, error) {
	if r.PathValue("userId") != dev.UserID {
		return "", "", errf(http.StatusForbidden, "M_FORBIDDEN", "Cannot access another user's account data")
	}
	typ := r.PathValue("type")
	if typ == "" || len(typ) > 255 {
		return "", "", badParam("Invalid type")
	}
	room := ""
	if r.PathValue("roomId") != "" {
		var err error
		if room, err = roomID(r, "roomId"); err != nil {
			return "", "", err
		}
	}
	return room, typ, nil
}

func (a *API) accountDataGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	room, typ, err := a.accountDataTarget(r, dev)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.store.GetAccountData(r.Context(), dev.UserID, room, typ)
	if errors.Is(err, store.ErrNotFound) && room == "" && typ == "m.push_rules" {
		// Never changed: the default rules.
		a.pushRules(w, r, dev)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "No account data"))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(c))
}

func (a *API) accountDataPut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	room, typ, err := a.accountDataTarget(r, dev)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if typ == "m.fully_read" || typ == "m.push_rules" {
		a.fail(w, r, errf(http.StatusBadRequest, "M_BAD_JSON", "This type is managed by the server"))
		return
	}
	var content json.RawMessage
	if err := readJSON(r, 65536, &content); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.PutAccountData(r.Context(), dev.UserID, room, typ, string(content)); err != nil {
		a.fail(w, r, err)
		return
	}
	a.notifier.Notify(dev.UserID)
	writeJSON(w, http.StatusOK, struct{}{})
}

// ---- profile ----

func (a *API) profileGet(w http.ResponseWriter, r *http.Request, _ store.Device) {
	userID := r.PathValue("userId")
	field := r.PathValue("field")
	if field != "" && field != "displayname" && field != "avatar_url" {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown profile field"))
		return
	}
	p, err := a.store.GetProfile(r.Context(), userID)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown user"))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := map[string]string{}
	if p.DisplayName != "" && field != "avatar_url" {
		out["displayname"] = p.DisplayName
	}
	if p.AvatarURL != "" && field != "displayname" {
		out["avatar_url"] = p.AvatarURL
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) profilePut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	field := r.PathValue("field")
	if field != "displayname" && field != "avatar_url" {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown profile field"))
		return
	}
	if r.PathValue("userId") != dev.UserID {
		a.fail(w, r, errf(http.StatusForbidden, "M_FORBIDDEN", "Cannot change another user's profile"))
		return
	}
	var req map[string]json.RawMessage
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	var v string
	if err := json.Unmarshal(req[field], &v); err != nil {
		a.fail(w, r, badJSON(field+" must be a string"))
		return
	}
	if len(v) > 256 || (field == "avatar_url" && v != "" && !strings.HasPrefix(v, "mxc://")) {
		a.fail(w, r, badParam("Invalid "+field))
		return
	}
	if err := a.store.SetProfileField(r.Context(), dev.UserID, field, v); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// ---- devices ----

func deviceJSON(d store.Device) map[string]any {
	out := map[string]any{"device_id": d.DeviceID}
	if d.DisplayName != "" {
		out["display_name"] = d.DisplayName
	}
	return out
}

func (a *API) devicesList(w http.ResponseWriter, r *http.Request, dev store.Device) {
	ds, err := a.store.Devices(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, deviceJSON(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

func (a *API) deviceGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	ds, err := a.store.Devices(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, d := range ds {
		if d.DeviceID == r.PathValue("deviceId") {
			writeJSON(w, http.StatusOK, deviceJSON(d))
			return
		}
	}
	a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown device"))
}

func (a *API) devicePut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		DisplayName *string `json:"display_name"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.DisplayName == nil {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	if len(*req.DisplayName) > 100 {
		a.fail(w, r, badParam("Display name too long"))
		return
	}
	err := a.store.RenameDevice(r.Context(), dev.UserID, r.PathValue("deviceId"), *req.DisplayName)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown device"))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.wakeSharing(r.Context(), dev.UserID)
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) deleteDevices(w http.ResponseWriter, r *http.Request, dev store.Device, ids []string, auth json.RawMessage) {
	if len(ids) > 1000 {
		a.fail(w, r, badParam("Too many devices"))
		return
	}
	ok, err := a.checkUIA(w, r, dev, auth)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !ok {
		return
	}
	for _, id := range ids {
		if err := a.store.DeleteDevice(r.Context(), dev.UserID, id); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.wakeSharing(r.Context(), dev.UserID)
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) deviceDelete(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		Auth json.RawMessage `json:"auth"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	ds, err := a.store.Devices(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id := r.PathValue("deviceId")
	for _, d := range ds {
		if d.DeviceID == id {
			a.deleteDevices(w, r, dev, []string{id}, req.Auth)
			return
		}
	}
	a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown device"))
}

func (a *API) devicesDelete(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		Devices []string        `json:"devices"`
		Auth    json.RawMessage `json:"auth"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	a.deleteDevices(w, r, dev, req.Devices, req.Auth)
}

// ---- user directory ----

func (a *API) userDirectory(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		SearchTerm string `json:"search_term"`
		Limit      *int   `json:"limit"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	limit := 10
	if req.Limit != nil {
		limit = max(1, min(*req.Limit, 100))
	}
	term := strings.TrimSpace(req.SearchTerm)
	if len(term) > 256 {
		a.fail(w, r, badParam("Search term too long"))
		return
	}
	users, limited, err := a.store.SearchUsers(r.Context(), dev.UserID, term, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	results := make([]map[string]string, 0, len(users))
	for _, u := range users {
		m := map[string]string{"user_id": u.UserID}
		if u.DisplayName != "" {
			m["display_name"] = u.DisplayName
		}
		if u.AvatarURL != "" {
			m["avatar_url"] = u.AvatarURL
		}
		results = append(results, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "limited": limited})
}
