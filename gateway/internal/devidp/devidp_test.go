package devidp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

const (
	clientID     = "bureau-gateway"
	clientSecret = "dev-secret-not-for-production"
	redirectURI  = "https://bureau.test/auth/callback"
	logoutURI    = "https://bureau.test/auth/logged-out"
)

// clock is a settable clock close to real time, so go-oidc (which checks exp
// against time.Now) accepts tokens while tests can still jump past 30 s.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

type env struct {
	t       *testing.T
	idp     *Server
	ts      *httptest.Server
	clk     *clock
	browser *http.Client
	ctx     context.Context
	rp      *oidc.Provider
	conf    oauth2.Config
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T) *env {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	clk := &clock{}
	issuer := "http://" + ts.Listener.Addr().String() + "/devidp/api/v2"
	idp, err := New(Config{
		DevMode: true,
		Issuer:  issuer,
		Clients: []Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{redirectURI}, PostLogoutRedirectURIs: []string{logoutURI}}},
		Now:     clk.Now,
	}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(idp.MountPath(), idp)
	ts.Config.Handler = mux
	ts.Start()
	t.Cleanup(ts.Close)

	jar, _ := cookiejar.New(nil)
	host := ts.Listener.Addr().String()
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host { // stop at the relying party: it does not exist here
			return http.ErrUseLastResponse
		}
		return nil
	}}
	ctx := oidc.ClientContext(context.Background(), ts.Client())
	rp, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	// An explicit AuthStyle: oauth2's auto-detection retries a failed exchange
	// with the other style, so the error seen would be "code already used".
	endpoint := rp.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	return &env{t: t, idp: idp, ts: ts, clk: clk, browser: browser, ctx: ctx, rp: rp, conf: oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURI, Endpoint: endpoint,
		Scopes: []string{"openid", "given_name", "usual_name", "email", "uid", "siret", "siren", "organizational_unit", "belonging_population", "phone", "idp_id"},
	}}
}

func random(t *testing.T) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type flow struct{ state, nonce, verifier string }

func (e *env) newFlow() flow {
	return flow{state: random(e.t), nonce: random(e.t), verifier: oauth2.GenerateVerifier()}
}

func (e *env) authURL(f flow, extra ...oauth2.AuthCodeOption) string {
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier),
		oauth2.SetAuthURLParam("acr_values", "eidas1")}, extra...)
	return e.conf.AuthCodeURL(f.state, opts...)
}

func (e *env) get(u string) *http.Response {
	e.t.Helper()
	resp, err := e.browser.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// callback asserts a redirect to the relying party and returns its query.
func (e *env) callback(resp *http.Response) url.Values {
	e.t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, redirectURI+"?") {
		body, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("want redirect to %s, got %d Location=%q body=%.300s", redirectURI, resp.StatusCode, loc, body)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

func (e *env) loginCode(f flow, email string) string {
	e.t.Helper()
	q := e.callback(e.get(e.authURL(f, oauth2.SetAuthURLParam("login_hint", email))))
	if q.Get("state") != f.state || q.Get("code") == "" {
		e.t.Fatalf("callback %v: want code and state %q", q, f.state)
	}
	return q.Get("code")
}

func (e *env) exchange(f flow, code string) (*oauth2.Token, error) {
	return e.conf.Exchange(e.ctx, code, oauth2.VerifierOption(f.verifier))
}

func (e *env) claims(tok *oauth2.Token) (idClaims, uiClaims map[string]any) {
	e.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := e.rp.Verifier(&oidc.Config{ClientID: clientID}).Verify(e.ctx, raw)
	if err != nil {
		e.t.Fatalf("verify ID token: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		e.t.Fatalf("at_hash: %v", err)
	}
	if err := idt.Claims(&idClaims); err != nil {
		e.t.Fatal(err)
	}
	ui, err := e.rp.UserInfo(e.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		e.t.Fatalf("userinfo: %v", err)
	}
	if err := ui.Claims(&uiClaims); err != nil {
		e.t.Fatal(err)
	}
	return idClaims, uiClaims
}

func TestCodeFlowWithRealRelyingParty(t *testing.T) {
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		e := newEnv(t)
		e.conf.Endpoint.AuthStyle = style
		f := e.newFlow()
		tok, err := e.exchange(f, e.loginCode(f, "Alice.Martin@interieur.gouv.fr"))
		if err != nil {
			t.Fatalf("auth style %v: exchange: %v", style, err)
		}
		if exp := time.Until(tok.Expiry); exp > AccessTokenTTL+time.Second || exp < AccessTokenTTL-5*time.Second {
			t.Errorf("access token lifetime %v, want ≈60s", exp)
		}
		id, ui := e.claims(tok)
		alice, _ := DefaultSeed()
		want := alice[0]
		if id["nonce"] != f.nonce || id["acr"] != "eidas1" || id["sub"] != want.Sub || id["idp_id"] != want.IdpID {
			t.Errorf("ID token claims %v", id)
		}
		if amr, _ := id["amr"].([]any); len(amr) == 0 {
			t.Errorf("ID token has no amr: %v", id)
		}
		for k, v := range map[string]string{
			"iss": e.idp.Issuer(), "aud": clientID, "sub": want.Sub, "email": "alice.martin@interieur.gouv.fr",
			"given_name": "Alice", "usual_name": "Martin", "siret": SIRETInterieur, "siren": SIRETInterieur[:9],
			"uid": want.UID, "idp_id": want.IdpID, "belonging_population": "agent",
		} {
			if ui[k] != v {
				t.Errorf("userinfo %s = %v, want %q", k, ui[k], v)
			}
		}
	}
}

func TestUserinfoIsSignedJWTAndHonoursScopes(t *testing.T) {
	e := newEnv(t)
	e.conf.Scopes = []string{"openid", "email"}
	f := e.newFlow()
	tok, err := e.exchange(f, e.loginCode(f, "bruno.leroy@interieur.gouv.fr"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.rp.UserInfoEndpoint(), nil)
	tok.SetAuthHeader(req)
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/jwt" {
		t.Fatalf("Content-Type %q, want application/jwt", ct)
	}
	jws, err := jose.ParseSigned(string(body), []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("userinfo is not a JWS: %v", err)
	}
	payload, err := jws.Verify(&e.idp.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	_ = json.Unmarshal(payload, &c)
	if c["email"] != "bruno.leroy@interieur.gouv.fr" || c["given_name"] != nil || c["siret"] != nil {
		t.Errorf("scope openid+email gave %v", c)
	}
}

func TestLoginHintSyntheticAgent(t *testing.T) {
	e := newEnv(t)
	f := e.newFlow()
	tok, err := e.exchange(f, e.loginCode(f, "jean-pierre.dupont@finances.gouv.fr"))
	if err != nil {
		t.Fatal(err)
	}
	_, ui := e.claims(tok)
	if ui["given_name"] != "Jean-Pierre" || ui["usual_name"] != "Dupont" || ui["siret"] != SIRETFinances ||
		ui["sub"] != SubFor("jean-pierre.dupont@finances.gouv.fr") {
		t.Errorf("synthetic agent claims %v", ui)
	}
}

func TestExternalPartnerSeeded(t *testing.T) {
	e := newEnv(t)
	f := e.newFlow()
	tok, err := e.exchange(f, e.loginCode(f, "david.petit@partenaire.example"))
	if err != nil {
		t.Fatal(err)
	}
	_, ui := e.claims(tok)
	if ui["siret"] != SIRETPartner || ui["belonging_population"] != "partenaire" {
		t.Errorf("partner claims %v", ui)
	}
}

func TestUnknownDomainRefused(t *testing.T) {
	e := newEnv(t)
	for _, hint := range []string{"mallory@evil.example", "someone@partenaire.example", "not-an-email"} {
		resp := e.get(e.authURL(e.newFlow(), oauth2.SetAuthURLParam("login_hint", hint)))
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
			!strings.Contains(string(body), "aucun agent ni ministère") {
			t.Errorf("%s: status %d Location %q", hint, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestCodeReplayRefusedAndTokensRevoked(t *testing.T) {
	e := newEnv(t)
	f := e.newFlow()
	code := e.loginCode(f, "alice.martin@interieur.gouv.fr")
	tok, err := e.exchange(f, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.exchange(f, code); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("replayed code: err = %v, want invalid_grant", err)
	}
	if _, err := e.rp.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("userinfo with a token from a replayed code: err = %v, want 401", err)
	}
}

func TestExpiredCodeAndAccessToken(t *testing.T) {
	e := newEnv(t)
	f := e.newFlow()
	code := e.loginCode(f, "alice.martin@interieur.gouv.fr")
	e.clk.Advance(CodeTTL + time.Second)
	if _, err := e.exchange(f, code); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired code: err = %v", err)
	}

	f = e.newFlow()
	tok, err := e.exchange(f, e.loginCode(f, "alice.martin@interieur.gouv.fr"))
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(AccessTokenTTL + time.Second)
	if _, err := e.rp.UserInfo(e.ctx, oauth2.StaticTokenSource(tok)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("expired access token: err = %v, want 401", err)
	}
}

func TestPKCEMismatchRefused(t *testing.T) {
	e := newEnv(t)
	f := e.newFlow()
	code := e.loginCode(f, "alice.martin@interieur.gouv.fr")
	f.verifier = oauth2.GenerateVerifier()
	if _, err := e.exchange(f, code); err == nil || !strings.Contains(err.Error(), "code_verifier") {
		t.Fatalf("wrong verifier: err = %v", err)
	}
}

func TestUntrustedRedirectShowsErrorPage(t *testing.T) {
	e := newEnv(t)
	f := e.newFlow()
	for name, mutate := range map[string]func(url.Values){
		"unregistered redirect_uri": func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"prefix of registered":      func(q url.Values) { q.Set("redirect_uri", redirectURI+"/x") },
		"unknown client":            func(q url.Values) { q.Set("client_id", "nobody") },
	} {
		u, _ := url.Parse(e.authURL(f))
		q := u.Query()
		mutate(q)
		u.RawQuery = q.Encode()
		resp := e.get(u.String())
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
			!strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "ne pas utiliser en production") {
			t.Errorf("%s: status %d Location %q", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestProtocolErrorsRedirectWithOAuthError(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, param, value, wantErr string
	}{
		{"short state", "state", strings.Repeat("s", 31), "invalid_request"},
		{"short nonce", "nonce", "n", "invalid_request"},
		{"no openid", "scope", "email", "invalid_scope"},
		{"implicit", "response_type", "id_token", "unsupported_response_type"},
		{"plain PKCE", "code_challenge_method", "plain", "invalid_request"},
	}
	for _, c := range cases {
		f := e.newFlow()
		u, _ := url.Parse(e.authURL(f, oauth2.SetAuthURLParam("login_hint", "alice.martin@interieur.gouv.fr")))
		q := u.Query()
		q.Set(c.param, c.value)
		u.RawQuery = q.Encode()
		got := e.callback(e.get(u.String()))
		wantState := q.Get("state")
		if got.Get("error") != c.wantErr || got.Get("code") != "" || got.Get("state") != wantState {
			t.Errorf("%s: callback %v, want error=%s state=%s", c.name, got, c.wantErr, wantState)
		}
	}
}

func TestPromptNone(t *testing.T) {
	e := newEnv(t)
	f := e.newFlow()
	q := e.callback(e.get(e.authURL(f, oauth2.SetAuthURLParam("prompt", "none"))))
	if q.Get("error") != "login_required" || q.Get("state") != f.state {
		t.Fatalf("prompt=none without session: %v", q)
	}
	e.loginCode(e.newFlow(), "chloe.bernard@finances.gouv.fr")

	f = e.newFlow()
	q = e.callback(e.get(e.authURL(f, oauth2.SetAuthURLParam("prompt", "none"))))
	tok, err := e.exchange(f, q.Get("code"))
	if err != nil {
		t.Fatalf("prompt=none with a session: %v (callback %v)", err, q)
	}
	if _, ui := e.claims(tok); ui["email"] != "chloe.bernard@finances.gouv.fr" {
		t.Errorf("silent login gave %v", ui)
	}
	// A session for someone else does not satisfy a hint for another agent.
	f = e.newFlow()
	q = e.callback(e.get(e.authURL(f, oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("login_hint", "alice.martin@interieur.gouv.fr"))))
	if q.Get("error") != "login_required" {
		t.Errorf("prompt=none with another agent's session: %v", q)
	}
}

func TestEndSession(t *testing.T) {
	e := newEnv(t)
	f := e.newFlow()
	tok, err := e.exchange(f, e.loginCode(f, "alice.martin@interieur.gouv.fr"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := e.rp.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("no end_session_endpoint: %v", err)
	}
	idt, _ := tok.Extra("id_token").(string)
	state := random(t)

	bad := e.get(meta.EndSession + "?" + url.Values{"id_token_hint": {idt}, "state": {state}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode())
	if bad.StatusCode != http.StatusBadRequest || bad.Header.Get("Location") != "" {
		t.Fatalf("unregistered post_logout_redirect_uri: %d %q", bad.StatusCode, bad.Header.Get("Location"))
	}

	e.clk.Advance(IDTokenTTL + time.Minute) // logout commonly happens after the ID token expired
	resp := e.get(meta.EndSession + "?" + url.Values{"id_token_hint": {idt}, "state": {state}, "post_logout_redirect_uri": {logoutURI}}.Encode())
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != logoutURI+"?state="+state {
		t.Fatalf("end_session: %d Location %q", resp.StatusCode, loc)
	}
	f = e.newFlow()
	if q := e.callback(e.get(e.authURL(f, oauth2.SetAuthURLParam("prompt", "none")))); q.Get("error") != "login_required" {
		t.Errorf("prompt=none after logout: %v", q)
	}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestLoginPage(t *testing.T) {
	e := newEnv(t)
	f := e.newFlow()
	resp := e.get(e.authURL(f))
	body, _ := io.ReadAll(resp.Body)
	page := string(body)
	if resp.StatusCode != http.StatusOK || strings.Contains(page, "<script") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("login page: %d CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	for _, s := range []string{"Fournisseur d'identité de développement — ne pas utiliser en production", "alice.martin@interieur.gouv.fr",
		"chloe.bernard@finances.gouv.fr", "david.petit@partenaire.example", `name="state" value="` + f.state + `"`} {
		if !strings.Contains(page, s) {
			t.Errorf("login page lacks %q", s)
		}
	}
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no csrf field")
	}
	form := url.Values{"client_id": {clientID}, "redirect_uri": {redirectURI}, "response_type": {"code"},
		"scope": {strings.Join(e.conf.Scopes, " ")}, "state": {f.state}, "nonce": {f.nonce},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(f.verifier)}, "code_challenge_method": {"S256"}, "email": {"bruno.leroy@interieur.gouv.fr"}}
	authz := e.rp.Endpoint().AuthURL

	// Without the CSRF token (a cross-site form cannot know it) the post is refused.
	noCSRF, err := e.browser.PostForm(authz, form)
	if err != nil {
		t.Fatal(err)
	}
	noCSRF.Body.Close()
	if noCSRF.StatusCode != http.StatusForbidden {
		t.Fatalf("post without csrf: %d", noCSRF.StatusCode)
	}
	form.Set("csrf", m[1])
	ok, err := e.browser.PostForm(authz, form)
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Body.Close()
	tok, err := e.exchange(f, e.callback(ok).Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ui := e.claims(tok); ui["email"] != "bruno.leroy@interieur.gouv.fr" {
		t.Errorf("login form signed in %v", ui)
	}
}

func TestDevModeRequired(t *testing.T) {
	_, err := New(Config{Issuer: "http://localhost:8080/devidp/api/v2", Clients: []Client{{ID: "a", Secret: "b", RedirectURIs: []string{"http://x/cb"}}}}, quietLog())
	if err == nil || !strings.Contains(err.Error(), "refuses to run outside development mode") {
		t.Fatalf("err = %v", err)
	}
}

func TestKeyFilePersistsSigningKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys", "devidp.pem")
	cfg := Config{DevMode: true, Issuer: "http://localhost:8080/devidp/api/v2", KeyFile: file,
		Clients: []Client{{ID: "a", Secret: "b", RedirectURIs: []string{"http://localhost:8080/cb"}}}}
	a, err := New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if a.jwk.KeyID != b.jwk.KeyID || !a.key.Equal(b.key) {
		t.Fatal("key not reloaded from KeyFile")
	}
	if a.MountPath() != "/devidp/api/v2/" {
		t.Errorf("MountPath %q", a.MountPath())
	}
}
