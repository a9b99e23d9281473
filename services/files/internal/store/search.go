package store

import (
	"context"
	"log/slog"
	"strings"

	"bureau/services/files/internal/names"
	"bureau/services/platform/sqldb"
)

// searchIndex creates the dialect's substring index on names, which the
// shared migrations cannot express: on SQLite an FTS5 trigram table kept
// by triggers, on PostgreSQL a pg_trgm GIN index. Without it (pg_trgm not
// installable) search still works, by scanning the agent's spaces.
func (s *Store) searchIndex(ctx context.Context, log *slog.Logger) error {
	if s.db.Dialect == sqldb.Postgres {
		if _, err := s.db.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm`); err != nil {
			log.Warn("files: pg_trgm unavailable: search by name scans the agent's spaces", "err", err)
			return nil
		}
		_, err := s.db.ExecContext(ctx, `CREATE INDEX IF NOT EXISTS files_nodes_name_trgm ON files_nodes USING gin (name_key gin_trgm_ops)`)
		s.trigram = err == nil
		return err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'files_names'`).Scan(&n); err != nil {
		return err
	}
	s.trigram = true
	if n > 0 {
		return nil
	}
	// External content on files_nodes' rowid: the index holds no copy of
	// the names. (A VACUUM may renumber rowids: rebuild it after one with
	// INSERT INTO files_names(files_names) VALUES ('rebuild').)
	for _, q := range []string{
		`CREATE VIRTUAL TABLE files_names USING fts5(name_key, content='files_nodes', content_rowid='rowid', tokenize='trigram')`,
		`CREATE TRIGGER files_names_ai AFTER INSERT ON files_nodes BEGIN
			INSERT INTO files_names (rowid, name_key) VALUES (new.rowid, new.name_key); END`,
		`CREATE TRIGGER files_names_ad AFTER DELETE ON files_nodes BEGIN
			INSERT INTO files_names (files_names, rowid, name_key) VALUES ('delete', old.rowid, old.name_key); END`,
		`CREATE TRIGGER files_names_au AFTER UPDATE OF name_key ON files_nodes BEGIN
			INSERT INTO files_names (files_names, rowid, name_key) VALUES ('delete', old.rowid, old.name_key);
			INSERT INTO files_names (rowid, name_key) VALUES (new.rowid, new.name_key); END`,
		`INSERT INTO files_names (files_names) VALUES ('rebuild')`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// Hit is a search result with its space's name.
type Hit struct {
	Node
	SpaceName string `json:"space_name"`
}

// Search returns up to limit nodes (after the cursor: name key, id) not in the trash
// themselves, whose name contains q case-insensitively, in the spaces
// user is a member of, by name; infected files are left out. Items under
// a trashed folder are returned: the caller filters them.
func (s *Store) Search(ctx context.Context, user, q string, after Cursor, limit int) ([]Hit, error) {
	key := names.Key(q)
	var match string
	var args []any
	switch {
	case s.db.Dialect == sqldb.Postgres:
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(key)
		match, args = `n.name_key LIKE ? ESCAPE '\'`, []any{"%" + esc + "%"}
	case s.trigram && len([]rune(key)) >= 3:
		// The trigram index finds candidates; instr keeps exact substrings.
		match = `n.rowid IN (SELECT rowid FROM files_names WHERE files_names MATCH ?) AND instr(n.name_key, ?) > 0`
		args = []any{`"` + strings.ReplaceAll(key, `"`, `""`) + `"`, key}
	default:
		match, args = `instr(n.name_key, ?) > 0`, []any{key}
	}
	if after.ID != "" {
		match += ` AND (n.name_key > ? OR (n.name_key = ? AND n.id > ?))`
		args = append(args, after.Key, after.Key, after.ID)
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+nodeCols+`, s.name`+nodeFrom+`
		JOIN files_members m ON m.space_id = n.space_id AND m.user_id = ?
		JOIN files_spaces s ON s.id = n.space_id
		WHERE n.trashed_at IS NULL AND COALESCE(v.scan_state, '') <> 'infected' AND `+match+`
		ORDER BY n.name_key, n.id LIMIT ?`), append(append([]any{user}, args...), limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Hit{}
	for rows.Next() {
		var h Hit
		var n Node
		var sn string
		n, err = scanNode(scanExtra{rows, &sn})
		if err != nil {
			return nil, err
		}
		h.Node, h.SpaceName = n, sn
		out = append(out, h)
	}
	return out, rows.Err()
}

// scanExtra scans a node row followed by extra columns.
type scanExtra struct {
	row   interface{ Scan(...any) error }
	extra *string
}

func (x scanExtra) Scan(dst ...any) error { return x.row.Scan(append(dst, x.extra)...) }
