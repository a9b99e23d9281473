// Package apppass issues the app passwords that let WebDAV clients (rclone,
// the OS's file managers), which cannot do OpenID Connect, reach an agent's
// files with HTTP Basic: email + app password, on /dav/ only.
//
// A password is 160 random bits shown once; only its SHA-256 is stored. A
// slow password hash (bcrypt, argon2) protects low-entropy human passwords
// against offline guessing; for a random 160-bit secret a fast hash is as
// safe and keeps WebDAV clients, which authenticate every request, fast.
package apppass

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"bureau/gateway/internal/directory"
	"bureau/services/platform/sqldb"
)

// MaxPerUser bounds how many app passwords an agent may hold.
const MaxPerUser = 20

var (
	// ErrNotFound: no such password for this agent.
	ErrNotFound = errors.New("apppass: not found")
	// ErrInvalid: the credentials do not match a live password.
	ErrInvalid = errors.New("apppass: invalid credentials")
	// ErrTooMany: the agent already holds MaxPerUser passwords.
	ErrTooMany = errors.New("apppass: too many app passwords")
	// ErrBadLabel: empty or too long label.
	ErrBadLabel = errors.New("apppass: label must be 1 to 100 characters")
)

// Password is one app password, without its secret.
type Password struct {
	ID        string     `json:"id"`
	Label     string     `json:"label"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used_at"`
}

// Store keeps app passwords next to the directory.
type Store struct {
	db  *sqldb.DB
	dir *directory.Directory
	now func() time.Time
}

// New uses the directory's database (its migrations create the table).
func New(db *sqldb.DB, dir *directory.Directory) *Store {
	return &Store{db: db, dir: dir, now: time.Now}
}

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Create issues a password for user and returns it with its secret, which
// is never retrievable again.
func (s *Store) Create(ctx context.Context, userID, label string) (Password, string, error) {
	label = strings.TrimSpace(label)
	if label == "" || utf8.RuneCountInString(label) > 100 || strings.ContainsFunc(label, isControl) {
		return Password{}, "", ErrBadLabel
	}
	var n int
	if err := s.db.QueryRowContext(ctx, s.db.Rebind(`SELECT COUNT(*) FROM gateway_app_passwords WHERE user_id = ?`), userID).Scan(&n); err != nil {
		return Password{}, "", err
	}
	if n >= MaxPerUser {
		return Password{}, "", ErrTooMany
	}
	var idb [10]byte
	var sb [20]byte
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(sb[:])
	id := strings.ToLower(enc.EncodeToString(idb[:]))
	// Groups of four are easier to copy by hand into a client's dialog.
	raw := strings.ToLower(enc.EncodeToString(sb[:]))
	var groups []string
	for i := 0; i < len(raw); i += 4 {
		groups = append(groups, raw[i:min(i+4, len(raw))])
	}
	secret := strings.Join(groups, "-")
	now := s.now()
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO gateway_app_passwords (id, user_id, label, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)`),
		id, userID, label, hash(secret), now.UnixMilli())
	if err != nil {
		return Password{}, "", err
	}
	return Password{ID: id, Label: label, CreatedAt: time.UnixMilli(now.UnixMilli()).UTC()}, secret, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// List returns the agent's passwords, newest first.
func (s *Store) List(ctx context.Context, userID string) ([]Password, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.db.Rebind(`SELECT id, label, created_at, last_used_at FROM gateway_app_passwords WHERE user_id = ? ORDER BY created_at DESC, id`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Password{}
	for rows.Next() {
		var p Password
		var created, used int64
		if err := rows.Scan(&p.ID, &p.Label, &created, &used); err != nil {
			return nil, err
		}
		p.CreatedAt = time.UnixMilli(created).UTC()
		if used > 0 {
			t := time.UnixMilli(used).UTC()
			p.LastUsed = &t
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Revoke deletes one of the agent's passwords; it takes effect at once.
func (s *Store) Revoke(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM gateway_app_passwords WHERE id = ? AND user_id = ?`), id, userID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Verify returns the agent owning secret, provided email is that agent's.
// The lookup is by hash, so no secret is ever compared byte by byte.
func (s *Store) Verify(ctx context.Context, email, secret string) (directory.Agent, string, error) {
	if secret == "" || len(secret) > 200 {
		return directory.Agent{}, "", ErrInvalid
	}
	var id, userID string
	var used int64
	err := s.db.Read.QueryRowContext(ctx, s.db.Rebind(`SELECT id, user_id, last_used_at FROM gateway_app_passwords WHERE secret_hash = ?`), hash(strings.ToLower(strings.TrimSpace(secret)))).Scan(&id, &userID, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return directory.Agent{}, "", ErrInvalid
	}
	if err != nil {
		return directory.Agent{}, "", err
	}
	a, err := s.dir.Get(ctx, userID)
	if err != nil {
		return directory.Agent{}, "", err
	}
	if !strings.EqualFold(a.Email, strings.TrimSpace(email)) {
		return directory.Agent{}, "", ErrInvalid
	}
	// Record use at most once a minute: WebDAV clients authenticate every request.
	if now := s.now(); now.UnixMilli()-used > time.Minute.Milliseconds() {
		_, _ = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE gateway_app_passwords SET last_used_at = ? WHERE id = ?`), now.UnixMilli(), id)
	}
	return a, id, nil
}
