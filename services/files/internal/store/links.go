package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
)

// Link kinds.
const (
	LinkRead   = "read"
	LinkUpload = "upload"
)

// Link is a share link; the token itself is never stored.
type Link struct {
	ID           string     `json:"id"`
	SpaceID      string     `json:"space_id"`
	NodeID       string     `json:"node_id"`
	Kind         string     `json:"kind"`
	TokenHash    string     `json:"-"`
	PasswordHash string     `json:"-"`
	HasPassword  bool       `json:"has_password"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
}

func optMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ms(*t)
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// CreateLink inserts l.
func (s *Store) CreateLink(ctx context.Context, l Link) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO files_links (id, token_hash, space_id, node_id, kind, password_hash, expires_at, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		l.ID, l.TokenHash, l.SpaceID, l.NodeID, l.Kind, l.PasswordHash, optMS(l.ExpiresAt), l.CreatedBy, ms(l.CreatedAt))
	return conflict(err)
}

const linkCols = `id, space_id, node_id, kind, token_hash, password_hash, expires_at, created_by, created_at, revoked_at`

func scanLink(row interface{ Scan(...any) error }) (Link, error) {
	var l Link
	var exp, rev sql.NullInt64
	var created int64
	err := row.Scan(&l.ID, &l.SpaceID, &l.NodeID, &l.Kind, &l.TokenHash, &l.PasswordHash, &exp, &l.CreatedBy, &created, &rev)
	l.ExpiresAt, l.RevokedAt, l.CreatedAt = optTime(exp), optTime(rev), fromMS(created)
	l.HasPassword = l.PasswordHash != ""
	return l, notFound(err)
}

// LinkByToken returns the link whose token hashes to hash.
func (s *Store) LinkByToken(ctx context.Context, hash string) (Link, error) {
	return scanLink(s.db.Read.QueryRowContext(ctx, s.q(`SELECT `+linkCols+` FROM files_links WHERE token_hash = ?`), hash))
}

// Links lists the links of a space, newest first.
func (s *Store) Links(ctx context.Context, space string) ([]Link, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+linkCols+` FROM files_links WHERE space_id = ? ORDER BY created_at DESC, id`), space)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Link{}
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// RevokeLink revokes a live link of space.
func (s *Store) RevokeLink(ctx context.Context, space, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_links SET revoked_at = ? WHERE space_id = ? AND id = ? AND revoked_at IS NULL`), ms(at), space, id)
	return affected(res, err)
}

// Audit is one entry of a space's log.
type Audit struct {
	ID      string    `json:"id"`
	SpaceID string    `json:"-"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	// ActorEmail is the agent's email, when the service has seen them.
	ActorEmail string `json:"actor_email,omitempty"`
	Action     string `json:"action"`
	NodeID     string `json:"node_id,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// AddAudit appends an entry.
func (s *Store) AddAudit(ctx context.Context, a Audit) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO files_audit (id, space_id, at, actor, action, node_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		a.ID, a.SpaceID, ms(a.At), a.Actor, a.Action, a.NodeID, a.Detail)
	return err
}

// AuditQuery selects a page of a space's log: only these actions (none:
// all), after a cursor (newest first).
type AuditQuery struct {
	Actions []string
	After   Cursor
	Limit   int
}

// AuditLog returns up to q.Limit entries of a space, newest first, with
// the actor's email when the service has seen them, and the cursor of
// the next page (nil at the end). The index (space_id, at) serves the
// keyset condition; an action filter reads along it.
func (s *Store) AuditLog(ctx context.Context, space string, q AuditQuery) ([]Audit, *Cursor, error) {
	where, args := `a.space_id = ?`, []any{space}
	if q.After.ID != "" {
		at, err := strconv.ParseInt(q.After.Key, 10, 64)
		if err != nil {
			return nil, nil, ErrBadCursor
		}
		where += ` AND (a.at < ? OR (a.at = ? AND a.id < ?))`
		args = append(args, at, at, q.After.ID)
	}
	if len(q.Actions) > 0 {
		where += ` AND a.action IN (?` + strings.Repeat(`, ?`, len(q.Actions)-1) + `)`
		for _, a := range q.Actions {
			args = append(args, a)
		}
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT a.id, a.at, a.actor, COALESCE(g.email, ''), a.action, a.node_id, a.detail
		FROM files_audit a LEFT JOIN files_agents g ON g.user_id = a.actor
		WHERE `+where+` ORDER BY a.at DESC, a.id DESC LIMIT ?`), append(args, q.Limit+1)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	out := []Audit{}
	for rows.Next() {
		a := Audit{SpaceID: space}
		var at int64
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.ActorEmail, &a.Action, &a.NodeID, &a.Detail); err != nil {
			return nil, nil, err
		}
		a.At = fromMS(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(out) <= q.Limit {
		return out, nil, nil
	}
	out = out[:q.Limit]
	last := out[len(out)-1]
	return out, &Cursor{Key: strconv.FormatInt(ms(last.At), 10), ID: last.ID}, nil
}

// Usage returns the bytes a space holds (every version, trash included)
// and the bytes announced by its uploads in progress (but except).
func (s *Store) Usage(ctx context.Context, space, except string) (stored, reserved int64, err error) {
	err = s.db.Read.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(v.size), 0) FROM files_versions v JOIN files_nodes n ON n.id = v.node_id WHERE n.space_id = ?`),
		space).Scan(&stored)
	if err != nil {
		return
	}
	err = s.db.Read.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(length), 0) FROM files_uploads WHERE space_id = ? AND id <> ?`),
		space, except).Scan(&reserved)
	return
}

// AgentUsage returns the bytes of the versions user uploaded, in every
// space (old versions and trash included, until pruned or purged), and
// the bytes announced by user's uploads in progress (but except).
func (s *Store) AgentUsage(ctx context.Context, user, except string) (stored, reserved int64, err error) {
	err = s.db.Read.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(size), 0) FROM files_versions WHERE uploaded_by = ?`), user).Scan(&stored)
	if err != nil {
		return
	}
	err = s.db.Read.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(length), 0) FROM files_uploads WHERE user_id = ? AND id <> ?`),
		user, except).Scan(&reserved)
	return
}

// Quota returns a space's own quota (0: none set, the default applies).
func (s *Store) Quota(ctx context.Context, space string) (int64, error) {
	var q sql.NullInt64
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT quota FROM files_spaces WHERE id = ?`), space).Scan(&q)
	return q.Int64, notFound(err)
}

// SetQuota sets a space's own quota (0: back to the default).
func (s *Store) SetQuota(ctx context.Context, space string, quota int64) error {
	var v any
	if quota > 0 {
		v = quota
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_spaces SET quota = ? WHERE id = ?`), v, space)
	return affected(res, err)
}
