package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bureau/gateway/config"
	"bureau/gateway/internal/oidctest"
	"bureau/services/platform/identity"
	"bureau/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	alice = oidctest.User{Sub: "sub-alice", Email: "alice.martin@interieur.gouv.fr", GivenName: "Alice", UsualName: "Martin",
		UID: "1", SIRET: "11000001200013", IdpID: "idp-interieur", BelongingPopulation: "agent"}
	chloe = oidctest.User{Sub: "sub-chloe", Email: "chloe.bernard@finances.gouv.fr", GivenName: "Chloé", UsualName: "Bernard",
		UID: "2", SIRET: "11002001300097", IdpID: "idp-finances", BelongingPopulation: "agent"}
	david = oidctest.User{Sub: "sub-david", Email: "david.petit@partenaire.example", GivenName: "David", UsualName: "Petit",
		UID: "3", SIRET: "73282932000074", IdpID: "idp-partner", BelongingPopulation: "partenaire"}
)

// gw is a gateway under test, served on a real loopback listener.
type gw struct {
	t      *testing.T
	g      *Gateway
	url    string
	cfg    config.Config
	priv   []byte
	cancel context.CancelFunc
	done   chan error
}

type gwOpts struct {
	issuer   *oidctest.Provider // nil: a new one
	upstream string             // service URL for chat/files/meet
	redisURL string
	dbURL    string
	key      string // base64 identity seed
	listener net.Listener
	mutate   func(*config.Config)
}

// newProvider starts a ProConnect-like OP whose redirect URIs point at l.
func newProvider(t *testing.T, publicURL string) *oidctest.Provider {
	return oidctest.Start(t, oidctest.Options{
		RedirectURI: publicURL + "/auth/callback", PostLogoutRedirectURI: publicURL + "/auth/logged-out",
		Users: []oidctest.User{alice, chloe, david},
	})
}

func listen(t *testing.T) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func startGateway(t *testing.T, o gwOpts) (*gw, *oidctest.Provider) {
	t.Helper()
	l := o.listener
	if l == nil {
		l = listen(t)
	}
	public := "http://" + l.Addr().String()
	p := o.issuer
	if p == nil {
		p = newProvider(t, public)
	}
	cfg := config.Default()
	cfg.Mode = "development"
	cfg.PublicURL = public
	cfg.Listen = l.Addr().String()
	cfg.OpsListen = ""
	cfg.Log.Level = "warn"
	cfg.OIDC.Issuer, cfg.OIDC.ClientID, cfg.OIDC.ClientSecret = p.Issuer, p.ClientID, p.ClientSecret
	cfg.OIDC.RequireACR = true
	cfg.Database.URL = o.dbURL
	if cfg.Database.URL == "" {
		cfg.Database.URL = "sqlite://" + filepath.Join(t.TempDir(), "gw.db")
	}
	cfg.Redis.URL = o.redisURL
	cfg.Identity.PrivateKey = o.key
	if o.key == "" {
		_, priv, _ := identity.GenerateKey()
		cfg.Identity.PrivateKey = identity.EncodePrivateKey(priv)
	}
	up := o.upstream
	if up == "" {
		up = "http://127.0.0.1:1"
	}
	cfg.Services.Chat.URL, cfg.Services.Files.URL, cfg.Services.Meet.URL = up, up, up
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("<!doctype html><title>Bureau</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Web.Dir = web
	cfg.Ministries = DevMinistries()
	cfg.ShutdownDrain = 5 * time.Second
	if o.mutate != nil {
		o.mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	g, err := New(ctx, cfg, log, Options{})
	if err != nil {
		cancel()
		t.Fatalf("gateway: %v", err)
	}
	x := &gw{t: t, g: g, url: public, cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { x.done <- g.Run(ctx, l, nil) }()
	t.Cleanup(x.stop)
	return x, p
}

func (x *gw) stop() {
	if x.cancel == nil {
		return
	}
	x.cancel()
	x.cancel = nil
	if err := <-x.done; err != nil {
		x.t.Errorf("gateway run: %v", err)
	}
	x.g.Close()
}

// browser is an http.Client with cookies that follows redirects between
// the gateway and the provider, as a browser would.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// noFollow returns a copy that stops at the first redirect.
func (b *browser) noFollow() *http.Client {
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// login runs the whole code flow for the user with login_hint.
func (b *browser) login(x *gw, email string) *http.Response {
	b.t.Helper()
	resp, _ := b.get(x.url + "/auth/login?login_hint=" + url.QueryEscape(email) + "&redirect=/api/me")
	return resp
}

func (b *browser) me(x *gw) (int, map[string]any) {
	b.t.Helper()
	resp, body := b.get(x.url + "/api/me")
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	return resp.StatusCode, m
}

func (b *browser) sessionCookie(x *gw) *http.Cookie {
	u, _ := url.Parse(x.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "bureau_session" {
			return c
		}
	}
	return nil
}

// stepToCallback starts a login and stops at the redirect back to the
// gateway's callback, returning that URL (code and state inside).
func (b *browser) stepToCallback(x *gw, email string) *url.URL {
	b.t.Helper()
	c := b.noFollow()
	next := x.url + "/auth/login?login_hint=" + url.QueryEscape(email)
	for i := 0; i < 10; i++ {
		resp, err := c.Get(next)
		if err != nil {
			b.t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			b.t.Fatalf("no redirect from %s (status %d)", next, resp.StatusCode)
		}
		if strings.HasPrefix(loc.String(), x.url+"/auth/callback") {
			return loc
		}
		next = loc.String()
	}
	b.t.Fatal("never reached the callback")
	return nil
}
