package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"

	"bureau/services/chat/internal/store"
)

// End-to-end encryption, server side: the server stores and relays keys
// and to-device messages; it never sees a message key.

func (a *API) registerKeys(route func(pattern, name string, h http.HandlerFunc)) {
	route("POST /keys/upload", "keys_upload", a.authed(a.keysUpload))
	route("POST /keys/query", "keys_query", a.authed(a.keysQuery))
	route("POST /keys/claim", "keys_claim", a.authed(a.keysClaim))
	route("GET /keys/changes", "keys_changes", a.authed(a.keysChanges))
	route("POST /keys/device_signing/upload", "keys_device_signing", a.authed(a.deviceSigningUpload))
	route("POST /keys/signatures/upload", "keys_signatures", a.authed(a.signaturesUpload))
	route("PUT /sendToDevice/{type}/{txnId}", "send_to_device", a.authed(a.sendToDevice))
	a.registerBackup(route)
}

// splitKeyID splits "algorithm:id".
func splitKeyID(s string) (string, string, bool) {
	alg, id, ok := strings.Cut(s, ":")
	return alg, id, ok && alg != "" && id != "" && len(s) <= 255
}

func (a *API) keysUpload(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		DeviceKeys   json.RawMessage            `json:"device_keys"`
		OneTimeKeys  map[string]json.RawMessage `json:"one_time_keys"`
		FallbackKeys map[string]json.RawMessage `json:"fallback_keys"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	up := store.KeyUpload{UserID: dev.UserID, DeviceID: dev.DeviceID}
	if len(req.DeviceKeys) > 0 && string(req.DeviceKeys) != "null" {
		var dk struct {
			UserID     string          `json:"user_id"`
			DeviceID   string          `json:"device_id"`
			Algorithms []string        `json:"algorithms"`
			Keys       json.RawMessage `json:"keys"`
			Signatures json.RawMessage `json:"signatures"`
		}
		if err := json.Unmarshal(req.DeviceKeys, &dk); err != nil {
			a.fail(w, r, badJSON("device_keys: "+err.Error()))
			return
		}
		if dk.UserID != dev.UserID || dk.DeviceID != dev.DeviceID {
			a.fail(w, r, badParam("device_keys must be this device's: user_id and device_id mismatch"))
			return
		}
		if len(dk.Keys) == 0 || len(dk.Signatures) == 0 {
			a.fail(w, r, badParam("device_keys need keys and signatures"))
			return
		}
		up.DeviceKeys = string(req.DeviceKeys)
	}
	parse := func(m map[string]json.RawMessage) ([]store.OneTimeKey, error) {
		out := make([]store.OneTimeKey, 0, len(m))
		for id, v := range m {
			alg, kid, ok := splitKeyID(id)
			if !ok {
				return nil, badParam("Invalid key id " + id)
			}
			if len(v) == 0 || (v[0] != '{' && v[0] != '"') {
				return nil, badJSON("Key " + id + " must be an object or a string")
			}
			out = append(out, store.OneTimeKey{Algorithm: alg, KeyID: kid, JSON: string(v)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Algorithm+out[i].KeyID < out[j].Algorithm+out[j].KeyID })
		return out, nil
	}
	var err error
	if up.OneTimeKeys, err = parse(req.OneTimeKeys); err != nil {
		a.fail(w, r, err)
		return
	}
	if up.FallbackKeys, err = parse(req.FallbackKeys); err != nil {
		a.fail(w, r, err)
		return
	}
	changed, err := a.store.UploadKeys(r.Context(), up)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if changed {
		a.wakeSharing(r.Context(), dev.UserID)
	}
	counts, err := a.otkCounts(r.Context(), dev)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"one_time_key_counts": counts})
}

func (a *API) otkCounts(ctx context.Context, dev store.Device) (map[string]int, error) {
	counts, err := a.store.OneTimeKeyCounts(ctx, dev.UserID, dev.DeviceID)
	if err != nil {
		return nil, err
	}
	if _, ok := counts["signed_curve25519"]; !ok {
		counts["signed_curve25519"] = 0
	}
	return counts, nil
}

// wakeSharing wakes the syncs of userID and of everyone sharing a room with
// them: their device lists changed.
func (a *API) wakeSharing(ctx context.Context, userID string) {
	users := []string{userID}
	shares, err := a.store.SharedMembers(ctx, userID)
	if err == nil {
		for _, s := range shares {
			users = append(users, s.UserID)
		}
	}
	a.notifier.Notify(users...)
}

// withSignatures merges the signatures uploaded separately into a signed
// JSON object (device keys or a cross-signing key) whose id is keyID.
func withSignatures(js string, keyID string, sigs []store.Signature, extraUnsigned map[string]any) json.RawMessage {
	var obj map[string]any
	if err := json.Unmarshal([]byte(js), &obj); err != nil {
		return json.RawMessage(js)
	}
	for _, g := range sigs {
		if g.TargetKey != keyID {
			continue
		}
		all, _ := obj["signatures"].(map[string]any)
		if all == nil {
			all = map[string]any{}
			obj["signatures"] = all
		}
		mine, _ := all[g.SignerUser].(map[string]any)
		if mine == nil {
			mine = map[string]any{}
			all[g.SignerUser] = mine
		}
		mine[g.SignerKey] = g.Signature
	}
	if len(extraUnsigned) > 0 {
		u, _ := obj["unsigned"].(map[string]any)
		if u == nil {
			u = map[string]any{}
		}
		for k, v := range extraUnsigned {
			u[k] = v
		}
		obj["unsigned"] = u
	}
	out, _ := json.Marshal(obj)
	return out
}

// publicKeyOf returns the public key of a cross-signing key's JSON.
func publicKeyOf(js string) string {
	var k struct {
		Keys map[string]string `json:"keys"`
	}
	_ = json.Unmarshal([]byte(js), &k)
	for _, v := range k.Keys {
		return v
	}
	return ""
}

func (a *API) keysQuery(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		DeviceKeys map[string][]string `json:"device_keys"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	want := map[string][]string{}
	failures := map[string]any{}
	for u, ds := range req.DeviceKeys {
		if !a.rooms.IsLocalUser(u) {
			failures[u] = map[string]string{"errcode": "M_NOT_FOUND", "error": "Users of other servers cannot be reached yet"}
			continue
		}
		want[u] = ds
	}
	if len(want) > 1000 {
		a.fail(w, r, badParam("Too many users"))
		return
	}
	keys, err := a.store.DeviceKeys(r.Context(), want)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	resp := map[string]any{"failures": failures}
	deviceKeys := map[string]map[string]json.RawMessage{}
	masters, selfs, users := map[string]json.RawMessage{}, map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for u, devs := range keys {
		sigs, err := a.store.Signatures(r.Context(), u)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		names := map[string]string{}
		if ds, err := a.store.Devices(r.Context(), u); err == nil {
			for _, d := range ds {
				names[d.DeviceID] = d.DisplayName
			}
		}
		deviceKeys[u] = map[string]json.RawMessage{}
		for d, js := range devs {
			var extra map[string]any
			if n := names[d]; n != "" {
				extra = map[string]any{"device_display_name": n}
			}
			deviceKeys[u][d] = withSignatures(js, d, sigs, extra)
		}
		cs, err := a.store.CrossSigningKeys(r.Context(), u)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if js, ok := cs["master"]; ok {
			masters[u] = withSignatures(js, publicKeyOf(js), sigs, nil)
		}
		if js, ok := cs["self_signing"]; ok {
			selfs[u] = withSignatures(js, publicKeyOf(js), sigs, nil)
		}
		if js, ok := cs["user_signing"]; ok && u == dev.UserID {
			users[u] = withSignatures(js, publicKeyOf(js), sigs, nil)
		}
	}
	resp["device_keys"] = deviceKeys
	resp["master_keys"] = masters
	resp["self_signing_keys"] = selfs
	resp["user_signing_keys"] = users
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) keysClaim(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		OneTimeKeys map[string]map[string]string `json:"one_time_keys"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	out := map[string]map[string]map[string]json.RawMessage{}
	failures := map[string]any{}
	n := 0
	for u, devs := range req.OneTimeKeys {
		if !a.rooms.IsLocalUser(u) {
			failures[u] = map[string]string{"errcode": "M_NOT_FOUND", "error": "Users of other servers cannot be reached yet"}
			continue
		}
		for d, alg := range devs {
			if n++; n > 1000 {
				a.fail(w, r, badParam("Too many keys claimed at once"))
				return
			}
			k, err := a.store.ClaimKey(r.Context(), store.Claim{UserID: u, DeviceID: d, Algorithm: alg})
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				a.fail(w, r, err)
				return
			}
			if out[u] == nil {
				out[u] = map[string]map[string]json.RawMessage{}
			}
			out[u][d] = map[string]json.RawMessage{k.Algorithm + ":" + k.KeyID: json.RawMessage(k.JSON)}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"one_time_keys": out, "failures": failures})
}

// deviceLists computes device_lists for a user between two positions:
// users sharing a room whose keys changed, who joined a shared room or
// whose room the user joined (changed), and who no longer share any room
// (left).
func (a *API) deviceLists(ctx context.Context, userID string, ms []store.Membership, since, upTo int64) (changed, left []string, err error) {
	shares, err := a.store.SharedMembers(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	shared := map[string]bool{userID: true}
	byRoom := map[string][]string{}
	for _, s := range shares {
		shared[s.UserID] = true
		byRoom[s.RoomID] = append(byRoom[s.RoomID], s.UserID)
	}
	candidates := make([]string, 0, len(shared))
	for u := range shared {
		candidates = append(candidates, u)
	}
	sort.Strings(candidates)
	keyChanged, err := a.store.KeyChanges(ctx, since, upTo, candidates)
	if err != nil {
		return nil, nil, err
	}
	ch, lf := map[string]bool{}, map[string]bool{}
	for _, u := range keyChanged {
		ch[u] = true
	}
	rooms := make([]string, 0, len(ms))
	for _, m := range ms {
		rooms = append(rooms, m.RoomID)
	}
	mc, err := a.store.MembershipChanges(ctx, rooms, since, upTo)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range mc {
		joined := m.Membership == "join"
		switch {
		case m.UserID == userID && joined:
			for _, u := range byRoom[m.RoomID] {
				ch[u] = true
			}
		case m.UserID == userID:
			members, err := a.store.RoomMembers(ctx, m.RoomID, "join")
			if err != nil {
				return nil, nil, err
			}
			for _, u := range members {
				if !shared[u] {
					lf[u] = true
				}
			}
		case joined && shared[m.UserID]:
			ch[m.UserID] = true
		case !joined && !shared[m.UserID]:
			lf[m.UserID] = true
		}
	}
	changed, left = []string{}, []string{}
	for u := range ch {
		changed = append(changed, u)
	}
	for u := range lf {
		if !ch[u] {
			left = append(left, u)
		}
	}
	sort.Strings(changed)
	sort.Strings(left)
	return changed, left, nil
}

func (a *API) keysChanges(w http.ResponseWriter, r *http.Request, dev store.Device) {
	q := r.URL.Query()
	from, err := ParseToken(q.Get("from"))
	if err != nil {
		a.fail(w, r, badParam("Invalid from token"))
		return
	}
	to, err := ParseToken(q.Get("to"))
	if err != nil {
		a.fail(w, r, badParam("Invalid to token"))
		return
	}
	ms, err := a.store.UserMemberships(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	changed, left, err := a.deviceLists(r.Context(), dev.UserID, ms, from, to)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"changed": changed, "left": left})
}

func (a *API) sendToDevice(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		Messages map[string]map[string]json.RawMessage `json:"messages"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	typ := r.PathValue("type")
	var msgs []store.ToDevice
	var targets []string
	for u, devs := range req.Messages {
		if !a.rooms.IsLocalUser(u) {
			continue // federation later
		}
		targets = append(targets, u)
		all, err := a.store.DeviceIDs(r.Context(), u)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		for d, content := range devs {
			if len(content) == 0 || content[0] != '{' {
				a.fail(w, r, badJSON("to-device content must be an object"))
				return
			}
			ids := all
			if d != "*" {
				// Messages for devices that do not exist are dropped.
				ids = nil
				if containsStr(all, d) {
					ids = []string{d}
				}
			}
			for _, id := range ids {
				msgs = append(msgs, store.ToDevice{UserID: u, DeviceID: id, Sender: dev.UserID, Type: typ, ContentJSON: string(content)})
			}
		}
	}
	if len(msgs) > 10000 {
		a.fail(w, r, errTooLarge)
		return
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].UserID+"|"+msgs[i].DeviceID < msgs[j].UserID+"|"+msgs[j].DeviceID })
	if err := a.store.SendToDevice(r.Context(), dev.UserID, dev.DeviceID, r.PathValue("txnId"), msgs); err != nil {
		a.fail(w, r, err)
		return
	}
	a.notifier.Notify(targets...)
	writeJSON(w, http.StatusOK, struct{}{})
}

// ---- cross-signing ----

type crossSigningKey struct {
	UserID string            `json:"user_id"`
	Usage  []string          `json:"usage"`
	Keys   map[string]string `json:"keys"`
}

func (a *API) deviceSigningUpload(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req struct {
		Master      json.RawMessage `json:"master_key"`
		SelfSigning json.RawMessage `json:"self_signing_key"`
		UserSigning json.RawMessage `json:"user_signing_key"`
		Auth        json.RawMessage `json:"auth"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	var keys []store.CrossSigningKey
	for _, k := range []struct {
		typ string
		js  json.RawMessage
	}{{"master", req.Master}, {"self_signing", req.SelfSigning}, {"user_signing", req.UserSigning}} {
		if len(k.js) == 0 || string(k.js) == "null" {
			continue
		}
		var ck crossSigningKey
		if err := json.Unmarshal(k.js, &ck); err != nil {
			a.fail(w, r, badJSON(k.typ+"_key: "+err.Error()))
			return
		}
		if ck.UserID != dev.UserID || len(ck.Keys) != 1 || !containsStr(ck.Usage, k.typ) {
			a.fail(w, r, badParam(k.typ+"_key: wrong user_id, usage or keys"))
			return
		}
		keys = append(keys, store.CrossSigningKey{Type: k.typ, JSON: string(k.js)})
	}
	if len(keys) == 0 {
		a.fail(w, r, badParam("No key to upload"))
		return
	}
	has, err := a.store.HasMasterKey(r.Context(), dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Like Synapse: the first upload of a new account needs no
	// authentication; replacing existing keys does.
	if has {
		ok, err := a.checkUIA(w, r, dev, req.Auth)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if !ok {
			return
		}
	}
	if err := a.store.PutCrossSigningKeys(r.Context(), dev.UserID, keys); err != nil {
		a.fail(w, r, err)
		return
	}
	a.wakeSharing(r.Context(), dev.UserID)
	writeJSON(w, http.StatusOK, struct{}{})
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (a *API) signaturesUpload(w http.ResponseWriter, r *http.Request, dev store.Device) {
	var req map[string]map[string]json.RawMessage
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	var sigs []store.Signature
	failures := map[string]map[string]any{}
	for u, objs := range req {
		for keyID, js := range objs {
			var obj struct {
				Signatures map[string]map[string]string `json:"signatures"`
			}
			if err := json.Unmarshal(js, &obj); err != nil || !a.rooms.IsLocalUser(u) {
				if failures[u] == nil {
					failures[u] = map[string]any{}
				}
				failures[u][keyID] = map[string]string{"errcode": "M_INVALID_PARAM", "error": "Invalid signed object"}
				continue
			}
			for signerKey, sig := range obj.Signatures[dev.UserID] {
				sigs = append(sigs, store.Signature{TargetUser: u, TargetKey: keyID, SignerUser: dev.UserID, SignerKey: signerKey, Signature: sig})
			}
		}
	}
	if len(sigs) > 0 {
		if err := a.store.PutSignatures(r.Context(), sigs); err != nil {
			a.fail(w, r, err)
			return
		}
		targets := map[string]bool{}
		for _, g := range sigs {
			targets[g.TargetUser] = true
		}
		for u := range targets {
			a.wakeSharing(r.Context(), u)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"failures": failures})
}
