package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"bureau/services/platform/sqldb"
)

// ErrLastOwner: the change would leave a space without an owner.
var ErrLastOwner = errors.New("store: last owner")

// Member statuses.
const (
	StatusMember  = "member"
	StatusPending = "pending" // invited by email, not signed in yet
	StatusExpired = "expired" // an invitation past its expiry: not claimed
)

// Member is an agent's role in a space, or a pending invitation (Status
// pending, UserID empty, Email set).
type Member struct {
	SpaceID string    `json:"-"`
	UserID  string    `json:"user_id"`
	Email   string    `json:"email,omitempty"`
	Role    string    `json:"role"`
	Status  string    `json:"status"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
	// ExpiresAt is when an invitation lapses (nil for a member).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// AddMember inserts m; ErrConflict if the agent is already a member.
func (s *Store) AddMember(ctx context.Context, m Member) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO files_members (space_id, user_id, role, added_by, added_at) VALUES (?, ?, ?, ?, ?)`),
		m.SpaceID, m.UserID, m.Role, m.AddedBy, ms(m.AddedAt))
	return conflict(err)
}

const roleOrder = `CASE role WHEN 'owner' THEN 0 WHEN 'manager' THEN 1 WHEN 'editor' THEN 2 ELSE 3 END`

// Members lists a space's members by rank, then id, then its pending
// invitations by rank, then email.
func (s *Store) Members(ctx context.Context, space string) ([]Member, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT m.user_id, COALESCE(a.email, ''), m.role, m.added_by, m.added_at, 0
		FROM files_members m LEFT JOIN files_agents a ON a.user_id = m.user_id WHERE m.space_id = ?
		ORDER BY `+strings.ReplaceAll(roleOrder, "role", "m.role")+`, m.user_id`), space)
	if err != nil {
		return nil, err
	}
	out, err := collectMembers(rows, space, StatusMember)
	if err != nil {
		return nil, err
	}
	rows, err = s.db.Read.QueryContext(ctx, s.q(`SELECT '', email, role, invited_by, invited_at, expires_at FROM files_invitations
		WHERE space_id = ? ORDER BY `+roleOrder+`, email`), space)
	if err != nil {
		return nil, err
	}
	pending, err := collectMembers(rows, space, StatusPending)
	return append(out, pending...), err
}

func collectMembers(rows *sql.Rows, space, status string) ([]Member, error) {
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		m := Member{SpaceID: space, Status: status}
		var at, exp int64
		if err := rows.Scan(&m.UserID, &m.Email, &m.Role, &m.AddedBy, &at, &exp); err != nil {
			return nil, err
		}
		m.AddedAt = fromMS(at)
		if exp > 0 {
			t := fromMS(exp)
			m.ExpiresAt = &t
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Member returns user's membership of space.
func (s *Store) Member(ctx context.Context, space, user string) (Member, error) {
	m := Member{SpaceID: space, UserID: user, Status: StatusMember}
	var at int64
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT role, added_by, added_at FROM files_members WHERE space_id = ? AND user_id = ?`),
		space, user).Scan(&m.Role, &m.AddedBy, &at)
	m.AddedAt = fromMS(at)
	return m, notFound(err)
}

// lockSpace serialises membership changes of one space on PostgreSQL
// (SQLite has a single writer already), so that two concurrent demotions
// cannot both see the other owner.
func (s *Store) lockSpace(ctx context.Context, tx *sql.Tx, space string) error {
	if s.db.Dialect != sqldb.Postgres {
		return nil
	}
	var id string
	return notFound(tx.QueryRowContext(ctx, `SELECT id FROM files_spaces WHERE id = $1 FOR UPDATE`, space).Scan(&id))
}

// changeMember runs change (an UPDATE or DELETE of user's row) and
// refuses with ErrLastOwner if no owner is left.
func (s *Store) changeMember(ctx context.Context, space, user, query string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockSpace(ctx, tx, space); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(query), args...)
		if err := affected(res, err); err != nil {
			return err
		}
		var owners int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM files_members WHERE space_id = ? AND role = 'owner'`), space).Scan(&owners); err != nil {
			return err
		}
		if owners == 0 {
			return ErrLastOwner
		}
		return nil
	})
}

// SetRole changes a member's role; ErrLastOwner if that demotes the last
// owner.
func (s *Store) SetRole(ctx context.Context, space, user, role string) error {
	return s.changeMember(ctx, space, user, `UPDATE files_members SET role = ? WHERE space_id = ? AND user_id = ?`, role, space, user)
}

// RemoveMember removes a member; ErrLastOwner for the last owner.
func (s *Store) RemoveMember(ctx context.Context, space, user string) error {
	return s.changeMember(ctx, space, user, `DELETE FROM files_members WHERE space_id = ? AND user_id = ?`, space, user)
}

// Invite records a pending invitation, valid until m.ExpiresAt;
// ErrConflict if the email is already invited to the space.
func (s *Store) Invite(ctx context.Context, m Member) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO files_invitations (space_id, email, role, invited_by, invited_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		m.SpaceID, strings.ToLower(m.Email), m.Role, m.AddedBy, ms(m.AddedAt), optMS(m.ExpiresAt))
	return conflict(err)
}

// Invited reports whether email has an invitation (valid or expired) to
// space.
func (s *Store) Invited(ctx context.Context, space, email string) (bool, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM files_invitations WHERE space_id = ? AND email = ?`), space, strings.ToLower(email)).Scan(&n)
	return n > 0, err
}

// RenewInvitation sends an invitation again: new role, inviter, date and
// expiry (an expired one becomes pending again).
func (s *Store) RenewInvitation(ctx context.Context, m Member) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_invitations SET role = ?, invited_by = ?, invited_at = ?, expires_at = ? WHERE space_id = ? AND email = ?`),
		m.Role, m.AddedBy, ms(m.AddedAt), optMS(m.ExpiresAt), m.SpaceID, strings.ToLower(m.Email))
	return affected(res, err)
}

// DeleteInvitation withdraws a pending invitation.
func (s *Store) DeleteInvitation(ctx context.Context, space, email string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM files_invitations WHERE space_id = ? AND email = ?`), space, strings.ToLower(email))
	return affected(res, err)
}

// AgentEmail returns the email user was last seen with.
func (s *Store) AgentEmail(ctx context.Context, user string) (string, error) {
	var email string
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT email FROM files_agents WHERE user_id = ?`), user).Scan(&email)
	return email, notFound(err)
}

// AgentByEmail returns the id of the agent seen with email.
func (s *Store) AgentByEmail(ctx context.Context, email string) (string, error) {
	var id string
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT user_id FROM files_agents WHERE email = ? ORDER BY first_seen LIMIT 1`),
		strings.ToLower(email)).Scan(&id)
	return id, notFound(err)
}

// SeeAgent records that user (with email) made a request, and turns the
// invitations to that email still valid at at into memberships, returned
// for notifying with those that expired; each invitation is claimed by
// exactly one caller, even across replicas.
func (s *Store) SeeAgent(ctx context.Context, user, email string, at time.Time) (claimed, expired []Member, err error) {
	email = strings.ToLower(email)
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO files_agents (user_id, email, first_seen) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET email = excluded.email`), user, email, ms(at))
	if err != nil || email == "" {
		return nil, nil, err
	}
	return s.ClaimInvitations(ctx, user, email, at)
}

// ClaimInvitations turns the invitations to email still valid at now
// into memberships of user (kept as they are where user is a member
// already); it returns them, and the expired ones, which stay.
func (s *Store) ClaimInvitations(ctx context.Context, user, email string, now time.Time) (claimed, expired []Member, err error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT '', email, role, invited_by, invited_at, expires_at, space_id FROM files_invitations WHERE email = ?`), strings.ToLower(email))
	if err != nil {
		return nil, nil, err
	}
	var invs []Member
	for rows.Next() {
		var m Member
		var at, exp int64
		if err := rows.Scan(&m.UserID, &m.Email, &m.Role, &m.AddedBy, &at, &exp, &m.SpaceID); err != nil {
			rows.Close()
			return nil, nil, err
		}
		m.AddedAt, m.UserID, m.Status = fromMS(at), user, StatusMember
		if exp <= ms(now) {
			t := fromMS(exp)
			m.ExpiresAt, m.Status = &t, StatusExpired
			expired = append(expired, m)
			continue
		}
		invs = append(invs, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	for _, m := range invs {
		var won bool
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			// Only if still valid: it may have been withdrawn or claimed since.
			res, err := tx.ExecContext(ctx, s.q(`DELETE FROM files_invitations WHERE space_id = ? AND email = ? AND expires_at > ?`), m.SpaceID, m.Email, ms(now))
			if err := affected(res, err); errors.Is(err, ErrNotFound) {
				return nil // another request claimed it
			} else if err != nil {
				return err
			}
			res, err = tx.ExecContext(ctx, s.q(`INSERT INTO files_members (space_id, user_id, role, added_by, added_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (space_id, user_id) DO NOTHING`), m.SpaceID, user, m.Role, m.AddedBy, ms(m.AddedAt))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			won = n > 0
			return err
		})
		if err != nil {
			return claimed, expired, err
		}
		if won {
			claimed = append(claimed, m)
		}
	}
	return claimed, expired, nil
}
