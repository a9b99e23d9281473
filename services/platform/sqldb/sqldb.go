// Package sqldb opens the services' SQL database — SQLite for a single-node
// deployment, PostgreSQL otherwise — behind one *sql.DB-shaped handle, and
// runs the services' embedded goose migrations.
//
// Queries are written once with `?` placeholders and passed through Rebind;
// both engines understand the rest of the SQL the services use (standard
// DDL, ON CONFLICT, RETURNING).
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the database engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database.
//
// With PostgreSQL, DB.DB and Read are the same pool.
//
// With SQLite, the embedded DB.DB holds a single connection: SQLite allows
// one writer at a time, and queueing writers in Go's pool is fair and never
// fails, whereas several writing connections contend on the file lock
// through SQLite's sleep-and-retry busy handler and may end in SQLITE_BUSY.
// Read is a separate pool of read-only connections which, thanks to WAL,
// read concurrently with each other and with the writer: use it for
// read-heavy paths that can do without their own writes. Because DB.DB has
// one connection, code holding a transaction must not use DB.DB outside it
// (it would wait for itself).
type DB struct {
	*sql.DB
	Read    *sql.DB
	Dialect Dialect
}

// Open opens and pings the database named by dsn:
//
//	sqlite:///var/lib/bureau/chat.db   absolute path
//	sqlite://data/chat.db              path relative to the working directory
//	sqlite::memory:                    private in-memory database (tests)
//	postgres://user:pw@host:5432/db?sslmode=disable   (or postgresql://)
//
// A SQLite file is created if missing, but not its directory.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var db *DB
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = openPostgres(dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		db, err = openSQLite(dsn)
	default:
		return nil, fmt.Errorf("sqldb: unsupported DSN %q: want sqlite://PATH, sqlite::memory: or postgres://…", redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqldb: open %s: %w", redact(dsn), err)
	}
	return db, nil
}

func openPostgres(dsn string) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqldb: %w", err)
	}
	// Bounded: several services and replicas share one server, whose
	// max_connections is typically 100.
	pool.SetMaxOpenConns(20)
	pool.SetMaxIdleConns(10)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{DB: pool, Read: pool, Dialect: Postgres}, nil
}

func openSQLite(dsn string) (*DB, error) {
	rest := strings.TrimPrefix(dsn, "sqlite:")
	if rest == ":memory:" {
		// Every connection to :memory: is a different database, so
		// writer and readers are one connection, kept open forever.
		pool, err := sql.Open("sqlite", ":memory:?_foreign_keys=1")
		if err != nil {
			return nil, fmt.Errorf("sqldb: %w", err)
		}
		pool.SetMaxOpenConns(1)
		pool.SetMaxIdleConns(1)
		pool.SetConnMaxLifetime(0)
		pool.SetConnMaxIdleTime(0)
		return &DB{DB: pool, Read: pool, Dialect: SQLite}, nil
	}
	path, ok := strings.CutPrefix(rest, "//")
	if !ok || path == "" {
		return nil, fmt.Errorf("sqldb: bad SQLite DSN %q: want sqlite:///abs/path.db, sqlite://rel/path.db or sqlite::memory:", dsn)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqldb: bad SQLite DSN %q: options are fixed by sqldb, remove the query", dsn)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("sqldb: SQLite database %s: directory %s does not exist", path, filepath.Dir(path))
	}
	// busy_timeout covers other processes (a second replica, the sqlite3
	// CLI) and WAL checkpoints; _txlock=immediate takes the write lock at
	// BEGIN, so a transaction never fails half-way upgrading its lock with
	// SQLITE_BUSY, which the busy handler cannot retry. synchronous=NORMAL
	// is durable against crashes of the process, which is what WAL needs.
	common := "_busy_timeout=10000&_foreign_keys=1&_journal_mode=WAL&_synchronous=NORMAL"
	writer, err := sql.Open("sqlite", path+"?"+common+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqldb: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	reader, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqldb: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	return &DB{DB: writer, Read: reader, Dialect: SQLite}, nil
}

// Ping checks both pools. For a SQLite file, the writer goes first: its
// first connection switches the file to WAL before readers open it.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.DB.PingContext(ctx); err != nil {
		return err
	}
	if db.Read != db.DB {
		return db.Read.PingContext(ctx)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	err := db.DB.Close()
	if db.Read != nil && db.Read != db.DB {
		err = errors.Join(err, db.Read.Close())
	}
	return err
}

// IsUniqueViolation reports whether err comes from a UNIQUE or PRIMARY KEY
// constraint, with either engine.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" // unique_violation
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		c := liteErr.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// redact hides a password in a DSN for error messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
