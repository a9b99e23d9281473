// Package server assembles the gateway: stores, relying party, proxy
// routes, real-time hub and middleware, in the order a request meets them.
package server

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"bureau/gateway/config"
	"bureau/gateway/internal/apppass"
	"bureau/gateway/internal/auth"
	"bureau/gateway/internal/devidp"
	"bureau/gateway/internal/directory"
	"bureau/gateway/internal/events"
	"bureau/gateway/internal/proxy"
	"bureau/gateway/internal/ratelimit"
	"bureau/gateway/internal/secure"
	"bureau/gateway/internal/session"
	"bureau/gateway/internal/webui"
	"bureau/services/platform/bus"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
	"bureau/services/platform/sqldb"
)

// Gateway is an assembled gateway, ready to serve.
type Gateway struct {
	cfg       config.Config
	log       *slog.Logger
	handler   http.Handler
	Health    *httpx.Health
	Metrics   *httpx.Metrics
	Bus       bus.Bus
	hub       *events.Hub
	db        *sqldb.DB
	rdb       *redis.Client
	ownsBus   bool
	PublicKey ed25519.PublicKey
}

// Options are what an embedding program may share with the gateway.
type Options struct {
	// Bus, when set, is used instead of one built from the config (the
	// all-in-one binary shares its in-process bus with the services).
	Bus bus.Bus
}

type ctxKey struct{}

type caller struct {
	user identity.User
	sid  string // session hash
}

// New builds a gateway from a validated config.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (*Gateway, error) {
	g := &Gateway{cfg: cfg, log: log, Health: &httpx.Health{}, Metrics: httpx.NewMetrics("bureau_gateway")}
	ok := false
	defer func() {
		if !ok {
			g.Close()
		}
	}()
	public, _ := url.Parse(strings.TrimRight(cfg.PublicURL, "/"))

	priv, err := loadKey(cfg)
	if err != nil {
		return nil, err
	}
	g.PublicKey = priv.Public().(ed25519.PublicKey)
	signer := identity.NewSigner(priv, cfg.Identity.TokenTTL)

	if g.db, err = sqldb.Open(ctx, cfg.Database.URL); err != nil {
		return nil, fmt.Errorf("database.url: %w", err)
	}
	g.Health.Add("database", g.db.Ping)
	dir, err := directory.Open(ctx, g.db)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}

	var store session.Store
	var limiter ratelimit.Limiter
	if cfg.Redis.URL != "" {
		ropts, err := redis.ParseURL(cfg.Redis.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		g.rdb = redis.NewClient(ropts)
		store = session.NewRedis(g.rdb, "bureau:gw:")
		limiter = ratelimit.NewRedis(g.rdb, "bureau:gw:rl:")
		g.Health.Add("redis", func(ctx context.Context) error { return g.rdb.Ping(ctx).Err() })
	} else {
		store = session.NewMemory()
		limiter = ratelimit.NewMemory()
	}
	g.Bus = opts.Bus
	if g.Bus == nil {
		g.ownsBus = true
		if g.rdb != nil {
			g.Bus = bus.NewRedis(g.rdb, bus.RedisOptions{Prefix: "bureau:bus:"})
		} else {
			g.Bus = bus.NewMemory(bus.MemoryOptions{})
		}
	}
	g.Health.Add("bus", g.Bus.Ping)

	sessions := &session.Manager{Store: store, Idle: cfg.Session.IdleTimeout, Absolute: cfg.Session.AbsoluteTimeout, Secure: cfg.Secure()}
	ministries := directory.NewMinistries(toMinistries(cfg.Ministries))

	mux := http.NewServeMux()
	oidcCfg := cfg.OIDC
	var formTargets []string
	if cfg.DevIdP.Enabled {
		idp, err := newDevIdP(cfg, &oidcCfg, public, log)
		if err != nil {
			return nil, err
		}
		mux.Handle(idp.MountPath(), idp)
	} else if u, err := url.Parse(oidcCfg.Issuer); err == nil {
		formTargets = append(formTargets, u.Scheme+"://"+u.Host)
	}
	// The IdP is deliberately not a readiness check: when ProConnect is
	// down, signed-in agents keep working, and taking every replica out of
	// the load balancer would turn a login outage into a full one. Login
	// pages say the IdP is unavailable instead.
	rp := auth.New(oidcCfg, public.String(), sessions, dir, ministries, log)

	clientIP := secure.NewClientIP(cfg.TrustedProxies)
	g.hub = events.New(g.Bus, events.Options{AllowedOrigins: []string{public.String()}}, log, g.Metrics.Registry)

	userOf := func(r *http.Request) (identity.User, string, bool) {
		c, ok := r.Context().Value(ctxKey{}).(caller)
		return c.user, c.sid, ok
	}
	tokens := proxy.NewTokenCache()
	upstream := func(name string, up config.Upstream, matrix, offload bool) http.Handler {
		target, _ := url.Parse(up.URL)
		maxBody := up.MaxBody
		if maxBody < 0 {
			maxBody = cfg.Limits.MaxBody
		}
		return g.Metrics.Instrument(name, proxy.New(proxy.Options{
			Audience: name, Target: target, MaxBody: maxBody, ResponseTimeout: up.ResponseTimeout,
			Matrix: matrix, PublicURL: public, Signer: signer, Tokens: tokens,
			User: userOf, ClientIP: clientIP.Of, StripCookie: sessions.StripCookie, Offload: offload, Log: log,
		}))
	}
	chat := upstream("chat", cfg.Services.Chat, true, false)
	// Downloads: the files service checks and answers, the gateway
	// streams the bytes from the object store (package offload).
	files := upstream("files", cfg.Services.Files, false, true)
	meet := upstream("meet", cfg.Services.Meet, false, false)
	mux.Handle("/_matrix/", chat)
	mux.Handle("/.well-known/matrix/", chat)
	mux.Handle("/api/files/", files)
	mux.Handle("/dav/", files)
	mux.Handle("/dav", files)
	mux.Handle("/api/meet/", meet)

	own := func(route string, h http.Handler) http.Handler {
		return g.Metrics.Instrument(route, secure.Headers(formTargets, limitBody(cfg.Limits.MaxBody, h)))
	}
	authMux := http.NewServeMux()
	rp.Routes(authMux)
	mux.Handle("/auth/", own("auth", rateLimitAuth(limiter, cfg.RateLimit, clientIP, authMux)))
	apps := apppass.New(g.db, dir)
	api := &api{dir: dir, apps: apps, ministries: ministries, verifiers: verifiers(g.PublicKey), userOf: userOf}
	mux.Handle("GET /api/me", own("me", http.HandlerFunc(api.me)))
	mux.Handle("GET /api/app-passwords", own("app-passwords", http.HandlerFunc(api.listAppPasswords)))
	mux.Handle("POST /api/app-passwords", own("app-passwords", http.HandlerFunc(api.createAppPassword)))
	mux.Handle("DELETE /api/app-passwords/{id}", own("app-passwords", http.HandlerFunc(api.revokeAppPassword)))
	mux.Handle("GET /api/directory", own("directory", http.HandlerFunc(api.directory)))
	mux.Handle("GET /api/events", g.Metrics.Instrument("events", g.hub.Handler(func(r *http.Request) (string, bool) {
		u, _, ok := userOf(r)
		return u.ID, ok
	})))
	mux.Handle("/api/", own("api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, http.StatusNotFound, "not_found", "Ressource inconnue.")
	})))
	mux.HandleFunc("GET /healthz", g.Health.Live)
	mux.HandleFunc("GET /readyz", g.Health.Ready)
	mux.Handle("/", own("web", webui.Handler(cfg.Web.Dir)))

	// Browsers' cross-site state-changing requests are refused (Fetch
	// metadata + Origin, Go's CrossOriginProtection). Matrix and WebDAV use
	// bearer or basic credentials, never cookies, so CSRF cannot apply and
	// Matrix clients on other origins (Element Web) must get through.
	cop := http.NewCrossOriginProtection()
	cop.AddInsecureBypassPattern("/_matrix/")
	cop.AddInsecureBypassPattern("/dav/")
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteError(w, http.StatusForbidden, "cross_origin", "Requête intersite refusée.")
	}))

	var h http.Handler = mux
	h = cop.Handler(h)
	h = websocketOrigin(public, h)
	h = rateLimit(limiter, cfg.RateLimit, clientIP, userOf, h)
	h = withCaller(sessions, apps, limiter, ratelimit.PerMinute(cfg.RateLimit.AuthPerMinute), clientIP, log, h)
	h = secure.HSTS(cfg.Secure(), h)
	g.handler = httpx.Stack(log, false, h)
	ok = true
	return g, nil
}

// Handler is the gateway's public HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.handler }

// OpsHandler serves /healthz, /readyz and /metrics for the ops listener:
// metrics stay off the public port.
func (g *Gateway) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	httpx.Ops(mux, g.Health, g.Metrics)
	return mux
}

// Run serves on l (and the ops listener, if any) until ctx ends, then
// drains connections.
func (g *Gateway) Run(ctx context.Context, l, ops net.Listener) error {
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHub()
	hubDone := make(chan error, 1)
	go func() { hubDone <- g.hub.Run(hubCtx) }()

	srv := &http.Server{Handler: g.handler, ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelWarn)}
	// Websockets are hijacked: Shutdown does not wait for them, the hub
	// closes them with "going away" so browsers reconnect elsewhere.
	srv.RegisterOnShutdown(stopHub)
	errc := make(chan error, 2)
	if ops != nil {
		osrv := &http.Server{Handler: g.OpsHandler()}
		go func() { errc <- httpx.Serve(ctx, osrv, ops, nil, 5*time.Second, g.log) }()
	}
	err := httpx.Serve(ctx, srv, l, g.Health, g.cfg.ShutdownDrain, g.log)
	stopHub()
	<-hubDone
	if ops != nil {
		if e := <-errc; err == nil {
			err = e
		}
	}
	return err
}

// Close releases the stores.
func (g *Gateway) Close() {
	if g.ownsBus && g.Bus != nil {
		_ = g.Bus.Close()
	}
	if g.rdb != nil {
		_ = g.rdb.Close()
	}
	if g.db != nil {
		_ = g.db.Close()
	}
}

func loadKey(cfg config.Config) (ed25519.PrivateKey, error) {
	if cfg.Identity.PrivateKey != "" {
		k, err := identity.DecodePrivateKey(cfg.Identity.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("identity.private_key: %w", err)
		}
		return k, nil
	}
	if cfg.Mode == "development" {
		k, err := identity.LoadOrCreatePrivateKey(cfg.Identity.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("identity.private_key_file: %w", err)
		}
		return k, nil
	}
	k, err := identity.LoadPrivateKeyFile(cfg.Identity.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("identity.private_key_file: %w", err)
	}
	return k, nil
}

func toMinistries(in []config.Ministry) []directory.Ministry {
	out := make([]directory.Ministry, len(in))
	for i, m := range in {
		out[i] = directory.Ministry{ID: m.ID, Name: m.Name, Domains: m.Domains, SIRETs: m.SIRETs}
	}
	return out
}

// newDevIdP starts the development identity provider under /devidp/api/v2
// and points the relying party at it with a per-process client secret.
func newDevIdP(cfg config.Config, oidcCfg *config.OIDC, public *url.URL, log *slog.Logger) (*devidp.Server, error) {
	secret := session.NewID()
	oidcCfg.Issuer = public.String() + "/devidp/api/v2"
	oidcCfg.ClientID = "bureau-dev"
	oidcCfg.ClientSecret = secret
	agents, ministries := devidp.DefaultSeed()
	idp, err := devidp.New(devidp.Config{
		DevMode: cfg.Mode == "development",
		Issuer:  oidcCfg.Issuer,
		Clients: []devidp.Client{{
			ID: oidcCfg.ClientID, Secret: secret,
			RedirectURIs:           []string{public.String() + "/auth/callback"},
			PostLogoutRedirectURIs: []string{public.String() + "/auth/logged-out"},
		}},
		Agents: agents, Ministries: ministries, KeyFile: cfg.DevIdP.KeyFile,
	}, log)
	if err != nil {
		return nil, fmt.Errorf("dev_idp: %w", err)
	}
	return idp, nil
}

// DevMinistries is the ministry table matching the development IdP's seed.
func DevMinistries() []config.Ministry {
	_, ms := devidp.DefaultSeed()
	out := make([]config.Ministry, len(ms))
	for i, m := range ms {
		id, _, _ := strings.Cut(m.Domain, ".")
		out[i] = config.Ministry{ID: id, Name: m.Name, Domains: []string{m.Domain}, SIRETs: []string{m.SIRET}}
	}
	return out
}
