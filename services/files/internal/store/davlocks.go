package store

import (
	"context"
	"database/sql"
	"errors"
	"path"
	"strings"
	"time"

	"bureau/services/files/internal/names"
	"bureau/services/platform/sqldb"
)

// DavLock is a WebDAV lock on a path (/<space id>/names…).
type DavLock struct {
	Token     string
	Root      string
	ZeroDepth bool
	OwnerXML  string
	Duration  time.Duration // < 0: infinite
	ExpiresAt time.Time     // zero: never
	CreatedBy string
}

// ErrForbidden: the lock belongs to another agent.
var ErrForbidden = errors.New("store: forbidden")

const lockCols = `token, root, zero_depth, owner_xml, duration_ms, expires_at, created_by`

func scanLock(row interface{ Scan(...any) error }) (DavLock, error) {
	var l DavLock
	var zero int
	var dur, exp int64
	err := row.Scan(&l.Token, &l.Root, &zero, &l.OwnerXML, &dur, &exp, &l.CreatedBy)
	l.ZeroDepth = zero != 0
	l.Duration = time.Duration(dur) * time.Millisecond
	if dur < 0 {
		l.Duration = -1
	}
	if exp != 0 {
		l.ExpiresAt = fromMS(exp)
	}
	return l, notFound(err)
}

func expiry(l DavLock) int64 {
	if l.ExpiresAt.IsZero() {
		return 0
	}
	return ms(l.ExpiresAt)
}

// ancestors returns root and its ancestors, lower-cased: /a/b → /a/b, /a, /.
func lockAncestors(root string) []string {
	out := []string{}
	for p := names.Key(path.Clean(root)); ; p = path.Dir(p) {
		out = append(out, p)
		if p == "/" || p == "." {
			return out
		}
	}
}

// CreateLock records l (insert false: only checks it could be), unless
// an unexpired lock is in the way: on the same path, on an ancestor with
// infinite depth, or — for an infinite-depth l — below it (ErrConflict).
func (s *Store) CreateLock(ctx context.Context, l DavLock, now time.Time, insert bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.db.Dialect == sqldb.Postgres {
			// Lock creations are rare: one at a time, so that two
			// overlapping ones cannot both pass the check.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7202611)`); err != nil {
				return err
			}
		}
		if insert {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM files_dav_locks WHERE expires_at <> 0 AND expires_at < ?`), ms(now)); err != nil {
				return err
			}
		}
		anc := lockAncestors(l.Root)
		key := anc[0]
		prefix := strings.TrimSuffix(key, "/") + "/"
		rows, err := tx.QueryContext(ctx, s.q(`SELECT root_key, zero_depth FROM files_dav_locks WHERE (expires_at = 0 OR expires_at >= ?)
			AND (root_key IN `+placeholders(len(anc))+` OR substr(root_key, 1, ?) = ?)`),
			append(append([]any{ms(now)}, anys(anc)...), len([]rune(prefix)), prefix)...)
		if err != nil {
			return err
		}
		conflict := false
		for rows.Next() {
			var rk string
			var zero int
			if err := rows.Scan(&rk, &zero); err != nil {
				rows.Close()
				return err
			}
			switch {
			case rk == key:
				conflict = true
			case strings.HasPrefix(rk, prefix): // below
				conflict = conflict || !l.ZeroDepth
			default: // above
				conflict = conflict || zero == 0
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if conflict {
			return ErrConflict
		}
		if !insert {
			return nil
		}
		dur := l.Duration.Milliseconds()
		if l.Duration < 0 {
			dur = -1
		}
		zero := 0
		if l.ZeroDepth {
			zero = 1
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO files_dav_locks (token, root, root_key, zero_depth, owner_xml, duration_ms, expires_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), l.Token, l.Root, key, zero, l.OwnerXML, dur, expiry(l), l.CreatedBy)
		return err
	})
}

// Lock returns the unexpired lock token.
func (s *Store) Lock(ctx context.Context, token string, now time.Time) (DavLock, error) {
	return scanLock(s.db.QueryRowContext(ctx, s.q(`SELECT `+lockCols+` FROM files_dav_locks WHERE token = ? AND (expires_at = 0 OR expires_at >= ?)`),
		token, ms(now)))
}

// RefreshLock gives an unexpired lock a new duration from now.
func (s *Store) RefreshLock(ctx context.Context, token string, d time.Duration, now time.Time) (DavLock, error) {
	l, err := s.Lock(ctx, token, now)
	if err != nil {
		return l, err
	}
	l.Duration, l.ExpiresAt = d, time.Time{}
	dur := int64(-1)
	if d >= 0 {
		l.ExpiresAt, dur = now.Add(d), d.Milliseconds()
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_dav_locks SET duration_ms = ?, expires_at = ? WHERE token = ?`), dur, expiry(l), token)
	return l, affected(res, err)
}

// DeleteLock removes lock token of user (ErrForbidden for another's).
func (s *Store) DeleteLock(ctx context.Context, token, user string, now time.Time) error {
	l, err := s.Lock(ctx, token, now)
	if err != nil {
		return err
	}
	if l.CreatedBy != user {
		return ErrForbidden
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM files_dav_locks WHERE token = ?`), token)
	return affected(res, err)
}
