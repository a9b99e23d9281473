// Package store keeps the files service's metadata — spaces, members, the
// tree of folders and files, file versions with their antivirus state, and
// resumable uploads in progress — in SQLite or PostgreSQL (tables prefixed
// files_, one set of migrations for both).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"bureau/services/files/internal/names"
	"bureau/services/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

var (
	// ErrNotFound: no such row (or not visible to the caller).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique name or membership already exists.
	ErrConflict = errors.New("store: conflict")
)

// Roles, from most to least powerful.
const (
	RoleOwner   = "owner"
	RoleManager = "manager"
	RoleEditor  = "editor"
	RoleReader  = "reader"
)

// RoleRank orders roles: a higher rank can do everything a lower one can.
func RoleRank(role string) int {
	switch role {
	case RoleOwner:
		return 4
	case RoleManager:
		return 3
	case RoleEditor:
		return 2
	case RoleReader:
		return 1
	}
	return 0
}

// Space kinds, node kinds and scan states.
const (
	SpacePersonal = "personal"
	SpaceTeam     = "team"

	KindFolder = "folder"
	KindFile   = "file"

	ScanPending     = "pending"
	ScanClean       = "clean"
	ScanInfected    = "infected"
	ScanUnscannable = "unscannable" // larger than clamd accepts: never served
	ScanSkipped     = "skipped"     // no antivirus configured (development)
)

// Store is the metadata database.
type Store struct {
	db      *sqldb.DB
	trigram bool // the name search index exists
}

// Open migrates db and returns the store.
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	return OpenLog(ctx, db, slog.Default())
}

// OpenLog is Open, logging to log.
func OpenLog(ctx context.Context, db *sqldb.DB, log *slog.Logger) (*Store, error) {
	if err := db.Migrate(ctx, "files", migrations, "migrations"); err != nil {
		return nil, err
	}
	s := &Store{db: db}
	if err := s.searchIndex(ctx, log); err != nil {
		return nil, fmt.Errorf("store: search index: %w", err)
	}
	return s, nil
}

// Ping checks the database, for readiness.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

func (s *Store) q(query string) string { return s.db.Rebind(query) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func conflict(err error) error {
	if sqldb.IsUniqueViolation(err) {
		return ErrConflict
	}
	return err
}

// Space is a personal or team space; Role is the caller's when listed for
// an agent.
type Space struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	OwnerID   string    `json:"-"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Role      string    `json:"role,omitempty"`
	// Quota (bytes, 0: unlimited) and Used are filled by drive.
	Quota int64 `json:"quota"`
	Used  int64 `json:"used"`
}

// CreateSpace inserts sp with creator as its owner. For a personal space a
// second one for the same agent is ErrConflict.
func (s *Store) CreateSpace(ctx context.Context, sp Space) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO files_spaces (id, kind, name, owner_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
			sp.ID, sp.Kind, sp.Name, sp.OwnerID, sp.CreatedBy, ms(sp.CreatedAt))
		if err != nil {
			return conflict(err)
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO files_members (space_id, user_id, role, added_by, added_at) VALUES (?, ?, ?, ?, ?)`),
			sp.ID, sp.CreatedBy, RoleOwner, sp.CreatedBy, ms(sp.CreatedAt))
		return conflict(err)
	})
}

const spaceCols = `s.id, s.kind, s.name, s.owner_id, s.created_by, s.created_at`

func scanSpace(row interface{ Scan(...any) error }, extra ...any) (Space, error) {
	var sp Space
	var at int64
	err := row.Scan(append([]any{&sp.ID, &sp.Kind, &sp.Name, &sp.OwnerID, &sp.CreatedBy, &at}, extra...)...)
	sp.CreatedAt = fromMS(at)
	return sp, notFound(err)
}

// PersonalSpace returns the personal space of user, or ErrNotFound.
func (s *Store) PersonalSpace(ctx context.Context, user string) (Space, error) {
	row := s.db.Read.QueryRowContext(ctx, s.q(`SELECT `+spaceCols+` FROM files_spaces s WHERE s.kind = 'personal' AND s.owner_id = ?`), user)
	sp, err := scanSpace(row)
	sp.Role = RoleOwner
	return sp, err
}

// SpaceFor returns space id with user's role in it; ErrNotFound when
// either is missing, so that a non-member learns nothing.
func (s *Store) SpaceFor(ctx context.Context, id, user string) (Space, error) {
	row := s.db.Read.QueryRowContext(ctx, s.q(`SELECT `+spaceCols+`, m.role FROM files_spaces s
		JOIN files_members m ON m.space_id = s.id WHERE s.id = ? AND m.user_id = ?`), id, user)
	var role string
	sp, err := scanSpace(row, &role)
	sp.Role = role
	return sp, err
}

// SpacesOf lists the spaces user belongs to: personal first, then by name.
func (s *Store) SpacesOf(ctx context.Context, user string) ([]Space, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+spaceCols+`, m.role FROM files_spaces s
		JOIN files_members m ON m.space_id = s.id WHERE m.user_id = ?
		ORDER BY CASE WHEN s.kind = 'personal' THEN 0 ELSE 1 END, LOWER(s.name), s.id`), user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Space{}
	for rows.Next() {
		var role string
		sp, err := scanSpace(rows, &role)
		if err != nil {
			return nil, err
		}
		sp.Role = role
		out = append(out, sp)
	}
	return out, rows.Err()
}

// Node is a folder or a file. The version fields describe a file's
// current version.
type Node struct {
	ID          string     `json:"id"`
	SpaceID     string     `json:"space_id"`
	ParentID    string     `json:"parent_id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Size        int64      `json:"size"`
	CreatedBy   string     `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	ModifiedAt  time.Time  `json:"modified_at"`
	TrashedAt   *time.Time `json:"trashed_at,omitempty"`
	TrashedBy   string     `json:"trashed_by,omitempty"`
	VersionID   string     `json:"version_id,omitempty"`
	ContentType string     `json:"content_type,omitempty"`
	Scan        string     `json:"scan,omitempty"`
	BlobKey     string     `json:"-"`
}

const nodeCols = `n.id, n.space_id, n.parent_id, n.kind, n.name, n.size, n.created_by, n.created_at, n.modified_at,
	n.trashed_at, n.trashed_by, n.version_id, COALESCE(v.content_type, ''), COALESCE(v.scan_state, ''), COALESCE(v.blob_key, '')`

const nodeFrom = ` FROM files_nodes n LEFT JOIN files_versions v ON v.id = n.version_id AND n.version_id <> ''`

func scanNode(row interface{ Scan(...any) error }) (Node, error) {
	var n Node
	var created, modified int64
	var trashed sql.NullInt64
	err := row.Scan(&n.ID, &n.SpaceID, &n.ParentID, &n.Kind, &n.Name, &n.Size, &n.CreatedBy, &created, &modified,
		&trashed, &n.TrashedBy, &n.VersionID, &n.ContentType, &n.Scan, &n.BlobKey)
	n.CreatedAt, n.ModifiedAt = fromMS(created), fromMS(modified)
	if trashed.Valid {
		t := fromMS(trashed.Int64)
		n.TrashedAt = &t
	}
	return n, notFound(err)
}

// CreateFolder inserts a folder; ErrConflict when the name is taken.
func (s *Store) CreateFolder(ctx context.Context, n Node) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO files_nodes (id, space_id, parent_id, kind, name, name_key, created_by, created_at, modified_at)
		VALUES (?, ?, ?, 'folder', ?, ?, ?, ?, ?)`),
		n.ID, n.SpaceID, n.ParentID, n.Name, names.Key(n.Name), n.CreatedBy, ms(n.CreatedAt), ms(n.ModifiedAt))
	return conflict(err)
}

// Node returns node id of space (trashed or not).
func (s *Store) Node(ctx context.Context, space, id string) (Node, error) {
	return scanNode(s.db.Read.QueryRowContext(ctx, s.q(`SELECT `+nodeCols+nodeFrom+` WHERE n.space_id = ? AND n.id = ?`), space, id))
}

// LiveChild returns the live child of parent named like name, if any.
func (s *Store) LiveChild(ctx context.Context, space, parent, name string) (Node, error) {
	return scanNode(s.db.Read.QueryRowContext(ctx, s.q(`SELECT `+nodeCols+nodeFrom+`
		WHERE n.space_id = ? AND n.parent_id = ? AND n.name_key = ? AND n.trashed_at IS NULL`), space, parent, names.Key(name)))
}

// Sort orders for Children.
var sortColumns = map[string]string{"name": "n.name_key", "size": "n.size", "modified": "n.modified_at"}

// ValidSort reports whether by is a sort order Children accepts.
func ValidSort(by string) bool { _, ok := sortColumns[by]; return ok }

// Children lists the live children of parent, folders first, then by the
// given order, a page at a time, with the total count.
func (s *Store) Children(ctx context.Context, space, parent, sortBy string, desc bool, limit, offset int) ([]Node, int, error) {
	col, ok := sortColumns[sortBy]
	if !ok {
		return nil, 0, fmt.Errorf("store: sort by %q", sortBy)
	}
	dir := "ASC"
	if desc {
		dir = "DESC"
	}
	var total int
	if err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM files_nodes WHERE space_id = ? AND parent_id = ? AND trashed_at IS NULL`),
		space, parent).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+nodeCols+nodeFrom+`
		WHERE n.space_id = ? AND n.parent_id = ? AND n.trashed_at IS NULL
		ORDER BY CASE WHEN n.kind = 'folder' THEN 0 ELSE 1 END, `+col+` `+dir+`, n.id `+dir+` LIMIT ? OFFSET ?`),
		space, parent, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	nodes, err := collectNodes(rows)
	return nodes, total, err
}

func collectNodes(rows *sql.Rows) ([]Node, error) {
	defer rows.Close()
	out := []Node{}
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Trashed lists the items put in the trash of space, newest first (their
// descendants stay attached to them and are not listed).
func (s *Store) Trashed(ctx context.Context, space string) ([]Node, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+nodeCols+nodeFrom+`
		WHERE n.space_id = ? AND n.trashed_at IS NOT NULL ORDER BY n.trashed_at DESC, n.id`), space)
	if err != nil {
		return nil, err
	}
	return collectNodes(rows)
}

// Place renames and/or moves a live node; ErrConflict if the target name
// is taken.
func (s *Store) Place(ctx context.Context, space, id, parent, name string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_nodes SET parent_id = ?, name = ?, name_key = ?, modified_at = ?
		WHERE space_id = ? AND id = ? AND trashed_at IS NULL`), parent, name, names.Key(name), ms(at), space, id)
	return affected(res, conflict(err))
}

// SetModified sets the modification time of a live node.
func (s *Store) SetModified(ctx context.Context, space, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_nodes SET modified_at = ? WHERE space_id = ? AND id = ? AND trashed_at IS NULL`), ms(at), space, id)
	return affected(res, err)
}

// Trash puts a live node in the trash.
func (s *Store) Trash(ctx context.Context, space, id, by string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_nodes SET trashed_at = ?, trashed_by = ? WHERE space_id = ? AND id = ? AND trashed_at IS NULL`),
		ms(at), by, space, id)
	return affected(res, err)
}

// Restore takes a node out of the trash, to its former place; ErrConflict
// if its name has been taken meanwhile.
func (s *Store) Restore(ctx context.Context, space, id string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_nodes SET trashed_at = NULL, trashed_by = '' WHERE space_id = ? AND id = ? AND trashed_at IS NOT NULL`),
		space, id)
	return affected(res, conflict(err))
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}
