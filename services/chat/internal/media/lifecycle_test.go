package media

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bureau/services/chat/internal/store"
	"bureau/services/platform/antivirus"
	"bureau/services/platform/blob"
	"bureau/services/platform/sqldb"
	"bureau/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// onBothEngines runs f with a service on a SQLite file and on a real
// PostgreSQL database, its blobs on disk under dir, scanning off.
func onBothEngines(t *testing.T, cfg Config, f func(t *testing.T, s *Service, dir string)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dsn := "sqlite://" + filepath.Join(t.TempDir(), "chat.db")
			if engine == "postgres" {
				dsn = testenv.SharedPostgres(t).NewDatabase(t)
			}
			db, err := sqldb.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			st, err := store.New(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			dir := t.TempDir()
			blobs, err := blob.NewDisk(dir)
			if err != nil {
				t.Fatal(err)
			}
			f(t, New(cfg, st, blobs, nil, slog.New(slog.DiscardHandler)), dir)
		})
	}
}

// files counts the blobs on disk.
func files(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func up(s *Service, user, body string, size int64) (string, error) {
	return s.Upload(context.Background(), user, Upload{Body: strings.NewReader(body), Size: size, ContentType: "text/plain"})
}

// A user's uploads stop at the quota, announced size or not; nothing of a
// refused upload stays in the blob store; other users are not concerned.
func TestUserQuota(t *testing.T) {
	onBothEngines(t, Config{MaxUploadSize: 100, UserQuota: 10}, func(t *testing.T, s *Service, dir string) {
		if _, err := up(s, "@a:x", "123456", 6); err != nil {
			t.Fatal(err)
		}
		if _, err := up(s, "@a:x", "12345", 5); !errors.Is(err, ErrQuotaExceeded) {
			t.Fatalf("announced size over the quota: %v", err)
		}
		if _, err := up(s, "@a:x", "1234", -1); err != nil {
			t.Fatalf("up to the quota: %v", err)
		}
		if _, err := up(s, "@a:x", "1", -1); !errors.Is(err, ErrQuotaExceeded) {
			t.Fatalf("unannounced size over the quota: %v", err)
		}
		if n := files(t, dir); n != 2 {
			t.Fatalf("%d blobs stored, want 2", n)
		}
		if _, err := up(s, "@b:x", "1234567890", 10); err != nil {
			t.Fatalf("another user: %v", err)
		}
		id, _, err := s.Create(t.Context(), "@a:x")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.UploadTo(t.Context(), "@a:x", id, Upload{Body: strings.NewReader("x"), Size: 1}); !errors.Is(err, ErrQuotaExceeded) {
			t.Fatalf("async upload over the quota: %v", err)
		}
	})
}

// The cleanup deletes expired reservations and, with a retention, old
// media with their thumbnails; an entry marked for deletion is no longer
// served and its deletion resumes at the next pass.
func TestCleanup(t *testing.T) {
	onBothEngines(t, Config{MaxUploadSize: 100}, func(t *testing.T, s *Service, dir string) {
		ctx := t.Context()
		t0 := time.Now()
		s.now = func() time.Time { return t0 }
		reserved, _, err := s.Create(ctx, "@a:x")
		if err != nil {
			t.Fatal(err)
		}
		old, err := up(s, "@a:x", "ancien", -1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.blobs.Put(ctx, "thumb/"+old, strings.NewReader("t"), 1, "image/png"); err != nil {
			t.Fatal(err)
		}
		if err := s.store.AddThumbnail(ctx, store.Thumbnail{MediaID: old, Width: 32, Height: 32, Method: "crop", ContentType: "image/png", Size: 1, BlobKey: "thumb/" + old}); err != nil {
			t.Fatal(err)
		}
		s.now = func() time.Time { return t0.Add(25 * time.Hour) }
		if n, err := s.Cleanup(ctx); n != 1 || err != nil {
			t.Fatalf("first pass: %d %v", n, err)
		}
		if _, err := s.store.Media(ctx, reserved); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired reservation kept: %v", err)
		}
		if _, err := s.Ready(ctx, old, 0); err != nil {
			t.Fatalf("media deleted without a retention: %v", err)
		}
		s.cfg.Retention = 48 * time.Hour
		s.now = func() time.Time { return t0.Add(49 * time.Hour) }
		recent, err := up(s, "@a:x", "récent", -1)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.Cleanup(ctx); n != 1 || err != nil {
			t.Fatalf("retention pass: %d %v", n, err)
		}
		if _, err := s.Ready(ctx, old, 0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("media past the retention: %v", err)
		}
		if n := files(t, dir); n != 1 {
			t.Fatalf("%d blobs left, want the recent one only", n)
		}
		// Marked by a pass that then stopped (crash, blob store down).
		if _, err := s.store.MarkMediaDeleting(ctx, 0, s.now().Add(time.Hour).UnixMilli(), 10); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Ready(ctx, recent, 0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("media being deleted served: %v", err)
		}
		if n, err := s.Cleanup(ctx); n != 1 || err != nil || files(t, dir) != 0 {
			t.Fatalf("resumed pass: %d %v, %d blobs", n, err, files(t, dir))
		}
	})
}

// Uploads left pending by a run with scanning on are not served when
// scanning is off (at once, not after the wait); uploads stored unscanned
// go back to the scan queue when scanning is on again.
func TestReconcileScanning(t *testing.T) {
	onBothEngines(t, Config{MaxUploadSize: 100}, func(t *testing.T, s *Service, dir string) {
		ctx := t.Context()
		unscanned, err := up(s, "@a:x", "sans scan", -1)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.store.AddMedia(ctx, store.Media{MediaID: "pending1", Uploader: "@a:x", ContentType: "text/plain", BlobKey: "k", State: store.MediaPending}); err != nil {
			t.Fatal(err)
		}
		if err := s.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		quick, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := s.Ready(quick, "pending1", time.Minute); !errors.Is(err, ErrNotYetUploaded) {
			t.Fatalf("pending without scanner: %v", err)
		}
		if _, err := s.Ready(ctx, unscanned, 0); err != nil {
			t.Fatalf("unscanned with scanning off: %v", err)
		}
		s.av = antivirus.New("127.0.0.1:1", time.Second)
		if err := s.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.store.Media(ctx, unscanned); m.State != store.MediaPending {
			t.Fatalf("unscanned upload with scanning on: %s", m.State)
		}
	})
}
