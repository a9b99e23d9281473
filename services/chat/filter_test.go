package chat_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// Sync and /messages apply the filter's rooms, types and senders; limits
// count the kept events.
func TestEventFilters(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.login(alice), e.login(bob)
	var rooms []id.RoomID
	for range 2 {
		room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, room.RoomID)
	}
	for i, c := range []*mautrix.Client{a, b, a, b, a} {
		if _, err := c.SendText(ctx, rooms[0], strings.Repeat("x", i+1)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SendMessageEvent(ctx, rooms[0], event.EventReaction, map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	filter := `{"room":{"rooms":["` + rooms[0].String() + `"],"timeline":{"limit":2,"types":["m.room.mess*"],"not_senders":["` + b.UserID.String() + `"]}}}`
	r, err := b.SyncRequest(ctx, 0, "", filter, false, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Rooms.Join[rooms[1]]; ok || len(r.Rooms.Join) != 1 {
		t.Fatalf("rooms filter: %d rooms", len(r.Rooms.Join))
	}
	tl := r.Rooms.Join[rooms[0]].Timeline
	if got := timelineBodies(r, rooms[0]); !slices.Equal(got, []string{"xxx", "xxxxx"}) || len(tl.Events) != 2 || !tl.Limited {
		t.Fatalf("filtered timeline: %v (%d events, limited %v)", got, len(tl.Events), tl.Limited)
	}
	// /messages with a filter: Bob's messages only, pages counted in kept
	// events.
	msgs := `{"types":["m.room.message"],"senders":["` + b.UserID.String() + `"]}`
	page, err := b.Messages(ctx, rooms[0], "", "", mautrix.DirectionBackward, &mautrix.FilterPart{Types: []event.Type{event.EventMessage}, Senders: []id.UserID{b.UserID}}, 2)
	if err != nil || len(page.Chunk) != 2 || page.Chunk[0].Content.Raw["body"] != "xxxx" || page.Chunk[1].Content.Raw["body"] != "xx" {
		t.Fatalf("filtered /messages (%s): %+v, %v", msgs, page, err)
	}
	status, code := raw(t, b, "GET", "/_matrix/client/v3/rooms/"+url.PathEscape(rooms[0].String())+"/messages?filter="+url.QueryEscape(`{"types":"m.room.message"}`), "")
	if status != 400 || code != "M_INVALID_PARAM" {
		t.Fatalf("bad /messages filter: %d %s", status, code)
	}
}

// syncJSON runs a sync with a filter and returns the raw response.
func syncJSON(t *testing.T, cli *mautrix.Client, filter, since string) map[string]any {
	t.Helper()
	q := "/_matrix/client/v3/sync?filter=" + url.QueryEscape(filter)
	if since != "" {
		q += "&since=" + since
	}
	status, s := getJSON(t, cli, q)
	if status != 200 {
		t.Fatalf("sync %s: %d %v", filter, status, s)
	}
	return s
}

// section returns rooms.<kind>.<room>.<part>.events of a raw sync.
func section(s map[string]any, kind string, room id.RoomID, part string) []map[string]any {
	r, _ := s["rooms"].(map[string]any)[kind].(map[string]any)[room.String()].(map[string]any)
	p, _ := r[part].(map[string]any)
	list, _ := p["events"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		out = append(out, x.(map[string]any))
	}
	return out
}

func types(evs []map[string]any) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev["type"].(string))
	}
	return out
}

// The other parts of filters: contains_url, event_fields (with escapes),
// event_format federation, the state, ephemeral and account data
// sections, include_leave; malformed filters get the spec's errcodes.
func TestFilterSections(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.login(alice), e.login(bob)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: "Salon"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	img, err := a.SendMessageEvent(ctx, room.RoomID, event.EventMessage, map[string]any{"msgtype": "m.image", "body": "photo.png", "url": "mxc://bureau.test/abc"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendMessageEvent(ctx, room.RoomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "texte", "com.example.x": "point"}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetAccountData(ctx, "com.example.global", map[string]any{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetRoomAccountData(ctx, room.RoomID, "com.example.room", map[string]any{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if err := b.MarkRead(ctx, room.RoomID, img.EventID); err != nil {
		t.Fatal(err)
	}

	// contains_url, both ways.
	s := syncJSON(t, b, `{"room":{"timeline":{"contains_url":true}}}`, "")
	if tl := section(s, "join", room.RoomID, "timeline"); len(tl) != 1 || tl[0]["event_id"] != img.EventID.String() {
		t.Fatalf("contains_url true: %v", types(tl))
	}
	s = syncJSON(t, b, `{"room":{"timeline":{"contains_url":false,"types":["m.room.message"]}}}`, "")
	if tl := section(s, "join", room.RoomID, "timeline"); len(tl) != 1 || tl[0]["content"].(map[string]any)["body"] != "texte" {
		t.Fatalf("contains_url false: %v", tl)
	}

	// event_fields: only the paths asked, "\." a literal dot.
	s = syncJSON(t, b, `{"event_fields":["type","content.com\\.example\\.x"],"room":{"timeline":{"types":["m.room.message"]}}}`, "")
	tl := section(s, "join", room.RoomID, "timeline")
	if len(tl) != 2 || len(tl[1]) != 2 || tl[1]["type"] != "m.room.message" || fmt.Sprint(tl[1]["content"]) != "map[com.example.x:point]" || len(tl[0]["content"].(map[string]any)) != 0 {
		t.Fatalf("event_fields: %v", tl)
	}

	// event_format federation: the PDU, with its graph fields.
	s = syncJSON(t, b, `{"event_format":"federation","room":{"timeline":{"limit":1}}}`, "")
	tl = section(s, "join", room.RoomID, "timeline")
	if len(tl) != 1 || tl[0]["prev_events"] == nil || tl[0]["auth_events"] == nil || tl[0]["signatures"] == nil || tl[0]["depth"] == nil {
		t.Fatalf("federation format: %v", tl)
	}

	// room.state, room.ephemeral, room.account_data, account_data.
	s = syncJSON(t, b, `{"room":{"timeline":{"limit":1},"state":{"types":["m.room.n*"]},"ephemeral":{"not_types":["m.receipt"]},
		"account_data":{"types":["com.example.none"]}},"account_data":{"types":["com.example.global"]}}`, "")
	if st := types(section(s, "join", room.RoomID, "state")); fmt.Sprint(st) != "[m.room.name]" {
		t.Fatalf("state filter: %v", st)
	}
	if eph := section(s, "join", room.RoomID, "ephemeral"); len(eph) != 0 {
		t.Fatalf("ephemeral filter: %v", eph)
	}
	if ad := section(s, "join", room.RoomID, "account_data"); len(ad) != 0 {
		t.Fatalf("room account data filter: %v", ad)
	}
	if ad, _ := s["account_data"].(map[string]any)["events"].([]any); len(ad) != 1 || ad[0].(map[string]any)["type"] != "com.example.global" {
		t.Fatalf("account data filter: %v", ad)
	}
	s = syncJSON(t, b, `{"room":{"timeline":{"limit":1},"state":{"limit":2},"ephemeral":{"types":["m.receipt"]}}}`, "")
	if st := section(s, "join", room.RoomID, "state"); len(st) != 2 {
		t.Fatalf("state limit: %v", types(st))
	}
	if eph := types(section(s, "join", room.RoomID, "ephemeral")); fmt.Sprint(eph) != "[m.receipt]" {
		t.Fatalf("ephemeral types: %v", eph)
	}

	// include_leave: a room Bob left shows in an initial sync only when
	// asked.
	if _, err := b.LeaveRoom(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	if s = syncJSON(t, b, `{}`, ""); len(s["rooms"].(map[string]any)["leave"].(map[string]any)) != 0 {
		t.Fatal("left room without include_leave")
	}
	s = syncJSON(t, b, `{"room":{"include_leave":true,"timeline":{"limit":2}}}`, "")
	if tl := section(s, "leave", room.RoomID, "timeline"); len(tl) == 0 || tl[len(tl)-1]["type"] != "m.room.member" {
		t.Fatalf("include_leave: %v", types(tl))
	}
	// The left room comes with its state up to the start of its timeline
	// (its name, for the client's list of old rooms).
	if st := types(section(s, "leave", room.RoomID, "state")); !slices.Contains(st, "m.room.name") || !slices.Contains(st, "m.room.create") {
		t.Fatalf("include_leave state: %v", st)
	}

	// Malformed filters, stored or inline.
	for body, want := range map[string]string{
		`{`: "M_NOT_JSON", `[]`: "M_BAD_JSON", `{"room":{"timeline":{"limit":"5"}}}`: "M_BAD_JSON",
		`{"event_fields":"type"}`: "M_BAD_JSON", `{"room":{"state":{"types":[1]}}}`: "M_BAD_JSON",
		`{"event_format":"xml"}`: "M_INVALID_PARAM", `{"event_fields":["content\\x"]}`: "M_INVALID_PARAM",
		`{"event_fields":["content..body"]}`: "M_INVALID_PARAM", `{"room":{"state":{"limit":-1}}}`: "M_INVALID_PARAM",
		`{"presence":{"limit":-3}}`: "M_INVALID_PARAM",
	} {
		if status, code := raw(t, b, "POST", "/_matrix/client/v3/user/"+url.PathEscape(b.UserID.String())+"/filter", body); status != 400 || code != want {
			t.Errorf("POST filter %s: %d %s, want %s", body, status, code, want)
		}
		if !strings.HasPrefix(body, "{") {
			continue // not a filter but a bad filter id on /sync
		}
		if status, code := raw(t, b, "GET", "/_matrix/client/v3/sync?filter="+url.QueryEscape(body), ""); status != 400 || code != want {
			t.Errorf("sync filter %s: %d %s, want %s", body, status, code, want)
		}
	}
}
