package store_test

import (
	"errors"
	"testing"

	"bureau/services/chat/internal/store"
)

func TestAliasesAndPublished(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if err := s.CreateAlias(ctx, "#a:x", "!r:x", "@a:x", 1); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAlias(ctx, "#a:x", "!other:x", "@b:x", 2); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("alias taken twice: %v", err)
		}
		if err := s.CreateAlias(ctx, "#b:x", "!r:x", "@b:x", 3); err != nil {
			t.Fatal(err)
		}
		if room, creator, err := s.Alias(ctx, "#a:x"); room != "!r:x" || creator != "@a:x" || err != nil {
			t.Fatalf("alias = %s %s %v", room, creator, err)
		}
		if l, _ := s.RoomAliases(ctx, "!r:x"); len(l) != 2 || l[0] != "#a:x" {
			t.Fatalf("room aliases = %v", l)
		}
		if err := s.DeleteAlias(ctx, "#a:x"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Alias(ctx, "#a:x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted alias: %v", err)
		}
		if err := s.DeleteAlias(ctx, "#a:x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		for range 2 { // idempotent
			if err := s.SetPublished(ctx, "!r:x", true); err != nil {
				t.Fatal(err)
			}
		}
		if ids, _ := s.PublishedRooms(ctx); len(ids) != 1 {
			t.Fatalf("published = %v", ids)
		}
		if err := s.SetPublished(ctx, "!r:x", false); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Published(ctx, "!r:x"); ok || err != nil {
			t.Fatalf("still published: %v %v", ok, err)
		}
	})
}
