package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"bureau/services/chat/internal/store"
)

// Room tags: the /tags endpoints over the m.tag room account data (the
// form /sync carries), {"tags": {name: {"order": n, …}}}.

func (a *API) registerTags(route func(pattern, name string, h http.HandlerFunc)) {
	route("GET /user/{userId}/rooms/{roomId}/tags", "tags_get", a.authed(a.tagsGet))
	route("PUT /user/{userId}/rooms/{roomId}/tags/{tag}", "tag_put", a.authed(a.tagPut))
	route("DELETE /user/{userId}/rooms/{roomId}/tags/{tag}", "tag_delete", a.authed(a.tagDelete))
}

// tagLocks serialises a user's read-modify-write of m.tag in process.
var tagLocks sync.Map // user id → *sync.Mutex

func (a *API) tagTarget(r *http.Request, dev store.Device) (string, error) {
	if r.PathValue("userId") != dev.UserID {
		return "", errf(http.StatusForbidden, "M_FORBIDDEN", "Cannot access another user's tags")
	}
	if t := r.PathValue("tag"); len(t) > 255 {
		return "", badParam("Tag too long")
	}
	return roomID(r, "roomId")
}

// tags reads the room's m.tag content (empty when none).
func (a *API) tags(ctx context.Context, userID, roomID string) (map[string]json.RawMessage, error) {
	c, err := a.store.GetAccountData(ctx, userID, roomID, "m.tag")
	if errors.Is(err, store.ErrNotFound) {
		return map[string]json.RawMessage{}, nil
	}
	if err != nil {
		return nil, err
	}
	var content struct {
		Tags map[string]json.RawMessage `json:"tags"`
	}
	if json.Unmarshal([]byte(c), &content) != nil || content.Tags == nil {
		// Set through the account data endpoint in another shape.
		return map[string]json.RawMessage{}, nil
	}
	return content.Tags, nil
}

func (a *API) tagsGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	room, err := a.tagTarget(r, dev)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	tags, err := a.tags(r.Context(), dev.UserID, room)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": tags})
}

func (a *API) tagPut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var body map[string]json.RawMessage
	if err := readJSON(r, 4096, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	if o, ok := body["order"]; ok {
		var n float64
		if json.Unmarshal(o, &n) != nil {
			a.fail(w, r, badJSON("order must be a number"))
			return
		}
	}
	js, _ := json.Marshal(body)
	a.changeTags(w, r, dev, func(tags map[string]json.RawMessage, tag string) { tags[tag] = js })
}

func (a *API) tagDelete(w http.ResponseWriter, r *http.Request, dev store.Device) {
	a.changeTags(w, r, dev, func(tags map[string]json.RawMessage, tag string) { delete(tags, tag) })
}

func (a *API) changeTags(w http.ResponseWriter, r *http.Request, dev store.Device, f func(map[string]json.RawMessage, string)) {
	room, err := a.tagTarget(r, dev)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	m, _ := tagLocks.LoadOrStore(dev.UserID, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	tags, err := a.tags(r.Context(), dev.UserID, room)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f(tags, r.PathValue("tag"))
	content, _ := json.Marshal(map[string]any{"tags": tags})
	if err := a.store.PutAccountData(r.Context(), dev.UserID, room, "m.tag", string(content)); err != nil {
		a.fail(w, r, err)
		return
	}
	a.notifier.Notify(dev.UserID)
	writeJSON(w, http.StatusOK, struct{}{})
}
