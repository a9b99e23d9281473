package sqldb_test

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bureau/services/platform/sqldb"
	"bureau/services/platform/testenv"
)

//go:embed testdata
var migrations embed.FS

func TestMain(m *testing.M) { testenv.Main(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// bothEngines runs f against a SQLite file and a real PostgreSQL database.
func bothEngines(t *testing.T, f func(t *testing.T, db *sqldb.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, open(t, "sqlite://"+filepath.Join(t.TempDir(), "test.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, open(t, testenv.SharedPostgres(t).NewDatabase(t)))
	})
}

func open(t *testing.T, dsn string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(testCtx(t), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func migrate(t *testing.T, db *sqldb.DB, service string) {
	t.Helper()
	if err := db.Migrate(testCtx(t), service, migrations, "testdata/"+service); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateInsertSelect(t *testing.T) {
	t.Parallel()
	bothEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := testCtx(t)
		migrate(t, db, "chat")
		migrate(t, db, "chat") // nothing pending: a no-op

		ins := db.Rebind("INSERT INTO chat_users (id, email, name) VALUES (?, ?, ?)")
		if _, err := db.ExecContext(ctx, ins, 1, "a@x.gouv.fr", "Alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, ins, 2, "b@x.gouv.fr", "Bob"); err != nil {
			t.Fatal(err)
		}
		var name string
		err := db.Read.QueryRowContext(ctx, db.Rebind("SELECT name FROM chat_users WHERE email = ? AND id = ?"), "b@x.gouv.fr", 2).Scan(&name)
		if err != nil || name != "Bob" {
			t.Fatalf("select: %q, %v", name, err)
		}

		_, err = db.ExecContext(ctx, ins, 3, "a@x.gouv.fr", "Alice again")
		if !sqldb.IsUniqueViolation(err) {
			t.Fatalf("duplicate email: want a unique violation, got %v", err)
		}
		_, err = db.ExecContext(ctx, ins, 1, "c@x.gouv.fr", "Same id")
		if !sqldb.IsUniqueViolation(err) {
			t.Fatalf("duplicate primary key: want a unique violation, got %v", err)
		}
		if sqldb.IsUniqueViolation(errors.New("other")) || sqldb.IsUniqueViolation(nil) {
			t.Fatal("IsUniqueViolation on a foreign error")
		}

		// Foreign keys are enforced (SQLite needs a pragma for that).
		_, err = db.ExecContext(ctx, db.Rebind("INSERT INTO chat_notes (id, user_id, body) VALUES (?, ?, ?)"), 1, 99, "orphan")
		if err == nil {
			t.Fatal("a note of a missing user was accepted")
		}
		if sqldb.IsUniqueViolation(err) {
			t.Fatalf("a foreign key error taken for a unique violation: %v", err)
		}
	})
}

func TestServicesShareADatabase(t *testing.T) {
	t.Parallel()
	bothEngines(t, func(t *testing.T, db *sqldb.DB) {
		migrate(t, db, "chat")
		migrate(t, db, "files")
		for table, want := range map[string]int{"goose_version_chat": 2, "goose_version_files": 1} {
			var v int
			q := "SELECT MAX(version_id) FROM " + table
			if err := db.QueryRowContext(testCtx(t), q).Scan(&v); err != nil || v != want {
				t.Errorf("%s: version %d, %v; want %d", table, v, err, want)
			}
		}
	})
}

func TestMigrateErrors(t *testing.T) {
	t.Parallel()
	db := open(t, "sqlite::memory:")
	err := db.Migrate(testCtx(t), "Chat-Service", migrations, "testdata/chat")
	if err == nil || !strings.Contains(err.Error(), "service name") {
		t.Errorf("bad service name: %v", err)
	}
	err = db.Migrate(testCtx(t), "chat", migrations, "testdata/nothing")
	if err == nil || !strings.Contains(err.Error(), "chat") {
		t.Errorf("missing directory: %v", err)
	}
}

func TestMemory(t *testing.T) {
	t.Parallel()
	db := open(t, "sqlite::memory:")
	migrate(t, db, "chat")
	ctx := testCtx(t)
	if _, err := db.ExecContext(ctx, "INSERT INTO chat_users VALUES (1, 'a', 'A')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM chat_users").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count %d, %v", n, err)
	}
}

func TestSQLiteReadPoolIsReadOnly(t *testing.T) {
	t.Parallel()
	db := open(t, "sqlite://"+filepath.Join(t.TempDir(), "ro.db"))
	migrate(t, db, "chat")
	if _, err := db.Read.ExecContext(testCtx(t), "INSERT INTO chat_users VALUES (1, 'a', 'A')"); err == nil {
		t.Fatal("a write through Read succeeded")
	}
}

// Writers in two handles on one file (as two processes would have) and
// readers all at once: no SQLITE_BUSY, no lost write.
func TestSQLiteConcurrentWriters(t *testing.T) {
	t.Parallel()
	path := "sqlite://" + filepath.Join(t.TempDir(), "busy.db")
	db1 := open(t, path)
	migrate(t, db1, "chat")
	db2 := open(t, path)
	ctx := testCtx(t)

	const writers, perWriter = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for w := range writers {
		db := db1
		if w%2 == 1 {
			db = db2
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				// Read-then-write transactions are the ones that fail
				// with SQLITE_BUSY when the lock is taken lazily.
				err := inTx(ctx, db, func(tx *sql.Tx) error {
					var next int
					if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM chat_users").Scan(&next); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, "INSERT INTO chat_users (id, email, name) VALUES (?, ?, ?)",
						next, fmt.Sprintf("w%d-%d@x", w, i), "n")
					return err
				})
				if err != nil {
					errs <- fmt.Errorf("writer %d, write %d: %w", w, i, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range perWriter {
				var n int
				if err := db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM chat_users").Scan(&n); err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := db1.QueryRowContext(ctx, "SELECT COUNT(*) FROM chat_users").Scan(&n); err != nil || n != writers*perWriter {
		t.Fatalf("%d rows (%v), want %d", n, err, writers*perWriter)
	}
}

func inTx(ctx context.Context, db *sqldb.DB, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
