// Package store persists the homeserver: users, devices and tokens, rooms,
// events in stream order, current room state and memberships, transaction
// ids and filters. One set of SQL serves SQLite and PostgreSQL (sqldb).
//
// Stream positions are allocated from a single counter row inside the
// writing transaction: positions commit in order, so a reader that has seen
// position N has seen everything below N — what /sync tokens rely on.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"

	"bureau/services/platform/sqldb"
)

//go:embed migrations
var migrations embed.FS

var (
	// ErrNotFound is returned when a row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when the room moved on while an event was
	// being built (another writer appended first): rebuild and retry.
	ErrConflict = errors.New("store: room changed concurrently")
	// ErrDuplicateTxn is returned when a transaction id was already used.
	ErrDuplicateTxn = errors.New("store: duplicate transaction id")
)

// Store is the chat database.
type Store struct {
	db *sqldb.DB
}

// New migrates db and returns the store on it.
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, "chat", migrations, "migrations"); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) q(query string) string { return s.db.Rebind(query) }

// ---- users, devices, tokens ----

// User is a local Matrix account.
type User struct {
	UserID      string
	BureauID    string
	DisplayName string
}

// EnsureUser returns the account of the Bureau agent bureauID, creating it
// as userID on first login. The Matrix id never changes afterwards, even if
// the agent's email does.
func (s *Store) EnsureUser(ctx context.Context, u User, now int64) (User, error) {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_users (user_id, bureau_id, display_name, created_ts)
		VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`), u.UserID, u.BureauID, u.DisplayName, now)
	if err != nil {
		return User{}, fmt.Errorf("store: ensure user: %w", err)
	}
	var out User
	err = s.db.QueryRowContext(ctx, s.q(`SELECT user_id, bureau_id, display_name FROM chat_users WHERE bureau_id = ?`), u.BureauID).
		Scan(&out.UserID, &out.BureauID, &out.DisplayName)
	if errors.Is(err, sql.ErrNoRows) {
		// The Matrix id is taken by another Bureau account.
		return User{}, fmt.Errorf("store: user id %s belongs to another account", u.UserID)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: ensure user: %w", err)
	}
	return out, nil
}

// User returns a local account.
func (s *Store) User(ctx context.Context, userID string) (User, error) {
	var u User
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT user_id, bureau_id, display_name FROM chat_users WHERE user_id = ?`), userID).
		Scan(&u.UserID, &u.BureauID, &u.DisplayName)
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	return u, err
}

// AddLoginToken records a single-use login token (by its hash).
func (s *Store) AddLoginToken(ctx context.Context, hash, userID string, expires int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_login_tokens (token_hash, user_id, expires_ts) VALUES (?, ?, ?)`), hash, userID, expires)
	return err
}

// TakeLoginToken consumes a login token: it works once, before it expires.
func (s *Store) TakeLoginToken(ctx context.Context, hash string, now int64) (string, error) {
	var userID string
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`DELETE FROM chat_login_tokens WHERE token_hash = ? RETURNING user_id, expires_ts`), hash).Scan(&userID, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && expires < now) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", err
	}
	// Opportunistic cleanup of tokens nobody redeemed.
	_, _ = s.db.ExecContext(ctx, s.q(`DELETE FROM chat_login_tokens WHERE expires_ts < ?`), now)
	return userID, nil
}

// Device is a logged-in client.
type Device struct {
	UserID, DeviceID, DisplayName string
	// Expires is when its access token expires (ms; 0 = never).
	Expires int64
}

// Session is the tokens of a device, as hashes.
type Session struct {
	TokenHash   string
	RefreshHash string // "" without refresh token
	Expires     int64  // access token expiry (ms; 0 = never)
}

// PutDevice creates the device or, when the client reuses its device id,
// gives it a new access token (the old one stops working).
func (s *Store) PutDevice(ctx context.Context, d Device, tokenHash string, now int64) error {
	return s.PutDeviceSession(ctx, d, Session{TokenHash: tokenHash}, now)
}

// PutDeviceSession is PutDevice with a refresh token and an expiry.
func (s *Store) PutDeviceSession(ctx context.Context, d Device, sess Session, now int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_devices (user_id, device_id, display_name, token_hash, created_ts, expires_ts, refresh_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, device_id) DO UPDATE SET token_hash = excluded.token_hash, expires_ts = excluded.expires_ts,
			refresh_hash = excluded.refresh_hash, old_refresh_hash = NULL`),
		d.UserID, d.DeviceID, d.DisplayName, sess.TokenHash, now, sess.Expires, nullable(sess.RefreshHash))
	return err
}

// DeviceByToken resolves an access token hash. The first use of a token
// from a refresh retires the refresh token it replaced.
func (s *Store) DeviceByToken(ctx context.Context, tokenHash string) (Device, error) {
	var d Device
	var oldRefresh bool
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT user_id, device_id, display_name, expires_ts, old_refresh_hash IS NOT NULL FROM chat_devices WHERE token_hash = ?`), tokenHash).
		Scan(&d.UserID, &d.DeviceID, &d.DisplayName, &d.Expires, &oldRefresh)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err == nil && oldRefresh {
		_, err = s.db.ExecContext(ctx, s.q(`UPDATE chat_devices SET old_refresh_hash = NULL WHERE token_hash = ?`), tokenHash)
	}
	return d, err
}

// Refresh exchanges a refresh token (the current one, or the previous one
// while its successor's access token is unused) for next; ErrNotFound
// when it is unknown or retired.
func (s *Store) Refresh(ctx context.Context, refreshHash string, next Session) (Device, error) {
	var d Device
	err := s.db.QueryRowContext(ctx, s.q(`UPDATE chat_devices SET token_hash = ?, expires_ts = ?, refresh_hash = ?,
			old_refresh_hash = CASE WHEN refresh_hash = ? THEN refresh_hash ELSE old_refresh_hash END
		WHERE refresh_hash = ? OR old_refresh_hash = ? RETURNING user_id, device_id, display_name`),
		next.TokenHash, next.Expires, next.RefreshHash, refreshHash, refreshHash, refreshHash).Scan(&d.UserID, &d.DeviceID, &d.DisplayName)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	d.Expires = next.Expires
	return d, err
}

// DeleteDevice logs a device out and forgets its keys and pending
// to-device messages; the user's device list changes when it had keys.
func (s *Store) DeleteDevice(ctx context.Context, userID, deviceID string) error {
	return s.deleteDevices(ctx, userID, `AND device_id = ?`, deviceID)
}

// DeleteDevices logs every device of a user out.
func (s *Store) DeleteDevices(ctx context.Context, userID string) error {
	return s.deleteDevices(ctx, userID, ``)
}

func (s *Store) deleteDevices(ctx context.Context, userID, cond string, args ...any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	all := append([]any{userID}, args...)
	for _, t := range []string{"chat_devices", "chat_one_time_keys", "chat_fallback_keys", "chat_to_device"} {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+t+` WHERE user_id = ? `+cond), all...); err != nil {
			return err
		}
	}
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM chat_device_keys WHERE user_id = ? `+cond), all...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		if err := s.markKeyChange(ctx, tx, userID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Devices lists the devices of a user.
func (s *Store) Devices(ctx context.Context, userID string) ([]Device, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT device_id, display_name FROM chat_devices WHERE user_id = ? ORDER BY device_id`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d := Device{UserID: userID}
		if err := rows.Scan(&d.DeviceID, &d.DisplayName); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RenameDevice sets a device's display name.
func (s *Store) RenameDevice(ctx context.Context, userID, deviceID, name string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_devices SET display_name = ? WHERE user_id = ? AND device_id = ?`), name, userID, deviceID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ---- filters ----

// AddFilter stores a filter and returns its id.
func (s *Store) AddFilter(ctx context.Context, userID, js string) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(filter_id), 0) + 1 FROM chat_filters WHERE user_id = ?`), userID).Scan(&id); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_filters (user_id, filter_id, json) VALUES (?, ?, ?)`), userID, id, js); err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// Filter returns a stored filter.
func (s *Store) Filter(ctx context.Context, userID string, id int64) (string, error) {
	var js string
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT json FROM chat_filters WHERE user_id = ? AND filter_id = ?`), userID, id).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return js, err
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// inBatches calls f on successive parts of ids small enough for an SQL IN
// list.
func inBatches(ids []string, f func(part []string) error) error {
	const batch = 500
	for i := 0; i < len(ids); i += batch {
		if err := f(ids[i:min(i+batch, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}
