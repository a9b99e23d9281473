package chat_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/pushrules"
)

func TestPushRules(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.login(alice), e.login(bob)

	// The spec's defaults, with Alice's localpart and id in place.
	rs, err := a.GetPushRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Override) != 12 || rs.Override[0].RuleID != ".m.rule.master" || rs.Override[0].Enabled || len(rs.Underride) != 5 {
		t.Fatalf("defaults: %d override, %d underride", len(rs.Override), len(rs.Underride))
	}
	if len(rs.Content) != 1 || rs.Content[0].Pattern != "alice.martin-interieur.gouv.fr" {
		t.Fatalf("content rule = %+v", rs.Content)
	}
	// The default rules are also the m.push_rules account data.
	var ad struct {
		Global *pushrules.PushRuleset `json:"global"`
	}
	if err := a.GetAccountData(ctx, "m.push_rules", &ad); err != nil || ad.Global == nil || len(ad.Global.Underride) != 5 {
		t.Fatalf("m.push_rules account data = %+v, %v", ad, err)
	}
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	first, err := a.SyncRequest(ctx, 0, "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	var synced bool
	for _, ev := range first.AccountData.Events {
		synced = synced || ev.Type.Type == "m.push_rules"
	}
	if !synced {
		t.Fatal("initial sync lacks m.push_rules")
	}

	// Unread counts: Bob's messages after Alice's last receipt; a mention
	// highlights.
	if _, err := b.SendText(ctx, room.RoomID, "bonjour"); err != nil {
		t.Fatal(err)
	}
	last, err := b.SendMessageEvent(ctx, room.RoomID, event.EventMessage, map[string]any{
		"msgtype": "m.text", "body": "Alice ?", "m.mentions": map[string]any{"user_ids": []string{a.UserID.String()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.SyncRequest(ctx, 0, first.NextBatch, "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Rooms.Join[room.RoomID].UnreadNotifications; n == nil || n.NotificationCount != 2 || n.HighlightCount != 1 {
		t.Fatalf("unread = %+v", n)
	}
	if err := a.MarkRead(ctx, room.RoomID, last.EventID); err != nil {
		t.Fatal(err)
	}
	s, err = a.SyncRequest(ctx, 0, s.NextBatch, "", false, "")
	if n := s.Rooms.Join[room.RoomID].UnreadNotifications; err != nil || n == nil || n.NotificationCount != 0 || n.HighlightCount != 0 {
		t.Fatalf("unread after receipt = %+v, %v", n, err)
	}

	// Mute the room with a room rule: Bob's next message does not count,
	// and the new rules reach Alice's sync as account data.
	if err := a.PutPushRule(ctx, "global", pushrules.RoomRule, room.RoomID.String(), &mautrix.ReqPutPushRule{Actions: []pushrules.PushActionType{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SendText(ctx, room.RoomID, "encore"); err != nil {
		t.Fatal(err)
	}
	s, err = a.SyncRequest(ctx, 0, s.NextBatch, "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Rooms.Join[room.RoomID].UnreadNotifications; n == nil || n.NotificationCount != 0 {
		t.Fatalf("muted room counted: %+v", n)
	}
	var pr *pushrules.PushRuleset
	for _, ev := range s.AccountData.Events {
		if ev.Type.Type == "m.push_rules" {
			var c struct {
				Global *pushrules.PushRuleset `json:"global"`
			}
			_ = json.Unmarshal(ev.Content.VeryRaw, &c)
			pr = c.Global
		}
	}
	if pr == nil || len(pr.Room.Map) != 1 || pr.Room.Map[room.RoomID.String()] == nil {
		t.Fatalf("m.push_rules after a change: %+v", pr)
	}

	// Content rules and their order.
	for _, c := range []struct{ id, before, after string }{{"one", "", ""}, {"two", "", ""}, {"three", "", "two"}} {
		req := &mautrix.ReqPutPushRule{Pattern: c.id, Actions: []pushrules.PushActionType{pushrules.ActionNotify}, Before: c.before, After: c.after}
		if err := a.PutPushRule(ctx, "global", pushrules.ContentRule, c.id, req); err != nil {
			t.Fatal(err)
		}
	}
	rs, _ = a.GetPushRules(ctx)
	if len(rs.Content) != 4 || rs.Content[0].RuleID != "two" || rs.Content[1].RuleID != "three" || rs.Content[2].RuleID != "one" {
		t.Fatalf("content order: %+v", rs.Content)
	}
	// enabled and actions, on a user rule and on a default.
	p := func(kind, id, attr string) string { return "/pushrules/global/" + kind + "/" + id + "/" + attr }
	if st, _ := call(t, a, "PUT", p("content", "one", "enabled"), map[string]bool{"enabled": false}); st != 200 {
		t.Fatal(st)
	}
	if st, en := call(t, a, "GET", p("content", "one", "enabled"), nil); st != 200 || en["enabled"] != false {
		t.Fatalf("enabled = %d %+v", st, en)
	}
	if st, _ := call(t, a, "PUT", p("underride", ".m.rule.message", "actions"), map[string]any{"actions": []string{}}); st != 200 {
		t.Fatal(st)
	}
	if st, acts := call(t, a, "GET", p("underride", ".m.rule.message", "actions"), nil); st != 200 || len(acts["actions"].([]any)) != 0 {
		t.Fatalf("actions = %d %+v", st, acts)
	}
	if err := a.DeletePushRule(ctx, "global", pushrules.ContentRule, "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetPushRule(ctx, "global", pushrules.ContentRule, "two"); errcode(err) != "M_NOT_FOUND" {
		t.Fatalf("deleted rule: %v", err)
	}
	// Bob's rules are his own.
	if rs, _ := b.GetPushRules(ctx); len(rs.Content) != 1 || len(rs.Room.Map) != 0 {
		t.Fatalf("bob sees alice's rules: %+v", rs)
	}

	// Bad input: spec errcodes.
	rule := "/_matrix/client/v3/pushrules/global/"
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"DELETE", rule + "override/.m.rule.master", ``, 400, "M_INVALID_PARAM"},
		{"PUT", rule + "override/.m.rule.mine", `{"actions":[]}`, 400, "M_INVALID_PARAM"},
		{"DELETE", rule + "content/nope", ``, 404, "M_NOT_FOUND"},
		{"GET", rule + "content/nope", ``, 404, "M_NOT_FOUND"},
		{"GET", rule + "sideways/x", ``, 400, "M_INVALID_PARAM"},
		{"PUT", rule + "content/x", `{"actions":["notify"]}`, 400, "M_BAD_JSON"},
		{"PUT", rule + "content/x", `{"actions":["explode"],"pattern":"x"}`, 400, "M_BAD_JSON"},
		{"PUT", rule + "content/x", `{"actions":"notify","pattern":"x"}`, 400, "M_BAD_JSON"},
		{"PUT", rule + "override/x", `{"actions":[],"conditions":[{"kind":"event_match"}]}`, 400, "M_BAD_JSON"},
		{"PUT", rule + "room/not-a-room", `{"actions":[]}`, 400, "M_INVALID_PARAM"},
		{"PUT", rule + "content/x?before=zzz", `{"actions":[],"pattern":"x"}`, 404, "M_NOT_FOUND"},
		{"PUT", rule + "content/x?after=.m.rule.contains_user_name", `{"actions":[],"pattern":"x"}`, 400, "M_INVALID_PARAM"},
		{"PUT", rule + "content/one/enabled", `{}`, 400, "M_BAD_JSON"},
		{"PUT", rule + "content/nope/enabled", `{"enabled":true}`, 404, "M_NOT_FOUND"},
		{"PUT", rule + "content/one/actions", `{"actions":[1]}`, 400, "M_BAD_JSON"},
		{"GET", rule + "content/one/colour", ``, 404, "M_UNRECOGNIZED"},
		{"PUT", "/_matrix/client/v3/user/" + url.PathEscape(a.UserID.String()) + "/account_data/m.push_rules", `{}`, 400, "M_BAD_JSON"},
	} {
		status, code := raw(t, a, c.method, c.path, c.body)
		if status != c.status || code != c.code {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, status, code, c.status, c.code)
		}
	}
}

func TestPushers(t *testing.T) {
	e := newEnv(t)
	a, b := e.login(alice), e.login(bob)
	set := "/pushers/set"
	pusher := map[string]any{
		"app_id": "fr.gouv.tchap", "pushkey": "device-token", "kind": "http", "app_display_name": "Tchap",
		"device_display_name": "Téléphone", "lang": "fr", "data": map[string]any{"url": "https://sygnal.example/_matrix/push/v1/notify", "format": "event_id_only"},
	}
	if st, _ := call(t, a, "POST", set, pusher); st != 200 {
		t.Fatal(st)
	}
	email := map[string]any{"app_id": "m.email", "pushkey": "alice@interieur.gouv.fr", "kind": "email", "app_display_name": "Email",
		"device_display_name": "alice", "lang": "fr", "data": map[string]any{}}
	if st, _ := call(t, a, "POST", set, email); st != 200 {
		t.Fatal(st)
	}
	pushers := func(cli *mautrix.Client) []map[string]any {
		st, got := call(t, cli, "GET", "/pushers", nil)
		var out []map[string]any
		for _, p := range got["pushers"].([]any) {
			out = append(out, p.(map[string]any))
		}
		if st != 200 {
			t.Fatal(st)
		}
		return out
	}
	if got := pushers(a); len(got) != 2 || got[0]["kind"] != "http" || got[0]["data"].(map[string]any)["format"] != "event_id_only" {
		t.Fatalf("pushers = %+v", got)
	}
	// Bob registers the same device without append: it leaves Alice.
	if st, _ := call(t, b, "POST", set, pusher); st != 200 {
		t.Fatal(st)
	}
	if got := pushers(a); len(got) != 1 || got[0]["kind"] != "email" || len(pushers(b)) != 1 {
		t.Fatalf("pushers after takeover = %+v", got)
	}
	email["kind"] = nil
	if st, _ := call(t, a, "POST", set, email); st != 200 {
		t.Fatal(st)
	}
	if got := pushers(a); len(got) != 0 {
		t.Fatalf("pushers after delete = %+v", got)
	}
	for _, body := range []string{
		`{"app_id":"x","pushkey":"k","kind":"http","app_display_name":"a","device_display_name":"d","lang":"fr","data":{}}`,
		`{"app_id":"x","pushkey":"k","kind":"carrier-pigeon","app_display_name":"a","device_display_name":"d","lang":"fr","data":{}}`,
		`{"pushkey":"k","kind":"email"}`,
		`{"app_id":"x","pushkey":"k","kind":"email","app_display_name":"a","device_display_name":"d","lang":"fr","data":[]}`,
	} {
		if status, code := raw(t, a, "POST", "/_matrix/client/v3/pushers/set", body); status != http.StatusBadRequest || (code != "M_INVALID_PARAM" && code != "M_BAD_JSON") {
			t.Errorf("%s: %d %s", body, status, code)
		}
	}
}
