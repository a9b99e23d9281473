package store

import (
	"context"
	"database/sql"
	"errors"
)

// UIASession is a user-interactive authentication session.
type UIASession struct {
	UserID    string
	Completed bool
}

// AddUIASession records a new session of userID, valid until expires
// (ms), and drops the expired ones.
func (s *Store) AddUIASession(ctx context.Context, id, userID string, now, expires int64) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_uia_sessions WHERE expires_ts < ?`), now); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_uia_sessions (session_id, user_id, expires_ts) VALUES (?, ?, ?)`), id, userID, expires)
	return err
}

// UIASession returns an unexpired session (ErrNotFound otherwise).
func (s *Store) UIASession(ctx context.Context, id string, now int64) (UIASession, error) {
	var u UIASession
	var completed int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT user_id, completed_ts FROM chat_uia_sessions WHERE session_id = ? AND expires_ts >= ?`), id, now).
		Scan(&u.UserID, &completed)
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	u.Completed = completed > 0
	return u, err
}

// CompleteUIASession marks userID's unexpired session done; false when
// there is no such session.
func (s *Store) CompleteUIASession(ctx context.Context, id, userID string, now int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_uia_sessions SET completed_ts = ? WHERE session_id = ? AND user_id = ? AND expires_ts >= ?`),
		now, id, userID, now)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TakeUIASession consumes userID's session: true when it was completed
// and unexpired. A session authorises one operation, even when two
// replicas receive it at once.
func (s *Store) TakeUIASession(ctx context.Context, id, userID string, now int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_uia_sessions WHERE session_id = ? AND user_id = ? AND completed_ts > 0 AND expires_ts >= ?`),
		id, userID, now)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeleteUIASession drops a session.
func (s *Store) DeleteUIASession(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_uia_sessions WHERE session_id = ?`), id)
	return err
}
