package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"bureau/services/chat/internal/store"
)

// Presence (m.presence). The stored row holds what the user or their syncs
// set; idleness and going offline after the syncs stop are derived when
// read, and made news for others' incremental syncs by one timer per
// user at their next such transition (presencetimers.go). Off (the default, as on Tchap), the
// endpoints answer as Synapse does with presence disabled: PUT is checked
// and ignored, GET says offline, /sync carries nothing.

const (
	presenceType        = "m.presence"
	presenceOnline      = "online"
	presenceOffline     = "offline"
	presenceUnavailable = "unavailable"

	// idleAfter without activity, an online user reads as unavailable
	// (Config.PresenceIdle overrides it).
	idleAfter = 5 * time.Minute
	// activeWindow: activity this recent is currently_active (Synapse's
	// granularity).
	activeWindow = time.Minute
	// offlineGrace after the longest possible sync, a user whose syncs
	// stopped reads as offline (Config.PresenceGrace overrides it).
	offlineGrace = 30 * time.Second
	// touchEvery throttles the refresh writes of a syncing or active user.
	touchEvery   = 15 * time.Second
	maxStatusMsg = 1024
)

func validPresence(s string) bool {
	return s == presenceOnline || s == presenceOffline || s == presenceUnavailable
}

func (a *API) registerPresence(route func(pattern, name string, h http.HandlerFunc)) {
	route("GET /presence/{userId}/status", "presence_get", a.authed(a.presenceGet))
	route("PUT /presence/{userId}/status", "presence_put", a.authed(a.presencePut))
}

// presenceTouches remembers, per user, when this process last refreshed
// their row (and for which set_presence), so a sync or a send does not
// write every time.
type presenceTouches struct{ synced, active sync.Map } // user id → touch

type touch struct {
	at    int64 // ms
	state string
}

func (t *presenceTouches) due(m *sync.Map, user, state string, now int64) bool {
	last, ok := m.Load(user)
	return !ok || last.(touch).state != state || now-last.(touch).at >= touchEvery.Milliseconds()
}

// effectivePresence is the state others read at now (ms).
func (a *API) effectivePresence(p store.Presence, now int64) string {
	switch {
	case p.State == presenceOffline || now-max(p.LastSync, p.LastActive) > a.offlineAfter():
		return presenceOffline
	case p.State == presenceOnline && now-p.LastActive > a.cfg.PresenceIdle.Milliseconds():
		return presenceUnavailable
	}
	return p.State
}

// presenceContent is the m.presence content (also GET's answer).
func (a *API) presenceContent(p store.Presence, now int64) map[string]any {
	state := a.effectivePresence(p, now)
	c := map[string]any{"presence": state}
	if p.LastActive > 0 {
		c["last_active_ago"] = max(now-p.LastActive, 0)
	}
	if p.StatusMsg != "" {
		c["status_msg"] = p.StatusMsg
	}
	if state == presenceOnline {
		c["currently_active"] = now-p.LastActive < activeWindow.Milliseconds()
	}
	return c
}

func (a *API) presenceGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	if a.cfg.PresenceOff {
		writeJSON(w, http.StatusOK, map[string]string{"presence": presenceOffline})
		return
	}
	target := r.PathValue("userId")
	if target != dev.UserID {
		ok, err := a.store.SharesRoom(r.Context(), dev.UserID, target)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if !ok {
			a.fail(w, r, errf(http.StatusForbidden, "M_FORBIDDEN", "You are not allowed to see their presence"))
			return
		}
	}
	p, err := a.store.GetPresence(r.Context(), target)
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusOK, map[string]string{"presence": presenceOffline})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.presenceContent(p, a.now().UnixMilli()))
}

// parsePresence checks a PUT body: {"presence": state, "status_msg"?: text}.
func parsePresence(body map[string]json.RawMessage) (state, msg string, err error) {
	rawState, ok := body["presence"]
	if !ok {
		return "", "", badJSON("Missing presence")
	}
	if json.Unmarshal(rawState, &state) != nil {
		return "", "", badJSON("presence must be a string")
	}
	if !validPresence(state) {
		return "", "", badParam("presence must be online, offline or unavailable")
	}
	if m, ok := body["status_msg"]; ok && string(m) != "null" {
		if json.Unmarshal(m, &msg) != nil {
			return "", "", badJSON("status_msg must be a string")
		}
		if len(msg) > maxStatusMsg {
			return "", "", badParam("status_msg too long")
		}
	}
	return state, msg, nil
}

func (a *API) presencePut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	if r.PathValue("userId") != dev.UserID {
		a.fail(w, r, errf(http.StatusForbidden, "M_FORBIDDEN", "Can only set your own presence state"))
		return
	}
	var body map[string]json.RawMessage
	if err := readJSON(r, 4096, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	state, msg, err := parsePresence(body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !a.cfg.PresenceOff {
		if err := a.setPresence(r.Context(), dev.UserID, state, &msg); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// setPresence stores an explicit state (and status message unless nil);
// anything but offline counts as activity. Others are woken only when what
// they read changes.
func (a *API) setPresence(ctx context.Context, userID, state string, msg *string) error {
	now := a.now().UnixMilli()
	old, err := a.store.GetPresence(ctx, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	next := old
	next.UserID, next.State = userID, state
	if msg != nil {
		next.StatusMsg = *msg
	}
	if state != presenceOffline {
		next.LastActive, next.LastSync = now, max(old.LastSync, now)
	}
	a.touches.synced.Delete(userID)
	if err == nil && old.State == state && old.StatusMsg == next.StatusMsg && a.effectivePresence(old, now) == state {
		if err := a.store.TouchPresence(ctx, userID, next.LastActive, next.LastSync); err != nil {
			return err
		}
		a.schedulePresence(next)
		return nil
	}
	if _, err := a.store.SetPresence(ctx, next); err != nil {
		return err
	}
	a.schedulePresence(next)
	return a.notifySharers(ctx, userID)
}

// notifySharers wakes the parked syncs of userID and of everyone sharing a
// room with them.
func (a *API) notifySharers(ctx context.Context, userID string) error {
	shares, err := a.store.SharedMembers(ctx, userID)
	if err != nil {
		return err
	}
	users, seen := []string{userID}, map[string]bool{userID: true}
	for _, s := range shares {
		if !seen[s.UserID] {
			seen[s.UserID] = true
			users = append(users, s.UserID)
		}
	}
	a.notifier.Notify(users...)
	return nil
}

// presenceSyncing records a sync with set_presence state (not offline): a
// user who read as offline comes back as state, an online one whose
// client says it is idle (unavailable) becomes unavailable; otherwise only
// the sync time is refreshed, now and then, without waking anyone.
func (a *API) presenceSyncing(ctx context.Context, userID, state string) error {
	now := a.now().UnixMilli()
	if a.cfg.PresenceOff || state == presenceOffline || !a.touches.due(&a.touches.synced, userID, state, now) {
		return nil
	}
	p, err := a.store.GetPresence(ctx, userID)
	effective := a.effectivePresence(p, now)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && (effective == presenceOffline || state == presenceUnavailable && effective == presenceOnline):
		if err := a.setPresence(ctx, userID, state, nil); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if err := a.store.TouchPresence(ctx, userID, 0, now); err != nil {
			return err
		}
		p.LastSync = max(p.LastSync, now)
		a.schedulePresence(p)
	}
	a.touches.synced.Store(userID, touch{now, state})
	return nil
}

// presenceActive records an action of the user (sending an event): an
// idle or unavailable user is online again.
func (a *API) presenceActive(ctx context.Context, userID string) error {
	now := a.now().UnixMilli()
	if a.cfg.PresenceOff || !a.touches.due(&a.touches.active, userID, "", now) {
		return nil
	}
	p, err := a.store.GetPresence(ctx, userID)
	switch {
	case err == nil && a.effectivePresence(p, now) == presenceOnline:
		if err = a.store.TouchPresence(ctx, userID, now, now); err == nil {
			p.LastActive, p.LastSync = max(p.LastActive, now), max(p.LastSync, now)
			a.schedulePresence(p)
		}
	case err == nil || errors.Is(err, store.ErrNotFound):
		err = a.setPresence(ctx, userID, presenceOnline, nil)
	}
	if err != nil {
		return err
	}
	a.touches.active.Store(userID, touch{at: now})
	return nil
}

// syncPresence adds the m.presence events of the users sharing a room with
// the syncing user whose presence changed in (since, upTo], and, on an
// incremental sync, of those who newly share one (device_lists.changed
// holds them, already computed).
func (a *API) syncPresence(ctx context.Context, userID string, since, upTo int64, f RoomEventFilter, resp *syncResponse) error {
	if a.cfg.PresenceOff {
		return nil
	}
	ps, err := a.store.PresenceChanges(ctx, userID, max(since, 0), upTo)
	if err != nil {
		return err
	}
	if since >= 0 && len(resp.DeviceLists.Changed) > 0 {
		seen := map[string]bool{}
		for _, p := range ps {
			seen[p.UserID] = true
		}
		var more []string
		for _, u := range resp.DeviceLists.Changed {
			if !seen[u] {
				more = append(more, u)
			}
		}
		newcomers, err := a.store.Presences(ctx, more)
		if err != nil {
			return err
		}
		ps = append(ps, newcomers...)
	}
	now := a.now().UnixMilli()
	for _, p := range ps {
		if !f.keeps(presenceType, p.UserID) {
			continue
		}
		if f.Limit != nil && len(resp.Presence.Events) >= *f.Limit {
			break
		}
		resp.Presence.Events = append(resp.Presence.Events, map[string]any{"type": presenceType, "sender": p.UserID, "content": a.presenceContent(p, now)})
	}
	return nil
}
