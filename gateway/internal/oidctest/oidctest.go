// Package oidctest starts, inside a Go test, a real OpenID provider that is not
// the gateway's code: zitadel/oidc's op package, configured like ProConnect, so
// the gateway's relying-party code is tested against someone else's
// implementation of the protocol.
//
// What zitadel does: discovery, /authorize parsing and client/redirect_uri
// validation, PKCE S256, the code exchange with client_secret_basic or
// client_secret_post, bearer access tokens, ID token construction and RS256
// signing, JWKS, end_session (id_token_hint, post_logout_redirect_uri, state).
// What this package adds: in-memory storage, ProConnect's extra rules (state
// and nonce ≥ 32 characters, openid scope required, S256 only, 30 s single-use
// codes, 60 s access tokens, acr "eidas1"), a login step without HTML, and the
// userinfo answer as a signed JWT (see userinfo).
//
// Logging in: the provider's login step picks the user named by login_hint
// (email or sub), else the provider session's user, else the one chosen with
// SetNextUser, else Options.Users[0], and redirects straight back, so an
// http.Client with a cookie jar following redirects drives the whole flow.
// prompt=none succeeds only with a provider session (the cookie jar keeps it)
// and otherwise returns error=login_required.
package oidctest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// ProConnect's values.
const (
	IssuerPath       = "/api/v2"
	CodeTTL          = 30 * time.Second
	AccessTokenTTL   = 60 * time.Second
	IDTokenTTL       = 60 * time.Second
	MinStateNonceLen = 32
	ACR              = "eidas1"
)

// Scopes are the scopes the provider grants (each but openid names the claim it releases).
var Scopes = []string{"openid", "given_name", "usual_name", "email", "uid", "siret",
	"siren", "organizational_unit", "belonging_population", "phone", "idp_id"}

// User is an account with ProConnect's claims.
type User struct {
	Sub, Email, GivenName, UsualName, UID, SIRET, IdpID string
	OrganizationalUnit, BelongingPopulation, Phone      string
}

func (u User) claimsByScope() map[string]string {
	m := map[string]string{
		"given_name": u.GivenName, "usual_name": u.UsualName, "email": u.Email, "uid": u.UID,
		"siret": u.SIRET, "idp_id": u.IdpID, "organizational_unit": u.OrganizationalUnit,
		"belonging_population": u.BelongingPopulation, "phone": u.Phone,
	}
	if len(u.SIRET) == 14 {
		m["siren"] = u.SIRET[:9]
	}
	return m
}

// DefaultUser is used when Options.Users is empty.
var DefaultUser = User{
	Sub: "6d2c1e0f9a8b7c6d5e4f3a2b1c0d9e8f", Email: "alice.martin@interieur.gouv.fr",
	GivenName: "Alice", UsualName: "Martin", UID: "1001", SIRET: "11000001200013",
	IdpID: "fia1v2", BelongingPopulation: "agent",
}

// Options configures the provider's single confidential client and its users.
type Options struct {
	RedirectURI           string // required, matched exactly
	PostLogoutRedirectURI string
	Users                 []User
	// ClientID and ClientSecret default to fixed test values.
	ClientID, ClientSecret string
}

// Provider is a running provider. Its Set* knobs make it misbehave in one
// precise way for negative tests; they may be called at any time and apply
// to the next tokens issued.
type Provider struct {
	Issuer, ClientID, ClientSecret string
	Server                         *httptest.Server

	op *op.Provider
	s  *storage
}

// Start starts the provider on 127.0.0.1 and stops it at the end of the test.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	if opts.RedirectURI == "" {
		t.Fatal("oidctest: Options.RedirectURI is required")
	}
	if len(opts.Users) == 0 {
		opts.Users = []User{DefaultUser}
	}
	if opts.ClientID == "" {
		opts.ClientID = "bureau-gateway-test"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "oidctest-client-secret"
	}
	key := GenerateKey(t)
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String() + IssuerPath

	s := &storage{
		users: opts.Users, key: key, kid: "oidctest-" + newID()[:8],
		requests: map[string]*authRequest{}, codes: map[string]string{},
		tokens: map[string]*token{}, sessions: map[string]string{},
	}
	s.client = &client{
		id: opts.ClientID, secret: opts.ClientSecret, issuer: issuer, loginPath: IssuerPath + "/login",
		redirectURIs: []string{opts.RedirectURI}, s: s,
	}
	if opts.PostLogoutRedirectURI != "" {
		s.client.postLogoutURIs = []string{opts.PostLogoutRedirectURI}
	}
	var cryptoKey [32]byte
	_, _ = rand.Read(cryptoKey[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:       cryptoKey,
		CodeMethodS256:  true,
		AuthMethodPost:  true,
		SupportedScopes: Scopes,
		SupportedClaims: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr",
			"given_name", "usual_name", "email", "uid", "siret", "siren", "organizational_unit",
			"belonging_population", "phone", "idp_id"},
	}, s, op.StaticIssuer(issuer),
		op.WithAllowInsecure(), // http on 127.0.0.1
		op.WithCustomEndpoints(op.NewEndpoint("authorize"), op.NewEndpoint("token"), op.NewEndpoint("userinfo"),
			op.NewEndpoint("revoke"), op.NewEndpoint("session/end"), op.NewEndpoint("jwks")),
	)
	if err != nil {
		t.Fatalf("oidctest: zitadel provider: %v", err)
	}
	p := &Provider{Issuer: issuer, ClientID: opts.ClientID, ClientSecret: opts.ClientSecret, Server: ts, op: provider, s: s}

	inner := http.NewServeMux()
	inner.HandleFunc("/login", p.login)
	inner.HandleFunc("/userinfo", p.userinfo)
	inner.Handle("/", provider)
	mux := http.NewServeMux()
	mux.Handle(IssuerPath+"/", http.StripPrefix(IssuerPath, inner))
	ts.Config.Handler = mux
	ts.Start()
	t.Cleanup(ts.Close)
	return p
}

// GenerateKey returns a fresh RSA key, e.g. to forge tokens with SetIDTokenSigningKey.
func GenerateKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generate key: %v", err)
	}
	return k
}

// SetNextUser makes the login step sign in the user with this sub when the
// request has no login_hint and no provider session exists. It stays in force.
func (p *Provider) SetNextUser(sub string) {
	p.set(func(k *knobs) { k.nextUser = sub })
}

// SetIDTokenNonce makes ID tokens carry this nonce instead of the request's
// (a replayed or mixed-up ID token); "" restores the faithful behaviour.
func (p *Provider) SetIDTokenNonce(nonce string) { p.set(func(k *knobs) { k.idTokenNonce = nonce }) }

// SetIDTokenACR makes ID tokens assert this acr instead of "eidas1"; "" restores it.
func (p *Provider) SetIDTokenACR(acr string) { p.set(func(k *knobs) { k.idTokenACR = acr }) }

// SetIDTokenLifetime sets exp-iat of ID tokens; a negative value issues an
// already expired token; 0 restores the 60 s default.
func (p *Provider) SetIDTokenLifetime(d time.Duration) {
	p.set(func(k *knobs) { k.idTokenLifetime = d })
}

// SetIDTokenSigningKey makes zitadel sign ID tokens with key, under the
// published key's kid, while JWKS still publishes the real key: a forged ID
// token. nil restores the real key.
func (p *Provider) SetIDTokenSigningKey(key *rsa.PrivateKey) {
	p.set(func(k *knobs) { k.idTokenKey = key })
}

// SetUserinfoSigningKey signs userinfo JWTs with key (under the published kid)
// instead of the published key. nil restores the real key.
func (p *Provider) SetUserinfoSigningKey(key *rsa.PrivateKey) {
	p.set(func(k *knobs) { k.userinfoKey = key })
}

// SetUserinfoUnsigned makes userinfo answer plain JSON (application/json), as
// a generic provider would but ProConnect never does.
func (p *Provider) SetUserinfoUnsigned(unsigned bool) {
	p.set(func(k *knobs) { k.userinfoUnsigned = unsigned })
}

// TamperUserinfo edits userinfo claims before they are signed (e.g. another
// sub, a wrong aud or iss, a missing siret); nil stops tampering.
func (p *Provider) TamperUserinfo(f func(claims map[string]any)) {
	p.set(func(k *knobs) { k.userinfoTamper = f })
}

// Logins counts completed login steps (interactive or via session).
func (p *Provider) Logins() int {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return p.s.loginCount
}

// JWKS is the published key (e.g. for a relying party configured with static keys).
func (p *Provider) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.s.key.PublicKey, KeyID: p.s.kid, Algorithm: string(jose.RS256), Use: "sig"}}}
}

func (p *Provider) set(f func(*knobs)) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	f(&p.s.knobs)
}

const sessionCookie = "oidctest_session"

// login is the login UI zitadel redirects to: it chooses a user without any
// page and hands the request back to zitadel's callback.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	s := p.s
	id := r.URL.Query().Get("authRequestID")
	s.mu.Lock()
	ar, ok := s.requests[id]
	s.mu.Unlock()
	if !ok {
		http.Error(w, "oidctest: unknown auth request", http.StatusBadRequest)
		return
	}
	var sessionSub string
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		sessionSub = s.sessions[c.Value]
		s.mu.Unlock()
	}
	prompts := ar.req.Prompt
	var u User
	switch hint := ar.req.LoginHint; {
	case slices.Contains(prompts, oidc.PromptNone):
		hinted, _ := s.userByHint(hint)
		if sessionSub == "" || (hint != "" && hinted.Sub != sessionSub) {
			op.AuthRequestError(w, r, ar, oidc.ErrLoginRequired().WithDescription("no provider session"), p.op)
			return
		}
		u, _ = s.user(sessionSub)
	case hint != "":
		if u, ok = s.userByHint(hint); !ok {
			http.Error(w, "oidctest: login_hint matches no user: "+hint, http.StatusBadRequest)
			return
		}
	case sessionSub != "" && !slices.Contains(prompts, oidc.PromptLogin):
		u, _ = s.user(sessionSub)
	default:
		s.mu.Lock()
		next := s.knobs.nextUser
		s.mu.Unlock()
		u = s.users[0]
		if next != "" {
			if u, ok = s.user(next); !ok {
				http.Error(w, "oidctest: SetNextUser names no user: "+next, http.StatusBadRequest)
				return
			}
		}
	}
	sid := newID()
	s.mu.Lock()
	ar.subject, ar.authTime, ar.done = u.Sub, time.Now(), true
	s.sessions[sid] = u.Sub
	s.loginCount++
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: IssuerPath + "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(op.ContextWithIssuer(r.Context(), p.Issuer), id), http.StatusFound)
}

// userinfo wraps zitadel's userinfo endpoint, the only one this package
// rewrites: zitadel validates the bearer token and assembles the claims (via
// storage.SetUserinfoFromToken), but it always answers JSON — its op.Response
// is JSON-marshalled with no hook for another media type, and op.Config has no
// userinfo signing option. ProConnect answers a JWT (application/jwt), so the
// JSON is signed here with the provider's key.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.op.ServeHTTP(rec, r)
	p.s.mu.Lock()
	k := p.s.knobs
	p.s.mu.Unlock()
	if rec.Code != http.StatusOK || (k.userinfoUnsigned && k.userinfoTamper == nil) {
		copyResponse(w, rec)
		return
	}
	var claims map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &claims); err != nil {
		http.Error(w, "oidctest: zitadel userinfo is not JSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if k.userinfoTamper != nil {
		k.userinfoTamper(claims)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if k.userinfoUnsigned {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
		return
	}
	key := p.s.key
	if k.userinfoKey != nil {
		key = k.userinfoKey
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), p.s.kid))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.Copy(w, bytes.NewBufferString(compact))
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
