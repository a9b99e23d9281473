package clientapi

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"bureau/services/chat/internal/notifier"
	"bureau/services/chat/internal/store"
	"bureau/services/platform/sqldb"
)

// presenceAPI is an API with presence on and short delays (far enough
// apart for the test to listen again between two changes), on a real
// SQLite store where @a:x and @b:x share a room.
func presenceAPI(t *testing.T, st *store.Store) (*API, *notifier.Notifier) {
	n := notifier.New()
	a := New(Config{MaxSyncTimeout: 600 * time.Millisecond, PresenceGrace: 100 * time.Millisecond, PresenceIdle: 300 * time.Millisecond},
		st, nil, n, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(a.Close)
	return a, n
}

func sharedRoomStore(t *testing.T) *store.Store {
	ctx := t.Context()
	db, err := sqldb.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	member := func(id, prev, user string) store.NewEvent {
		k := user
		return store.NewEvent{Event: store.Event{EventID: id, RoomID: "!r:x", Type: "m.room.member", StateKey: &k, Sender: user,
			JSON: []byte(`{"type":"m.room.member","content":{"membership":"join"}}`)}, PrevEventID: prev}
	}
	empty := ""
	if _, err := st.Append(ctx, []store.NewEvent{
		{Event: store.Event{EventID: "$c", RoomID: "!r:x", Type: "m.room.create", StateKey: &empty, Sender: "@a:x", JSON: []byte(`{}`)}, RoomVersion: "10"},
		member("$a", "$c", "@a:x"), member("$b", "$a", "@b:x"),
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

// woken waits for a wake-up of ch, and returns the presence change of
// user that others' incremental syncs read after pos.
func woken(t *testing.T, st *store.Store, ch <-chan struct{}, user string, after int64) store.Presence {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up")
	}
	upTo, _ := st.MaxPos(t.Context())
	ps, err := st.PresenceChanges(t.Context(), "@b:x", after, upTo)
	if err != nil || len(ps) != 1 || ps[0].UserID != user {
		t.Fatalf("presence changes after %d: %+v, %v", after, ps, err)
	}
	return ps[0]
}

// Time alone turns an online user unavailable, then offline: each change
// is news for incremental syncs and wakes the long-polls of those who
// share a room, with no request and no polling.
func TestPresenceTimers(t *testing.T) {
	st := sharedRoomStore(t)
	a, n := presenceAPI(t, st)
	ctx := t.Context()
	wake := n.Listen("@b:x")
	if err := a.setPresence(ctx, "@a:x", presenceOnline, nil); err != nil {
		t.Fatal(err)
	}
	woken(t, st, wake, "@a:x", 0) // the explicit change
	start, _ := st.MaxPos(ctx)
	wake = n.Listen("@b:x")
	idle := woken(t, st, wake, "@a:x", start)
	if idle.State != presenceUnavailable {
		t.Fatalf("after idleness: %+v", idle)
	}
	wake = n.Listen("@b:x")
	gone := woken(t, st, wake, "@a:x", idle.Pos)
	if gone.State != presenceOffline || a.presenceContent(gone, a.now().UnixMilli())["presence"] != presenceOffline {
		t.Fatalf("after silence: %+v", gone)
	}
	// Nothing more to come: no timer left for an offline user.
	a.timers.mu.Lock()
	left := len(a.timers.timers)
	a.timers.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d timers left", left)
	}

	// After a restart, a user left online still goes idle: the timers
	// are armed again from the rows.
	if err := a.setPresence(ctx, "@a:x", presenceOnline, nil); err != nil {
		t.Fatal(err)
	}
	a.Close()
	back, _ := st.MaxPos(ctx)
	b, n2 := presenceAPI(t, st)
	wake = n2.Listen("@b:x")
	if err := b.StartPresence(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := woken(t, st, wake, "@a:x", back); p.State != presenceUnavailable {
		t.Fatalf("after a restart: %+v", p)
	}
}
