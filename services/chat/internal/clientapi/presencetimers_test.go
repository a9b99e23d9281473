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

// presenceAPI is an API with presence on and the given delays, on st.
func presenceAPI(t *testing.T, st *store.Store, idle, longestSync time.Duration) (*API, *notifier.Notifier) {
	n := notifier.New()
	a := New(Config{MaxSyncTimeout: longestSync, PresenceGrace: 50 * time.Millisecond, PresenceIdle: idle},
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

// Time alone turns an online user unavailable, and a user whose syncs
// stopped offline: each change is news for incremental syncs and wakes
// the long-polls of those who share a room, with no request and no
// polling. (Each transition is tested with the other far off, so that a
// late timer on a loaded machine cannot skip the one under test.)
func TestPresenceTimers(t *testing.T) {
	st := sharedRoomStore(t)
	ctx := t.Context()
	const short, long = 150 * time.Millisecond, time.Hour
	transition := func(a *API, n *notifier.Notifier, start func(), want string) {
		t.Helper()
		after, _ := st.MaxPos(ctx)
		wake := n.Listen("@b:x")
		start()
		woken(t, st, wake, "@a:x", after) // the explicit change
		after, _ = st.MaxPos(ctx)
		wake = n.Listen("@b:x")
		if p := woken(t, st, wake, "@a:x", after); p.State != want || a.presenceContent(p, a.now().UnixMilli())["presence"] != want {
			t.Fatalf("want %s: %+v", want, p)
		}
	}
	online := func(a *API) func() {
		return func() {
			if err := a.setPresence(ctx, "@a:x", presenceOnline, nil); err != nil {
				t.Fatal(err)
			}
		}
	}

	idler, n := presenceAPI(t, st, short, long)
	transition(idler, n, online(idler), presenceUnavailable)
	idler.Close()

	silent, n := presenceAPI(t, st, long, short)
	transition(silent, n, online(silent), presenceOffline)
	// Nothing more to come: no timer left for an offline user.
	silent.timers.mu.Lock()
	left := len(silent.timers.timers)
	silent.timers.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d timers left", left)
	}
	silent.Close()

	// After a restart, a user left online still goes idle: the timers
	// are armed again from the rows.
	before, _ := presenceAPI(t, st, long, long)
	online(before)()
	before.Close()
	after, _ := st.MaxPos(ctx)
	restarted, n := presenceAPI(t, st, short, long)
	wake := n.Listen("@b:x")
	if err := restarted.StartPresence(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := woken(t, st, wake, "@a:x", after); p.State != presenceUnavailable {
		t.Fatalf("after a restart: %+v", p)
	}
}
