// Package chat is the Matrix homeserver (Tchap-style messaging).
//
// Request path: clientapi (HTTP, errcodes, tokens) → rooms (event building,
// signing and auth rules with gomatrixserverlib) → store (SQLite or
// PostgreSQL), with notifier waking the long-polling syncs concerned.
package chat

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/matrix-org/gomatrixserverlib"
	"github.com/matrix-org/gomatrixserverlib/spec"
	"github.com/redis/go-redis/v9"

	"bureau/services/chat/internal/clientapi"
	"bureau/services/chat/internal/media"
	"bureau/services/chat/internal/notifier"
	"bureau/services/chat/internal/ratelimit"
	"bureau/services/chat/internal/rooms"
	"bureau/services/chat/internal/store"
	"bureau/services/platform/antivirus"
	"bureau/services/platform/blob"
	"bureau/services/platform/bus"
	pconfig "bureau/services/platform/config"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
	"bureau/services/platform/service"
	"bureau/services/platform/sqldb"
)

// EnvPrefix prefixes the environment overrides (BUREAU_CHAT_LISTEN…).
const EnvPrefix = "BUREAU_CHAT_"

// Config is the chat service configuration.
type Config struct {
	service.Common `yaml:",inline"`
	// ServerName is the Matrix server name (the part after ":" in user
	// ids); default: the host of public_url. It cannot change once users
	// exist.
	ServerName string `yaml:"server_name" env:"SERVER_NAME"`
	Database   struct {
		// URL is sqlite:///path/chat.db or postgres://…; empty means an
		// in-memory SQLite database, lost at exit (development only).
		URL string `yaml:"url" env:"URL"`
	} `yaml:"database" envPrefix:"DATABASE_"`
	// SigningKeyFile holds the server's ed25519 signing key (base64 seed),
	// generated on first start; empty means a new key at every start
	// (development only: federation peers would distrust it).
	SigningKeyFile string `yaml:"signing_key_file" env:"SIGNING_KEY_FILE"`
	// RoomVersion is the version of new rooms (10 or 11).
	RoomVersion string `yaml:"room_version" env:"ROOM_VERSION"`
	// Presence is off by default, as on Tchap.
	Presence bool  `yaml:"presence" env:"PRESENCE"`
	Media    Media `yaml:"media" envPrefix:"MEDIA_"`
	Redis    struct {
		// URL of the Redis whose bus carries /sync wake-ups between
		// replicas sharing one PostgreSQL; empty: a single replica.
		URL string `yaml:"url" env:"URL"`
	} `yaml:"redis" envPrefix:"REDIS_"`
	// AccessTokenLifetime is the life of the access tokens of clients
	// that asked for a refresh token (default 5 minutes); other access
	// tokens never expire.
	AccessTokenLifetime time.Duration `yaml:"access_token_lifetime" env:"ACCESS_TOKEN_LIFETIME"`
	// RateLimit limits each user's event sends (messages, redactions):
	// per_second 0 (the default) means no limit.
	RateLimit struct {
		PerSecond float64 `yaml:"per_second" env:"PER_SECOND"`
		Burst     int     `yaml:"burst" env:"BURST"`
	} `yaml:"rate_limit" envPrefix:"RATE_LIMIT_"`
}

// Media configures the content repository.
type Media struct {
	// MaxUploadSize is the largest upload in bytes (m.upload.size); the
	// gateway's services.chat.max_body must allow it.
	MaxUploadSize int64 `yaml:"max_upload_size" env:"MAX_UPLOAD_SIZE"`
	// Storage holds the bytes: disk or s3; empty means a temporary
	// directory removed at exit (development only).
	Storage blob.Config `yaml:"storage" envPrefix:"STORAGE_"`
	ClamAV  struct {
		// Address of clamd (host:port). Empty: uploads are served
		// unscanned (development only; logged at start).
		Address string        `yaml:"address" env:"ADDRESS"`
		Timeout time.Duration `yaml:"timeout" env:"TIMEOUT"`
	} `yaml:"clamav" envPrefix:"CLAMAV_"`
	// LegacyDownloads keeps the unauthenticated /_matrix/media/v3
	// downloads and thumbnails for clients older than spec v1.11
	// (Synapse's enable_authenticated_media off). Media ids are random
	// and unguessable, but anyone holding one can fetch it.
	LegacyDownloads bool `yaml:"legacy_downloads" env:"LEGACY_DOWNLOADS"`
	// UserQuotaBytes bounds what one user's media hold (default 10 GiB;
	// 0: no bound). Over it an upload is refused with 403
	// M_USER_LIMIT_EXCEEDED.
	UserQuotaBytes int64 `yaml:"user_quota_bytes" env:"USER_QUOTA_BYTES"`
	// QuotaInfoURI is the page linked from that error (info_uri);
	// default: public_url.
	QuotaInfoURI string `yaml:"quota_info_uri" env:"QUOTA_INFO_URI"`
	// Retention deletes media older than this, whether messages still
	// link them or not (encrypted messages hide their links from the
	// server); 0 (the default) keeps media forever. At least 24h.
	Retention time.Duration `yaml:"retention" env:"RETENTION"`
}

// Default returns the defaults.
func Default() *Config {
	c := &Config{Common: service.DefaultCommon("127.0.0.1:8081"), RoomVersion: "10"}
	c.Media.MaxUploadSize = 100 << 20
	c.Media.ClamAV.Timeout = 30 * time.Second
	c.Media.LegacyDownloads = true
	c.Media.UserQuotaBytes = 10 << 30
	return c
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var v pconfig.Checker
	c.Common.Check(&v)
	if c.ServerName != "" {
		if _, _, ok := spec.ParseAndValidateServerName(spec.ServerName(c.ServerName)); !ok {
			v.Fail("server_name", "%q is not a valid Matrix server name", c.ServerName)
		}
	}
	if c.Database.URL != "" && !strings.HasPrefix(c.Database.URL, "sqlite:") &&
		!strings.HasPrefix(c.Database.URL, "postgres://") && !strings.HasPrefix(c.Database.URL, "postgresql://") {
		v.Fail("database.url", "want sqlite:///path.db or postgres://…")
	}
	if u := c.Redis.URL; u != "" && !strings.HasPrefix(u, "redis://") && !strings.HasPrefix(u, "rediss://") {
		v.Fail("redis.url", "must start with redis:// or rediss://")
	}
	if c.AccessTokenLifetime < 0 || (c.AccessTokenLifetime > 0 && c.AccessTokenLifetime < time.Second) {
		v.Fail("access_token_lifetime", "must be at least 1s (or 0 for the default)")
	}
	if c.RateLimit.PerSecond < 0 || c.RateLimit.Burst < 0 {
		v.Fail("rate_limit", "per_second and burst must not be negative")
	}
	if c.RoomVersion != "10" && c.RoomVersion != "11" {
		v.Fail("room_version", "must be 10 or 11")
	}
	if c.Media.MaxUploadSize <= 0 {
		v.Fail("media.max_upload_size", "must be positive, got %d", c.Media.MaxUploadSize)
	}
	c.Media.Storage.Check(&v, "media.storage")
	if c.Media.ClamAV.Address != "" {
		v.Addr("media.clamav.address", c.Media.ClamAV.Address)
	}
	v.Positive("media.clamav.timeout", c.Media.ClamAV.Timeout)
	if c.Media.UserQuotaBytes < 0 {
		v.Fail("media.user_quota_bytes", "must not be negative (0: no quota)")
	}
	if r := c.Media.Retention; r < 0 || (r > 0 && r < 24*time.Hour) {
		v.Fail("media.retention", "must be at least 24h (or 0: media kept forever)")
	}
	if u := c.Media.QuotaInfoURI; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		v.Fail("media.quota_info_uri", "must be an http(s) URL")
	}
	return v.Err()
}

// serverName is the configured server name or the public URL's host.
func (c *Config) serverName() (string, error) {
	if c.ServerName != "" {
		return c.ServerName, nil
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("chat: server_name is empty and public_url %q has no host", c.PublicURL)
	}
	return u.Host, nil
}

// Server is the running homeserver.
type Server struct {
	handler  http.Handler
	store    *store.Store
	notifier *notifier.Notifier
	media    *media.Service
	closers  []func() error // in order
}

// SyncWaiting is the number of /sync long-polls parked waiting for news
// (tests use it to know a sync is parked before they send).
func (s *Server) SyncWaiting() int { return s.notifier.Parked() }

// Handler implements service.Runner.
func (s *Server) Handler() http.Handler { return s.handler }

// Close implements service.Runner.
func (s *Server) Close() error {
	for _, c := range s.closers {
		c()
	}
	return s.store.Close()
}

// MediaWaiting is the number of downloads waiting for an upload or a scan
// (tests use it to know a download is parked).
func (s *Server) MediaWaiting() int { return s.media.Waiting() }

// MediaScanning tells whether uploads go through the antivirus.
func (s *Server) MediaScanning() bool { return s.media.Scanning() }

// New builds the service.
func New(ctx context.Context, c *Config, base *service.Base) (service.Runner, error) {
	serverName, err := c.serverName()
	if err != nil {
		return nil, err
	}
	if c.RoomVersion == "" {
		c.RoomVersion = "10"
	}
	key, err := signingKey(c.SigningKeyFile)
	if err != nil {
		return nil, fmt.Errorf("chat: signing key: %w", err)
	}
	dsn := c.Database.URL
	if dsn == "" {
		base.Log.Warn("chat: database.url is empty: using an in-memory SQLite database, lost at exit")
		dsn = "sqlite::memory:"
	}
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	st, err := store.New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	ms, stop, err := openMedia(ctx, c, st, base)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("chat: media: %w", err)
	}
	n := notifier.New()
	srv := &Server{store: st, notifier: n, media: ms, closers: []func() error{func() error { stop(); return nil }}}
	var rdb *redis.Client
	sends := ratelimit.New(c.RateLimit.PerSecond, c.RateLimit.Burst, time.Now)
	if c.Redis.URL != "" {
		opts, err := redis.ParseURL(c.Redis.URL)
		if err != nil {
			srv.Close()
			return nil, fmt.Errorf("chat: redis.url: %w", err)
		}
		rdb = redis.NewClient(opts)
		// One budget per user whichever replica takes the send.
		sends = ratelimit.NewRedis(rdb, "bureau:chat:ratelimit:send:", c.RateLimit.PerSecond, c.RateLimit.Burst, base.Log)
	}
	rs := &rooms.Service{
		Store: st, Notifier: n, ServerName: spec.ServerName(serverName), KeyID: "ed25519:auto", Key: key,
		DefaultVersion: gomatrixserverlib.RoomVersion(c.RoomVersion), Now: time.Now,
	}
	public := strings.TrimRight(c.PublicURL, "/")
	api := clientapi.New(clientapi.Config{
		ServerName: serverName, PublicURL: public, PresenceOff: !c.Presence, AccessTokenLifetime: c.AccessTokenLifetime,
		Sends: sends,
		Media: ms, LegacyMedia: c.Media.LegacyDownloads,
	}, st, rs, n, base.Log)
	srv.closers = append(srv.closers, func() error { api.Close(); return nil })
	if err := api.StartPresence(ctx); err != nil {
		srv.Close()
		if rdb != nil {
			rdb.Close()
		}
		return nil, fmt.Errorf("chat: presence timers: %w", err)
	}
	if rdb != nil {
		err := relay(rdb, n, api, srv, base)
		srv.closers = append(srv.closers, rdb.Close) // after the relay's
		if err != nil {
			srv.Close()
			return nil, err
		}
	}

	mux := base.Mux()
	mux.Handle("GET /.well-known/matrix/client", base.Metrics.Instrument("wellknown", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Clients on other origins (Element Web) read this: CORS as the
		// spec requires for the client API.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"m.homeserver": map[string]string{"base_url": public}})
	})))
	matrix := http.NewServeMux()
	api.Register(matrix, base.Metrics.Instrument)
	matrix.HandleFunc("/", clientapi.Unrecognized)
	mux.Handle("/_matrix/", clientapi.CORS(matrix))
	srv.handler = mux
	return srv, nil
}

// openMedia opens the content repository's blob store and antivirus and
// starts its scan worker; stop ends the worker and removes a temporary
// store.
func openMedia(ctx context.Context, cfg *Config, st *store.Store, base *service.Base) (*media.Service, func(), error) {
	log, c := base.Log, &cfg.Media
	cleanup := func() {}
	var blobs blob.Store
	var err error
	if c.Storage.Kind == "" {
		dir, derr := os.MkdirTemp("", "bureau-chat-media-")
		if derr != nil {
			return nil, nil, derr
		}
		log.Warn("chat: media.storage.kind is empty: media in a temporary directory, removed at exit (development only)", "dir", dir)
		cleanup = func() { os.RemoveAll(dir) }
		blobs, err = blob.NewDisk(dir)
	} else {
		blobs, err = c.Storage.Open(ctx)
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	var av *antivirus.Client
	if c.ClamAV.Address != "" {
		av = antivirus.New(c.ClamAV.Address, c.ClamAV.Timeout)
	} else {
		log.Warn("chat: media.clamav.address is empty: uploads are NOT scanned for viruses (development only)")
	}
	max := c.MaxUploadSize
	if max <= 0 {
		max = 100 << 20
	}
	info := c.QuotaInfoURI
	if info == "" {
		info = cfg.PublicURL
	}
	ms := media.New(media.Config{MaxUploadSize: max, UserQuota: c.UserQuotaBytes, Retention: c.Retention, QuotaInfoURI: info}, st, blobs, av, log)
	if err := ms.Reconcile(ctx); err != nil {
		cleanup()
		return nil, nil, err
	}
	base.Health.Add("media_storage", blobs.Ping)
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { ms.RunScans(wctx) })
	wg.Go(func() { ms.RunCleanup(wctx, time.Hour) })
	return ms, func() { cancel(); wg.Wait(); cleanup() }, nil
}

// relay connects the notifier, typing and media to the other replicas
// through the Redis bus (closed with srv).
func relay(rdb *redis.Client, n *notifier.Notifier, api *clientapi.API, srv *Server, base *service.Base) error {
	b := bus.NewRedis(rdb, bus.RedisOptions{Prefix: "bureau:bus:"})
	ctx, cancel := context.WithCancel(context.Background())
	srv.closers = append(srv.closers, func() error { cancel(); return nil }, b.Close)
	r := notifier.NewRelay(b, base.Log)
	if err := n.Relay(ctx, r); err != nil {
		return fmt.Errorf("chat: wake-up relay: %w", err)
	}
	if err := api.RelayTyping(ctx, r); err != nil {
		return fmt.Errorf("chat: typing relay: %w", err)
	}
	if err := srv.media.Relay(ctx, r); err != nil {
		return fmt.Errorf("chat: media relay: %w", err)
	}
	return nil
}

// Main runs the chat service alone (cmd/chat).
func Main() {
	service.Main("chat", EnvPrefix, Default(),
		func(c *Config) service.Common { return c.Common },
		func(ctx context.Context, c *Config, b *service.Base) (service.Runner, error) { return New(ctx, c, b) })
}

// signingKey loads the key from path, creating it on first start.
func signingKey(path string) (ed25519.PrivateKey, error) {
	if path == "" {
		_, priv, err := ed25519.GenerateKey(nil)
		return priv, err
	}
	return identity.LoadOrCreatePrivateKey(path)
}
