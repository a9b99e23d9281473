package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
)

// End-to-end encryption support: device and cross-signing keys, one-time
// and fallback keys, signatures, to-device messages and key backup. Key
// changes and to-device messages take positions on the common stream, so
// one /sync token covers them with the room events.

// nextPos takes the next stream position inside tx.
func (s *Store) nextPos(ctx context.Context, tx *sql.Tx) (int64, error) {
	var pos int64
	if err := tx.QueryRowContext(ctx, s.q(`UPDATE chat_stream SET pos = pos + 1 WHERE id = 1 RETURNING pos`)).Scan(&pos); err != nil {
		return 0, fmt.Errorf("store: stream position: %w", err)
	}
	return pos, nil
}

// markKeyChange records, inside tx, that userID's keys changed.
func (s *Store) markKeyChange(ctx context.Context, tx *sql.Tx, userID string) error {
	pos, err := s.nextPos(ctx, tx)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO chat_key_changes (user_id, stream_pos) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET stream_pos = excluded.stream_pos`), userID, pos)
	return err
}

// OneTimeKey is a one-time or fallback key.
type OneTimeKey struct {
	Algorithm, KeyID string
	JSON             string
}

// KeyUpload is what keys/upload stores for one device.
type KeyUpload struct {
	UserID, DeviceID string
	DeviceKeys       string // "" when not uploaded
	OneTimeKeys      []OneTimeKey
	FallbackKeys     []OneTimeKey
}

// UploadKeys stores a device's keys in one transaction. It reports whether
// the device keys changed (their watchers must be told).
func (s *Store) UploadKeys(ctx context.Context, up KeyUpload) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	changed := false
	if up.DeviceKeys != "" {
		var old string
		err := tx.QueryRowContext(ctx, s.q(`SELECT json FROM chat_device_keys WHERE user_id = ? AND device_id = ?`), up.UserID, up.DeviceID).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		if old != up.DeviceKeys {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_device_keys (user_id, device_id, json) VALUES (?, ?, ?)
				ON CONFLICT (user_id, device_id) DO UPDATE SET json = excluded.json`), up.UserID, up.DeviceID, up.DeviceKeys); err != nil {
				return false, err
			}
			if err := s.markKeyChange(ctx, tx, up.UserID); err != nil {
				return false, err
			}
			changed = true
		}
	}
	for _, k := range up.OneTimeKeys {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_one_time_keys (user_id, device_id, algorithm, key_id, json) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`), up.UserID, up.DeviceID, k.Algorithm, k.KeyID, k.JSON); err != nil {
			return false, err
		}
	}
	for _, k := range up.FallbackKeys {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_fallback_keys (user_id, device_id, algorithm, key_id, json, used) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET key_id = excluded.key_id, json = excluded.json, used = excluded.used`),
			up.UserID, up.DeviceID, k.Algorithm, k.KeyID, k.JSON, false); err != nil {
			return false, err
		}
	}
	return changed, tx.Commit()
}

// OneTimeKeyCounts counts a device's unclaimed one-time keys by algorithm.
func (s *Store) OneTimeKeyCounts(ctx context.Context, userID, deviceID string) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT algorithm, COUNT(*) FROM chat_one_time_keys WHERE user_id = ? AND device_id = ? GROUP BY algorithm`), userID, deviceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var alg string
		var n int
		if err := rows.Scan(&alg, &n); err != nil {
			return nil, err
		}
		out[alg] = n
	}
	return out, rows.Err()
}

// UnusedFallbackTypes lists the algorithms of a device's unused fallback
// keys.
func (s *Store) UnusedFallbackTypes(ctx context.Context, userID, deviceID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT algorithm FROM chat_fallback_keys WHERE user_id = ? AND device_id = ? AND used = ? ORDER BY algorithm`), userID, deviceID, false)
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// DeviceKeys returns the device keys of users: user → device → JSON. An
// empty device list means every device of the user.
func (s *Store) DeviceKeys(ctx context.Context, want map[string][]string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for user, devices := range want {
		out[user] = map[string]string{}
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT device_id, json FROM chat_device_keys WHERE user_id = ?`), user)
		if err != nil {
			return nil, err
		}
		wanted := map[string]bool{}
		for _, d := range devices {
			wanted[d] = true
		}
		for rows.Next() {
			var d, js string
			if err := rows.Scan(&d, &js); err != nil {
				rows.Close()
				return nil, err
			}
			if len(wanted) == 0 || wanted[d] {
				out[user][d] = js
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Claim is one key to claim: a device and an algorithm.
type Claim struct {
	UserID, DeviceID, Algorithm string
}

// ClaimKey takes one one-time key of the device, or its fallback key when
// none is left (marking it used). ErrNotFound when the device has neither.
func (s *Store) ClaimKey(ctx context.Context, c Claim) (OneTimeKey, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return OneTimeKey{}, err
	}
	defer tx.Rollback()
	k := OneTimeKey{Algorithm: c.Algorithm}
	err = tx.QueryRowContext(ctx, s.q(`SELECT key_id, json FROM chat_one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? ORDER BY key_id LIMIT 1`),
		c.UserID, c.DeviceID, c.Algorithm).Scan(&k.KeyID, &k.JSON)
	switch {
	case err == nil:
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM chat_one_time_keys WHERE user_id = ? AND device_id = ? AND algorithm = ? AND key_id = ?`),
			c.UserID, c.DeviceID, c.Algorithm, k.KeyID); err != nil {
			return k, err
		}
	case errors.Is(err, sql.ErrNoRows):
		err = tx.QueryRowContext(ctx, s.q(`SELECT key_id, json FROM chat_fallback_keys WHERE user_id = ? AND device_id = ? AND algorithm = ?`),
			c.UserID, c.DeviceID, c.Algorithm).Scan(&k.KeyID, &k.JSON)
		if errors.Is(err, sql.ErrNoRows) {
			return k, ErrNotFound
		}
		if err != nil {
			return k, err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE chat_fallback_keys SET used = ? WHERE user_id = ? AND device_id = ? AND algorithm = ?`),
			true, c.UserID, c.DeviceID, c.Algorithm); err != nil {
			return k, err
		}
	default:
		return k, err
	}
	return k, tx.Commit()
}

// CrossSigningKey is a master, self_signing or user_signing key.
type CrossSigningKey struct {
	Type string // master, self_signing, user_signing
	JSON string
}

// HasMasterKey reports whether userID has uploaded cross-signing keys.
func (s *Store) HasMasterKey(ctx context.Context, userID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM chat_cross_signing_keys WHERE user_id = ? AND key_type = 'master'`), userID).Scan(&n)
	return n > 0, err
}

// PutCrossSigningKeys replaces some of a user's cross-signing keys.
func (s *Store) PutCrossSigningKeys(ctx context.Context, userID string, keys []CrossSigningKey) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_cross_signing_keys (user_id, key_type, json) VALUES (?, ?, ?)
			ON CONFLICT (user_id, key_type) DO UPDATE SET json = excluded.json`), userID, k.Type, k.JSON); err != nil {
			return err
		}
	}
	if err := s.markKeyChange(ctx, tx, userID); err != nil {
		return err
	}
	return tx.Commit()
}

// CrossSigningKeys returns the cross-signing keys of userID by type.
func (s *Store) CrossSigningKeys(ctx context.Context, userID string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT key_type, json FROM chat_cross_signing_keys WHERE user_id = ?`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var t, js string
		if err := rows.Scan(&t, &js); err != nil {
			return nil, err
		}
		out[t] = js
	}
	return out, rows.Err()
}

// Signature is one signature of a key by a signer's key.
type Signature struct {
	TargetUser, TargetKey, SignerUser, SignerKey, Signature string
}

// PutSignatures stores signatures and marks the targets' keys changed.
func (s *Store) PutSignatures(ctx context.Context, sigs []Signature) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	targets := map[string]bool{}
	for _, g := range sigs {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_key_signatures (target_user, target_key, signer_user, signer_key, signature) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (target_user, target_key, signer_user, signer_key) DO UPDATE SET signature = excluded.signature`),
			g.TargetUser, g.TargetKey, g.SignerUser, g.SignerKey, g.Signature); err != nil {
			return err
		}
		targets[g.TargetUser] = true
	}
	users := make([]string, 0, len(targets))
	for u := range targets {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, u := range users {
		if err := s.markKeyChange(ctx, tx, u); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Signatures returns the uploaded signatures of a user's keys.
func (s *Store) Signatures(ctx context.Context, targetUser string) ([]Signature, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT target_key, signer_user, signer_key, signature FROM chat_key_signatures WHERE target_user = ?`), targetUser)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Signature
	for rows.Next() {
		g := Signature{TargetUser: targetUser}
		if err := rows.Scan(&g.TargetKey, &g.SignerUser, &g.SignerKey, &g.Signature); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// KeyChanges returns the users among candidates whose keys changed in
// (after, upTo]. An empty candidates list means nobody.
func (s *Store) KeyChanges(ctx context.Context, after, upTo int64, candidates []string) ([]string, error) {
	if len(candidates) == 0 {
		return []string{}, nil
	}
	out := []string{}
	err := inBatches(candidates, func(part []string) error {
		args := append([]any{after, upTo}, anys(part)...)
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT user_id FROM chat_key_changes WHERE stream_pos > ? AND stream_pos <= ? AND user_id IN (`+placeholders(len(part))+`)`), args...)
		if err != nil {
			return err
		}
		got, err := scanStrings(rows)
		out = append(out, got...)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// RoomShare is a (room, user) pair of a joined member.
type RoomShare struct{ RoomID, UserID string }

// SharedMembers returns the joined members of every room userID is joined
// to (userID included). One query.
func (s *Store) SharedMembers(ctx context.Context, userID string) ([]RoomShare, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT m2.room_id, m2.user_id FROM chat_memberships m1
		JOIN chat_memberships m2 ON m2.room_id = m1.room_id AND m2.membership = 'join'
		WHERE m1.user_id = ? AND m1.membership = 'join'`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RoomShare
	for rows.Next() {
		var r RoomShare
		if err := rows.Scan(&r.RoomID, &r.UserID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// MembershipChanges returns the memberships of the given rooms that changed
// in (after, upTo].
func (s *Store) MembershipChanges(ctx context.Context, roomIDs []string, after, upTo int64) ([]Membership, error) {
	if len(roomIDs) == 0 {
		return nil, nil
	}
	args := []any{}
	for _, r := range roomIDs {
		args = append(args, r)
	}
	args = append(args, after, upTo)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT room_id, user_id, membership, event_id, stream_pos FROM chat_memberships
		WHERE room_id IN (`+placeholders(len(roomIDs))+`) AND stream_pos > ? AND stream_pos <= ?`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Membership
	for rows.Next() {
		var m Membership
		if err := rows.Scan(&m.RoomID, &m.UserID, &m.Membership, &m.EventID, &m.Pos); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ToDevice is a to-device message.
type ToDevice struct {
	Pos                       int64
	UserID, DeviceID          string
	Sender, Type, ContentJSON string
}

// SendToDevice queues messages in one transaction. DeviceID "*" must have
// been expanded by the caller. A transaction id already used by the
// sending device queues nothing (the request is a retry).
func (s *Store) SendToDevice(ctx context.Context, fromUser, fromDevice, txnID string, msgs []ToDevice) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_txns (user_id, device_id, txn_id, event_id) VALUES (?, ?, ?, '') ON CONFLICT DO NOTHING`),
		fromUser, fromDevice, "sendToDevice/"+txnID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 || len(msgs) == 0 {
		return tx.Commit()
	}
	var last int64
	if err := tx.QueryRowContext(ctx, s.q(`UPDATE chat_stream SET pos = pos + ? WHERE id = 1 RETURNING pos`), len(msgs)).Scan(&last); err != nil {
		return fmt.Errorf("store: stream position: %w", err)
	}
	pos := last - int64(len(msgs))
	for _, m := range msgs {
		pos++
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_to_device (stream_pos, user_id, device_id, sender, type, content) VALUES (?, ?, ?, ?, ?, ?)`),
			pos, m.UserID, m.DeviceID, m.Sender, m.Type, m.ContentJSON); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// DeviceIDs lists the devices of a user.
func (s *Store) DeviceIDs(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT device_id FROM chat_devices WHERE user_id = ? ORDER BY device_id`), userID)
	if err != nil {
		return nil, err
	}
	return scanStrings(rows)
}

// TakeToDevice deletes the device's messages at or below acked (the client
// has them: it synced past them) and returns those up to upTo, at most
// limit. It reports whether more remain.
func (s *Store) TakeToDevice(ctx context.Context, userID, deviceID string, acked, upTo int64, limit int) ([]ToDevice, bool, error) {
	if acked > 0 {
		if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_to_device WHERE user_id = ? AND device_id = ? AND stream_pos <= ?`), userID, deviceID, acked); err != nil {
			return nil, false, err
		}
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT stream_pos, sender, type, content FROM chat_to_device WHERE user_id = ? AND device_id = ? AND stream_pos <= ? ORDER BY stream_pos LIMIT ?`),
		userID, deviceID, upTo, limit+1)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []ToDevice
	for rows.Next() {
		m := ToDevice{UserID: userID, DeviceID: deviceID}
		if err := rows.Scan(&m.Pos, &m.Sender, &m.Type, &m.ContentJSON); err != nil {
			return nil, false, err
		}
		out = append(out, m)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, rows.Err()
}

// ---- key backup ----

// BackupVersion is a key backup version.
type BackupVersion struct {
	Version   int64
	Algorithm string
	AuthData  string
	ETag      int64
	Count     int64
}

// CreateBackup creates a new backup version and returns it.
func (s *Store) CreateBackup(ctx context.Context, userID, algorithm, authData string) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var v int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(version), 0) + 1 FROM chat_backup_versions WHERE user_id = ?`), userID).Scan(&v); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_backup_versions (user_id, version, algorithm, auth_data, etag, deleted) VALUES (?, ?, ?, ?, 0, ?)`),
		userID, v, algorithm, authData, false); err != nil {
		return 0, err
	}
	return v, tx.Commit()
}

// Backup returns a backup version; version 0 means the latest.
func (s *Store) Backup(ctx context.Context, userID string, version int64) (BackupVersion, error) {
	var b BackupVersion
	q := `SELECT version, algorithm, auth_data, etag FROM chat_backup_versions WHERE user_id = ? AND deleted = ? AND version = ?`
	args := []any{userID, false, version}
	if version == 0 {
		q = `SELECT version, algorithm, auth_data, etag FROM chat_backup_versions WHERE user_id = ? AND deleted = ? ORDER BY version DESC LIMIT 1`
		args = args[:2]
	}
	err := s.db.QueryRowContext(ctx, s.q(q), args...).Scan(&b.Version, &b.Algorithm, &b.AuthData, &b.ETag)
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	if err != nil {
		return b, err
	}
	err = s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM chat_backup_keys WHERE user_id = ? AND version = ?`), userID, b.Version).Scan(&b.Count)
	return b, err
}

// UpdateBackup replaces a version's auth data.
func (s *Store) UpdateBackup(ctx context.Context, userID string, version int64, authData string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_backup_versions SET auth_data = ? WHERE user_id = ? AND version = ? AND deleted = ?`), authData, userID, version, false)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteBackup deletes a version and its keys.
func (s *Store) DeleteBackup(ctx context.Context, userID string, version int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE chat_backup_versions SET deleted = ? WHERE user_id = ? AND version = ? AND deleted = ?`), true, userID, version, false)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM chat_backup_keys WHERE user_id = ? AND version = ?`), userID, version); err != nil {
		return err
	}
	return tx.Commit()
}

// BackupKey is one backed-up session key.
type BackupKey struct {
	RoomID, SessionID, JSON string
}

// PutBackupKeys stores session keys in a version; better tells whether a
// new key replaces the stored one. It returns the new etag.
func (s *Store) PutBackupKeys(ctx context.Context, userID string, version int64, keys []BackupKey, better func(old, new string) bool) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	for _, k := range keys {
		var old string
		err := tx.QueryRowContext(ctx, s.q(`SELECT json FROM chat_backup_keys WHERE user_id = ? AND version = ? AND room_id = ? AND session_id = ?`),
			userID, version, k.RoomID, k.SessionID).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO chat_backup_keys (user_id, version, room_id, session_id, json) VALUES (?, ?, ?, ?, ?)`),
				userID, version, k.RoomID, k.SessionID, k.JSON)
		case err == nil && better(old, k.JSON):
			_, err = tx.ExecContext(ctx, s.q(`UPDATE chat_backup_keys SET json = ? WHERE user_id = ? AND version = ? AND room_id = ? AND session_id = ?`),
				k.JSON, userID, version, k.RoomID, k.SessionID)
		}
		if err != nil {
			return 0, err
		}
	}
	var etag int64
	if err := tx.QueryRowContext(ctx, s.q(`UPDATE chat_backup_versions SET etag = etag + 1 WHERE user_id = ? AND version = ? RETURNING etag`), userID, version).Scan(&etag); err != nil {
		return 0, err
	}
	return etag, tx.Commit()
}

// BackupKeys returns keys of a version, filtered by room and session when
// given.
func (s *Store) BackupKeys(ctx context.Context, userID string, version int64, roomID, sessionID string) ([]BackupKey, error) {
	q := `SELECT room_id, session_id, json FROM chat_backup_keys WHERE user_id = ? AND version = ?`
	args := []any{userID, version}
	if roomID != "" {
		q += ` AND room_id = ?`
		args = append(args, roomID)
	}
	if sessionID != "" {
		q += ` AND session_id = ?`
		args = append(args, sessionID)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+` ORDER BY room_id, session_id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BackupKey
	for rows.Next() {
		var k BackupKey
		if err := rows.Scan(&k.RoomID, &k.SessionID, &k.JSON); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteBackupKeys deletes keys of a version (by room and session when
// given) and returns the new etag.
func (s *Store) DeleteBackupKeys(ctx context.Context, userID string, version int64, roomID, sessionID string) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	q := `DELETE FROM chat_backup_keys WHERE user_id = ? AND version = ?`
	args := []any{userID, version}
	if roomID != "" {
		q += ` AND room_id = ?`
		args = append(args, roomID)
	}
	if sessionID != "" {
		q += ` AND session_id = ?`
		args = append(args, sessionID)
	}
	if _, err := tx.ExecContext(ctx, s.q(q), args...); err != nil {
		return 0, err
	}
	var etag int64
	if err := tx.QueryRowContext(ctx, s.q(`UPDATE chat_backup_versions SET etag = etag + 1 WHERE user_id = ? AND version = ? RETURNING etag`), userID, version).Scan(&etag); err != nil {
		return 0, err
	}
	return etag, tx.Commit()
}
