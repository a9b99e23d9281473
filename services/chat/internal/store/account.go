package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// AllocPos takes a stream position for a change kept outside the database
// (typing notifications).
func (s *Store) AllocPos(ctx context.Context) (int64, error) {
	return s.atNextPos(ctx, func(*sql.Tx, int64) error { return nil })
}

// atNextPos runs write in a transaction at a new stream position, which
// it returns once committed.
func (s *Store) atNextPos(ctx context.Context, write func(tx *sql.Tx, pos int64) error) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	pos, err := s.nextPos(ctx, tx)
	if err != nil {
		return 0, err
	}
	if err := write(tx, pos); err != nil {
		return 0, err
	}
	return pos, tx.Commit()
}

// AccountData is an account data event; RoomID "" is global.
type AccountData struct {
	RoomID, Type, Content string
	Pos                   int64
}

// PutAccountData sets an account data event.
func (s *Store) PutAccountData(ctx context.Context, userID, roomID, typ, content string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.putAccountData(ctx, tx, userID, roomID, typ, content); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Store) putAccountData(ctx context.Context, tx *sql.Tx, userID, roomID, typ, content string) error {
	pos, err := s.nextPos(ctx, tx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO chat_account_data (user_id, room_id, type, content, stream_pos) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = excluded.content, stream_pos = excluded.stream_pos`),
		userID, roomID, typ, content, pos)
	return err
}

// GetAccountData returns one account data event's content.
func (s *Store) GetAccountData(ctx context.Context, userID, roomID, typ string) (string, error) {
	var c string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT content FROM chat_account_data WHERE user_id = ? AND room_id = ? AND type = ?`), userID, roomID, typ).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return c, err
}

// AccountDataSince returns the user's account data changed in (after, upTo].
func (s *Store) AccountDataSince(ctx context.Context, userID string, after, upTo int64) ([]AccountData, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT room_id, type, content, stream_pos FROM chat_account_data
		WHERE user_id = ? AND stream_pos > ? AND stream_pos <= ? ORDER BY stream_pos`), userID, after, upTo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AccountData
	for rows.Next() {
		var d AccountData
		if err := rows.Scan(&d.RoomID, &d.Type, &d.Content, &d.Pos); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Receipt is a read receipt.
type Receipt struct {
	RoomID, UserID, Type, ThreadID, EventID string
	TS, Pos                                 int64
}

// PutReceipt records a receipt, replacing the user's previous one of the
// same type and thread in the room.
func (s *Store) PutReceipt(ctx context.Context, r Receipt) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	pos, err := s.nextPos(ctx, tx)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_receipts (room_id, user_id, receipt_type, thread_id, event_id, ts, stream_pos) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (room_id, user_id, receipt_type, thread_id) DO UPDATE SET event_id = excluded.event_id, ts = excluded.ts, stream_pos = excluded.stream_pos`),
		r.RoomID, r.UserID, r.Type, r.ThreadID, r.EventID, r.TS, pos); err != nil {
		return err
	}
	return tx.Commit()
}

// Receipts returns the receipts of rooms set in (after, upTo]. One query.
func (s *Store) Receipts(ctx context.Context, roomIDs []string, after, upTo int64) ([]Receipt, error) {
	if len(roomIDs) == 0 {
		return nil, nil
	}
	args := []any{}
	for _, r := range roomIDs {
		args = append(args, r)
	}
	args = append(args, after, upTo)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT room_id, user_id, receipt_type, thread_id, event_id, ts, stream_pos FROM chat_receipts
		WHERE room_id IN (`+placeholders(len(roomIDs))+`) AND stream_pos > ? AND stream_pos <= ? ORDER BY stream_pos`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Receipt
	for rows.Next() {
		var r Receipt
		if err := rows.Scan(&r.RoomID, &r.UserID, &r.Type, &r.ThreadID, &r.EventID, &r.TS, &r.Pos); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Profile is a user's public profile.
type Profile struct {
	DisplayName, AvatarURL string
}

// GetProfile returns a local user's profile.
func (s *Store) GetProfile(ctx context.Context, userID string) (Profile, error) {
	var p Profile
	err := s.db.QueryRowContext(ctx, s.q(`SELECT display_name, avatar_url FROM chat_users WHERE user_id = ?`), userID).Scan(&p.DisplayName, &p.AvatarURL)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

// SetProfileField sets displayname or avatar_url.
func (s *Store) SetProfileField(ctx context.Context, userID, field, value string) error {
	col := map[string]string{"displayname": "display_name", "avatar_url": "avatar_url"}[field]
	if col == "" {
		return errors.New("store: unknown profile field")
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_users SET `+col+` = ? WHERE user_id = ?`), value, userID)
	return err
}

// SetAffiliation records the ministry and external flag of the agent's
// latest login.
func (s *Store) SetAffiliation(ctx context.Context, userID, ministry string, external bool) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_users SET ministry = ?, external = ? WHERE user_id = ?`), ministry, external, userID)
	return err
}

// DirectoryUser is a user directory result.
type DirectoryUser struct {
	UserID, DisplayName, AvatarURL string
}

// SearchUsers finds users matching term that searcher may see: those
// sharing a room (joined or invited) with them, plus, for an agent of a
// ministry (not external), the agents of the same ministry.
func (s *Store) SearchUsers(ctx context.Context, searcher, term string, limit int) ([]DirectoryUser, bool, error) {
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(term)) + "%"
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT u.user_id, u.display_name, u.avatar_url FROM chat_users u
		WHERE (LOWER(u.user_id) LIKE ? ESCAPE '\' OR LOWER(u.display_name) LIKE ? ESCAPE '\')
		AND (
			u.user_id IN (SELECT m2.user_id FROM chat_memberships m1 JOIN chat_memberships m2 ON m2.room_id = m1.room_id
				WHERE m1.user_id = ? AND m1.membership IN ('join', 'invite') AND m2.membership IN ('join', 'invite'))
			OR EXISTS (SELECT 1 FROM chat_users me WHERE me.user_id = ? AND me.external = ? AND me.ministry <> '' AND me.ministry = u.ministry AND u.external = ?)
		)
		ORDER BY u.display_name, u.user_id LIMIT ?`), like, like, searcher, searcher, false, false, limit+1)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []DirectoryUser
	for rows.Next() {
		var d DirectoryUser
		if err := rows.Scan(&d.UserID, &d.DisplayName, &d.AvatarURL); err != nil {
			return nil, false, err
		}
		out = append(out, d)
	}
	limited := len(out) > limit
	if limited {
		out = out[:limit]
	}
	return out, limited, rows.Err()
}
