// Package store keeps meet's meetings and guest links in SQLite or
// PostgreSQL (tables prefixed meet_, one set of migrations for both). The
// live state of a meeting (who is connected) is not stored: it lives on the
// node serving the room and is rebuilt by the participants rejoining.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"strings"
	"time"

	"bureau/services/meet/internal/rooms"
	"bureau/services/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

// ErrNotFound: no such row.
var ErrNotFound = errors.New("store: not found")

// Store is meet's database.
type Store struct {
	db *sqldb.DB
}

// Open migrates db and returns the store.
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, "meet", migrations, "migrations"); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Ping checks the database, for readiness.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

func (s *Store) q(query string) string { return s.db.Rebind(query) }

func ms(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

func (s *Store) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

const roomCols = `id, title, kind, access, host_id, host_name, ministry, starts_at, ends_at, locked, created_at, cancelled_at, webinar_chat`

type scanner interface{ Scan(...any) error }

func scanRoom(sc scanner) (*rooms.Room, error) {
	var r rooms.Room
	var starts, ends, cancelled sql.NullInt64
	var created int64
	var locked int
	if err := sc.Scan(&r.ID, &r.Title, &r.Kind, &r.Access, &r.HostID, &r.HostName, &r.Ministry, &starts, &ends, &locked, &created, &cancelled, &r.WebinarChat); err != nil {
		return nil, err
	}
	r.StartsAt, r.EndsAt, r.CancelledAt = fromMS(starts), fromMS(ends), fromMS(cancelled)
	r.CreatedAt = time.UnixMilli(created).UTC()
	r.Locked = locked != 0
	return &r, nil
}

// CreateRoom stores a new room.
func (s *Store) CreateRoom(ctx context.Context, r *rooms.Room) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO meet_rooms (`+roomCols+`, updated_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			r.ID, r.Title, r.Kind, r.Access, r.HostID, r.HostName, r.Ministry, ms(r.StartsAt), ms(r.EndsAt), boolInt(r.Locked),
			r.CreatedAt.UnixMilli(), ms(r.CancelledAt), string(r.Chat()), r.CreatedAt.UnixMilli(), r.CreatedAt.UnixMilli()); err != nil {
			return err
		}
		return s.putPeople(ctx, tx, r)
	})
}

// UpdateRoom rewrites what a host may change: title, access, people,
// schedule, webinar chat.
func (s *Store) UpdateRoom(ctx context.Context, r *rooms.Room, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE meet_rooms SET title = ?, access = ?, starts_at = ?, ends_at = ?, webinar_chat = ?, updated_at = ? WHERE id = ?`),
			r.Title, r.Access, ms(r.StartsAt), ms(r.EndsAt), string(r.Chat()), now.UnixMilli(), r.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM meet_room_people WHERE room_id = ?`), r.ID); err != nil {
			return err
		}
		return s.putPeople(ctx, tx, r)
	})
}

const (
	personInvitee   = "invitee"
	personModerator = "moderator"
	personPresenter = "presenter"
)

func (s *Store) putPeople(ctx context.Context, tx *sql.Tx, r *rooms.Room) error {
	ins := s.q(`INSERT INTO meet_room_people (room_id, role, email, pos) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	for _, l := range []struct {
		role string
		list []string
	}{{personInvitee, r.Invitees}, {personModerator, r.Moderators}, {personPresenter, r.Presenters}} {
		for i, e := range l.list {
			if _, err := tx.ExecContext(ctx, ins, r.ID, l.role, e, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// Room returns a room, cancelled ones included (CancelledAt set).
func (s *Store) Room(ctx context.Context, id string) (*rooms.Room, error) {
	r, err := scanRoom(s.db.Read.QueryRowContext(ctx, s.q(`SELECT `+roomCols+` FROM meet_rooms WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := s.loadPeople(ctx, []*rooms.Room{r}); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Store) loadPeople(ctx context.Context, rs []*rooms.Room) error {
	if len(rs) == 0 {
		return nil
	}
	byID := make(map[string]*rooms.Room, len(rs))
	args := make([]any, 0, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
		r.Invitees, r.Moderators, r.Presenters = []string{}, []string{}, []string{}
		args = append(args, r.ID)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(rs)), ", ")
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT room_id, role, email FROM meet_room_people WHERE room_id IN (`+marks+`) ORDER BY room_id, role, pos`), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, role, email string
		if err := rows.Scan(&id, &role, &email); err != nil {
			return err
		}
		r := byID[id]
		switch role {
		case personInvitee:
			r.Invitees = append(r.Invitees, email)
		case personModerator:
			r.Moderators = append(r.Moderators, email)
		case personPresenter:
			r.Presenters = append(r.Presenters, email)
		}
	}
	return rows.Err()
}

// ListFilter selects "my meetings".
type ListFilter struct {
	UserID string
	Email  string // lower-case; rooms naming it as invitee, moderator or presenter
	// Upcoming keeps scheduled meetings not yet over at Now, soonest
	// first; otherwise every meeting, most recent (start or creation)
	// first.
	Upcoming bool
	Now      time.Time
	Limit    int
}

// ListRooms returns the meetings u hosts or is named in, cancelled ones
// excluded.
func (s *Store) ListRooms(ctx context.Context, f ListFilter) ([]*rooms.Room, error) {
	query := `SELECT ` + roomCols + ` FROM meet_rooms WHERE cancelled_at IS NULL
		AND (host_id = ? OR id IN (SELECT room_id FROM meet_room_people WHERE email = ?))`
	args := []any{f.UserID, f.Email}
	if f.Upcoming {
		query += ` AND ends_at >= ? ORDER BY starts_at, id`
		args = append(args, f.Now.UnixMilli())
	} else {
		query += ` ORDER BY COALESCE(starts_at, created_at) DESC, id`
	}
	query += ` LIMIT ?`
	args = append(args, f.Limit)
	rows, err := s.db.Read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	var out []*rooms.Room
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.loadPeople(ctx, out)
}

// SetLocked records the lock state of a room.
func (s *Store) SetLocked(ctx context.Context, id string, locked bool) error {
	return s.exec1(ctx, `UPDATE meet_rooms SET locked = ? WHERE id = ?`, boolInt(locked), id)
}

// SetWebinarChat records who may chat in a webinar (changed live).
func (s *Store) SetWebinarChat(ctx context.Context, id string, w rooms.WebinarChat) error {
	return s.exec1(ctx, `UPDATE meet_rooms SET webinar_chat = ? WHERE id = ?`, string(w), id)
}

// CancelRoom marks a room cancelled: its link and guest links stop
// working.
func (s *Store) CancelRoom(ctx context.Context, id string, at time.Time) error {
	return s.exec1(ctx, `UPDATE meet_rooms SET cancelled_at = ?, updated_at = ? WHERE id = ? AND cancelled_at IS NULL`, at.UnixMilli(), at.UnixMilli(), id)
}

// exec1 runs an update that must touch one row.
func (s *Store) exec1(ctx context.Context, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
