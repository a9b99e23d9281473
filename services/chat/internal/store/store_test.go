package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"bureau/services/chat/internal/store"
	"bureau/services/chat/internal/visibility"
	"bureau/services/platform/sqldb"
	"bureau/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// bothEngines runs f against a SQLite file and a real PostgreSQL database.
func bothEngines(t *testing.T, f func(t *testing.T, s *store.Store)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dsn := "sqlite://" + filepath.Join(t.TempDir(), "chat.db")
			if engine == "postgres" {
				dsn = testenv.SharedPostgres(t).NewDatabase(t)
			}
			db, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			s, err := store.New(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			f(t, s)
		})
	}
}

func sk(s string) *string { return &s }

// ev makes an event of room built on prev (the store does not look inside
// PDUs except for memberships).
func ev(room, id, prev, typ string, stateKey *string, content string) store.NewEvent {
	return store.NewEvent{
		Event: store.Event{
			EventID: id, RoomID: room, Type: typ, StateKey: stateKey, Sender: "@a:x",
			JSON: []byte(`{"type":"` + typ + `","content":` + content + `}`),
		},
		RoomVersion: "10", PrevEventID: prev,
	}
}

func TestAppendAndRead(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		pos, err := s.Append(ctx, []store.NewEvent{
			ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`),
			ev("!r:x", "$j", "$c", "m.room.member", sk("@a:x"), `{"membership":"join"}`),
			ev("!r:x", "$n1", "$j", "m.room.name", sk(""), `{"name":"one"}`),
		})
		if err != nil || pos != 3 {
			t.Fatalf("append = %d, %v", pos, err)
		}
		// Built on a stale extremity: refused, nothing written.
		if _, err := s.Append(ctx, []store.NewEvent{ev("!r:x", "$stale", "$c", "m.room.message", nil, `{}`)}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale append: %v", err)
		}
		m := ev("!r:x", "$m1", "$n1", "m.room.message", nil, `{"body":"hi"}`)
		m.DeviceID, m.TxnID = "DEV", "t1"
		if pos, err = s.Append(ctx, []store.NewEvent{m}); err != nil || pos != 4 {
			t.Fatalf("append message = %d, %v", pos, err)
		}
		dup := ev("!r:x", "$m2", "$m1", "m.room.message", nil, `{}`)
		dup.DeviceID, dup.TxnID = "DEV", "t1"
		if _, err := s.Append(ctx, []store.NewEvent{dup}); !errors.Is(err, store.ErrDuplicateTxn) {
			t.Fatalf("duplicate txn: %v", err)
		}
		if id, err := s.TxnEvent(ctx, "@a:x", "DEV", "t1"); id != "$m1" || err != nil {
			t.Fatalf("txn event = %q, %v", id, err)
		}
		if _, err := s.Append(ctx, []store.NewEvent{ev("!r:x", "$n2", "$m1", "m.room.name", sk(""), `{"name":"two"}`)}); err != nil {
			t.Fatal(err)
		}
		if max, _ := s.MaxPos(ctx); max != 5 {
			t.Fatalf("max pos %d", max)
		}
		room, err := s.Room(ctx, "!r:x")
		if err != nil || room.LastEventID != "$n2" || room.Version != "10" {
			t.Fatalf("room = %+v, %v", room, err)
		}
		state, err := s.State(ctx, "!r:x", []store.StateKey{{Type: "m.room.name"}, {Type: "m.room.member", StateKey: "@a:x"}})
		if err != nil || len(state) != 2 || state[1].EventID != "$n2" {
			t.Fatalf("state = %+v, %v", state, err)
		}
		if m, _ := s.Membership(ctx, "!r:x", "@a:x"); m.Membership != "join" || m.Pos != 2 {
			t.Fatalf("membership = %+v", m)
		}
		if m, _ := s.Membership(ctx, "!r:x", "@nobody:x"); m.Membership != "" {
			t.Fatalf("membership of a stranger = %+v", m)
		}
		tl, err := s.Timelines(ctx, map[string]visibility.Ranges{"!r:x": visibility.All, "!other:x": visibility.All}, store.EventFilter{}, 1, 5, 2)
		if err != nil || len(tl["!r:x"]) != 3 || tl["!r:x"][0].EventID != "$n1" || tl["!r:x"][2].EventID != "$n2" {
			t.Fatalf("timelines = %+v, %v", tl, err)
		}
		if tl["!r:x"][1].TxnID != "t1" || tl["!r:x"][1].DeviceID != "DEV" {
			t.Fatalf("txn not kept: %+v", tl["!r:x"][1])
		}
		changes, err := s.StateChanges(ctx, []string{"!r:x"}, 2)
		if err != nil || len(changes["!r:x"]) != 1 || changes["!r:x"][0].EventID != "$n2" {
			t.Fatalf("state changes = %+v, %v", changes, err)
		}
		back, err := s.Messages(ctx, "!r:x", visibility.All, store.EventFilter{}, 4, true, 2)
		if err != nil || len(back) != 2 || back[0].EventID != "$m1" || back[1].EventID != "$n1" {
			t.Fatalf("messages backwards = %+v, %v", back, err)
		}
		fwd, err := s.Messages(ctx, "!r:x", visibility.Ranges{{From: 0, To: 4}}, store.EventFilter{}, 3, false, 10)
		if err != nil || len(fwd) != 1 || fwd[0].EventID != "$m1" {
			t.Fatalf("messages forwards bounded = %+v, %v", fwd, err)
		}
		hs, err := s.Histories(ctx, "@a:x", []string{"!r:x", "!other:x"}, 5)
		if h := hs["!r:x"]; err != nil || len(hs) != 1 || len(h.Membership) != 1 || h.Membership[0] != (visibility.Change{Pos: 2, Value: "join"}) || len(h.Visibility) != 0 {
			t.Fatalf("histories = %+v, %v", hs, err)
		}
	})
}

// Concurrent writers of one room: exactly one wins each extremity, the
// others get ErrConflict; positions stay dense and ordered.
func TestAppendConcurrent(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.Append(ctx, []store.NewEvent{ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`)}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 8 {
			wg.Go(func() {
				_, err := s.Append(ctx, []store.NewEvent{ev("!r:x", fmt.Sprintf("$e%d", i), "$c", "m.room.message", nil, `{}`)})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("append %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d writers won the same extremity", wins)
		}
		if max, _ := s.MaxPos(ctx); max != 2 {
			t.Fatalf("max pos %d after failed appends", max)
		}
	})
}

func TestUsersDevicesTokens(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		u, err := s.EnsureUser(ctx, store.User{UserID: "@a-x.fr:x", BureauID: "u1", DisplayName: "A"}, 1)
		if err != nil || u.UserID != "@a-x.fr:x" {
			t.Fatalf("ensure = %+v, %v", u, err)
		}
		// Same agent, new email: keeps its Matrix id.
		if u, _ = s.EnsureUser(ctx, store.User{UserID: "@b-x.fr:x", BureauID: "u1", DisplayName: "A"}, 2); u.UserID != "@a-x.fr:x" {
			t.Fatalf("user id changed: %+v", u)
		}
		// Another agent cannot take the id.
		if _, err := s.EnsureUser(ctx, store.User{UserID: "@a-x.fr:x", BureauID: "u2"}, 3); err == nil {
			t.Fatal("user id reused by another account")
		}
		if err := s.AddLoginToken(ctx, "h1", u.UserID, 100); err != nil {
			t.Fatal(err)
		}
		if err := s.AddLoginToken(ctx, "h2", u.UserID, 100); err != nil {
			t.Fatal(err)
		}
		if id, err := s.TakeLoginToken(ctx, "h1", 50); id != u.UserID || err != nil {
			t.Fatalf("take = %q, %v", id, err)
		}
		if _, err := s.TakeLoginToken(ctx, "h1", 50); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second take: %v", err)
		}
		if _, err := s.TakeLoginToken(ctx, "h2", 101); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired take: %v", err)
		}
		d := store.Device{UserID: u.UserID, DeviceID: "D1", DisplayName: "phone"}
		if err := s.PutDevice(ctx, d, "tok1", 1); err != nil {
			t.Fatal(err)
		}
		if err := s.PutDevice(ctx, d, "tok2", 2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeviceByToken(ctx, "tok1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("old token still valid: %v", err)
		}
		if got, err := s.DeviceByToken(ctx, "tok2"); err != nil || got != d {
			t.Fatalf("device = %+v, %v", got, err)
		}
		if err := s.DeleteDevice(ctx, u.UserID, "D1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeviceByToken(ctx, "tok2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token valid after logout: %v", err)
		}
		id1, _ := s.AddFilter(ctx, u.UserID, `{"a":1}`)
		id2, _ := s.AddFilter(ctx, u.UserID, `{"a":2}`)
		if js, err := s.Filter(ctx, u.UserID, id2); id1 == id2 || js != `{"a":2}` || err != nil {
			t.Fatalf("filters %d %d %q %v", id1, id2, js, err)
		}
	})
}

// Timelines and Messages count only the positions a reader may see: pages
// and limits stay full when history is hidden.
func TestReadableRanges(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		evs := []store.NewEvent{ev("!r:x", "$1", "", "m.room.create", sk(""), `{}`)}
		for i := 2; i <= 8; i++ {
			evs = append(evs, ev("!r:x", fmt.Sprintf("$%d", i), fmt.Sprintf("$%d", i-1), "m.room.message", nil, `{}`))
		}
		if _, err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		rs := visibility.Ranges{{From: 2, To: 3}, {From: 6, To: 6}}
		tl, err := s.Timelines(ctx, map[string]visibility.Ranges{"!r:x": rs}, store.EventFilter{}, 0, 8, 2)
		if err != nil || eventIDs(tl["!r:x"]) != "$2$3$6" {
			t.Fatalf("timeline = %s, %v", eventIDs(tl["!r:x"]), err)
		}
		if tl, _ := s.Timelines(ctx, map[string]visibility.Ranges{"!r:x": rs}, store.EventFilter{}, 6, 8, 2); len(tl) != 0 {
			t.Fatalf("timeline past the ranges = %+v", tl)
		}
		back, err := s.Messages(ctx, "!r:x", rs, store.EventFilter{}, 8, true, 2)
		if err != nil || eventIDs(back) != "$6$3" {
			t.Fatalf("backwards = %s, %v", eventIDs(back), err)
		}
		fwd, err := s.Messages(ctx, "!r:x", rs, store.EventFilter{}, 2, false, 5)
		if err != nil || eventIDs(fwd) != "$3$6" {
			t.Fatalf("forwards = %s, %v", eventIDs(fwd), err)
		}
		if none, err := s.Messages(ctx, "!r:x", visibility.Ranges{}, store.EventFilter{}, 8, true, 5); err != nil || len(none) != 0 {
			t.Fatalf("no ranges = %+v, %v", none, err)
		}
	})
}

// EventFilter keeps types (with * wildcards, "_" and "%" literal),
// senders and contains_url (a string url only) in SQL, so limits count
// only kept events.
func TestEventFilter(t *testing.T) {
	yes, no := true, false
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		mk := func(id, prev, typ, sender string) store.NewEvent {
			e := ev("!r:x", id, prev, typ, nil, `{}`)
			e.Sender = sender
			return e
		}
		evs := []store.NewEvent{
			ev("!r:x", "$1", "", "m.room.create", sk(""), `{}`),
			mk("$2", "$1", "m.room.message", "@a:x"),
			mk("$3", "$2", "m.reaction", "@b:x"),
			mk("$4", "$3", "org.x_y", "@b:x"),
			mk("$5", "$4", "org.xzy", "@a:x"),
			mk("$6", "$5", "m.room.message", "@b:x"),
			ev("!r:x", "$7", "$6", "m.room.message", nil, `{"url":"mxc://x/y"}`),
			ev("!r:x", "$8", "$7", "m.room.message", nil, `{"url":5}`),
		}
		if _, err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			f    store.EventFilter
			want string
		}{
			{store.EventFilter{}, "$1$2$3$4$5$6$7$8"},
			{store.EventFilter{ContainsURL: &yes}, "$7"},
			{store.EventFilter{ContainsURL: &no, Types: []string{"m.room.message"}}, "$2$6$8"},
			{store.EventFilter{Types: []string{"m.room.*"}}, "$1$2$6$7$8"},
			{store.EventFilter{Types: []string{"org.x_*"}}, "$4"},
			{store.EventFilter{Types: []string{}}, ""},
			{store.EventFilter{NotTypes: []string{"m.room.*", "m.reaction"}}, "$4$5"},
			{store.EventFilter{Senders: []string{"@b:x"}, NotTypes: []string{"m.reaction"}}, "$4$6"},
			{store.EventFilter{NotSenders: []string{"@a:x"}, Types: []string{"m.r*", "org.*"}}, "$3$4$6"},
		} {
			got, err := s.Messages(ctx, "!r:x", visibility.All, c.f, 0, false, 100)
			if err != nil || eventIDs(got) != c.want {
				t.Errorf("%+v: %s, %v; want %s", c.f, eventIDs(got), err, c.want)
			}
		}
		// The limit counts kept events only.
		tl, err := s.Timelines(ctx, map[string]visibility.Ranges{"!r:x": visibility.All}, store.EventFilter{Types: []string{"m.room.message"}}, 0, 6, 1)
		if err != nil || eventIDs(tl["!r:x"]) != "$2$6" {
			t.Fatalf("filtered timeline: %s, %v", eventIDs(tl["!r:x"]), err)
		}
	})
}

// eventIDs concatenates the ids of evs.
func eventIDs(evs []store.Event) (out string) {
	for _, e := range evs {
		out += e.EventID
	}
	return out
}
