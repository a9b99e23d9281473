package chat_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"bureau/services/platform/identity"
)

func TestEphemeralAndAccountData(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.login(alice), e.login(bob)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	rid := string(room.RoomID)
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	sent, err := a.SendText(ctx, room.RoomID, "salut")
	if err != nil {
		t.Fatal(err)
	}
	_, out := call(t, b, "GET", "/sync", nil)
	since := out["next_batch"].(string)

	// Typing wakes bob's sync.
	wait := e.syncAsync(t, b, since)
	if code, out := call(t, a, "PUT", "/rooms/"+rid+"/typing/"+string(a.UserID), map[string]any{"typing": true, "timeout": 30000}); code != 200 {
		t.Fatalf("typing: %d %v", code, out)
	}
	out = <-wait
	eph := mustJSON(get(out, "rooms", "join", rid, "ephemeral"))
	if !containsAll(eph, `"m.typing"`, string(a.UserID)) {
		t.Fatalf("typing not in sync: %s", eph)
	}
	since = out["next_batch"].(string)

	// A receipt wakes it too.
	wait = e.syncAsync(t, b, since)
	if code, out := call(t, a, "POST", "/rooms/"+rid+"/receipt/m.read/"+url.PathEscape(string(sent.EventID)), map[string]any{}); code != 200 {
		t.Fatalf("receipt: %d %v", code, out)
	}
	out = <-wait
	if eph := mustJSON(get(out, "rooms", "join", rid, "ephemeral")); !containsAll(eph, `"m.receipt"`, string(sent.EventID), string(a.UserID)) {
		t.Fatalf("receipt not in sync: %s", eph)
	}
	since = out["next_batch"].(string)
	// Stop typing: an empty m.typing.
	call(t, a, "PUT", "/rooms/"+rid+"/typing/"+string(a.UserID), map[string]any{"typing": false})
	_, out = call(t, b, "GET", "/sync?since="+since, nil)
	if eph := mustJSON(get(out, "rooms", "join", rid, "ephemeral")); !containsAll(eph, `"user_ids":[]`) {
		t.Fatalf("typing stop: %s", eph)
	}

	// Read markers and account data.
	_, out = call(t, a, "GET", "/sync", nil)
	since = out["next_batch"].(string)
	if code, out := call(t, a, "POST", "/rooms/"+rid+"/read_markers", map[string]any{"m.fully_read": sent.EventID, "m.read.private": sent.EventID}); code != 200 {
		t.Fatalf("read_markers: %d %v", code, out)
	}
	call(t, a, "PUT", "/user/"+string(a.UserID)+"/account_data/m.direct", map[string]any{string(b.UserID): []string{rid}})
	call(t, a, "PUT", "/user/"+string(a.UserID)+"/rooms/"+rid+"/account_data/m.tag", map[string]any{"tags": map[string]any{"m.favourite": map[string]any{}}})
	_, out = call(t, a, "GET", "/sync?since="+since, nil)
	if g := mustJSON(out["account_data"]); !containsAll(g, "m.direct", rid) {
		t.Fatalf("global account data: %s", g)
	}
	if r := mustJSON(get(out, "rooms", "join", rid)); !containsAll(r, "m.fully_read", "m.tag", "m.favourite", "m.read.private") {
		t.Fatalf("room account data: %s", r)
	}
	// Bob does not see Alice's private receipt.
	_, out = call(t, b, "GET", "/sync", nil)
	if eph := mustJSON(get(out, "rooms", "join", rid, "ephemeral")); containsAll(eph, "m.read.private") {
		t.Fatalf("private receipt leaked: %s", eph)
	}
	if code, out := call(t, a, "GET", "/user/"+string(a.UserID)+"/account_data/m.direct", nil); code != 200 || out[string(b.UserID)] == nil {
		t.Fatalf("get account data: %d %v", code, out)
	}
	if code, out := call(t, b, "GET", "/user/"+string(a.UserID)+"/account_data/m.direct", nil); code != 403 || out["errcode"] != "M_FORBIDDEN" {
		t.Fatalf("other's account data: %d %v", code, out)
	}
	if code, out := call(t, a, "GET", "/user/"+string(a.UserID)+"/account_data/nope", nil); code != 404 || out["errcode"] != "M_NOT_FOUND" {
		t.Fatalf("missing account data: %d %v", code, out)
	}
	// Bad input.
	for _, c := range []struct{ method, path, body, want string }{
		{"PUT", "/rooms/" + rid + "/typing/" + string(a.UserID), `{"timeout": 1}`, "M_BAD_JSON"},
		{"PUT", "/rooms/" + rid + "/typing/" + string(b.UserID), `{"typing": true}`, "M_FORBIDDEN"},
		{"POST", "/rooms/" + rid + "/receipt/m.bogus/" + url.PathEscape(string(sent.EventID)), `{}`, "M_INVALID_PARAM"},
		{"POST", "/rooms/" + rid + "/receipt/m.read/notanevent", `{}`, "M_INVALID_PARAM"},
		{"POST", "/rooms/" + rid + "/receipt/m.read/$unknown", `{}`, "M_NOT_FOUND"},
		{"PUT", "/user/" + string(a.UserID) + "/account_data/x", `[1]`, "M_BAD_JSON"},
	} {
		if code, out := call(t, a, c.method, c.path, c.body); code >= 500 || out["errcode"] != c.want {
			t.Errorf("%s %s: %d %v, want %s", c.method, c.path, code, out, c.want)
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func TestProfileDevicesDirectory(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.login(alice), e.login(bob)
	dave := identity.User{ID: "u-dave", Email: "dave@interieur.gouv.fr", GivenName: "Dave", Ministry: "interieur"}
	ext := identity.User{ID: "u-ext", Email: "eve@prestataire.fr", GivenName: "Eve", External: true}
	d, x := e.login(dave), e.login(ext)

	// Profile.
	if code, out := call(t, b, "GET", "/profile/"+string(a.UserID), nil); code != 200 || out["displayname"] != "Alice Martin" {
		t.Fatalf("profile: %d %v", code, out)
	}
	if code, _ := call(t, a, "PUT", "/profile/"+string(a.UserID)+"/displayname", map[string]any{"displayname": "Alice M."}); code != 200 {
		t.Fatal("set displayname")
	}
	if code, out := call(t, a, "PUT", "/profile/"+string(a.UserID)+"/avatar_url", map[string]any{"avatar_url": "http://evil"}); code != 400 || out["errcode"] != "M_INVALID_PARAM" {
		t.Fatalf("bad avatar: %d %v", code, out)
	}
	if code, out := call(t, b, "PUT", "/profile/"+string(a.UserID)+"/displayname", map[string]any{"displayname": "x"}); code != 403 || out["errcode"] != "M_FORBIDDEN" {
		t.Fatalf("other's profile: %d %v", code, out)
	}
	if code, out := call(t, b, "GET", "/profile/"+string(a.UserID)+"/displayname", nil); code != 200 || out["displayname"] != "Alice M." {
		t.Fatalf("displayname: %d %v", code, out)
	}
	if code, out := call(t, b, "GET", "/profile/@nobody:bureau.test", nil); code != 404 || out["errcode"] != "M_NOT_FOUND" {
		t.Fatalf("unknown profile: %d %v", code, out)
	}

	// User directory: same ministry, or a shared room; externals only the
	// latter.
	search := func(cli *mautrix.Client, term string) []string {
		code, out := call(t, cli, "POST", "/user_directory/search", map[string]any{"search_term": term})
		if code != 200 {
			t.Fatalf("search: %d %v", code, out)
		}
		var ids []string
		for _, r := range out["results"].([]any) {
			ids = append(ids, r.(map[string]any)["user_id"].(string))
		}
		slices.Sort(ids)
		return ids
	}
	if got := search(a, "gouv"); !slices.Equal(got, []string{string(a.UserID), string(d.UserID)}) {
		t.Fatalf("alice sees %v", got)
	}
	if got := search(x, "e"); !slices.Equal(got, nil) && !slices.Equal(got, []string{}) {
		t.Fatalf("external sees %v", got)
	}
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Invite: []id.UserID{b.UserID, x.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	_ = room
	if got := search(a, "bob"); !slices.Equal(got, []string{string(b.UserID)}) {
		t.Fatalf("alice sees %v after sharing a room", got)
	}
	if got := search(x, "alice m"); !slices.Equal(got, []string{string(a.UserID)}) {
		t.Fatalf("external sees %v", got)
	}
	if got := search(x, "dave"); len(got) != 0 {
		t.Fatalf("external sees %v", got)
	}
	if got := search(a, "%"); len(got) != 0 {
		t.Fatalf("wildcard matched %v", got)
	}

	// Devices: list, rename, delete with user-interactive auth.
	a2 := e.login(alice)
	_, out := call(t, a, "GET", "/devices", nil)
	if n := len(out["devices"].([]any)); n != 2 {
		t.Fatalf("devices: %v", out)
	}
	if code, _ := call(t, a, "PUT", "/devices/"+string(a2.DeviceID), map[string]any{"display_name": "Téléphone"}); code != 200 {
		t.Fatal("rename")
	}
	if code, out := call(t, a, "GET", "/devices/"+string(a2.DeviceID), nil); code != 200 || out["display_name"] != "Téléphone" {
		t.Fatalf("device: %d %v", code, out)
	}
	if code, out := call(t, b, "GET", "/devices/"+string(a2.DeviceID), nil); code != 404 || out["errcode"] != "M_NOT_FOUND" {
		t.Fatalf("other's device: %d %v", code, out)
	}
	code, out := call(t, a, "DELETE", "/devices/"+string(a2.DeviceID), nil)
	if code != 401 || out["session"] == nil {
		t.Fatalf("delete without auth: %d %v", code, out)
	}
	if code, out := call(t, a, "DELETE", "/devices/"+string(a2.DeviceID), map[string]any{"auth": map[string]any{"type": "m.login.token", "token": "wrong", "session": out["session"]}}); code != 401 || out["errcode"] != "M_FORBIDDEN" {
		t.Fatalf("delete with a wrong token: %d %v", code, out)
	}
	if code, out := call(t, a, "DELETE", "/devices/"+string(a2.DeviceID), map[string]any{"auth": map[string]any{"type": "m.login.token", "token": e.ssoLoginToken(alice)}}); code != 200 {
		t.Fatalf("delete: %d %v", code, out)
	}
	if _, err := a2.Whoami(ctx); errcode(err) != "M_UNKNOWN_TOKEN" {
		t.Fatalf("deleted device still works: %v", err)
	}
	if code, out := call(t, a, "POST", "/delete_devices", map[string]any{"devices": []string{"NOPE"}, "auth": map[string]any{"type": "m.login.token", "token": e.ssoLoginToken(bob)}}); code != 401 {
		t.Fatalf("someone else's login token: %d %v", code, out)
	}
}
