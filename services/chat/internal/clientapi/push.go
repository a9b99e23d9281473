package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/push"
	"bureau/services/chat/internal/store"
)

// Push rules (the spec's defaults plus the user's changes) and pushers.

func (a *API) registerPush(route func(pattern, name string, h http.HandlerFunc)) {
	route("GET /pushrules/{$}", "pushrules", a.authed(a.pushRules))
	route("GET /pushrules/global/{$}", "pushrules", a.authed(a.pushRulesGlobal))
	route("GET /pushrules/global/{kind}/{ruleId}", "pushrule_get", a.authed(a.pushRuleGet))
	route("PUT /pushrules/global/{kind}/{ruleId}", "pushrule_put", a.authed(a.pushRulePut))
	route("DELETE /pushrules/global/{kind}/{ruleId}", "pushrule_delete", a.authed(a.pushRuleDelete))
	route("GET /pushrules/global/{kind}/{ruleId}/{attr}", "pushrule_attr_get", a.authed(a.pushRuleAttrGet))
	route("PUT /pushrules/global/{kind}/{ruleId}/{attr}", "pushrule_attr_put", a.authed(a.pushRuleAttrPut))
	route("GET /pushers", "pushers", a.authed(a.pushersGet))
	route("POST /pushers/set", "pushers_set", a.authed(a.pushersSet))
}

// ruleset returns the user's rendered rules and the changes they come from.
func (a *API) ruleset(ctx context.Context, userID string) (push.Ruleset, push.Changes, int64, error) {
	js, version, err := a.store.PushChanges(ctx, userID)
	if err != nil {
		return push.Ruleset{}, push.Changes{}, 0, err
	}
	c, err := push.ParseChanges(js)
	if err != nil {
		return push.Ruleset{}, push.Changes{}, 0, err
	}
	return push.Render(userID, c), c, version, nil
}

// changeRules applies f to the user's changes and stores them with the
// rendered m.push_rules account data, retrying on a concurrent change.
func (a *API) changeRules(ctx context.Context, userID string, f func(*push.Changes) error) error {
	for range 5 {
		_, c, version, err := a.ruleset(ctx, userID)
		if err != nil {
			return err
		}
		if err := f(&c); err != nil {
			return err
		}
		js, _ := json.Marshal(c)
		rendered, _ := json.Marshal(map[string]any{"global": push.Render(userID, c)})
		err = a.store.PutPushChanges(ctx, userID, version, string(js), string(rendered))
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err == nil {
			a.notifier.Notify(userID)
		}
		return err
	}
	return errors.New("push rules: too much contention")
}

func (a *API) pushRules(w http.ResponseWriter, r *http.Request, dev store.Device) {
	rs, _, _, err := a.ruleset(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"global": rs})
}

func (a *API) pushRulesGlobal(w http.ResponseWriter, r *http.Request, dev store.Device) {
	rs, _, _, err := a.ruleset(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

var errNoRule = errf(http.StatusNotFound, "M_NOT_FOUND", "No such push rule")

// pushErr maps the push package's errors to errcodes.
func pushErr(err error) error {
	switch {
	case errors.Is(err, push.ErrNotFound):
		return errNoRule
	case errors.Is(err, push.ErrDefault):
		return badParam("Server-default rules cannot be created or deleted")
	case errors.Is(err, push.ErrInvalid):
		return badParam("Invalid push rule")
	}
	return err
}

// ruleTarget reads {kind} and {ruleId}.
func ruleTarget(r *http.Request) (string, string, error) {
	kind, id := r.PathValue("kind"), r.PathValue("ruleId")
	if !push.ValidKind(kind) {
		return "", "", badParam("Unknown push rule kind")
	}
	if id == "" || len(id) > 255 || strings.ContainsAny(id, `/\`) {
		return "", "", badParam("Invalid rule id")
	}
	return kind, id, nil
}

// findRule returns one rule of the user, answering the error itself.
func (a *API) findRule(w http.ResponseWriter, r *http.Request, dev store.Device) (push.Rule, bool) {
	kind, id, err := ruleTarget(r)
	if err != nil {
		a.fail(w, r, err)
		return push.Rule{}, false
	}
	rs, _, _, err := a.ruleset(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return push.Rule{}, false
	}
	rule, ok := rs.Find(kind, id)
	if !ok {
		a.fail(w, r, errNoRule)
		return push.Rule{}, false
	}
	return rule, true
}

func (a *API) pushRuleGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	if rule, ok := a.findRule(w, r, dev); ok {
		writeJSON(w, http.StatusOK, rule)
	}
}

func (a *API) pushRulePut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	kind, id, err := ruleTarget(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		Actions    []json.RawMessage `json:"actions"`
		Conditions []push.Condition  `json:"conditions"`
		Pattern    *string           `json:"pattern"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Actions == nil || !push.ValidActions(req.Actions) {
		a.fail(w, r, badJSON("actions must be a list of valid actions"))
		return
	}
	rule := push.Rule{RuleID: id, Enabled: true, Actions: req.Actions}
	switch kind {
	case "override", "underride":
		if !push.ValidConditions(req.Conditions) {
			a.fail(w, r, badJSON("Invalid conditions"))
			return
		}
		rule.Conditions = req.Conditions
		if rule.Conditions == nil {
			rule.Conditions = []push.Condition{}
		}
	case "content":
		if req.Pattern == nil {
			a.fail(w, r, badJSON("Content rules need a pattern"))
			return
		}
		rule.Pattern = req.Pattern
	case "room":
		if _, err := spec.NewRoomID(id); err != nil {
			a.fail(w, r, badParam("Room rules are named by a room id"))
			return
		}
	case "sender":
		if _, err := spec.NewUserID(id, false); err != nil {
			a.fail(w, r, badParam("Sender rules are named by a user id"))
			return
		}
	}
	q := r.URL.Query()
	before, after := q.Get("before"), q.Get("after")
	if push.IsDefaultID(before) || push.IsDefaultID(after) {
		a.fail(w, r, badParam("Rules cannot be placed relative to server-default rules"))
		return
	}
	err = a.changeRules(r.Context(), dev.UserID, func(c *push.Changes) error {
		if old, ok := push.Render(dev.UserID, *c).Find(kind, id); ok && !old.Default {
			rule.Enabled = old.Enabled // replacing a rule keeps its enabled flag
		}
		return c.Put(kind, rule, before, after)
	})
	if err != nil {
		a.fail(w, r, pushErr(err))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) pushRuleDelete(w http.ResponseWriter, r *http.Request, dev store.Device) {
	kind, id, err := ruleTarget(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.changeRules(r.Context(), dev.UserID, func(c *push.Changes) error { return c.Delete(dev.UserID, kind, id) }); err != nil {
		a.fail(w, r, pushErr(err))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) pushRuleAttrGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	attr := r.PathValue("attr")
	if attr != "enabled" && attr != "actions" {
		Unrecognized(w, r)
		return
	}
	rule, ok := a.findRule(w, r, dev)
	if !ok {
		return
	}
	if attr == "enabled" {
		writeJSON(w, http.StatusOK, map[string]bool{"enabled": rule.Enabled})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"actions": rule.Actions})
}

func (a *API) pushRuleAttrPut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	attr := r.PathValue("attr")
	if attr != "enabled" && attr != "actions" {
		Unrecognized(w, r)
		return
	}
	kind, id, err := ruleTarget(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		Enabled *bool             `json:"enabled"`
		Actions []json.RawMessage `json:"actions"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	var change func(*push.Changes) error
	switch {
	case attr == "enabled" && req.Enabled != nil:
		change = func(c *push.Changes) error { return c.SetEnabled(dev.UserID, kind, id, *req.Enabled) }
	case attr == "actions" && req.Actions != nil && push.ValidActions(req.Actions):
		change = func(c *push.Changes) error { return c.SetActions(dev.UserID, kind, id, req.Actions) }
	default:
		a.fail(w, r, badJSON("Missing or invalid "+attr))
		return
	}
	if err := a.changeRules(r.Context(), dev.UserID, change); err != nil {
		a.fail(w, r, pushErr(err))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// ---- pushers ----

// pusherJSON is the client format of a pusher.
type pusherJSON struct {
	AppID             string          `json:"app_id"`
	PushKey           string          `json:"pushkey"`
	Kind              *string         `json:"kind"`
	AppDisplayName    string          `json:"app_display_name"`
	DeviceDisplayName string          `json:"device_display_name"`
	ProfileTag        string          `json:"profile_tag,omitempty"`
	Lang              string          `json:"lang"`
	Data              json.RawMessage `json:"data"`
}

func (a *API) pushersGet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	ps, err := a.store.Pushers(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]pusherJSON, 0, len(ps))
	for _, p := range ps {
		kind := p.Kind
		out = append(out, pusherJSON{
			AppID: p.AppID, PushKey: p.PushKey, Kind: &kind, AppDisplayName: p.AppDisplayName,
			DeviceDisplayName: p.DeviceDisplayName, ProfileTag: p.ProfileTag, Lang: p.Lang, Data: json.RawMessage(p.Data),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"pushers": out})
}

// pushersSet stores a pusher, or deletes it when kind is null. Nothing is
// pushed: there is no push gateway integration yet.
func (a *API) pushersSet(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		pusherJSON
		Append bool `json:"append"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.AppID == "" || len(req.AppID) > 64 || req.PushKey == "" || len(req.PushKey) > 512 {
		a.fail(w, r, badParam("app_id (at most 64 bytes) and pushkey (at most 512 bytes) are required"))
		return
	}
	if req.Kind == nil {
		if err := a.store.DeletePusher(r.Context(), dev.UserID, req.AppID, req.PushKey); err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	var data struct {
		URL    *string `json:"url"`
		Format string  `json:"format"`
	}
	if len(req.Data) == 0 || req.Data[0] != '{' || json.Unmarshal(req.Data, &data) != nil {
		a.fail(w, r, badJSON("data must be an object"))
		return
	}
	switch *req.Kind {
	case "http":
		if data.URL == nil || !strings.HasPrefix(*data.URL, "https://") && !strings.HasPrefix(*data.URL, "http://") {
			a.fail(w, r, badParam("http pushers need data.url"))
			return
		}
	case "email":
	default:
		a.fail(w, r, badParam("kind must be http, email or null"))
		return
	}
	if req.AppDisplayName == "" || req.DeviceDisplayName == "" || req.Lang == "" {
		a.fail(w, r, badParam("app_display_name, device_display_name and lang are required"))
		return
	}
	p := store.Pusher{
		UserID: dev.UserID, AppID: req.AppID, PushKey: req.PushKey, Kind: *req.Kind, AppDisplayName: req.AppDisplayName,
		DeviceDisplayName: req.DeviceDisplayName, ProfileTag: req.ProfileTag, Lang: req.Lang, Data: string(req.Data),
	}
	if err := a.store.PutPusher(r.Context(), p, req.Append, a.now().UnixMilli()); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
