package store

import (
	"context"
	"database/sql"
	"errors"
)

// Presence is a user's stored presence row. State is as last set; the
// state others read is derived from it and the timestamps (clientapi).
type Presence struct {
	UserID, State, StatusMsg string
	LastActive, LastSync     int64 // ms
	Pos                      int64
}

// GetPresence returns a user's row; ErrNotFound when they never had one.
func (s *Store) GetPresence(ctx context.Context, userID string) (Presence, error) {
	p := Presence{UserID: userID}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT state, status_msg, last_active_ts, last_sync_ts, stream_pos FROM chat_presence WHERE user_id = ?`), userID).
		Scan(&p.State, &p.StatusMsg, &p.LastActive, &p.LastSync, &p.Pos)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

// SetPresence stores a change of state or status message at a new stream
// position (what incremental syncs pick up) and returns it.
func (s *Store) SetPresence(ctx context.Context, p Presence) (int64, error) {
	return s.atNextPos(ctx, func(tx *sql.Tx, pos int64) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_presence (user_id, state, status_msg, last_active_ts, last_sync_ts, stream_pos)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, status_msg = excluded.status_msg,
				last_active_ts = excluded.last_active_ts, last_sync_ts = excluded.last_sync_ts, stream_pos = excluded.stream_pos`),
			p.UserID, p.State, p.StatusMsg, p.LastActive, p.LastSync, pos)
		return err
	})
}

// errStale rolls back a conditional presence write.
var errStale = errors.New("store: presence row changed")

// ExpirePresence records a change of state that time alone made (idle,
// then offline) at a new stream position, unless the row changed since p
// was read (a refresh or another replica came first): false then.
func (s *Store) ExpirePresence(ctx context.Context, p Presence, state string) (bool, error) {
	_, err := s.atNextPos(ctx, func(tx *sql.Tx, pos int64) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE chat_presence SET state = ?, stream_pos = ?
			WHERE user_id = ? AND state = ? AND stream_pos = ? AND last_active_ts = ? AND last_sync_ts = ?`),
			state, pos, p.UserID, p.State, p.Pos, p.LastActive, p.LastSync)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errStale
		}
		return nil
	})
	if errors.Is(err, errStale) {
		return false, nil
	}
	return err == nil, err
}

// LivePresences returns the rows not offline: those whose state time
// may still change (timers to arm at start).
func (s *Store) LivePresences(ctx context.Context) ([]Presence, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT user_id, state, status_msg, last_active_ts, last_sync_ts, stream_pos FROM chat_presence
		WHERE state <> 'offline' ORDER BY user_id`))
	if err != nil {
		return nil, err
	}
	return scanPresences(rows)
}

// TouchPresence refreshes the timestamps without a new stream position
// (a refresh is not news to anyone). Zero leaves a timestamp unchanged.
func (s *Store) TouchPresence(ctx context.Context, userID string, lastActive, lastSync int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_presence SET
		last_active_ts = CASE WHEN ? > last_active_ts THEN ? ELSE last_active_ts END,
		last_sync_ts = CASE WHEN ? > last_sync_ts THEN ? ELSE last_sync_ts END
		WHERE user_id = ?`), lastActive, lastActive, lastSync, lastSync, userID)
	return err
}

// PresenceChanges returns the presence rows changed in (after, upTo] of
// userID and of the users sharing a joined room with them. One query,
// driven by the stream position index.
func (s *Store) PresenceChanges(ctx context.Context, userID string, after, upTo int64) ([]Presence, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT user_id, state, status_msg, last_active_ts, last_sync_ts, stream_pos FROM chat_presence
		WHERE stream_pos > ? AND stream_pos <= ? AND (user_id = ? OR user_id IN (
			SELECT m2.user_id FROM chat_memberships m1
			JOIN chat_memberships m2 ON m2.room_id = m1.room_id AND m2.membership = 'join'
			WHERE m1.user_id = ? AND m1.membership = 'join'))
		ORDER BY user_id`), after, upTo, userID, userID)
	if err != nil {
		return nil, err
	}
	return scanPresences(rows)
}

// Presences returns the rows of the given users (those who have one).
func (s *Store) Presences(ctx context.Context, userIDs []string) ([]Presence, error) {
	var out []Presence
	err := inBatches(userIDs, func(part []string) error {
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT user_id, state, status_msg, last_active_ts, last_sync_ts, stream_pos FROM chat_presence
			WHERE user_id IN (`+placeholders(len(part))+`) ORDER BY user_id`), anys(part)...)
		if err != nil {
			return err
		}
		got, err := scanPresences(rows)
		out = append(out, got...)
		return err
	})
	return out, err
}

func scanPresences(rows *sql.Rows) ([]Presence, error) {
	defer rows.Close()
	var out []Presence
	for rows.Next() {
		var p Presence
		if err := rows.Scan(&p.UserID, &p.State, &p.StatusMsg, &p.LastActive, &p.LastSync, &p.Pos); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SharesRoom reports whether two users are both joined to some room.
func (s *Store) SharesRoom(ctx context.Context, a, b string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM chat_memberships m1
		JOIN chat_memberships m2 ON m2.room_id = m1.room_id AND m2.user_id = ? AND m2.membership = 'join'
		WHERE m1.user_id = ? AND m1.membership = 'join'`), b, a).Scan(&n)
	return n > 0, err
}
