package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"
)

// GuestLink lets people without an account ask to enter one meeting.
type GuestLink struct {
	ID        string    `json:"id"`
	RoomID    string    `json:"room_id"`
	Label     string    `json:"label,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Usable reports whether the link still lets guests in at now.
func (g *GuestLink) Usable(now time.Time) error {
	switch {
	case !g.RevokedAt.IsZero():
		return ErrRevoked
	case !g.ExpiresAt.IsZero() && !now.Before(g.ExpiresAt):
		return ErrExpired
	}
	return nil
}

// Errors of guest links.
var (
	ErrRevoked = errors.New("store: guest link revoked")
	ErrExpired = errors.New("store: guest link expired")
)

// NewGuestToken returns a new random token and its stored hash.
func NewGuestToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken is what the database keeps of a token. The token has 256
// random bits, so an unsalted SHA-256 cannot be reversed.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

const linkCols = `id, room_id, label, created_by, created_at, expires_at, revoked_at`

func scanLink(sc scanner) (*GuestLink, error) {
	var g GuestLink
	var created int64
	var exp, rev sql.NullInt64
	if err := sc.Scan(&g.ID, &g.RoomID, &g.Label, &g.CreatedBy, &created, &exp, &rev); err != nil {
		return nil, err
	}
	g.CreatedAt, g.ExpiresAt, g.RevokedAt = time.UnixMilli(created).UTC(), fromMS(exp), fromMS(rev)
	return &g, nil
}

// CreateGuestLink stores a link under the hash of its token.
func (s *Store) CreateGuestLink(ctx context.Context, g *GuestLink, tokenHash string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO meet_guest_links (`+linkCols+`, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		g.ID, g.RoomID, g.Label, g.CreatedBy, g.CreatedAt.UnixMilli(), ms(g.ExpiresAt), ms(g.RevokedAt), tokenHash)
	return err
}

// GuestLinkByToken finds the link of a token, revoked or expired ones
// included (the caller tells them apart).
func (s *Store) GuestLinkByToken(ctx context.Context, token string) (*GuestLink, error) {
	g, err := scanLink(s.db.Read.QueryRowContext(ctx, s.q(`SELECT `+linkCols+` FROM meet_guest_links WHERE token_hash = ?`), HashToken(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return g, err
}

// GuestLinks lists a room's links, newest first.
func (s *Store) GuestLinks(ctx context.Context, roomID string) ([]*GuestLink, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+linkCols+` FROM meet_guest_links WHERE room_id = ? ORDER BY created_at DESC, id`), roomID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*GuestLink{}
	for rows.Next() {
		g, err := scanLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// RevokeGuestLink ends a link of roomID; revoking twice is not an error.
func (s *Store) RevokeGuestLink(ctx context.Context, roomID, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE meet_guest_links SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND room_id = ?`), at.UnixMilli(), id, roomID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
