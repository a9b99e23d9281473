package chat_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

func TestAliasesAndDirectory(t *testing.T) {
	ctx := t.Context()
	a, b, c, private := threeAgents(t)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Visibility: "public", RoomAliasName: "projet", Name: "Projet Alpha", Topic: "Le projet"})
	if err != nil {
		t.Fatal(err)
	}
	const alias = id.RoomAlias("#projet:bureau.test")
	if r, err := a.ResolveAlias(ctx, alias); err != nil || r.RoomID != room.RoomID || len(r.Servers) != 1 {
		t.Fatalf("resolve = %+v, %v", r, err)
	}
	var ca event.CanonicalAliasEventContent
	if err := a.StateEvent(ctx, room.RoomID, event.StateCanonicalAlias, "", &ca); err != nil || ca.Alias != alias {
		t.Fatalf("canonical alias = %+v, %v", ca, err)
	}
	if _, err := b.CreateRoom(ctx, &mautrix.ReqCreateRoom{RoomAliasName: "projet"}); errcode(err) != "M_ROOM_IN_USE" {
		t.Fatalf("alias reused by createRoom: %v", err)
	}
	// Bob joins by alias, then names the room too; Carol, outside, cannot.
	if j, err := b.JoinRoom(ctx, alias.String(), nil); err != nil || j.RoomID != room.RoomID {
		t.Fatalf("join by alias = %+v, %v", j, err)
	}
	if _, err := b.CreateAlias(ctx, "#autre:bureau.test", room.RoomID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateAlias(ctx, "#autre:bureau.test", room.RoomID); errcode(err) != "M_UNKNOWN" {
		t.Fatalf("duplicate alias: %v", err)
	}
	if _, err := c.CreateAlias(ctx, "#intrus:bureau.test", room.RoomID); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider aliased a room: %v", err)
	}
	if _, err := c.CreateAlias(ctx, "#prive:bureau.test", private.RoomID); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider aliased a private room: %v", err)
	}
	if l, err := a.GetAliases(ctx, room.RoomID); err != nil || len(l.Aliases) != 2 {
		t.Fatalf("aliases = %+v, %v", l, err)
	}
	if _, err := c.GetAliases(ctx, room.RoomID); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider listed aliases: %v", err)
	}
	// Deletion: the creator, or power over the canonical alias.
	if _, err := b.CreateAlias(ctx, "#bob:bureau.test", room.RoomID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteAlias(ctx, "#autre:bureau.test"); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider deleted an alias: %v", err)
	}
	if _, err := b.DeleteAlias(ctx, alias); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("member without power deleted the admin's alias: %v", err)
	}
	if _, err := b.DeleteAlias(ctx, "#bob:bureau.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DeleteAlias(ctx, "#autre:bureau.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ResolveAlias(ctx, "#autre:bureau.test"); errcode(err) != "M_NOT_FOUND" {
		t.Fatalf("deleted alias resolves: %v", err)
	}
	// m.room.canonical_alias must name aliases of the room.
	if _, err := a.SendStateEvent(ctx, room.RoomID, event.StateCanonicalAlias, "", map[string]any{"alias": "#nope:bureau.test"}); errcode(err) != "M_BAD_ALIAS" {
		t.Fatalf("canonical alias to nowhere: %v", err)
	}

	// The public directory, readable without a token.
	beta, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Name: "Beta"})
	if err != nil {
		t.Fatal(err)
	}
	anon, _ := mautrix.NewClient(a.HomeserverURL.String(), "", "")
	list, err := anon.PublicRooms(ctx, nil)
	if err != nil || len(list.Chunk) != 1 || list.Chunk[0].RoomID != room.RoomID || list.Chunk[0].Name != "Projet Alpha" ||
		list.Chunk[0].CanonicalAlias != alias || list.Chunk[0].NumJoinedMembers != 2 || list.Chunk[0].JoinRule != "public" {
		t.Fatalf("directory = %+v, %v", list, err)
	}
	if st, out := call(t, b, "PUT", "/directory/list/room/"+url.PathEscape(beta.RoomID.String()), map[string]string{"visibility": "public"}); st != 403 {
		t.Fatalf("outsider published a room: %d %v", st, out)
	}
	if st, _ := call(t, a, "PUT", "/directory/list/room/"+url.PathEscape(beta.RoomID.String()), map[string]string{"visibility": "public"}); st != 200 {
		t.Fatalf("publish: %d", st)
	}
	var found struct {
		Chunk     []mautrix.PublicRoomInfo `json:"chunk"`
		NextBatch string                   `json:"next_batch"`
	}
	search := func(body map[string]any) {
		t.Helper()
		st, out := call(t, c, "POST", "/publicRooms", body)
		js, _ := json.Marshal(out)
		found.NextBatch = ""
		if err := json.Unmarshal(js, &found); st != 200 || err != nil {
			t.Fatalf("search %v: %d %v", body, st, err)
		}
	}
	search(map[string]any{"filter": map[string]any{"generic_search_term": "BETA"}})
	if len(found.Chunk) != 1 || found.Chunk[0].RoomID != beta.RoomID {
		t.Fatalf("search beta = %+v", found)
	}
	search(map[string]any{"limit": 1})
	if len(found.Chunk) != 1 || found.Chunk[0].RoomID != room.RoomID || found.NextBatch == "" {
		t.Fatalf("first page = %+v", found)
	}
	search(map[string]any{"limit": 1, "since": found.NextBatch})
	if len(found.Chunk) != 1 || found.Chunk[0].RoomID != beta.RoomID || found.NextBatch != "" {
		t.Fatalf("second page = %+v", found)
	}
	// Unpublished: gone from the directory.
	if st, _ := call(t, a, "PUT", "/directory/list/room/"+url.PathEscape(room.RoomID.String()), map[string]string{"visibility": "private"}); st != 200 {
		t.Fatalf("unpublish: %d", st)
	}
	if st, v := callURL(t, anon, "GET", "/_matrix/client/v3/directory/list/room/"+url.PathEscape(room.RoomID.String()), nil); st != 200 || v["visibility"] != "private" {
		t.Fatalf("visibility = %d %v", st, v)
	}
	if list, err := anon.PublicRooms(ctx, nil); err != nil || len(list.Chunk) != 1 || list.Chunk[0].RoomID != beta.RoomID {
		t.Fatalf("directory after unpublishing = %+v, %v", list, err)
	}

	for _, bad := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"PUT", "/_matrix/client/v3/directory/room/" + url.PathEscape("#x:elsewhere.fr"), `{"room_id":"` + room.RoomID.String() + `"}`, 400, "M_INVALID_PARAM"},
		{"PUT", "/_matrix/client/v3/directory/room/" + url.PathEscape("nohash:bureau.test"), `{"room_id":"` + room.RoomID.String() + `"}`, 400, "M_INVALID_PARAM"},
		{"PUT", "/_matrix/client/v3/directory/room/" + url.PathEscape("#x:bureau.test"), `{"room_id":"nope"}`, 400, "M_INVALID_PARAM"},
		{"PUT", "/_matrix/client/v3/directory/room/" + url.PathEscape("#x:bureau.test"), `{"room_id":`, 400, "M_NOT_JSON"},
		{"GET", "/_matrix/client/v3/directory/room/" + url.PathEscape("#nope:bureau.test"), ``, 404, "M_NOT_FOUND"},
		{"DELETE", "/_matrix/client/v3/directory/room/" + url.PathEscape("#nope:bureau.test"), ``, 404, "M_NOT_FOUND"},
		{"GET", "/_matrix/client/v3/directory/list/room/" + url.PathEscape("!unknown:bureau.test"), ``, 404, "M_NOT_FOUND"},
		{"PUT", "/_matrix/client/v3/directory/list/room/" + url.PathEscape(room.RoomID.String()), `{"visibility":"secret"}`, 400, "M_INVALID_PARAM"},
		{"GET", "/_matrix/client/v3/publicRooms?limit=x", ``, 400, "M_INVALID_PARAM"},
		{"GET", "/_matrix/client/v3/publicRooms?since=zzz", ``, 400, "M_INVALID_PARAM"},
		{"POST", "/_matrix/client/v3/publicRooms", `{"limit":"ten"}`, 400, "M_BAD_JSON"},
		{"POST", "/_matrix/client/v3/createRoom", `{"room_alias_name":"a b"}`, 400, "M_INVALID_PARAM"},
		{"POST", "/_matrix/client/v3/createRoom", `{"visibility":"secret"}`, 400, "M_BAD_JSON"},
		{"POST", "/_matrix/client/v3/join/" + url.PathEscape("#absent:bureau.test"), `{}`, 404, "M_NOT_FOUND"},
	} {
		if status, code := raw(t, a, bad.method, bad.path, bad.body); status != bad.status || code != bad.code {
			t.Errorf("%s %s: %d %s, want %d %s", bad.method, bad.path, status, code, bad.status, bad.code)
		}
	}
	if resp, err := http.Post(a.HomeserverURL.String()+"/_matrix/client/v3/publicRooms", "application/json", nil); err != nil || resp.StatusCode != 401 {
		t.Fatalf("POST /publicRooms without a token: %v %v", resp.StatusCode, err)
	}
}
