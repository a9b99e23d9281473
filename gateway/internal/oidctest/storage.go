package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the in-memory op.Storage behind zitadel's provider. zitadel does
// the protocol (parsing, redirect_uri and client checks, PKCE, token and ID
// token construction, signing, end_session); storage only keeps state and
// applies the ProConnect rules zitadel has no setting for.
type storage struct {
	client *client
	users  []User

	mu         sync.Mutex
	key        *rsa.PrivateKey // the published key
	kid        string
	requests   map[string]*authRequest
	codes      map[string]string // code → request id
	tokens     map[string]*token
	sessions   map[string]string // session id → sub
	knobs      knobs
	loginCount int
}

// knobs are the negative-test settings; the zero value is a faithful provider.
type knobs struct {
	nextUser         string
	idTokenNonce     string
	idTokenACR       string
	idTokenLifetime  time.Duration
	idTokenKey       *rsa.PrivateKey
	userinfoKey      *rsa.PrivateKey
	userinfoUnsigned bool
	userinfoTamper   func(map[string]any)
}

type token struct {
	id, subject, clientID string
	scopes                []string
	expires               time.Time
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *storage) user(sub string) (User, bool) {
	for _, u := range s.users {
		if u.Sub == sub {
			return u, true
		}
	}
	return User{}, false
}

func (s *storage) userByHint(hint string) (User, bool) {
	for _, u := range s.users {
		if u.Sub == hint || (u.Email != "" && u.Email == hint) {
			return u, true
		}
	}
	return User{}, false
}

// --- op.AuthStorage ---

func (s *storage) CreateAuthRequest(_ context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	// ProConnect rules that zitadel does not enforce; an *oidc.Error makes
	// zitadel redirect back with it, as ProConnect does.
	switch {
	case !slices.Contains(req.Scopes, oidc.ScopeOpenID):
		return nil, oidc.ErrInvalidScope().WithDescription("scope must include openid")
	case len(req.State) < MinStateNonceLen:
		return nil, oidc.ErrInvalidRequest().WithDescription("state must be at least 32 characters")
	case len(req.Nonce) < MinStateNonceLen:
		return nil, oidc.ErrInvalidRequest().WithDescription("nonce must be at least 32 characters")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	ar := &authRequest{
		s: s, id: newID(), created: time.Now(), req: *req,
	}
	s.mu.Lock()
	s.requests[ar.id] = ar
	s.mu.Unlock()
	return ar, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ar, ok := s.requests[id]; ok {
		return ar, nil
	}
	return nil, errors.New("auth request not found")
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.requests[s.codes[code]]
	if !ok {
		return nil, errors.New("code unknown or already used")
	}
	if time.Since(ar.codeIssued) > CodeTTL {
		delete(s.codes, code)
		delete(s.requests, ar.id)
		return nil, errors.New("code expired")
	}
	return ar, nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.requests[id]
	if !ok {
		return errors.New("auth request not found")
	}
	ar.codeIssued = time.Now()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called by zitadel once tokens are issued: deleting the
// code with it makes codes single-use.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for c, rid := range s.codes {
		if rid == id {
			delete(s.codes, c)
		}
	}
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	t := &token{id: newID(), subject: req.GetSubject(), scopes: req.GetScopes(), expires: time.Now().Add(AccessTokenTTL)}
	if ar, ok := req.(*authRequest); ok {
		t.clientID = ar.req.ClientID
	}
	s.mu.Lock()
	s.tokens[t.id] = t
	s.mu.Unlock()
	return t.id, t.expires, nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errors.New("refresh tokens are not issued (ProConnect issues none)")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// TerminateSession ends every provider session of the user (end_session).
func (s *storage) TerminateSession(_ context.Context, userID, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sub := range s.sessions {
		if sub == userID {
			delete(s.sessions, id)
		}
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, _ string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, tokenOrID)
	return nil
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// SigningKey is what zitadel signs ID tokens with: the published key, or the
// forgery key of SetIDTokenSigningKey under the published kid.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.key
	if s.knobs.idTokenKey != nil {
		k = s.knobs.idTokenKey
	}
	return signingKey{id: s.kid, key: k}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{id: s.kid, key: &s.key.PublicKey}}, nil
}

// --- op.OPStorage ---

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, fmt.Errorf("client %q not found", id)
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if id != s.client.id || subtle.ConstantTimeCompare([]byte(secret), []byte(s.client.secret)) != 1 {
		return oidc.ErrInvalidClient().WithDescription("client authentication failed")
	}
	return nil
}

// SetUserinfoFromScopes fills the ID token's user claims. Like ProConnect's,
// the ID token carries sub and idp_id only; the rest is in userinfo.
func (s *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, _ []string) error {
	u, ok := s.user(userID)
	if !ok {
		return fmt.Errorf("user %q not found", userID)
	}
	info.Subject = u.Sub
	if u.IdpID != "" {
		info.AppendClaims("idp_id", u.IdpID)
	}
	return nil
}

// SetUserinfoFromToken builds the userinfo claims granted by the token's
// scopes; iss and aud are added because the answer is turned into a JWT.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || t.subject != subject {
		return errors.New("access token unknown or revoked")
	}
	if !time.Now().Before(t.expires) {
		return errors.New("access token expired")
	}
	u, ok := s.user(subject)
	if !ok {
		return fmt.Errorf("user %q not found", subject)
	}
	info.Subject = u.Sub
	info.AppendClaims("iss", s.client.issuer)
	info.AppendClaims("aud", t.clientID)
	for scope, v := range u.claimsByScope() {
		if v != "" && slices.Contains(t.scopes, scope) {
			info.AppendClaims(scope, v)
		}
	}
	return nil
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("introspection is not offered (ProConnect has none)")
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// --- keys ---

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct {
	id  string
	key *rsa.PublicKey
}

func (k publicKey) ID() string                         { return k.id }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

// --- op.AuthRequest ---

type authRequest struct {
	s          *storage
	id         string
	created    time.Time
	req        oidc.AuthRequest
	subject    string // set by the login step
	authTime   time.Time
	done       bool
	codeIssued time.Time
}

func (a *authRequest) GetID() string { return a.id }

func (a *authRequest) GetACR() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if a.s.knobs.idTokenACR != "" {
		return a.s.knobs.idTokenACR
	}
	return ACR
}

func (a *authRequest) GetAMR() []string      { return []string{"pwd"} }
func (a *authRequest) GetAudience() []string { return []string{a.req.ClientID} }
func (a *authRequest) GetAuthTime() time.Time {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.authTime
}
func (a *authRequest) GetClientID() string { return a.req.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.req.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}

func (a *authRequest) GetNonce() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if a.s.knobs.idTokenNonce != "" {
		return a.s.knobs.idTokenNonce
	}
	return a.req.Nonce
}

func (a *authRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.req.Scopes }
func (a *authRequest) GetState() string                   { return a.req.State }

func (a *authRequest) GetSubject() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.subject
}

func (a *authRequest) Done() bool {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.done
}

// --- op.Client ---

type client struct {
	id, secret, issuer, loginPath string
	redirectURIs, postLogoutURIs  []string
	s                             *storage
}

func (c *client) GetID() string                       { return c.id }
func (c *client) RedirectURIs() []string              { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string    { return c.postLogoutURIs }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *client) LoginURL(id string) string            { return c.loginPath + "?authRequestID=" + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) DevMode() bool                        { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) IsScopeAllowed(scope string) bool     { return slices.Contains(Scopes, scope) }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c *client) IDTokenLifetime() time.Duration {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.knobs.idTokenLifetime != 0 {
		return c.s.knobs.idTokenLifetime
	}
	return IDTokenTTL
}
