package chat_test

import (
	"net/url"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"bureau/services/chat"
)

// presenceOf returns the presence events of a sync, by sender.
func presenceOf(s *mautrix.RespSync) map[string]string {
	out := map[string]string{}
	for _, ev := range s.Presence.Events {
		p, _ := ev.Content.Raw["presence"].(string)
		out[ev.Sender.String()] = p
	}
	return out
}

// sharingAgents logs Alice, Bob and Carol in on e; Alice and Bob are
// joined to room, Carol is a stranger.
func sharingAgents(t *testing.T, e *env) (a, b, c *mautrix.Client, room *mautrix.RespCreateRoom) {
	a, b, c = e.login(alice), e.login(bob), e.login(carol)
	room, err := a.CreateRoom(t.Context(), &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.JoinRoomByID(t.Context(), room.RoomID); err != nil {
		t.Fatal(err)
	}
	return a, b, c, room
}

func TestPresence(t *testing.T) {
	e := newEnv(t, func(c *chat.Config) { c.Presence = true })
	ctx := t.Context()
	a, b, c, room := sharingAgents(t, e)

	// A sync with set_presence=offline does not bring its user online;
	// a plain one does.
	if _, err := c.SyncRequest(ctx, 0, "", "", false, event.PresenceOffline); err != nil {
		t.Fatal(err)
	}
	if p, err := c.GetOwnPresence(ctx); err != nil || p.Presence != event.PresenceOffline {
		t.Fatalf("carol after an offline sync: %+v, %v", p, err)
	}
	if _, err := c.SyncRequest(ctx, 0, "", "", false, ""); err != nil {
		t.Fatal(err)
	}
	if p, err := c.GetOwnPresence(ctx); err != nil || p.Presence != event.PresenceOnline || !p.CurrentlyActive {
		t.Fatalf("carol after a sync: %+v, %v", p, err)
	}
	// Her client says she is idle.
	if _, err := c.SyncRequest(ctx, 0, "", "", false, event.PresenceUnavailable); err != nil {
		t.Fatal(err)
	}
	if p, err := c.GetOwnPresence(ctx); err != nil || p.Presence != event.PresenceUnavailable {
		t.Fatalf("carol after an unavailable sync: %+v, %v", p, err)
	}

	if err := a.SetPresence(ctx, mautrix.ReqPresence{Presence: event.PresenceOnline, StatusMsg: "En réunion"}); err != nil {
		t.Fatal(err)
	}
	p, err := b.GetPresence(ctx, a.UserID)
	if err != nil || p.Presence != event.PresenceOnline || p.StatusMsg != "En réunion" || !p.CurrentlyActive {
		t.Fatalf("alice seen by bob: %+v, %v", p, err)
	}
	// Carol shares no room with Alice: none of her presence.
	if _, err := c.GetPresence(ctx, a.UserID); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("carol reads alice's presence: %v", err)
	}

	// Bob's initial sync carries the presence of those he shares a room
	// with (himself included), not Carol's.
	s, err := b.SyncRequest(ctx, 0, "", "", false, event.PresenceOffline)
	if err != nil {
		t.Fatal(err)
	}
	if got := presenceOf(s); got[a.UserID.String()] != "online" || got[c.UserID.String()] != "" {
		t.Fatalf("initial presence = %v", got)
	}

	// The filter's presence section applies.
	for filter, want := range map[string]int{
		`{"presence":{"not_types":["m.*"]}}`:                     0,
		`{"presence":{"senders":["` + a.UserID.String() + `"]}}`: 1,
		`{"presence":{"limit":1}}`:                               1,
	} {
		f, err := b.SyncRequest(ctx, 0, "", filter, false, event.PresenceOffline)
		if err != nil || len(f.Presence.Events) != want {
			t.Errorf("filter %s: %v, %v; want %d events", filter, presenceOf(f), err, want)
		}
	}

	// A parked incremental sync wakes on Alice's change and carries only it.
	done := make(chan *mautrix.RespSync, 1)
	go func() {
		r, err := b.SyncRequest(ctx, 10000, s.NextBatch, "", false, event.PresenceOffline)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	waitFor(t, func() bool { return e.handlerWaiting(b) })
	if err := c.SetPresence(ctx, mautrix.ReqPresence{Presence: event.PresenceUnavailable}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetPresence(ctx, mautrix.ReqPresence{Presence: event.PresenceUnavailable, StatusMsg: "Absente"}); err != nil {
		t.Fatal(err)
	}
	s = <-done
	if s == nil {
		t.FailNow()
	}
	if got := presenceOf(s); len(got) != 1 || got[a.UserID.String()] != "unavailable" {
		t.Fatalf("incremental presence = %v", got)
	}
	// Nothing changed since: the next sync has no presence.
	s, err = b.SyncRequest(ctx, 0, s.NextBatch, "", false, event.PresenceOffline)
	if err != nil || len(s.Presence.Events) != 0 {
		t.Fatalf("presence without change: %v, %v", presenceOf(s), err)
	}

	// Sending a message is activity: Alice is online again, message kept.
	if _, err := a.SendText(ctx, room.RoomID, "de retour"); err != nil {
		t.Fatal(err)
	}
	if p, err := b.GetPresence(ctx, a.UserID); err != nil || p.Presence != event.PresenceOnline || p.StatusMsg != "Absente" {
		t.Fatalf("alice after sending: %+v, %v", p, err)
	}

	// Carol (online since her sync) newly shares a room with Alice:
	// Alice's next sync carries her presence, though it did not change.
	s, err = a.SyncRequest(ctx, 0, "", "", false, event.PresenceOffline)
	if err != nil {
		t.Fatal(err)
	}
	other, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{c.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.JoinRoomByID(ctx, other.RoomID); err != nil {
		t.Fatal(err)
	}
	s, err = a.SyncRequest(ctx, 0, s.NextBatch, "", false, event.PresenceOffline)
	if got := presenceOf(s); err != nil || got[c.UserID.String()] != "unavailable" {
		t.Fatalf("newcomer's presence = %v, %v", got, err)
	}

	base := "/_matrix/client/v3/presence/"
	self := base + url.PathEscape(a.UserID.String()) + "/status"
	for _, bad := range []struct {
		cli                *mautrix.Client
		method, path, body string
		status             int
		code               string
	}{
		{b, "PUT", self, `{"presence":"online"}`, 403, "M_FORBIDDEN"},
		{a, "PUT", self, `{"presence":"busy"}`, 400, "M_INVALID_PARAM"},
		{a, "PUT", self, `{}`, 400, "M_BAD_JSON"},
		{a, "PUT", self, `{"presence":1}`, 400, "M_BAD_JSON"},
		{a, "PUT", self, `{"presence":"online","status_msg":5}`, 400, "M_BAD_JSON"},
		{a, "PUT", self, `{"presence":`, 400, "M_NOT_JSON"},
		{b, "GET", base + url.PathEscape(c.UserID.String()) + "/status", ``, 403, "M_FORBIDDEN"},
		{a, "GET", "/_matrix/client/v3/sync?set_presence=away", ``, 400, "M_INVALID_PARAM"},
	} {
		if status, code := raw(t, bad.cli, bad.method, bad.path, bad.body); status != bad.status || code != bad.code {
			t.Errorf("%s %s %s: %d %s, want %d %s", bad.method, bad.path, bad.body, status, code, bad.status, bad.code)
		}
	}
}

// Off (the default, as on Tchap): as Synapse with presence disabled, PUT
// is checked then ignored, GET says offline to anyone, /sync carries none.
func TestPresenceDisabled(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, c := e.login(alice), e.login(carol)
	if err := a.SetPresence(ctx, mautrix.ReqPresence{Presence: event.PresenceOnline, StatusMsg: "là"}); err != nil {
		t.Fatal(err)
	}
	for _, cli := range []*mautrix.Client{a, c} {
		if p, err := cli.GetPresence(ctx, a.UserID); err != nil || p.Presence != event.PresenceOffline || p.StatusMsg != "" {
			t.Fatalf("presence read while off: %+v, %v", p, err)
		}
	}
	if s, err := a.SyncRequest(ctx, 0, "", "", false, ""); err != nil || len(s.Presence.Events) != 0 {
		t.Fatalf("sync presence while off: %v, %v", s, err)
	}
	path := "/_matrix/client/v3/presence/" + url.PathEscape(a.UserID.String()) + "/status"
	if status, code := raw(t, a, "PUT", path, `{"presence":"busy"}`); status != 400 || code != "M_INVALID_PARAM" {
		t.Fatalf("bad presence while off: %d %s", status, code)
	}
	if status, code := raw(t, c, "PUT", path, `{"presence":"online"}`); status != 403 || code != "M_FORBIDDEN" {
		t.Fatalf("other's presence while off: %d %s", status, code)
	}
}
