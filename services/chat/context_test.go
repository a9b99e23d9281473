package chat_test

import (
	"fmt"
	"net/url"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

func bodies(evs []*event.Event) []string {
	var out []string
	for _, ev := range evs {
		if b, ok := ev.Content.Raw["body"].(string); ok {
			out = append(out, b)
		}
	}
	return out
}

// threeAgents signs in Alice, Bob and Carol; Alice creates a private room
// and invites Bob.
func threeAgents(t *testing.T) (a, b, c *mautrix.Client, room *mautrix.RespCreateRoom) {
	e := newEnv(t)
	a, b, c = e.login(alice), e.login(bob), e.login(carol)
	room, err := a.CreateRoom(t.Context(), &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	return a, b, c, room
}

func TestContext(t *testing.T) {
	ctx := t.Context()
	a, b, c, room := threeAgents(t)
	setName := func(name string) {
		t.Helper()
		if _, err := a.SendStateEvent(ctx, room.RoomID, event.StateRoomName, "", map[string]any{"name": name}); err != nil {
			t.Fatal(err)
		}
	}
	setName("avant")
	var ids []id.EventID
	for i := range 20 {
		r, err := a.SendText(ctx, room.RoomID, fmt.Sprintf("m%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.EventID)
	}
	if _, err := a.RedactEvent(ctx, room.RoomID, ids[11]); err != nil {
		t.Fatal(err)
	}
	cx, err := a.Context(ctx, room.RoomID, ids[10], nil, 6)
	if err != nil {
		t.Fatal(err)
	}
	if cx.Event.Content.Raw["body"] != "m10" || fmt.Sprint(bodies(cx.EventsBefore)) != "[m9 m8 m7]" ||
		len(cx.EventsAfter) != 3 || fmt.Sprint(bodies(cx.EventsAfter)) != "[m12 m13]" || cx.EventsAfter[0].Unsigned.RedactedBecause == nil {
		t.Fatalf("context: %v / %v / %v", cx.Event.Content.Raw, bodies(cx.EventsBefore), bodies(cx.EventsAfter))
	}
	named := false
	for _, ev := range cx.State {
		named = named || ev.Type == event.StateCreate
	}
	if !named {
		t.Fatal("context without state")
	}
	// The tokens continue with /messages in each direction.
	back, err := a.Messages(ctx, room.RoomID, cx.Start, "", mautrix.DirectionBackward, nil, 2)
	if err != nil || fmt.Sprint(bodies(back.Chunk)) != "[m6 m5]" {
		t.Fatalf("before start: %v, %v", bodies(back.Chunk), err)
	}
	fwd, err := a.Messages(ctx, room.RoomID, cx.End, "", mautrix.DirectionForward, nil, 2)
	if err != nil || fmt.Sprint(bodies(fwd.Chunk)) != "[m14 m15]" {
		t.Fatalf("after end: %v, %v", bodies(fwd.Chunk), err)
	}
	// Edges: after the last message, only the redaction.
	last, err := a.Context(ctx, room.RoomID, ids[19], nil, 4)
	if err != nil || len(last.EventsAfter) != 1 || last.EventsAfter[0].Type != event.EventRedaction || len(last.EventsBefore) != 2 {
		t.Fatalf("context of the last event: %+v, %v", last, err)
	}

	// Authorization: an outsider and an invitee who has not joined.
	if _, err := c.Context(ctx, room.RoomID, ids[10], nil, 6); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider read context: %v", err)
	}
	if _, err := b.Context(ctx, room.RoomID, ids[10], nil, 6); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("invitee read context: %v", err)
	}
	// The state is the room's at the last event returned, not its current
	// state: renamed and joined by Bob since, it still shows the old name
	// and Bob invited. Lazy loading keeps only the senders' members.
	setName("après")
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	stateOf := func(cx *mautrix.RespContext) (name string, members map[string]string) {
		members = map[string]string{}
		for _, ev := range cx.State {
			switch ev.Type {
			case event.StateRoomName:
				name, _ = ev.Content.Raw["name"].(string)
			case event.StateMember:
				members[*ev.StateKey], _ = ev.Content.Raw["membership"].(string)
			}
		}
		return name, members
	}
	if cx, err = a.Context(ctx, room.RoomID, ids[10], nil, 6); err != nil {
		t.Fatal(err)
	}
	if name, members := stateOf(cx); name != "avant" || members[b.UserID.String()] != "invite" || members[a.UserID.String()] != "join" {
		t.Fatalf("state at the event: name %q, members %v", name, members)
	}
	if cx, err = a.Context(ctx, room.RoomID, ids[10], &mautrix.FilterPart{LazyLoadMembers: true}, 6); err != nil {
		t.Fatal(err)
	}
	if name, members := stateOf(cx); name != "avant" || len(members) != 1 || members[a.UserID.String()] != "join" {
		t.Fatalf("lazy state at the event: name %q, members %v", name, members)
	}
	// /members?at= (a sync's prev_batch, here /context's end) reads the
	// members as of that point too; now Bob is joined.
	rp := "/_matrix/client/v3/rooms/" + url.PathEscape(room.RoomID.String()) + "/members"
	for at, want := range map[string]string{"?at=" + cx.End: "invite", "": "join"} {
		_, ms := getJSON(t, a, rp+at)
		got := ""
		for _, x := range ms["chunk"].([]any) {
			if ev := x.(map[string]any); ev["state_key"] == b.UserID.String() {
				got = ev["content"].(map[string]any)["membership"].(string)
			}
		}
		if got != want {
			t.Errorf("members%s: Bob %q, want %q", at, got, want)
		}
	}
	if status, code := raw(t, a, "GET", rp+"?at=yesterday", ""); status != 400 || code != "M_INVALID_PARAM" {
		t.Errorf("members?at=yesterday: %d %s", status, code)
	}
	other, _ := c.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	foreign, _ := c.SendText(ctx, other.RoomID, "ailleurs")
	base := "/_matrix/client/v3/rooms/" + url.PathEscape(room.RoomID.String()) + "/context/"
	for _, bad := range []struct {
		path   string
		status int
		code   string
	}{
		{base + url.PathEscape("$nope"), 404, "M_NOT_FOUND"},
		{base + url.PathEscape(foreign.EventID.String()), 404, "M_NOT_FOUND"},
		{base + "nope", 400, "M_INVALID_PARAM"},
		{base + url.PathEscape(ids[1].String()) + "?limit=many", 400, "M_INVALID_PARAM"},
		{base + url.PathEscape(ids[1].String()) + "?filter=%7B", 400, "M_NOT_JSON"},
		{base + url.PathEscape(ids[1].String()) + "?filter=%5B%5D", 400, "M_BAD_JSON"},
		{"/_matrix/client/v3/rooms/bad/context/" + url.PathEscape(ids[1].String()), 400, "M_INVALID_PARAM"},
	} {
		if status, code := raw(t, a, "GET", bad.path, ""); status != bad.status || code != bad.code {
			t.Errorf("GET %s: %d %s, want %d %s", bad.path, status, code, bad.status, bad.code)
		}
	}
}
