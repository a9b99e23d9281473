package store_test

import (
	"testing"

	"bureau/services/chat/internal/store"
)

// Incremental syncs find presence changes by stream position, only of
// users sharing a joined room; a refresh moves no position.
func TestPresenceChanges(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		evs := []store.NewEvent{
			ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`),
			ev("!r:x", "$a", "$c", "m.room.member", sk("@a:x"), `{"membership":"join"}`),
			ev("!r:x", "$b", "$a", "m.room.member", sk("@b:x"), `{"membership":"join"}`),
			ev("!r:x", "$d", "$b", "m.room.member", sk("@d:x"), `{"membership":"invite"}`),
		}
		if _, err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.SharesRoom(ctx, "@a:x", "@b:x"); err != nil || !ok {
			t.Fatalf("a and b share a room: %v %v", ok, err)
		}
		if ok, err := s.SharesRoom(ctx, "@a:x", "@d:x"); err != nil || ok {
			t.Fatalf("a and d (invited) share a room: %v %v", ok, err)
		}
		start, _ := s.MaxPos(ctx)
		for _, u := range []string{"@b:x", "@d:x", "@z:x"} {
			if _, err := s.SetPresence(ctx, store.Presence{UserID: u, State: "online", StatusMsg: "ici", LastActive: 5, LastSync: 5}); err != nil {
				t.Fatal(err)
			}
		}
		mid, _ := s.MaxPos(ctx)
		if err := s.TouchPresence(ctx, "@b:x", 0, 9); err != nil {
			t.Fatal(err)
		}
		if end, _ := s.MaxPos(ctx); end != mid {
			t.Fatalf("a refresh moved the stream: %d → %d", mid, end)
		}
		ps, err := s.PresenceChanges(ctx, "@a:x", start, mid)
		if err != nil || len(ps) != 1 || ps[0].UserID != "@b:x" || ps[0].StatusMsg != "ici" || ps[0].LastActive != 5 || ps[0].LastSync != 9 {
			t.Fatalf("changes = %+v, %v", ps, err)
		}
		if ps, err := s.PresenceChanges(ctx, "@a:x", mid, mid); err != nil || len(ps) != 0 {
			t.Fatalf("changes after mid = %+v, %v", ps, err)
		}
		if p, err := s.GetPresence(ctx, "@z:x"); err != nil || p.State != "online" {
			t.Fatalf("get = %+v, %v", p, err)
		}
		if _, err := s.GetPresence(ctx, "@nobody:x"); err != store.ErrNotFound {
			t.Fatalf("get unknown: %v", err)
		}
	})
}
