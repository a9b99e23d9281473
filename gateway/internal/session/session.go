// Package session keeps the gateway's server-side browser sessions and the
// short-lived state of logins in progress.
//
// The browser holds only an opaque random id; the store keys everything by
// the SHA-256 of that id, so a dump of the store (Redis) yields no usable
// cookie. Two stores implement Store: memory (embedded, one replica) and
// Redis (any replica serves any session).
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"bureau/services/platform/identity"
)

// ErrNotFound is returned for a missing, expired or already used entry.
var ErrNotFound = errors.New("session: not found")

// Session is a signed-in browser.
type Session struct {
	User     identity.User `json:"user"`
	IDToken  string        `json:"id_token"` // kept for the IdP logout hint
	Created  time.Time     `json:"created"`
	LastSeen time.Time     `json:"last_seen"`
}

// Login is a login in progress, from /auth/login to /auth/callback.
type Login struct {
	State        string    `json:"state"`
	Nonce        string    `json:"nonce"`
	CodeVerifier string    `json:"code_verifier"`
	Redirect     string    `json:"redirect"`
	Created      time.Time `json:"created"`
}

// Store persists sessions and logins.
type Store interface {
	// Create stores s under a new random id and returns that id (for the
	// cookie); the store only ever keeps Hash(id).
	Create(ctx context.Context, s Session, ttl time.Duration) (string, error)
	// Get returns the session stored under key = Hash(id).
	Get(ctx context.Context, key string) (Session, error)
	// Touch records activity and extends the idle expiry to ttl.
	Touch(ctx context.Context, key string, s Session, ttl time.Duration) error
	Delete(ctx context.Context, key string) error
	// PutLogin stores a login attempt under a new random id.
	PutLogin(ctx context.Context, l Login, ttl time.Duration) (string, error)
	// TakeLogin returns and deletes the attempt: a callback is single-use.
	TakeLogin(ctx context.Context, id string) (Login, error)
	Ping(ctx context.Context) error
}

// NewID returns 256 bits of randomness, URL-safe: unguessable cookies,
// state and nonce values (ProConnect asks for ≥ 32 characters).
func NewID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("session: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Hash is the storage key (and the identity token's "sid") of an id.
func Hash(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// validID rejects obviously forged ids before touching the store.
func validID(id string) bool {
	if len(id) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}
