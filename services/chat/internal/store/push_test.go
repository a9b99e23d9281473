package store_test

import (
	"errors"
	"fmt"
	"testing"

	"bureau/services/chat/internal/store"
)

func TestPushRulesAndPushers(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if js, v, err := s.PushChanges(ctx, "@a:x"); js != "" || v != 0 || err != nil {
			t.Fatalf("no changes = %q %d %v", js, v, err)
		}
		if err := s.PutPushChanges(ctx, "@a:x", 0, `{"n":1}`, `{"global":1}`); err != nil {
			t.Fatal(err)
		}
		// A writer that read before the first change loses and retries.
		if err := s.PutPushChanges(ctx, "@a:x", 0, `{"n":2}`, `{}`); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale insert: %v", err)
		}
		js, v, _ := s.PushChanges(ctx, "@a:x")
		if err := s.PutPushChanges(ctx, "@a:x", v, `{"n":3}`, `{"global":3}`); err != nil || js != `{"n":1}` {
			t.Fatalf("update: %v (%q)", err, js)
		}
		if err := s.PutPushChanges(ctx, "@a:x", v, `{"n":4}`, `{}`); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale update: %v", err)
		}
		// The rendered rules are the user's m.push_rules account data.
		if c, err := s.GetAccountData(ctx, "@a:x", "", "m.push_rules"); c != `{"global":3}` || err != nil {
			t.Fatalf("account data = %q, %v", c, err)
		}

		p := store.Pusher{UserID: "@a:x", AppID: "app", PushKey: "k1", Kind: "http", AppDisplayName: "A", DeviceDisplayName: "D", Lang: "fr", Data: `{"url":"https://push.example/_matrix/push/v1/notify"}`}
		if err := s.PutPusher(ctx, p, false, 1); err != nil {
			t.Fatal(err)
		}
		p.Lang = "en"
		if err := s.PutPusher(ctx, p, false, 2); err != nil {
			t.Fatal(err)
		}
		// Same device registered by another account: without append, it
		// leaves the first account; with append, both keep it.
		q := p
		q.UserID = "@b:x"
		if err := s.PutPusher(ctx, q, true, 3); err != nil {
			t.Fatal(err)
		}
		if ps, _ := s.Pushers(ctx, "@a:x"); len(ps) != 1 || ps[0].Lang != "en" {
			t.Fatalf("pushers of a = %+v", ps)
		}
		if err := s.PutPusher(ctx, q, false, 4); err != nil {
			t.Fatal(err)
		}
		if ps, _ := s.Pushers(ctx, "@a:x"); len(ps) != 0 {
			t.Fatalf("pusher not moved: %+v", ps)
		}
		if err := s.DeletePusher(ctx, "@b:x", "app", "k1"); err != nil {
			t.Fatal(err)
		}
		if ps, _ := s.Pushers(ctx, "@b:x"); len(ps) != 0 {
			t.Fatalf("pusher not deleted: %+v", ps)
		}
	})
}

func TestUnreadBounds(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		b := ev("!r:x", "$jb", "$ja", "m.room.member", sk("@b:x"), `{"membership":"join"}`)
		b.Sender = "@b:x"
		if _, err := s.Append(ctx, []store.NewEvent{
			ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`),
			ev("!r:x", "$ja", "$c", "m.room.member", sk("@a:x"), `{"membership":"join"}`), b,
		}); err != nil {
			t.Fatal(err)
		}
		prev := "$jb"
		for i, id := range []string{"$m1", "$m2", "$m3"} {
			m := ev("!r:x", id, prev, "m.room.message", nil, `{"body":"x"}`)
			if i != 1 {
				m.Sender = "@b:x"
			}
			if _, err := s.Append(ctx, []store.NewEvent{m}); err != nil {
				t.Fatal(err)
			}
			prev = id
		}
		// A thread on $m1: a reply, and a reaction to the reply (in the
		// thread through two relations).
		reply := ev("!r:x", "$t1", prev, "m.room.message", nil, `{"body":"r","m.relates_to":{"rel_type":"m.thread","event_id":"$m1"}}`)
		react := ev("!r:x", "$t2", "$t1", "m.reaction", nil, `{"m.relates_to":{"rel_type":"m.annotation","event_id":"$t1","key":"+"}}`)
		reply.Sender, react.Sender = "@b:x", "@b:x"
		if _, err := s.Append(ctx, []store.NewEvent{reply, react}); err != nil {
			t.Fatal(err)
		}
		max, _ := s.MaxPos(ctx)
		bound := func() store.UnreadBound {
			t.Helper()
			bounds, err := s.UnreadBounds(ctx, "@a:x", []string{"!r:x"})
			if err != nil {
				t.Fatal(err)
			}
			return bounds["!r:x"]
		}
		unread := func(limit int) (ids []string) {
			t.Helper()
			b := bound()
			got, err := s.EventsFrom(ctx, "@a:x", []store.Range{{RoomID: "!r:x", After: b.Room, UpTo: max}}, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range got["!r:x"] {
				if e.Pos > b.Of(e.Thread) {
					ids = append(ids, e.EventID+"@"+e.Thread)
				}
			}
			return ids
		}
		// b's join, two messages and the thread; not a's own message.
		if got := fmt.Sprint(unread(10)); got != "[$jb@ $m1@ $m3@ $t1@$m1 $t2@$m1]" {
			t.Fatalf("unread = %s", got)
		}
		if got := fmt.Sprint(unread(2)); got != "[$jb@ $m1@]" {
			t.Fatalf("first page = %s", got)
		}
		// A threaded receipt reads its thread only; "main" the main
		// timeline only; an unthreaded one everything before it.
		receipt := func(thread, event string) {
			t.Helper()
			if err := s.PutReceipt(ctx, store.Receipt{RoomID: "!r:x", UserID: "@a:x", Type: "m.read.private", ThreadID: thread, EventID: event, TS: 1}); err != nil {
				t.Fatal(err)
			}
		}
		receipt("$m1", "$t2")
		if got := fmt.Sprint(unread(10)); got != "[$jb@ $m1@ $m3@]" {
			t.Fatalf("after a thread receipt = %s", got)
		}
		receipt("main", "$m1")
		if got := fmt.Sprint(unread(10)); got != "[$m3@]" {
			t.Fatalf("after a main receipt = %s", got)
		}
		receipt("", "$m3")
		if got := fmt.Sprint(unread(10)); got != "[]" || bound().Key() == "" {
			t.Fatalf("after an unthreaded receipt = %s", got)
		}
		if n, _ := s.JoinedCounts(ctx, []string{"!r:x", "!none:x"}); n["!r:x"] != 2 || n["!none:x"] != 0 {
			t.Fatalf("joined counts = %v", n)
		}
	})
}
