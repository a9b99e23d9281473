package chat_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"bureau/services/chat"
	"bureau/services/platform/identity"
)

// call sends a JSON request with cli's token and decodes the answer.
func call(t *testing.T, cli *mautrix.Client, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return callURL(t, cli, method, "/_matrix/client/v3"+path, body)
}

// callURL is call with the whole path.
func callURL(t *testing.T, cli *mautrix.Client, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd *strings.Reader
	switch b := body.(type) {
	case nil:
		rd = strings.NewReader("")
	case string:
		rd = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = strings.NewReader(string(js))
	}
	req, _ := http.NewRequest(method, cli.HomeserverURL.String()+path, rd)
	req.Header.Set("Authorization", "Bearer "+cli.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func deviceKeys(cli *mautrix.Client, curve string) map[string]any {
	return map[string]any{
		"user_id": cli.UserID, "device_id": cli.DeviceID,
		"algorithms": []string{"m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"},
		"keys":       map[string]string{"curve25519:" + string(cli.DeviceID): curve, "ed25519:" + string(cli.DeviceID): "ed" + curve},
		"signatures": map[string]any{string(cli.UserID): map[string]string{"ed25519:" + string(cli.DeviceID): "sig"}},
	}
}

func get(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func TestKeysUploadQueryClaim(t *testing.T) {
	e := newEnv(t)
	a, b := e.login(alice), e.login(bob)
	code, out := call(t, a, "POST", "/keys/upload", map[string]any{
		"device_keys":   deviceKeys(a, "C1"),
		"one_time_keys": map[string]any{"signed_curve25519:AAAB": map[string]any{"key": "k2"}, "signed_curve25519:AAAA": map[string]any{"key": "k1"}},
		"fallback_keys": map[string]any{"signed_curve25519:FB": map[string]any{"key": "fb", "fallback": true}},
	})
	if code != 200 || get(out, "one_time_key_counts", "signed_curve25519") != 2.0 {
		t.Fatalf("upload: %d %v", code, out)
	}
	code, out = call(t, b, "POST", "/keys/query", map[string]any{"device_keys": map[string]any{string(a.UserID): []string{}, "@x:elsewhere.test": []string{}}})
	if code != 200 || get(out, "device_keys", string(a.UserID), string(a.DeviceID), "keys", "curve25519:"+string(a.DeviceID)) != "C1" ||
		get(out, "failures", "@x:elsewhere.test") == nil {
		t.Fatalf("query: %d %v", code, out)
	}
	claim := map[string]any{"one_time_keys": map[string]any{string(a.UserID): map[string]string{string(a.DeviceID): "signed_curve25519"}}}
	var got []string
	for range 4 {
		code, out = call(t, b, "POST", "/keys/claim", claim)
		keys, _ := get(out, "one_time_keys", string(a.UserID), string(a.DeviceID)).(map[string]any)
		if code != 200 || len(keys) != 1 {
			t.Fatalf("claim: %d %v", code, out)
		}
		for k := range keys {
			got = append(got, k)
		}
	}
	if !slices.Equal(got, []string{"signed_curve25519:AAAA", "signed_curve25519:AAAB", "signed_curve25519:FB", "signed_curve25519:FB"}) {
		t.Fatalf("claimed %v", got)
	}
	code, out = call(t, a, "GET", "/sync", nil)
	if code != 200 || get(out, "device_one_time_keys_count", "signed_curve25519") != 0.0 || len(get(out, "device_unused_fallback_key_types").([]any)) != 0 {
		t.Fatalf("sync counts: %v %v", get(out, "device_one_time_keys_count"), get(out, "device_unused_fallback_key_types"))
	}
	// A new fallback key is unused again.
	call(t, a, "POST", "/keys/upload", map[string]any{"fallback_keys": map[string]any{"signed_curve25519:FB2": map[string]any{"key": "fb2"}}})
	_, out = call(t, a, "GET", "/sync", nil)
	if v := get(out, "device_unused_fallback_key_types").([]any); len(v) != 1 || v[0] != "signed_curve25519" {
		t.Fatalf("fallback types %v", v)
	}
	// Bad input.
	for _, c := range []struct {
		body any
		want string
	}{
		{map[string]any{"device_keys": deviceKeys(b, "X")}, "M_INVALID_PARAM"}, // someone else's device
		{map[string]any{"one_time_keys": map[string]any{"nocolon": map[string]any{}}}, "M_INVALID_PARAM"},
		{map[string]any{"one_time_keys": map[string]any{"a:b": 3}}, "M_BAD_JSON"},
		{`{"device_keys": 3}`, "M_BAD_JSON"},
		{`[1]`, "M_BAD_JSON"},
		{`{`, "M_NOT_JSON"},
	} {
		if code, out := call(t, a, "POST", "/keys/upload", c.body); code != 400 || out["errcode"] != c.want {
			t.Errorf("upload %v: %d %v, want %s", c.body, code, out, c.want)
		}
	}
	if code, out := call(t, a, "POST", "/keys/claim", `{"one_time_keys": {"x": 1}}`); code != 400 || out["errcode"] != "M_BAD_JSON" {
		t.Errorf("claim bad: %d %v", code, out)
	}
}

// syncAsync starts a long-polling sync from since and returns its result
// channel once the server has parked it.
func (e *env) syncAsync(t *testing.T, cli *mautrix.Client, since string) <-chan map[string]any {
	ch := make(chan map[string]any, 1)
	before := e.waitingCount()
	go func() {
		_, out := call(t, cli, "GET", "/sync?timeout=20000&since="+url.QueryEscape(since), nil)
		ch <- out
	}()
	waitFor(t, func() bool { return e.waitingCount() > before })
	return ch
}

func strs(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func TestToDeviceAndDeviceLists(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b, c, room := sharingAgents(t, e)
	_, out := call(t, b, "GET", "/sync", nil)
	since := out["next_batch"].(string)

	// A to-device message wakes the parked sync.
	wait := e.syncAsync(t, b, since)
	msg := map[string]any{"messages": map[string]any{string(b.UserID): map[string]any{string(b.DeviceID): map[string]any{"hello": "bob"}}}}
	if code, out := call(t, a, "PUT", "/sendToDevice/m.test/txn1", msg); code != 200 {
		t.Fatalf("sendToDevice: %d %v", code, out)
	}
	out = <-wait
	evs, _ := get(out, "to_device", "events").([]any)
	if len(evs) != 1 || get(evs[0].(map[string]any), "content", "hello") != "bob" || get(evs[0].(map[string]any), "sender") != string(a.UserID) {
		t.Fatalf("to_device: %v", get(out, "to_device"))
	}
	// Not acknowledged yet: a retry from the same token gets it again.
	_, again := call(t, b, "GET", "/sync?since="+since, nil)
	if evs, _ := get(again, "to_device", "events").([]any); len(evs) != 1 {
		t.Fatalf("retry lost the message: %v", get(again, "to_device"))
	}
	// The same transaction id queues nothing; advancing acknowledges.
	call(t, a, "PUT", "/sendToDevice/m.test/txn1", msg)
	since = out["next_batch"].(string)
	_, out = call(t, b, "GET", "/sync?since="+since, nil)
	if evs, _ := get(out, "to_device", "events").([]any); len(evs) != 0 {
		t.Fatalf("to_device after ack: %v", get(out, "to_device"))
	}
	since = out["next_batch"].(string)

	// Keys of someone sharing a room: device_lists.changed, and the sync
	// wakes. Carol shares no room: not listed.
	wait = e.syncAsync(t, b, since)
	call(t, c, "POST", "/keys/upload", map[string]any{"device_keys": deviceKeys(c, "CC")})
	call(t, a, "POST", "/keys/upload", map[string]any{"device_keys": deviceKeys(a, "AA")})
	out = <-wait
	if got := strs(get(out, "device_lists", "changed")); !slices.Equal(got, []string{string(a.UserID)}) {
		t.Fatalf("changed %v", got)
	}
	code, ch := call(t, b, "GET", "/keys/changes?from="+since+"&to="+out["next_batch"].(string), nil)
	if code != 200 || !slices.Equal(strs(ch["changed"]), []string{string(a.UserID)}) {
		t.Fatalf("keys/changes: %d %v", code, ch)
	}
	since = out["next_batch"].(string)

	// Alice leaves the only shared room: left.
	if _, err := a.LeaveRoom(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	_, out = call(t, b, "GET", "/sync?since="+since, nil)
	if got := strs(get(out, "device_lists", "left")); !slices.Equal(got, []string{string(a.UserID)}) {
		t.Fatalf("left %v (%v)", got, get(out, "device_lists"))
	}
	if code, out := call(t, b, "GET", "/keys/changes?from=zz&to=s1", nil); code != 400 || out["errcode"] != "M_INVALID_PARAM" {
		t.Fatalf("bad keys/changes: %d %v", code, out)
	}
	if code, out := call(t, a, "PUT", "/sendToDevice/m.test/t2", `{"messages": {"@x:bureau.test": {"D": 3}}}`); code != 400 || out["errcode"] != "M_BAD_JSON" {
		t.Fatalf("bad sendToDevice: %d %v", code, out)
	}
}

func csKey(cli *mautrix.Client, usage, pub string) map[string]any {
	return map[string]any{"user_id": cli.UserID, "usage": []string{usage}, "keys": map[string]string{"ed25519:" + pub: pub}}
}

func TestCrossSigningAndBackup(t *testing.T) {
	e := newEnv(t)
	a, b := e.login(alice), e.login(bob)
	up := map[string]any{"master_key": csKey(a, "master", "M1"), "self_signing_key": csKey(a, "self_signing", "S1"), "user_signing_key": csKey(a, "user_signing", "U1")}
	if code, out := call(t, a, "POST", "/keys/device_signing/upload", up); code != 200 {
		t.Fatalf("first upload: %d %v", code, out)
	}
	// Replacing needs user-interactive auth: SSO fallback through the
	// gateway session, or a fresh login token.
	up["master_key"] = csKey(a, "master", "M2")
	code, out := call(t, a, "POST", "/keys/device_signing/upload", up)
	session, _ := out["session"].(string)
	if code != 401 || session == "" || !strings.Contains(mustJSON(out["flows"]), "m.login.sso") {
		t.Fatalf("want UIA: %d %v", code, out)
	}
	// The fallback page completes the stage for the right agent only.
	page := func(u identity.User) int {
		tok, _, _ := e.signer.Sign(u, "chat")
		req, _ := http.NewRequest("GET", e.srv.URL+"/_matrix/client/v3/auth/m.login.sso/fallback/web?session="+session, nil)
		req.Header.Set(identity.Header, tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := page(bob); got != 403 {
		t.Fatalf("fallback as bob: %d", got)
	}
	if code, _ := call(t, a, "POST", "/keys/device_signing/upload", withAuth(up, map[string]any{"type": "m.login.sso", "session": session})); code != 401 {
		t.Fatalf("uncompleted session accepted: %d", code)
	}
	if got := page(alice); got != 200 {
		t.Fatalf("fallback as alice: %d", got)
	}
	if code, out := call(t, a, "POST", "/keys/device_signing/upload", withAuth(up, map[string]any{"type": "m.login.sso", "session": session})); code != 200 {
		t.Fatalf("after fallback: %d %v", code, out)
	}
	up["master_key"] = csKey(a, "master", "M3")
	if code, out := call(t, a, "POST", "/keys/device_signing/upload", withAuth(up, map[string]any{"type": "m.login.token", "token": e.ssoLoginToken(alice)})); code != 200 {
		t.Fatalf("with a login token: %d %v", code, out)
	}
	if code, out := call(t, a, "POST", "/keys/device_signing/upload", map[string]any{"master_key": csKey(b, "master", "X")}); code != 400 || out["errcode"] != "M_INVALID_PARAM" {
		t.Fatalf("someone else's key: %d %v", code, out)
	}
	// Bob signs Alice's master key; Alice signs her device.
	call(t, a, "POST", "/keys/upload", map[string]any{"device_keys": deviceKeys(a, "AA")})
	call(t, b, "POST", "/keys/signatures/upload", map[string]any{string(a.UserID): map[string]any{"M3": map[string]any{"signatures": map[string]any{string(b.UserID): map[string]string{"ed25519:BU": "bobsig"}}}}})
	call(t, a, "POST", "/keys/signatures/upload", map[string]any{string(a.UserID): map[string]any{string(a.DeviceID): map[string]any{"signatures": map[string]any{string(a.UserID): map[string]string{"ed25519:S1": "selfsig"}}}}})
	_, q := call(t, b, "POST", "/keys/query", map[string]any{"device_keys": map[string]any{string(a.UserID): []string{}}})
	if get(q, "master_keys", string(a.UserID), "signatures", string(b.UserID), "ed25519:BU") != "bobsig" ||
		get(q, "device_keys", string(a.UserID), string(a.DeviceID), "signatures", string(a.UserID), "ed25519:S1") != "selfsig" ||
		get(q, "self_signing_keys", string(a.UserID)) == nil || len(get(q, "user_signing_keys").(map[string]any)) != 0 {
		t.Fatalf("query: %v", q)
	}

	// Key backup.
	if code, out := call(t, a, "GET", "/room_keys/version", nil); code != 404 || out["errcode"] != "M_NOT_FOUND" {
		t.Fatalf("no backup: %d %v", code, out)
	}
	_, out = call(t, a, "POST", "/room_keys/version", map[string]any{"algorithm": "m.megolm_backup.v1.curve25519-aes-sha2", "auth_data": map[string]any{"public_key": "P"}})
	v := out["version"].(string)
	sess := func(idx int) map[string]any {
		return map[string]any{"first_message_index": idx, "forwarded_count": 0, "is_verified": false, "session_data": map[string]any{"ciphertext": idx}}
	}
	if code, out := call(t, a, "PUT", "/room_keys/keys?version="+v, map[string]any{"rooms": map[string]any{"!r:bureau.test": map[string]any{"sessions": map[string]any{"s1": sess(5), "s2": sess(0)}}}}); code != 200 || out["count"] != 2.0 {
		t.Fatalf("put keys: %d %v", code, out)
	}
	call(t, a, "PUT", "/room_keys/keys/!r:bureau.test/s1?version="+v, sess(9)) // worse: ignored
	call(t, a, "PUT", "/room_keys/keys/!r:bureau.test/s2?version="+v, sess(1)) // worse: ignored
	call(t, a, "PUT", "/room_keys/keys/!r:bureau.test/s1?version="+v, sess(2)) // better
	_, out = call(t, a, "GET", "/room_keys/keys?version="+v, nil)
	if get(out, "rooms", "!r:bureau.test", "sessions", "s1", "first_message_index") != 2.0 || get(out, "rooms", "!r:bureau.test", "sessions", "s2", "first_message_index") != 0.0 {
		t.Fatalf("get keys: %v", out)
	}
	_, out = call(t, a, "GET", "/room_keys/version/"+v, nil)
	if out["count"] != 2.0 || out["version"] != v || get(out, "auth_data", "public_key") != "P" {
		t.Fatalf("version: %v", out)
	}
	call(t, a, "POST", "/room_keys/version", map[string]any{"algorithm": "m.megolm_backup.v1.curve25519-aes-sha2", "auth_data": map[string]any{}})
	if code, out := call(t, a, "PUT", "/room_keys/keys/!r:bureau.test/s3?version="+v, sess(0)); code != 403 || out["errcode"] != "M_WRONG_ROOM_KEYS_VERSION" {
		t.Fatalf("old version: %d %v", code, out)
	}
	if code, _ := call(t, a, "DELETE", "/room_keys/keys/!r:bureau.test?version="+v, nil); code != 200 {
		t.Fatalf("delete keys: %d", code)
	}
	if code, _ := call(t, a, "DELETE", "/room_keys/version/"+v, nil); code != 200 {
		t.Fatalf("delete version: %d", code)
	}
	if code, out := call(t, b, "GET", "/room_keys/keys?version="+v, nil); code != 404 || out["errcode"] != "M_NOT_FOUND" {
		t.Fatalf("other user's backup: %d %v", code, out)
	}
	if code, out := call(t, a, "POST", "/room_keys/version", map[string]any{"algorithm": "x"}); code != 400 || out["errcode"] != "M_INVALID_PARAM" {
		t.Fatalf("bad version: %d %v", code, out)
	}
	if code, out := call(t, a, "GET", "/room_keys/version/abc", nil); code != 404 || out["errcode"] != "M_NOT_FOUND" {
		t.Fatalf("bad version id: %d %v", code, out)
	}
}

func withAuth(m map[string]any, auth map[string]any) map[string]any {
	out := map[string]any{"auth": auth}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustJSON(v any) string {
	js, _ := json.Marshal(v)
	return string(js)
}

func TestEncryptedByDefault(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.login(alice), e.login(bob)
	for _, c := range []struct {
		req  mautrix.ReqCreateRoom
		want bool
	}{
		{mautrix.ReqCreateRoom{Preset: "private_chat"}, true},
		{mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{b.UserID}}, true},
		{mautrix.ReqCreateRoom{}, true},
		{mautrix.ReqCreateRoom{Preset: "public_chat"}, false},
		{mautrix.ReqCreateRoom{Visibility: "public"}, false},
	} {
		r, err := a.CreateRoom(ctx, &c.req)
		if err != nil {
			t.Fatal(err)
		}
		var enc event.EncryptionEventContent
		err = a.StateEvent(ctx, r.RoomID, event.StateEncryption, "", &enc)
		if got := err == nil && enc.Algorithm == id.AlgorithmMegolmV1; got != c.want {
			t.Errorf("%+v: encrypted=%v (%v)", c.req, got, err)
		}
	}
}

func (e *env) waitingCount() int { return e.runner.(*chat.Server).SyncWaiting() }

// TestToDeviceOverflow: more to-device messages than one response carries
// arrive over several syncs, none lost, none twice.
func TestToDeviceOverflow(t *testing.T) {
	e := newEnv(t)
	a, b := e.login(alice), e.login(bob)
	_, out := call(t, b, "GET", "/sync", nil)
	since := out["next_batch"].(string)
	const n = 150
	for i := range n {
		msg := map[string]any{"messages": map[string]any{string(b.UserID): map[string]any{string(b.DeviceID): map[string]any{"i": i}, "NODEVICE": map[string]any{}}}}
		if code, out := call(t, a, "PUT", "/sendToDevice/m.test/t"+strconv.Itoa(i), msg); code != 200 {
			t.Fatalf("send %d: %d %v", i, code, out)
		}
	}
	var got []int
	for range 5 {
		_, out := call(t, b, "GET", "/sync?since="+since, nil)
		evs, _ := get(out, "to_device", "events").([]any)
		for _, ev := range evs {
			got = append(got, int(get(ev.(map[string]any), "content", "i").(float64)))
		}
		since = out["next_batch"].(string)
		if len(evs) == 0 {
			break
		}
	}
	if len(got) != n {
		t.Fatalf("got %d messages, want %d", len(got), n)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("message %d is %d", i, v)
		}
	}
}
