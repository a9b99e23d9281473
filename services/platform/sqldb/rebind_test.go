package sqldb

import (
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT * FROM t WHERE a = ? AND b IN (?, ?)", "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"},
		{"SELECT '?', 'it''s ?', ? FROM t", "SELECT '?', 'it''s ?', $1 FROM t"},
		{`SELECT "wh?t" FROM t WHERE x = ?`, `SELECT "wh?t" FROM t WHERE x = $1`},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"SELECT ? /* ? */, ?", "SELECT $1 /* ? */, $2"},
		{"SELECT ? -- trailing ?", "SELECT $1 -- trailing ?"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
	} {
		if got := rebindDollar(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	lite := &DB{Dialect: SQLite}
	if got := lite.Rebind("a = ?"); got != "a = ?" {
		t.Errorf("SQLite rebind changed the query: %q", got)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	for dsn, want := range map[string]string{
		"mysql://x":                  "unsupported DSN",
		"sqlite:/x.db":               "bad SQLite DSN",
		"sqlite://":                  "bad SQLite DSN",
		"sqlite:///tmp/x.db?mode=ro": "remove the query",
		"sqlite:///no/such/dir/x.db": "directory /no/such/dir does not exist",
		"postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2": "xxxxx",
	} {
		_, err := Open(ctx, dsn)
		if err == nil || !contains(err.Error(), want) || contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) = %v, want an error with %q", dsn, err, want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
