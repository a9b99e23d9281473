// Package identity is how the gateway tells a service who is calling.
//
// The gateway authenticates the browser (ProConnect session) and forwards each
// request with a short-lived EdDSA-signed JWT in the Bureau-Identity header,
// audience = the target service. Services verify it with the gateway's public
// key and trust no other header: a request that bypasses the gateway carries
// no valid token and is anonymous.
package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Header carries the signed identity token from the gateway to a service.
const Header = "Bureau-Identity"

// MaxTTL bounds a token's life: a stolen token is useless within a minute.
const MaxTTL = 60 * time.Second

// Issuer is the "iss" of every identity token.
const Issuer = "bureau-gateway"

// User is the agent on whose behalf a request is made.
type User struct {
	ID        string `json:"id"` // stable: derived from the OIDC issuer and sub
	Email     string `json:"email"`
	GivenName string `json:"given_name,omitempty"`
	UsualName string `json:"usual_name,omitempty"`
	Ministry  string `json:"ministry,omitempty"` // ministry id; empty for externals
	SIRET     string `json:"siret,omitempty"`
	External  bool   `json:"external"`      // not an agent of a known ministry
	SessionID string `json:"sid,omitempty"` // hashed gateway session, for logout fan-out
}

// DisplayName is "Given Usual", or the email when names are missing.
func (u User) DisplayName() string {
	n := strings.TrimSpace(u.GivenName + " " + u.UsualName)
	if n == "" {
		return u.Email
	}
	return n
}

type claims struct {
	jwt.RegisteredClaims
	User User `json:"usr"`
}

// Signer issues identity tokens (gateway side).
type Signer struct {
	key ed25519.PrivateKey
	ttl time.Duration
	now func() time.Time
}

// NewSigner returns a signer; ttl is capped at MaxTTL.
func NewSigner(key ed25519.PrivateKey, ttl time.Duration) *Signer {
	if ttl <= 0 || ttl > MaxTTL {
		ttl = MaxTTL
	}
	return &Signer{key: key, ttl: ttl, now: time.Now}
}

// TTL is the lifetime of issued tokens.
func (s *Signer) TTL() time.Duration { return s.ttl }

// Sign issues a token for u, valid for audience only.
func (s *Signer) Sign(u User, audience string) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(s.ttl)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		User: u,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(s.key)
	return tok, exp, err
}

// Verifier checks identity tokens (service side).
type Verifier struct {
	key      ed25519.PublicKey
	audience string
	parser   *jwt.Parser
}

// NewVerifier accepts tokens signed by key for audience.
func NewVerifier(key ed25519.PublicKey, audience string) *Verifier {
	return &Verifier{
		key:      key,
		audience: audience,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithIssuer(Issuer),
			jwt.WithAudience(audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(5*time.Second),
		),
	}
}

// ErrNoIdentity means the request carries no identity token.
var ErrNoIdentity = errors.New("identity: no identity token")

// Verify parses and checks a token.
func (v *Verifier) Verify(token string) (User, error) {
	var c claims
	_, err := v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return v.key, nil })
	if err != nil {
		return User{}, fmt.Errorf("identity: %w", err)
	}
	if c.IssuedAt == nil || c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxTTL+time.Second {
		return User{}, errors.New("identity: token lifetime exceeds the maximum")
	}
	if c.Subject == "" || c.Subject != c.User.ID {
		return User{}, errors.New("identity: subject mismatch")
	}
	return c.User, nil
}

// FromRequest verifies the request's identity header.
func (v *Verifier) FromRequest(r *http.Request) (User, error) {
	tok := r.Header.Get(Header)
	if tok == "" {
		return User{}, ErrNoIdentity
	}
	return v.Verify(tok)
}

type ctxKey struct{}

// WithUser stores u in ctx.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// FromContext returns the user stored by WithUser or the middleware.
func FromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(ctxKey{}).(User)
	return u, ok
}

// Middleware verifies the identity header when present and stores the user
// in the request context. It never rejects: handlers decide with
// FromContext whether anonymous access is allowed. A present but invalid
// token is dropped (the request proceeds as anonymous).
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, err := v.FromRequest(r); err == nil {
			r = r.WithContext(WithUser(r.Context(), u))
		}
		next.ServeHTTP(w, r)
	})
}

// GenerateKey makes a new gateway key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// EncodePublicKey and EncodePrivateKey give the base64 (std, padded) form
// used in configuration files and Kubernetes secrets.
func EncodePublicKey(k ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(k) }

// EncodePrivateKey encodes the 32-byte seed of k.
func EncodePrivateKey(k ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(k.Seed())
}

// DecodePublicKey parses the base64 form of a public key.
func DecodePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("not a base64 Ed25519 public key (32 bytes)")
	}
	return ed25519.PublicKey(b), nil
}

// DecodePrivateKey parses the base64 seed of a private key.
func DecodePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.SeedSize {
		return nil, errors.New("not a base64 Ed25519 private key seed (32 bytes)")
	}
	return ed25519.NewKeyFromSeed(b), nil
}

// LoadOrCreatePrivateKey reads the seed at path, creating it (0600) when
// missing: the embedded run keeps one key across restarts.
func LoadOrCreatePrivateKey(path string) (ed25519.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		return DecodePrivateKey(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	_, priv, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(EncodePrivateKey(priv)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return priv, nil
}

// LoadPrivateKeyFile reads a base64 seed from path (production: a mounted
// Kubernetes secret); it never creates one.
func LoadPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return DecodePrivateKey(string(b))
}
