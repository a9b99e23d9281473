package clientapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"bureau/services/chat/internal/store"
)

// Server-side room key backup: the server stores the encrypted session
// keys a client backs up; it cannot read them.

func (a *API) registerBackup(route func(pattern, name string, h http.HandlerFunc)) {
	route("POST /room_keys/version", "backup_create", a.authed(a.backupCreate))
	route("GET /room_keys/version", "backup_get", a.authed(a.backupGet))
	route("GET /room_keys/version/{version}", "backup_get", a.authed(a.backupGet))
	route("PUT /room_keys/version/{version}", "backup_update", a.authed(a.backupUpdate))
	route("DELETE /room_keys/version/{version}", "backup_delete", a.authed(a.backupDelete))
	for _, p := range []string{"/room_keys/keys", "/room_keys/keys/{roomId}", "/room_keys/keys/{roomId}/{sessionId}"} {
		route("GET "+p, "backup_keys_get", a.authed(a.backupKeysGet))
		route("PUT "+p, "backup_keys_put", a.authed(a.backupKeysPut))
		route("DELETE "+p, "backup_keys_delete", a.authed(a.backupKeysDelete))
	}
}

var errNoBackup = errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown backup version")

func parseVersion(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, errNoBackup
	}
	return v, nil
}

type backupVersionBody struct {
	Algorithm string          `json:"algorithm"`
	AuthData  json.RawMessage `json:"auth_data"`
	Version   string          `json:"version"`
}

func (b *backupVersionBody) check() error {
	if b.Algorithm == "" || len(b.AuthData) == 0 || b.AuthData[0] != '{' {
		return badParam("algorithm and an auth_data object are required")
	}
	return nil
}

func (a *API) backupCreate(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req backupVersionBody
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := req.check(); err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.store.CreateBackup(r.Context(), dev.UserID, req.Algorithm, string(req.AuthData))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"version": strconv.FormatInt(v, 10)})
}

func (a *API) backupGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var v int64
	if s := r.PathValue("version"); s != "" {
		var err error
		if v, err = parseVersion(s); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	b, err := a.store.Backup(r.Context(), dev.UserID, v)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, errNoBackup)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"algorithm": b.Algorithm, "auth_data": json.RawMessage(b.AuthData), "version": strconv.FormatInt(b.Version, 10),
		"count": b.Count, "etag": strconv.FormatInt(b.ETag, 10),
	})
}

func (a *API) backupUpdate(w http.ResponseWriter, r *http.Request, dev store.Device) {
	v, err := parseVersion(r.PathValue("version"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req backupVersionBody
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := req.check(); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Version != "" && req.Version != r.PathValue("version") {
		a.fail(w, r, badParam("version in the body does not match the path"))
		return
	}
	cur, err := a.store.Backup(r.Context(), dev.UserID, v)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, errNoBackup)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if cur.Algorithm != req.Algorithm {
		a.fail(w, r, badParam("algorithm cannot change"))
		return
	}
	if err := a.store.UpdateBackup(r.Context(), dev.UserID, v, string(req.AuthData)); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) backupDelete(w http.ResponseWriter, r *http.Request, dev store.Device) {
	v, err := parseVersion(r.PathValue("version"))
	if err == nil {
		err = a.store.DeleteBackup(r.Context(), dev.UserID, v)
	}
	if errors.Is(err, store.ErrNotFound) {
		err = errNoBackup
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// backupVersionParam checks ?version= against the user's backups; writes
// need the current (latest) version.
func (a *API) backupVersionParam(r *http.Request, dev store.Device, write bool) (int64, error) {
	v, err := parseVersion(r.URL.Query().Get("version"))
	if err != nil {
		return 0, err
	}
	cur, err := a.store.Backup(r.Context(), dev.UserID, 0)
	if errors.Is(err, store.ErrNotFound) {
		return 0, errNoBackup
	}
	if err != nil {
		return 0, err
	}
	if write && cur.Version != v {
		return 0, &wrongVersion{current: strconv.FormatInt(cur.Version, 10)}
	}
	if !write {
		if _, err := a.store.Backup(r.Context(), dev.UserID, v); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return 0, errNoBackup
			}
			return 0, err
		}
	}
	return v, nil
}

type wrongVersion struct{ current string }

func (e *wrongVersion) Error() string { return "wrong backup version" }

type backupSession = json.RawMessage

type backupRoom struct {
	Sessions map[string]backupSession `json:"sessions"`
}

func (a *API) backupKeysPut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	v, err := a.backupVersionParam(r, dev, true)
	var wv *wrongVersion
	if errors.As(err, &wv) {
		writeJSON(w, http.StatusForbidden, map[string]string{"errcode": "M_WRONG_ROOM_KEYS_VERSION", "error": "Wrong backup version", "current_version": wv.current})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	roomID, sessionID := r.PathValue("roomId"), r.PathValue("sessionId")
	var keys []store.BackupKey
	add := func(room string, sessions map[string]backupSession) error {
		for sid, js := range sessions {
			if len(js) == 0 || js[0] != '{' || sid == "" {
				return badJSON("session data must be an object")
			}
			keys = append(keys, store.BackupKey{RoomID: room, SessionID: sid, JSON: string(js)})
		}
		return nil
	}
	switch {
	case sessionID != "":
		var js json.RawMessage
		err = readJSON(r, maxBody, &js)
		if err == nil {
			err = add(roomID, map[string]backupSession{sessionID: js})
		}
	case roomID != "":
		var room backupRoom
		err = readJSON(r, maxBody, &room)
		if err == nil {
			err = add(roomID, room.Sessions)
		}
	default:
		var all struct {
			Rooms map[string]backupRoom `json:"rooms"`
		}
		err = readJSON(r, maxBody, &all)
		for rid, room := range all.Rooms {
			if err == nil {
				err = add(rid, room.Sessions)
			}
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag, err := a.store.PutBackupKeys(r.Context(), dev.UserID, v, keys, betterBackupKey)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b, err := a.store.Backup(r.Context(), dev.UserID, v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"etag": strconv.FormatInt(etag, 10), "count": b.Count})
}

// betterBackupKey is the spec's rule: a verified key beats an unverified
// one, then the lower first_message_index, then the lower forwarded_count.
func betterBackupKey(old, new string) bool {
	type k struct {
		FirstMessageIndex int64 `json:"first_message_index"`
		ForwardedCount    int64 `json:"forwarded_count"`
		IsVerified        bool  `json:"is_verified"`
	}
	var o, n k
	if json.Unmarshal([]byte(old), &o) != nil {
		return true
	}
	if json.Unmarshal([]byte(new), &n) != nil {
		return false
	}
	if o.IsVerified != n.IsVerified {
		return n.IsVerified
	}
	if o.FirstMessageIndex != n.FirstMessageIndex {
		return n.FirstMessageIndex < o.FirstMessageIndex
	}
	return n.ForwardedCount < o.ForwardedCount
}

func (a *API) backupKeysGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	v, err := a.backupVersionParam(r, dev, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	roomID, sessionID := r.PathValue("roomId"), r.PathValue("sessionId")
	keys, err := a.store.BackupKeys(r.Context(), dev.UserID, v, roomID, sessionID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case sessionID != "":
		if len(keys) == 0 {
			a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "No such session"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(keys[0].JSON))
	case roomID != "":
		room := backupRoom{Sessions: map[string]backupSession{}}
		for _, k := range keys {
			room.Sessions[k.SessionID] = json.RawMessage(k.JSON)
		}
		writeJSON(w, http.StatusOK, room)
	default:
		rooms := map[string]*backupRoom{}
		for _, k := range keys {
			if rooms[k.RoomID] == nil {
				rooms[k.RoomID] = &backupRoom{Sessions: map[string]backupSession{}}
			}
			rooms[k.RoomID].Sessions[k.SessionID] = json.RawMessage(k.JSON)
		}
		writeJSON(w, http.StatusOK, map[string]any{"rooms": rooms})
	}
}

func (a *API) backupKeysDelete(w http.ResponseWriter, r *http.Request, dev store.Device) {
	v, err := a.backupVersionParam(r, dev, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag, err := a.store.DeleteBackupKeys(r.Context(), dev.UserID, v, r.PathValue("roomId"), r.PathValue("sessionId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b, err := a.store.Backup(r.Context(), dev.UserID, v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"etag": strconv.FormatInt(etag, 10), "count": b.Count})
}
