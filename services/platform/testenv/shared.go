package testenv

import (
	"os"
	"sync"
	"testing"
)

// Servers shared by all the tests of one package (one test binary): each
// starts on first use and stops in Shutdown. Tests isolate themselves with
// Postgres.NewDatabase and MinIO.NewBucket. A package that uses them needs
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
var shared struct {
	mu      sync.Mutex
	main    bool
	closers []func()

	pgOnce sync.Once
	pg     *Postgres
	pgErr  error

	minioOnce sync.Once
	minio     *MinIO
	minioErr  error
}

// Main runs the tests, stops the shared servers and exits; call it from
// TestMain.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops the shared servers started so far. Main calls it; a
// TestMain that needs more control may call it itself after m.Run.
func Shutdown() {
	shared.mu.Lock()
	closers := shared.closers
	shared.closers = nil
	shared.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
}

func sharedReady(t testing.TB, what string) {
	t.Helper()
	shared.mu.Lock()
	ok := shared.main
	shared.mu.Unlock()
	if !ok {
		// Without TestMain nothing would stop the server after the tests.
		t.Fatalf("testenv: %s needs `func TestMain(m *testing.M) { testenv.Main(m) }` in the package", what)
	}
}

func onShutdown(f func()) {
	shared.mu.Lock()
	shared.closers = append(shared.closers, f)
	shared.mu.Unlock()
}

// SharedPostgres returns the package's PostgreSQL server, starting it on
// first use. Use NewDatabase for a database of the test's own.
func SharedPostgres(t testing.TB) *Postgres {
	t.Helper()
	sharedReady(t, "SharedPostgres")
	shared.pgOnce.Do(func() {
		shared.pg, shared.pgErr = startPostgres()
		if shared.pgErr == nil {
			onShutdown(shared.pg.close)
		}
	})
	if shared.pgErr != nil {
		t.Fatalf("testenv: shared postgres: %v", shared.pgErr)
	}
	return shared.pg
}

// SharedMinIO returns the package's MinIO server, starting it on first use.
// Use NewBucket for a bucket of the test's own.
func SharedMinIO(t testing.TB) *MinIO {
	t.Helper()
	sharedReady(t, "SharedMinIO")
	shared.minioOnce.Do(func() {
		shared.minio, shared.minioErr = startMinIO()
		if shared.minioErr == nil {
			onShutdown(shared.minio.close)
		}
	})
	if shared.minioErr != nil {
		t.Fatalf("testenv: shared minio: %v", shared.minioErr)
	}
	return shared.minio
}
