package store_test

import (
	"errors"
	"testing"

	"bureau/services/chat/internal/store"
)

func TestRefreshRotation(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		d := store.Device{UserID: "@a:x", DeviceID: "D"}
		if err := s.PutDeviceSession(ctx, d, store.Session{TokenHash: "a0", RefreshHash: "r0", Expires: 100}, 1); err != nil {
			t.Fatal(err)
		}
		if got, err := s.DeviceByToken(ctx, "a0"); err != nil || got.Expires != 100 {
			t.Fatalf("device = %+v, %v", got, err)
		}
		if _, err := s.Refresh(ctx, "r0", store.Session{TokenHash: "a1", RefreshHash: "r1", Expires: 200}); err != nil {
			t.Fatal(err)
		}
		// Retry with r0 before a1 is used: allowed, replaces a1.
		if got, err := s.Refresh(ctx, "r0", store.Session{TokenHash: "a2", RefreshHash: "r2", Expires: 300}); err != nil || got.DeviceID != "D" {
			t.Fatalf("retry = %+v, %v", got, err)
		}
		for _, old := range []string{"a0", "a1"} {
			if _, err := s.DeviceByToken(ctx, old); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s still valid: %v", old, err)
			}
		}
		if _, err := s.DeviceByToken(ctx, "a2"); err != nil {
			t.Fatal(err)
		}
		for _, used := range []string{"r0", "r1", "nope"} {
			if _, err := s.Refresh(ctx, used, store.Session{TokenHash: "x", RefreshHash: "y"}); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("refresh with %s: %v", used, err)
			}
		}
		// A new login on the same device forgets the refresh chain.
		if err := s.PutDevice(ctx, d, "a3", 2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Refresh(ctx, "r2", store.Session{TokenHash: "x", RefreshHash: "y"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("refresh after a new login: %v", err)
		}
	})
}
