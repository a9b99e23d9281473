package chat_test

import (
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
