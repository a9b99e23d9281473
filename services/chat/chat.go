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
	"strings"
	"time"

	"github.com/matrix-org/gomatrixserverlib"
	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/clientapi"
	"bureau/services/chat/internal/notifier"
	"bureau/services/chat/internal/rooms"
	"bureau/services/chat/internal/store"
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
	Presence bool `yaml:"presence" env:"PRESENCE"`
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

// Default returns the defaults.
func Default() *Config {
	return &Config{Common: service.DefaultCommon("127.0.0.1:8081"), RoomVersion: "10"}
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
	if c.AccessTokenLifetime < 0 || (c.AccessTokenLifetime > 0 && c.AccessTokenLifetime < time.Second) {
		v.Fail("access_token_lifetime", "must be at least 1s (or 0 for the default)")
	}
	if c.RateLimit.PerSecond < 0 || c.RateLimit.Burst < 0 {
		v.Fail("rate_limit", "per_second and burst must not be negative")
	}
	if c.RoomVersion != "10" && c.RoomVersion != "11" {
		v.Fail("room_version", "must be 10 or 11")
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
}

// SyncWaiting is the number of /sync long-polls parked waiting for news
// (tests use it to know a sync is parked before they send).
func (s *Server) SyncWaiting() int { return s.notifier.Parked() }

// Handler implements service.Runner.
func (s *Server) Handler() http.Handler { return s.handler }

// Close implements service.Runner.
func (s *Server) Close() error { return s.store.Close() }

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
	n := notifier.New()
	rs := &rooms.Service{
		Store: st, Notifier: n, ServerName: spec.ServerName(serverName), KeyID: "ed25519:auto", Key: key,
		DefaultVersion: gomatrixserverlib.RoomVersion(c.RoomVersion), Now: time.Now,
	}
	public := strings.TrimRight(c.PublicURL, "/")
	api := clientapi.New(clientapi.Config{
		ServerName: serverName, PublicURL: public, PresenceOff: !c.Presence, AccessTokenLifetime: c.AccessTokenLifetime,
		SendRate: c.RateLimit.PerSecond, SendBurst: c.RateLimit.Burst,
	}, st, rs, n, base.Log)

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
	return &Server{handler: mux, store: st, notifier: n}, nil
}

// signingKey loads the key from path, creating it on first start.
func signingKey(path string) (ed25519.PrivateKey, error) {
	if path == "" {
		_, priv, err := ed25519.GenerateKey(nil)
		return priv, err
	}
	return identity.LoadOrCreatePrivateKey(path)
}
