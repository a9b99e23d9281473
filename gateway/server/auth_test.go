package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"bureau/gateway/config"
	"bureau/gateway/internal/oidctest"
)

func TestLoginThroughProConnectLikeProvider(t *testing.T) {
	x, _ := startGateway(t, gwOpts{})
	b := newBrowser(t)
	resp := b.login(x, alice.Email)
	if resp.Request.URL.Path != "/api/me" || resp.StatusCode != 200 {
		t.Fatalf("login ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	status, me := b.me(x)
	if status != 200 {
		t.Fatalf("/api/me: %d", status)
	}
	if me["email"] != alice.Email || me["display_name"] != "Alice Martin" || me["external"] != false {
		t.Fatalf("identity: %v", me)
	}
	if m, _ := me["ministry"].(map[string]any); m["id"] != "interieur" || m["name"] != "Ministère de l'Intérieur" {
		t.Fatalf("ministry: %v", me["ministry"])
	}
	c := b.sessionCookie(x)
	if c == nil || len(c.Value) != 43 {
		t.Fatalf("session cookie: %+v", c)
	}

	// The user id is stable across logins (issuer + sub), and a new login
	// rotates the session id.
	id := me["id"]
	b.login(x, alice.Email)
	_, me2 := b.me(x)
	if me2["id"] != id {
		t.Fatalf("user id changed: %v then %v", id, me2["id"])
	}
	if c2 := b.sessionCookie(x); c2 == nil || c2.Value == c.Value {
		t.Fatal("session id not rotated at login")
	}
}

func TestLoginSetsCookieAttributes(t *testing.T) {
	x, _ := startGateway(t, gwOpts{})
	b := newBrowser(t)
	cb := b.stepToCallback(x, alice.Email)
	resp, err := b.noFollow().Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "bureau_session" {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" {
		t.Fatalf("session cookie attributes: %+v", sess)
	}
}

func TestExternalAndOtherMinistry(t *testing.T) {
	x, _ := startGateway(t, gwOpts{})
	b := newBrowser(t)
	b.login(x, chloe.Email)
	_, me := b.me(x)
	if m, _ := me["ministry"].(map[string]any); m["id"] != "finances" {
		t.Fatalf("chloe's ministry: %v", me)
	}
	d := newBrowser(t)
	d.login(x, david.Email)
	_, me = d.me(x)
	if me["external"] != true || me["ministry"] != nil {
		t.Fatalf("david should be external: %v", me)
	}
}

// Each misbehaviour of the provider or the browser ends with a clear 4xx
// page and no session.
func TestLoginRefusals(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(p *oidctest.Provider)
		tamper func(cb *url.URL)
		status int
	}{
		{name: "tampered state", tamper: func(cb *url.URL) {
			q := cb.Query()
			q.Set("state", strings.Repeat("x", 43))
			cb.RawQuery = q.Encode()
		}, status: 400},
		{name: "idp error", tamper: func(cb *url.URL) {
			q := cb.Query()
			q.Del("code")
			q.Set("error", "access_denied")
			cb.RawQuery = q.Encode()
		}, status: 401},
		{name: "forged code", tamper: func(cb *url.URL) {
			q := cb.Query()
			q.Set("code", "forged")
			cb.RawQuery = q.Encode()
		}, status: 401},
		{name: "wrong nonce", setup: func(p *oidctest.Provider) { p.SetIDTokenNonce(strings.Repeat("n", 43)) }, status: 401},
		{name: "expired id token", setup: func(p *oidctest.Provider) { p.SetIDTokenLifetime(-time.Minute) }, status: 401},
		{name: "forged id token", setup: func(p *oidctest.Provider) { p.SetIDTokenSigningKey(oidctest.GenerateKey(t)) }, status: 401},
		{name: "insufficient acr", setup: func(p *oidctest.Provider) { p.SetIDTokenACR("eidas0") }, status: 401},
		{name: "unsigned userinfo", setup: func(p *oidctest.Provider) { p.SetUserinfoUnsigned(true) }, status: 401},
		{name: "wrongly signed userinfo", setup: func(p *oidctest.Provider) { p.SetUserinfoSigningKey(oidctest.GenerateKey(t)) }, status: 401},
		{name: "userinfo for another subject", setup: func(p *oidctest.Provider) {
			p.TamperUserinfo(func(c map[string]any) { c["sub"] = chloe.Sub })
		}, status: 401},
		{name: "userinfo without email", setup: func(p *oidctest.Provider) {
			p.TamperUserinfo(func(c map[string]any) { delete(c, "email") })
		}, status: 401},
	}
	x, p := startGateway(t, gwOpts{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.setup != nil {
				c.setup(p)
				t.Cleanup(func() {
					p.SetIDTokenNonce("")
					p.SetIDTokenLifetime(0)
					p.SetIDTokenSigningKey(nil)
					p.SetIDTokenACR("")
					p.SetUserinfoUnsigned(false)
					p.SetUserinfoSigningKey(nil)
					p.TamperUserinfo(nil)
				})
			}
			b := newBrowser(t)
			cb := b.stepToCallback(x, alice.Email)
			if c.tamper != nil {
				c.tamper(cb)
			}
			resp, body := b.get(cb.String())
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if !strings.Contains(body, "Connexion") {
				t.Fatalf("no explanation for the user: %s", body)
			}
			if b.sessionCookie(x) != nil {
				t.Fatal("a session cookie was set")
			}
			if st, _ := b.me(x); st != 401 {
				t.Fatalf("/api/me after refused login: %d", st)
			}
		})
	}
}

func TestCallbackReplayAndMissingAttempt(t *testing.T) {
	x, _ := startGateway(t, gwOpts{})
	b := newBrowser(t)
	cb := b.stepToCallback(x, alice.Email)
	if resp, _ := b.get(cb.String()); resp.StatusCode != 200 {
		t.Fatalf("first callback: %d", resp.StatusCode)
	}
	// The same callback again: the login attempt was single-use.
	if resp, _ := b.get(cb.String()); resp.StatusCode != 400 {
		t.Fatalf("replayed callback: %d", resp.StatusCode)
	}
	// A used code with a fresh attempt's state: the provider refuses it.
	cb2 := b.stepToCallback(x, alice.Email)
	q := cb2.Query()
	q.Set("code", cb.Query().Get("code"))
	cb2.RawQuery = q.Encode()
	if resp, _ := b.get(cb2.String()); resp.StatusCode != 401 {
		t.Fatalf("replayed code: %d", resp.StatusCode)
	}
	// A callback in a browser that never started a login.
	other := newBrowser(t)
	if resp, _ := other.get(cb.String()); resp.StatusCode != 400 {
		t.Fatalf("callback without attempt: %d", resp.StatusCode)
	}
}

func TestLoginRequestIsProConnectShaped(t *testing.T) {
	x, p := startGateway(t, gwOpts{})
	resp, err := newBrowser(t).noFollow().Get(x.url + "/auth/login?redirect=/fichiers")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if !strings.HasPrefix(loc.String(), p.Issuer) {
		t.Fatalf("login goes to %s", loc)
	}
	q := loc.Query()
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("acr_values") != "eidas1" {
		t.Fatalf("authorize request: %v", q)
	}
	if len(q.Get("state")) < 32 || len(q.Get("nonce")) < 32 || q.Get("state") == q.Get("nonce") {
		t.Fatalf("state/nonce too weak: %v", q)
	}
	for _, s := range []string{"openid", "given_name", "usual_name", "email", "uid", "siret"} {
		if !strings.Contains(" "+q.Get("scope")+" ", " "+s+" ") {
			t.Fatalf("scope %q missing: %s", s, q.Get("scope"))
		}
	}
	if q.Get("redirect_uri") != x.url+"/auth/callback" {
		t.Fatalf("redirect_uri %s", q.Get("redirect_uri"))
	}
}

func TestRedirectAfterLoginStaysLocal(t *testing.T) {
	x, _ := startGateway(t, gwOpts{})
	for target, want := range map[string]string{
		"/fichiers/espace?x=1":  "/fichiers/espace",
		"//evil.example/":       "/",
		"https://evil.example/": "/",
		"/\\evil.example":       "/",
	} {
		b := newBrowser(t)
		resp, _ := b.get(x.url + "/auth/login?login_hint=" + url.QueryEscape(alice.Email) + "&redirect=" + url.QueryEscape(target))
		if resp.Request.URL.Host != strings.TrimPrefix(x.url, "http://") || resp.Request.URL.Path != want {
			t.Errorf("redirect=%q ended at %s, want path %s", target, resp.Request.URL, want)
		}
	}
}

func TestLogoutThroughEndSession(t *testing.T) {
	x, p := startGateway(t, gwOpts{})
	b := newBrowser(t)
	b.login(x, alice.Email)

	// A cross-site form post cannot log the agent out (CSRF).
	req, _ := http.NewRequest(http.MethodPost, x.url+"/auth/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.noFollow().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("cross-site logout: %d", resp.StatusCode)
	}
	if st, _ := b.me(x); st != 200 {
		t.Fatal("session lost after refused cross-site logout")
	}

	req, _ = http.NewRequest(http.MethodPost, x.url+"/auth/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", x.url)
	resp, err = b.noFollow().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.String(), p.Issuer) {
		t.Fatalf("logout: %d to %v", resp.StatusCode, loc)
	}
	q := loc.Query()
	if q.Get("id_token_hint") == "" || len(q.Get("state")) < 32 || q.Get("post_logout_redirect_uri") != x.url+"/auth/logged-out" {
		t.Fatalf("end_session request: %v", q)
	}
	// Follow the provider back home.
	resp2, _ := b.get(loc.String())
	if resp2.Request.URL.String() != x.url+"/" {
		t.Fatalf("after logout the browser is at %s", resp2.Request.URL)
	}
	if st, _ := b.me(x); st != 401 {
		t.Fatalf("/api/me after logout: %d", st)
	}
}

func TestAuthRateLimitPerAddress(t *testing.T) {
	x, _ := startGateway(t, gwOpts{mutate: func(c *config.Config) { c.RateLimit.AuthPerMinute = 3 }})
	c := newBrowser(t).noFollow()
	codes := []int{}
	for i := 0; i < 4; i++ {
		resp, err := c.Get(x.url + "/auth/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[0] != 302 || codes[3] != 429 {
		t.Fatalf("statuses %v: want the 4th login attempt in a minute refused", codes)
	}
}
