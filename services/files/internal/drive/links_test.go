package drive

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"bureau/services/files/internal/store"
	"bureau/services/platform/blob"
	"bureau/services/platform/identity"
	"bureau/services/platform/sqldb"
)

func newTestService(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(st, blobs, Config{MaxUploadSize: 1 << 30, PartSize: blob.MinPartSize}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// personal returns a test agent and their personal space's id.
func personal(t *testing.T, s *Service) (identity.User, string) {
	t.Helper()
	u := identity.User{ID: "ualice", Ministry: "interieur"}
	spaces, err := s.Spaces(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return u, spaces[0].ID
}

// An expired link is refused (410), on the clock of the service.
func TestLinkExpiry(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	u, sp := personal(t, s)
	f, err := s.CreateFolder(ctx, u, sp, "", "Partage")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.now = func() time.Time { return now }
	exp := now.Add(time.Hour)
	_, token, err := s.CreateLink(ctx, u, sp, NewLink{Node: f.ID, Kind: store.LinkRead, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenLink(ctx, token, "", "192.0.2.1"); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	now = exp
	var de *Error
	if _, err := s.OpenLink(ctx, token, "", "192.0.2.1"); !errors.As(err, &de) || de.Code != "link_expired" || de.Status != 410 {
		t.Fatalf("at expiry: %v", err)
	}
}
