package chat_test

import (
	"net/url"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
)

func TestTags(t *testing.T) {
	ctx := t.Context()
	a, b, _, room := threeAgents(t)
	s, err := a.SyncRequest(ctx, 0, "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddTag(ctx, room.RoomID, event.RoomTagFavourite, 0.25); err != nil {
		t.Fatal(err)
	}
	if err := a.AddTag(ctx, room.RoomID, "u.travail", 0.5); err != nil {
		t.Fatal(err)
	}
	tags, err := a.GetTags(ctx, room.RoomID)
	if err != nil || len(tags.Tags) != 2 || tags.Tags[event.RoomTagFavourite].Order.String() != "2.5e-01" {
		t.Fatalf("tags = %+v, %v", tags, err)
	}
	if err := a.RemoveTag(ctx, room.RoomID, "u.travail"); err != nil {
		t.Fatal(err)
	}
	// The change reaches the sync as m.tag room account data.
	s, err = a.SyncRequest(ctx, 0, s.NextBatch, "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	var synced *event.TagEventContent
	for _, ev := range s.Rooms.Join[room.RoomID].AccountData.Events {
		if ev.Type.Type == "m.tag" {
			_ = ev.Content.ParseRaw(event.AccountDataRoomTags)
			synced = ev.Content.AsTag()
		}
	}
	if synced == nil || len(synced.Tags) != 1 || synced.Tags[event.RoomTagFavourite].Order.String() != "2.5e-01" {
		t.Fatalf("synced tags = %+v", synced)
	}
	if tags, err := b.GetTags(ctx, room.RoomID); err != nil || len(tags.Tags) != 0 {
		t.Fatalf("bob sees alice's tags: %+v, %v", tags, err)
	}
	base := "/_matrix/client/v3/user/" + url.PathEscape(a.UserID.String()) + "/rooms/" + url.PathEscape(room.RoomID.String()) + "/tags"
	for _, bad := range []struct {
		cli                *mautrix.Client
		method, path, body string
		status             int
		code               string
	}{
		{b, "GET", base, ``, 403, "M_FORBIDDEN"},
		{b, "PUT", base + "/m.favourite", `{}`, 403, "M_FORBIDDEN"},
		{a, "PUT", base + "/m.favourite", `{"order":"first"}`, 400, "M_BAD_JSON"},
		{a, "PUT", base + "/m.favourite", `{"order":`, 400, "M_NOT_JSON"},
		{a, "GET", "/_matrix/client/v3/user/" + url.PathEscape(a.UserID.String()) + "/rooms/nope/tags", ``, 400, "M_INVALID_PARAM"},
	} {
		if status, code := raw(t, bad.cli, bad.method, bad.path, bad.body); status != bad.status || code != bad.code {
			t.Errorf("%s %s: %d %s, want %d %s", bad.method, bad.path, status, code, bad.status, bad.code)
		}
	}
}
