package store

import (
	"context"
	"database/sql"
	"time"
)

// Admission is what a meeting in progress granted someone: entry (they
// were let in from the lobby), the role they hold (speaker once promoted)
// and a raised hand. It outlives the node serving the meeting, so that the
// person rejoining — after the resume grace, or on another node — is let
// in directly as they were.
type Admission struct {
	Role string
	Hand bool
}

// Admit records (or replaces) what subject holds in the room's meeting.
func (s *Store) Admit(ctx context.Context, roomID, subject string, a Admission, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO meet_admissions (room_id, subject, role, hand, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (room_id, subject) DO UPDATE SET role = excluded.role, hand = excluded.hand, updated_at = excluded.updated_at`),
		roomID, subject, a.Role, boolInt(a.Hand), at.UnixMilli())
	return err
}

// Standing is where someone stands in a room's meeting as they join.
type Standing struct {
	Banned   bool      // a moderator removed them: they stay out
	Admitted bool      // let in earlier in this meeting
	Was      Admission // what they held then (when Admitted)
}

// Standing reads subject's ban and admission in one query, at each join.
func (s *Store) Standing(ctx context.Context, roomID, subject string) (Standing, error) {
	var banned int
	var role sql.NullString
	var hand sql.NullInt64
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT
		(SELECT COUNT(*) FROM meet_bans WHERE room_id = ? AND subject = ?),
		(SELECT role FROM meet_admissions WHERE room_id = ? AND subject = ?),
		(SELECT hand FROM meet_admissions WHERE room_id = ? AND subject = ?)`),
		roomID, subject, roomID, subject, roomID, subject).Scan(&banned, &role, &hand)
	if err != nil {
		return Standing{}, err
	}
	return Standing{Banned: banned > 0, Admitted: role.Valid, Was: Admission{Role: role.String, Hand: hand.Int64 != 0}}, nil
}

// ForgetAdmission clears what subject held (removed from the meeting).
func (s *Store) ForgetAdmission(ctx context.Context, roomID, subject string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM meet_admissions WHERE room_id = ? AND subject = ?`), roomID, subject)
	return err
}

// ForgetAdmissions clears a meeting's admissions: it is over, the next one
// starts from the room's rules.
func (s *Store) ForgetAdmissions(ctx context.Context, roomID string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM meet_admissions WHERE room_id = ?`), roomID)
	return err
}
