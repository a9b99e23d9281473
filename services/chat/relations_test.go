package chat_test

import (
	"net/url"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// getJSON GETs a client API path with cli's token.
func getJSON(t *testing.T, cli *mautrix.Client, path string) (int, map[string]any) {
	t.Helper()
	return callURL(t, cli, "GET", path, nil)
}

func rel(typ event.RelationType, parent id.EventID) map[string]any {
	return map[string]any{"rel_type": typ, "event_id": parent}
}

func TestRelations(t *testing.T) {
	ctx := t.Context()
	a, b, c, room := threeAgents(t)
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	send := func(cli *mautrix.Client, content map[string]any) id.EventID {
		t.Helper()
		r, err := cli.SendMessageEvent(ctx, room.RoomID, event.EventMessage, content)
		if err != nil {
			t.Fatal(err)
		}
		return r.EventID
	}
	root := send(a, map[string]any{"msgtype": "m.text", "body": "racine"})
	var replies []id.EventID
	for i, cli := range []*mautrix.Client{b, b, a, b} {
		replies = append(replies, send(cli, map[string]any{"msgtype": "m.text", "body": "réponse " + string(rune('1'+i)), "m.relates_to": rel(event.RelThread, root)}))
	}
	react, err := b.SendReaction(ctx, room.RoomID, root, "👍")
	if err != nil {
		t.Fatal(err)
	}
	edit := send(a, map[string]any{"msgtype": "m.text", "body": "* racine v2", "m.new_content": map[string]any{"msgtype": "m.text", "body": "racine v2"}, "m.relates_to": rel(event.RelReplace, root)})
	send(b, map[string]any{"msgtype": "m.text", "body": "* piratée", "m.new_content": map[string]any{"body": "piratée"}, "m.relates_to": rel(event.RelReplace, root)})
	// A reaction to a thread reply: only a recursive query sees it.
	deep, err := a.SendReaction(ctx, room.RoomID, replies[0], "🎉")
	if err != nil {
		t.Fatal(err)
	}

	all, err := a.GetRelations(ctx, room.RoomID, root, &mautrix.ReqGetRelations{})
	if err != nil || len(all.Chunk) != 7 || all.Chunk[6].ID != replies[0] || all.NextBatch != "" {
		t.Fatalf("all relations: %d, %v", len(all.Chunk), err)
	}
	if r, err := a.GetRelations(ctx, room.RoomID, root, &mautrix.ReqGetRelations{RelationType: event.RelAnnotation, EventType: event.EventReaction}); err != nil || len(r.Chunk) != 1 || r.Chunk[0].ID != react.EventID {
		t.Fatalf("reactions: %+v, %v", r, err)
	}
	if r, err := a.GetRelations(ctx, room.RoomID, root, &mautrix.ReqGetRelations{RelationType: event.RelAnnotation, EventType: event.EventMessage}); err != nil || len(r.Chunk) != 0 {
		t.Fatalf("reactions typed as messages: %+v, %v", r, err)
	}
	if r, err := a.GetRelations(ctx, room.RoomID, root, &mautrix.ReqGetRelations{Recurse: true}); err != nil || len(r.Chunk) != 8 || r.Chunk[0].ID != deep.EventID {
		t.Fatalf("recursive: %+v, %v", r, err)
	}
	// A reference (as a verification or poll response would make) is
	// bundled as the ids of the referencing events.
	ref := send(b, map[string]any{"msgtype": "m.text", "body": "voir plus haut", "m.relates_to": rel(event.RelReference, root)})

	// Thread replies page by page, in both directions, without repeats.
	for _, dir := range []mautrix.Direction{mautrix.DirectionBackward, mautrix.DirectionForward} {
		var got []id.EventID
		from := ""
		for range 5 {
			page, err := b.GetRelations(ctx, room.RoomID, root, &mautrix.ReqGetRelations{RelationType: event.RelThread, Dir: dir, From: from, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Chunk {
				got = append(got, ev.ID)
			}
			if from = page.NextBatch; from == "" {
				break
			}
		}
		want := []id.EventID{replies[3], replies[2], replies[1], replies[0]}
		if dir == mautrix.DirectionForward {
			want = replies
		}
		if len(got) != 4 || got[0] != want[0] || got[3] != want[3] {
			t.Fatalf("%c pages: %v, want %v", dir, got, want)
		}
	}

	// Bundled aggregations wherever the root is served.
	checkBundle := func(where string, ev map[string]any, participated bool) {
		t.Helper()
		unsigned, _ := ev["unsigned"].(map[string]any)
		rels, _ := unsigned["m.relations"].(map[string]any)
		th, _ := rels["m.thread"].(map[string]any)
		latest, _ := th["latest_event"].(map[string]any)
		if th == nil || th["count"] != 4.0 || th["current_user_participated"] != participated || latest["event_id"] != replies[3].String() {
			t.Errorf("%s: thread bundle %v", where, th)
		}
		if re, _ := rels["m.replace"].(map[string]any); re == nil || re["event_id"] != edit.String() {
			t.Errorf("%s: edit bundle %v", where, rels["m.replace"])
		}
		refs, _ := rels["m.reference"].(map[string]any)
		if chunk, _ := refs["chunk"].([]any); len(chunk) != 1 || chunk[0].(map[string]any)["event_id"] != ref.String() {
			t.Errorf("%s: reference bundle %v", where, refs)
		}
		if _, ok := rels["m.annotation"]; ok {
			t.Errorf("%s: annotations bundled (the spec stopped in v1.7)", where)
		}
	}
	rp := "/_matrix/client/v3/rooms/" + url.PathEscape(room.RoomID.String())
	_, ev := getJSON(t, a, rp+"/event/"+url.PathEscape(root.String()))
	checkBundle("/event", ev, true)
	_, page := getJSON(t, b, rp+"/messages?dir=b&limit=100")
	for _, x := range page["chunk"].([]any) {
		if m := x.(map[string]any); m["event_id"] == root.String() {
			checkBundle("/messages", m, true)
		}
	}
	_, cx := getJSON(t, a, rp+"/context/"+url.PathEscape(replies[0].String())+"?limit=2")
	for _, x := range cx["events_before"].([]any) {
		if m := x.(map[string]any); m["event_id"] == root.String() {
			checkBundle("/context", m, true)
		}
	}
	_, s := getJSON(t, b, "/_matrix/client/v3/sync?filter="+url.QueryEscape(`{"room":{"timeline":{"limit":50}}}`))
	tl := s["rooms"].(map[string]any)["join"].(map[string]any)[room.RoomID.String()].(map[string]any)["timeline"].(map[string]any)["events"].([]any)
	found := false
	for _, x := range tl {
		if m := x.(map[string]any); m["event_id"] == root.String() {
			checkBundle("/sync", m, true)
			found = true
		}
	}
	if !found {
		t.Fatal("root not in the sync timeline")
	}

	// Threads: Bob starts a thread Alice has no part in.
	other := send(b, map[string]any{"msgtype": "m.text", "body": "autre"})
	send(b, map[string]any{"msgtype": "m.text", "body": "suite", "m.relates_to": rel(event.RelThread, other)})
	v1 := "/_matrix/client/v1/rooms/" + url.PathEscape(room.RoomID.String())
	_, th := getJSON(t, a, v1+"/threads")
	if ch := th["chunk"].([]any); len(ch) != 2 || ch[0].(map[string]any)["event_id"] != other.String() {
		t.Fatalf("threads: %v", th)
	}
	_, th = getJSON(t, a, v1+"/threads?include=participated")
	if ch := th["chunk"].([]any); len(ch) != 1 || ch[0].(map[string]any)["event_id"] != root.String() {
		t.Fatalf("participated threads: %v", th)
	}
	_, th = getJSON(t, a, v1+"/threads?limit=1")
	if next, _ := th["next_batch"].(string); next == "" {
		t.Fatalf("threads page without next_batch: %v", th)
	} else if _, th = getJSON(t, a, v1+"/threads?limit=1&from="+next); len(th["chunk"].([]any)) != 1 || th["chunk"].([]any)[0].(map[string]any)["event_id"] != root.String() {
		t.Fatalf("threads second page: %v", th)
	}

	// A redacted reply leaves the thread.
	if _, err := b.RedactEvent(ctx, room.RoomID, replies[3]); err != nil {
		t.Fatal(err)
	}
	if r, err := a.GetRelations(ctx, room.RoomID, root, &mautrix.ReqGetRelations{RelationType: event.RelThread}); err != nil || len(r.Chunk) != 3 {
		t.Fatalf("after redaction: %+v, %v", r, err)
	}

	// Authorization and bad input.
	if _, err := c.GetRelations(ctx, room.RoomID, root, &mautrix.ReqGetRelations{}); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider read relations: %v", err)
	}
	rr := v1 + "/relations/" + url.PathEscape(root.String())
	for _, bad := range []struct {
		cli    *mautrix.Client
		path   string
		status int
		code   string
	}{
		{c, v1 + "/threads", 403, "M_FORBIDDEN"},
		{a, v1 + "/relations/" + url.PathEscape("$nope"), 404, "M_NOT_FOUND"},
		{a, rr + "?dir=sideways", 400, "M_INVALID_PARAM"},
		{a, rr + "?from=yesterday", 400, "M_INVALID_PARAM"},
		{a, rr + "?limit=-1", 400, "M_INVALID_PARAM"},
		{a, rr + "?recurse=maybe", 400, "M_INVALID_PARAM"},
		{a, v1 + "/threads?include=mine", 400, "M_INVALID_PARAM"},
		{a, "/_matrix/client/v1/rooms/nope/threads", 400, "M_INVALID_PARAM"},
	} {
		if status, code := raw(t, bad.cli, "GET", bad.path, ""); status != bad.status || code != bad.code {
			t.Errorf("GET %s: %d %s, want %d %s", bad.path, status, code, bad.status, bad.code)
		}
	}
}
