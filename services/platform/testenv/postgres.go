package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver for the admin connection
)

// PostgresBin is where Debian's postgresql-15 package puts the server.
const PostgresBin = "/usr/lib/postgresql/15/bin"

// Postgres is a running PostgreSQL server with trust authentication.
type Postgres struct {
	Addr string // 127.0.0.1:port
	DSN  string // superuser "postgres" on database "postgres"

	dir   string
	proc  *proc
	admin *sql.DB
}

// StartPostgres starts a PostgreSQL server for this test alone (≈2 s: it
// runs initdb). Tests that only need an empty database should prefer
// SharedPostgres(t).NewDatabase(t).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := startPostgres()
	if err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	t.Cleanup(p.close)
	return p
}

func startPostgres() (_ *Postgres, err error) {
	initdb, err := findBinary("initdb", filepath.Join(PostgresBin, "initdb"))
	if err != nil {
		return nil, err
	}
	server := filepath.Join(filepath.Dir(initdb), "postgres")

	// initdb and postgres refuse to run as root: as root, run them as the
	// postgres user, in a directory of its own outside t.TempDir (whose
	// parent is private to root).
	var cred *syscall.Credential
	dir, err := os.MkdirTemp("", "bureau-pg-")
	if err != nil {
		return nil, err
	}
	p := &Postgres{dir: dir}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user (apt-get install postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	init := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	init.Dir = dir // initdb fails if it cannot read its working directory
	init.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := init.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// fsync and friends off: the data is thrown away, speed matters more.
	// The unix socket goes into the data directory, never /var/run.
	p.proc, err = startProc(filepath.Join(dir, "postgres.log"), cred, dir, nil, server,
		"-D", data, "-p", strconv.Itoa(port), "-k", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	if err != nil {
		return nil, err
	}
	p.proc.sig = syscall.SIGINT // "fast" shutdown; SIGTERM waits for clients
	p.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	p.DSN = p.dsn("postgres")
	if p.admin, err = sql.Open("pgx", p.DSN); err != nil {
		return nil, err
	}
	if err := p.proc.waitReady(p.admin.PingContext); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Postgres) dsn(db string) string {
	return "postgres://postgres@" + p.Addr + "/" + db + "?sslmode=disable"
}

// NewDatabase creates an empty database, dropped when the test ends, and
// returns its DSN. Creating one costs tens of milliseconds, so each test
// can have its own while the package shares one server.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := randomName("t_")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: postgres: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a test may leave connections open in its pools.
		if _, err := p.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: postgres: drop database %s: %v", name, err)
		}
	})
	return p.dsn(name)
}

func (p *Postgres) close() {
	if p.admin != nil {
		p.admin.Close()
	}
	if p.proc != nil {
		p.proc.stop()
	}
	os.RemoveAll(p.dir)
}
