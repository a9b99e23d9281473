package store_test

import (
	"errors"
	"testing"

	"bureau/services/chat/internal/store"
)

func TestUIASessions(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if err := s.AddUIASession(ctx, "s1", "@a:x", 0, 100); err != nil {
			t.Fatal(err)
		}
		if err := s.AddUIASession(ctx, "old", "@a:x", 0, 10); err != nil {
			t.Fatal(err)
		}
		if u, err := s.UIASession(ctx, "s1", 50); err != nil || u != (store.UIASession{UserID: "@a:x"}) {
			t.Fatalf("session = %+v, %v", u, err)
		}
		if ok, err := s.TakeUIASession(ctx, "s1", "@a:x", 50); ok || err != nil {
			t.Fatalf("uncompleted session taken: %v %v", ok, err)
		}
		if ok, _ := s.CompleteUIASession(ctx, "s1", "@b:x", 50); ok {
			t.Fatal("completed by another user")
		}
		if ok, err := s.CompleteUIASession(ctx, "s1", "@a:x", 50); !ok || err != nil {
			t.Fatalf("complete: %v %v", ok, err)
		}
		if u, _ := s.UIASession(ctx, "s1", 50); !u.Completed {
			t.Fatal("not completed")
		}
		if ok, _ := s.TakeUIASession(ctx, "s1", "@b:x", 50); ok {
			t.Fatal("taken by another user")
		}
		if ok, err := s.TakeUIASession(ctx, "s1", "@a:x", 50); !ok || err != nil {
			t.Fatalf("take: %v %v", ok, err)
		}
		if ok, _ := s.TakeUIASession(ctx, "s1", "@a:x", 50); ok {
			t.Fatal("taken twice")
		}
		// Expired sessions are not found and are dropped by the next add.
		if _, err := s.UIASession(ctx, "old", 50); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
		if ok, _ := s.CompleteUIASession(ctx, "old", "@a:x", 50); ok {
			t.Fatal("expired session completed")
		}
		if err := s.AddUIASession(ctx, "s2", "@a:x", 50, 150); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UIASession(ctx, "old", 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session kept: %v", err)
		}
	})
}
