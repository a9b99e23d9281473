package oidctest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const (
	redirectURI = "https://bureau.test/auth/callback"
	logoutURI   = "https://bureau.test/auth/logged-out"
)

var bob = User{Sub: "b0b", Email: "bob@finances.gouv.fr", GivenName: "Bob", UsualName: "Durand",
	UID: "42", SIRET: "11002001300097", IdpID: "idp-finances", BelongingPopulation: "agent"}

// rp is a relying party built from go-oidc and x/oauth2, as the gateway is.
type rp struct {
	t       *testing.T
	p       *Provider
	ctx     context.Context
	prov    *oidc.Provider
	conf    oauth2.Config
	browser *http.Client
}

func newRP(t *testing.T) *rp {
	t.Helper()
	p := Start(t, Options{RedirectURI: redirectURI, PostLogoutRedirectURI: logoutURI, Users: []User{DefaultUser, bob}})
	ctx := oidc.ClientContext(context.Background(), p.Server.Client())
	prov, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	ep := prov.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader // no auto-detect retry hiding the first error
	jar, _ := cookiejar.New(nil)
	host := p.Server.Listener.Addr().String()
	return &rp{t: t, p: p, ctx: ctx, prov: prov, browser: &http.Client{Jar: jar,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host != host { // stop at the relying party
				return http.ErrUseLastResponse
			}
			return nil
		}},
		conf: oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURI, Endpoint: ep,
			Scopes: []string{"openid", "given_name", "usual_name", "email", "uid", "siret", "idp_id", "siren"}},
	}
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type flow struct{ state, nonce, verifier string }

func newFlow() flow { return flow{random(), random(), oauth2.GenerateVerifier()} }

// authorize runs the browser leg and returns the callback's query.
func (c *rp) authorize(f flow, extra ...oauth2.AuthCodeOption) url.Values {
	c.t.Helper()
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier),
		oauth2.SetAuthURLParam("acr_values", "eidas1")}, extra...)
	resp, err := c.browser.Get(c.conf.AuthCodeURL(f.state, opts...))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, redirectURI+"?") {
		body, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("want redirect to the RP, got %d %q %.300s", resp.StatusCode, loc, body)
	}
	u, _ := url.Parse(loc)
	return u.Query()
}

func (c *rp) login(f flow, extra ...oauth2.AuthCodeOption) *oauth2.Token {
	c.t.Helper()
	q := c.authorize(f, extra...)
	if q.Get("state") != f.state || q.Get("code") == "" {
		c.t.Fatalf("callback %v", q)
	}
	tok, err := c.conf.Exchange(c.ctx, q.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		c.t.Fatalf("exchange: %v", err)
	}
	return tok
}

func (c *rp) verifyID(tok *oauth2.Token) (*oidc.IDToken, error) {
	raw, _ := tok.Extra("id_token").(string)
	return c.prov.Verifier(&oidc.Config{ClientID: c.p.ClientID}).Verify(c.ctx, raw)
}

func (c *rp) userinfo(tok *oauth2.Token) (map[string]any, error) {
	ui, err := c.prov.UserInfo(c.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, ui.Claims(&m)
}

func TestHappyPath(t *testing.T) {
	c := newRP(t)
	f := newFlow()
	tok := c.login(f, oauth2.SetAuthURLParam("login_hint", bob.Email))
	idt, err := c.verifyID(tok)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	var id map[string]any
	_ = idt.Claims(&id)
	if idt.Nonce != f.nonce || idt.Subject != bob.Sub || id["acr"] != "eidas1" || id["idp_id"] != bob.IdpID {
		t.Errorf("ID token %v", id)
	}
	if got := time.Until(idt.Expiry); got > IDTokenTTL+time.Second || got < IDTokenTTL-10*time.Second {
		t.Errorf("ID token lifetime %v", got)
	}
	if d := time.Until(tok.Expiry); d > AccessTokenTTL+time.Second || d < AccessTokenTTL-10*time.Second {
		t.Errorf("access token lifetime %v", d)
	}

	// The raw answer is a JWT; go-oidc verified its signature against JWKS.
	req, _ := http.NewRequest(http.MethodGet, c.prov.UserInfoEndpoint(), nil)
	tok.SetAuthHeader(req)
	resp, err := c.p.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/jwt" {
		t.Fatalf("userinfo Content-Type %q", ct)
	}
	ui, err := c.userinfo(tok)
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	for k, v := range map[string]string{"iss": c.p.Issuer, "aud": c.p.ClientID, "sub": bob.Sub, "email": bob.Email,
		"given_name": "Bob", "usual_name": "Durand", "uid": "42", "siret": bob.SIRET, "siren": bob.SIRET[:9], "idp_id": bob.IdpID} {
		if ui[k] != v {
			t.Errorf("userinfo %s = %v, want %q", k, ui[k], v)
		}
	}
	if _, ok := ui["phone"]; ok {
		t.Errorf("phone released without its scope: %v", ui)
	}
	if !strings.HasSuffix(c.p.Issuer, "/api/v2") {
		t.Errorf("issuer %q lacks ProConnect's /api/v2", c.p.Issuer)
	}
}

func TestSetNextUserAndDefault(t *testing.T) {
	c := newRP(t)
	if id, _ := c.verifyID(c.login(newFlow())); id == nil || id.Subject != DefaultUser.Sub {
		t.Fatalf("default user: %+v", id)
	}
	c.browser.Jar, _ = cookiejar.New(nil) // drop the provider session
	c.p.SetNextUser(bob.Sub)
	if id, _ := c.verifyID(c.login(newFlow())); id == nil || id.Subject != bob.Sub {
		t.Fatalf("SetNextUser: %+v", id)
	}
}

func TestPromptNone(t *testing.T) {
	c := newRP(t)
	f := newFlow()
	if q := c.authorize(f, oauth2.SetAuthURLParam("prompt", "none")); q.Get("error") != "login_required" || q.Get("state") != f.state {
		t.Fatalf("prompt=none without session: %v", q)
	}
	c.login(newFlow(), oauth2.SetAuthURLParam("login_hint", bob.Sub))
	id, err := c.verifyID(c.login(newFlow(), oauth2.SetAuthURLParam("prompt", "none")))
	if err != nil || id.Subject != bob.Sub {
		t.Fatalf("prompt=none with session: %v %+v", err, id)
	}
}

func TestProConnectRequestRules(t *testing.T) {
	c := newRP(t)
	for name, tc := range map[string]struct{ param, value, want string }{
		"short state": {"state", "too-short", "invalid_request"},
		"short nonce": {"nonce", "short", "invalid_request"},
		"no openid":   {"scope", "email", "invalid_scope"},
		"plain PKCE":  {"code_challenge_method", "plain", "invalid_request"},
	} {
		f := newFlow()
		q := c.authorize(f, oauth2.SetAuthURLParam(tc.param, tc.value))
		if q.Get("error") != tc.want || q.Get("code") != "" {
			t.Errorf("%s: %v, want error=%s", name, q, tc.want)
		}
	}
	// An unregistered redirect_uri is never redirected to.
	u, _ := url.Parse(c.conf.AuthCodeURL(random(), oidc.Nonce(random())))
	q := u.Query()
	q.Set("redirect_uri", "https://evil.example/cb")
	u.RawQuery = q.Encode()
	resp, err := c.browser.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("bad redirect_uri: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	c := newRP(t)
	f := newFlow()
	code := c.authorize(f).Get("code")
	if _, err := c.conf.Exchange(c.ctx, code, oauth2.VerifierOption(f.verifier)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.conf.Exchange(c.ctx, code, oauth2.VerifierOption(f.verifier)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("replay: %v", err)
	}
	f2 := newFlow()
	code = c.authorize(f2).Get("code")
	if _, err := c.conf.Exchange(c.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("wrong PKCE verifier accepted")
	}
}

func TestEndSession(t *testing.T) {
	c := newRP(t)
	tok := c.login(newFlow())
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := c.prov.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("no end_session_endpoint: %v", err)
	}
	state := random()
	hint, _ := tok.Extra("id_token").(string)
	resp, err := c.browser.Get(meta.EndSession + "?" + url.Values{"id_token_hint": {hint}, "state": {state}, "post_logout_redirect_uri": {logoutURI}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), logoutURI) || loc.Query().Get("state") != state {
		t.Fatalf("end_session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if q := c.authorize(newFlow(), oauth2.SetAuthURLParam("prompt", "none")); q.Get("error") != "login_required" {
		t.Errorf("prompt=none after logout: %v", q)
	}
}

func TestKnobs(t *testing.T) {
	t.Run("nonce override", func(t *testing.T) {
		c := newRP(t)
		c.p.SetIDTokenNonce(random())
		f := newFlow()
		idt, err := c.verifyID(c.login(f))
		if err != nil {
			t.Fatal(err)
		}
		// go-oidc leaves the nonce check to the relying party.
		if idt.Nonce == f.nonce {
			t.Fatal("nonce override had no effect")
		}
	})
	t.Run("acr", func(t *testing.T) {
		c := newRP(t)
		c.p.SetIDTokenACR("eidas0")
		idt, err := c.verifyID(c.login(newFlow()))
		if err != nil {
			t.Fatal(err)
		}
		var cl struct{ Acr string }
		_ = idt.Claims(&cl)
		if cl.Acr != "eidas0" {
			t.Fatalf("acr %q", cl.Acr)
		}
	})
	t.Run("expired ID token", func(t *testing.T) {
		c := newRP(t)
		c.p.SetIDTokenLifetime(-time.Minute)
		if _, err := c.verifyID(c.login(newFlow())); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("err = %v, want expired", err)
		}
	})
	t.Run("forged ID token", func(t *testing.T) {
		c := newRP(t)
		c.p.SetIDTokenSigningKey(GenerateKey(t))
		if _, err := c.verifyID(c.login(newFlow())); err == nil || !strings.Contains(err.Error(), "signature") {
			t.Fatalf("err = %v, want a signature failure", err)
		}
		c.p.SetIDTokenSigningKey(nil)
		if _, err := c.verifyID(c.login(newFlow())); err != nil {
			t.Fatalf("after reset: %v", err)
		}
	})
	t.Run("userinfo wrongly signed", func(t *testing.T) {
		c := newRP(t)
		c.p.SetUserinfoSigningKey(GenerateKey(t))
		if _, err := c.userinfo(c.login(newFlow())); err == nil || !strings.Contains(err.Error(), "invalid userinfo jwt signature") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("userinfo unsigned", func(t *testing.T) {
		c := newRP(t)
		c.p.SetUserinfoUnsigned(true)
		tok := c.login(newFlow())
		// go-oidc accepts plain JSON userinfo, so a ProConnect RP must insist
		// on application/jwt itself: this checks what such a check sees.
		req, _ := http.NewRequest(http.MethodGet, c.prov.UserInfoEndpoint(), nil)
		tok.SetAuthHeader(req)
		resp, err := c.p.Server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
			t.Fatalf("Content-Type %q, want application/json", resp.Header.Get("Content-Type"))
		}
	})
	t.Run("userinfo tampered", func(t *testing.T) {
		c := newRP(t)
		c.p.TamperUserinfo(func(m map[string]any) { m["sub"] = "someone-else"; delete(m, "siret") })
		ui, err := c.userinfo(c.login(newFlow()))
		if err != nil {
			t.Fatal(err) // still validly signed: the RP must compare sub with the ID token's
		}
		if ui["sub"] != "someone-else" || ui["siret"] != nil {
			t.Fatalf("tamper had no effect: %v", ui)
		}
	})
}

func TestClientSecretPost(t *testing.T) {
	c := newRP(t)
	c.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if _, err := c.verifyID(c.login(newFlow())); err != nil {
		t.Fatal(err)
	}
	c.conf.ClientSecret = "wrong"
	f := newFlow()
	if _, err := c.conf.Exchange(c.ctx, c.authorize(f).Get("code"), oauth2.VerifierOption(f.verifier)); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("wrong secret: %v", err)
	}
}
