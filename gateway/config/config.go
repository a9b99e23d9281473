// Package config is the gateway's configuration: YAML file + BUREAU_GATEWAY_*
// environment overrides, validated with errors that name the field.
package config

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	pconfig "bureau/services/platform/config"
)

// EnvPrefix prefixes every environment override, e.g.
// BUREAU_GATEWAY_OIDC_CLIENT_SECRET.
const EnvPrefix = "BUREAU_GATEWAY_"

// Config is the whole gateway configuration.
type Config struct {
	// Mode is "production" or "development". Development allows plain-HTTP
	// cookies on localhost and the built-in identity provider; it refuses a
	// public URL that is not loopback, so a production host cannot run it.
	Mode      string `yaml:"mode" env:"MODE"`
	PublicURL string `yaml:"public_url" env:"PUBLIC_URL"`
	Listen    string `yaml:"listen" env:"LISTEN"`
	// OpsListen serves /healthz, /readyz and /metrics away from the public
	// port; empty disables it.
	OpsListen string `yaml:"ops_listen" env:"OPS_LISTEN"`

	Log struct {
		Level  string `yaml:"level" env:"LEVEL"`
		Format string `yaml:"format" env:"FORMAT"`
	} `yaml:"log" envPrefix:"LOG_"`

	// Database holds the agent directory: sqlite://path or postgres://…
	Database struct {
		URL string `yaml:"url" env:"URL"`
	} `yaml:"database" envPrefix:"DATABASE_"`

	// Redis, when set, stores sessions, rate limits and the event bus so that
	// any replica serves any browser. Empty: everything in memory (one
	// replica only).
	Redis struct {
		URL string `yaml:"url" env:"URL"`
	} `yaml:"redis" envPrefix:"REDIS_"`

	OIDC OIDC `yaml:"oidc" envPrefix:"OIDC_"`

	Session struct {
		IdleTimeout     time.Duration `yaml:"idle_timeout" env:"IDLE_TIMEOUT"`
		AbsoluteTimeout time.Duration `yaml:"absolute_timeout" env:"ABSOLUTE_TIMEOUT"`
	} `yaml:"session" envPrefix:"SESSION_"`

	Identity struct {
		// PrivateKey is the base64 Ed25519 seed signing the identity tokens
		// sent to services; PrivateKeyFile reads it from a file instead
		// (created when missing in development mode).
		PrivateKey     string        `yaml:"private_key" env:"PRIVATE_KEY"`
		PrivateKeyFile string        `yaml:"private_key_file" env:"PRIVATE_KEY_FILE"`
		TokenTTL       time.Duration `yaml:"token_ttl" env:"TOKEN_TTL"`
	} `yaml:"identity" envPrefix:"IDENTITY_"`

	Services struct {
		Chat  Upstream `yaml:"chat" envPrefix:"CHAT_"`
		Files Upstream `yaml:"files" envPrefix:"FILES_"`
		Meet  Upstream `yaml:"meet" envPrefix:"MEET_"`
	} `yaml:"services" envPrefix:"SERVICES_"`

	Web struct {
		// Dir holds the built web app (web/dist).
		Dir string `yaml:"dir" env:"DIR"`
	} `yaml:"web" envPrefix:"WEB_"`

	Ministries []Ministry `yaml:"ministries"`

	DevIdP struct {
		Enabled bool `yaml:"enabled" env:"ENABLED"`
		// KeyFile keeps the dev IdP's signing key across restarts.
		KeyFile string `yaml:"key_file" env:"KEY_FILE"`
	} `yaml:"dev_idp" envPrefix:"DEV_IDP_"`

	RateLimit RateLimit `yaml:"rate_limit" envPrefix:"RATE_LIMIT_"`

	Limits struct {
		// MaxBody bounds request bodies of the gateway's own API and of
		// services without a larger limit; 0 on a service means unlimited
		// (files: multi-GB uploads stream through).
		MaxBody int64 `yaml:"max_body" env:"MAX_BODY"`
	} `yaml:"limits" envPrefix:"LIMITS_"`

	// TrustedProxies are CIDRs of load balancers whose X-Forwarded-For is
	// believed when finding a client's address (rate limits, logs).
	TrustedProxies []string `yaml:"trusted_proxies" env:"TRUSTED_PROXIES"`

	ShutdownDrain time.Duration `yaml:"shutdown_drain" env:"SHUTDOWN_DRAIN"`
}

// OIDC configures the ProConnect relying party.
type OIDC struct {
	Issuer       string   `yaml:"issuer" env:"ISSUER"`
	ClientID     string   `yaml:"client_id" env:"CLIENT_ID"`
	ClientSecret string   `yaml:"client_secret" env:"CLIENT_SECRET"`
	Scopes       []string `yaml:"scopes" env:"SCOPES"`
	// ACRValues is sent as acr_values; when RequireACR, the ID token's acr
	// must be one of them.
	ACRValues  []string `yaml:"acr_values" env:"ACR_VALUES"`
	RequireACR bool     `yaml:"require_acr" env:"REQUIRE_ACR"`
	// AllowUnsignedUserinfo accepts a plain-JSON userinfo answer. ProConnect
	// always signs it; keep false there.
	AllowUnsignedUserinfo bool `yaml:"allow_unsigned_userinfo" env:"ALLOW_UNSIGNED_USERINFO"`
}

// Upstream is one backend service.
type Upstream struct {
	URL string `yaml:"url" env:"URL"`
	// MaxBody: 0 = unlimited, -1 = the gateway's default.
	MaxBody int64 `yaml:"max_body" env:"MAX_BODY"`
	// ResponseTimeout bounds the wait for response headers (long-polls
	// such as Matrix /sync need more than the default).
	ResponseTimeout time.Duration `yaml:"response_timeout" env:"RESPONSE_TIMEOUT"`
}

// Ministry maps agents to their ministry by SIRET or email domain.
type Ministry struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Domains []string `yaml:"domains"`
	SIRETs  []string `yaml:"sirets"`
}

// RateLimit bounds requests per signed-in user and per client address.
type RateLimit struct {
	UserRPS   float64 `yaml:"user_rps" env:"USER_RPS"`
	UserBurst int     `yaml:"user_burst" env:"USER_BURST"`
	IPRPS     float64 `yaml:"ip_rps" env:"IP_RPS"`
	IPBurst   int     `yaml:"ip_burst" env:"IP_BURST"`
	// AuthPerMinute bounds login attempts per client address.
	AuthPerMinute int `yaml:"auth_per_minute" env:"AUTH_PER_MINUTE"`
}

// Default returns the production defaults; the embedded run starts from
// Development().
func Default() Config {
	var c Config
	c.Mode = "production"
	c.Listen = ":8080"
	c.OpsListen = ":9091"
	c.Log.Level = "info"
	c.Log.Format = "json"
	c.OIDC.Scopes = []string{"openid", "given_name", "usual_name", "email", "uid", "siret", "idp_id", "organizational_unit"}
	c.OIDC.ACRValues = []string{"eidas1"}
	c.Session.IdleTimeout = 30 * time.Minute
	c.Session.AbsoluteTimeout = 12 * time.Hour
	c.Identity.TokenTTL = 30 * time.Second
	c.Services.Chat = Upstream{MaxBody: 100 << 20, ResponseTimeout: 2 * time.Minute}
	c.Services.Files = Upstream{MaxBody: 0, ResponseTimeout: 2 * time.Minute}
	c.Services.Meet = Upstream{MaxBody: 1 << 20, ResponseTimeout: 30 * time.Second}
	c.Web.Dir = "web/dist"
	c.RateLimit = RateLimit{UserRPS: 50, UserBurst: 200, IPRPS: 100, IPBurst: 400, AuthPerMinute: 30}
	c.Limits.MaxBody = 1 << 20
	c.ShutdownDrain = 20 * time.Second
	return c
}

// Secure reports whether cookies must carry the Secure attribute: always,
// except plain-HTTP development on loopback.
func (c *Config) Secure() bool {
	u, err := url.Parse(c.PublicURL)
	return err != nil || u.Scheme == "https"
}

// Validate implements pconfig.Validatable.
func (c *Config) Validate() error {
	var v pconfig.Checker
	v.OneOf("mode", c.Mode, "production", "development")
	v.Require("public_url", c.PublicURL)
	v.URL("public_url", c.PublicURL)
	if u, err := url.Parse(c.PublicURL); err == nil && u.Host != "" {
		if u.Path != "" && u.Path != "/" {
			v.Fail("public_url", "must be an origin without a path, got %q", c.PublicURL)
		}
		if c.Mode == "production" && u.Scheme != "https" {
			v.Fail("public_url", "must be https in production mode")
		}
		if c.Mode == "development" && !loopbackHost(u.Hostname()) {
			v.Fail("mode", "development mode is only for a loopback public_url (localhost, 127.0.0.1), got host %q", u.Hostname())
		}
	}
	v.Addr("listen", c.Listen)
	if c.OpsListen != "" {
		v.Addr("ops_listen", c.OpsListen)
	}
	v.OneOf("log.level", strings.ToLower(c.Log.Level), "debug", "info", "warn", "error")
	v.OneOf("log.format", c.Log.Format, "json", "text")
	v.Require("database.url", c.Database.URL)
	if c.Redis.URL != "" && !strings.HasPrefix(c.Redis.URL, "redis://") && !strings.HasPrefix(c.Redis.URL, "rediss://") {
		v.Fail("redis.url", "must start with redis:// or rediss://")
	}
	if c.DevIdP.Enabled && c.Mode != "development" {
		v.Fail("dev_idp.enabled", "the development identity provider can only be enabled in development mode")
	}
	if !c.DevIdP.Enabled {
		v.Require("oidc.issuer", c.OIDC.Issuer)
		v.URL("oidc.issuer", c.OIDC.Issuer)
		v.Require("oidc.client_id", c.OIDC.ClientID)
		v.Require("oidc.client_secret", c.OIDC.ClientSecret)
	}
	if !contains(c.OIDC.Scopes, "openid") {
		v.Fail("oidc.scopes", "must include openid")
	}
	if c.OIDC.RequireACR && len(c.OIDC.ACRValues) == 0 {
		v.Fail("oidc.acr_values", "must not be empty when oidc.require_acr is true")
	}
	v.Positive("session.idle_timeout", c.Session.IdleTimeout)
	v.Positive("session.absolute_timeout", c.Session.AbsoluteTimeout)
	if c.Session.IdleTimeout > c.Session.AbsoluteTimeout {
		v.Fail("session.idle_timeout", "must not exceed session.absolute_timeout")
	}
	if c.Identity.PrivateKey == "" && c.Identity.PrivateKeyFile == "" {
		v.Fail("identity.private_key", "is required (or identity.private_key_file)")
	}
	if c.Identity.TokenTTL <= 0 || c.Identity.TokenTTL > time.Minute {
		v.Fail("identity.token_ttl", "must be between 1s and 60s, got %s", c.Identity.TokenTTL)
	}
	for name, up := range map[string]Upstream{"chat": c.Services.Chat, "files": c.Services.Files, "meet": c.Services.Meet} {
		v.Require("services."+name+".url", up.URL)
		v.URL("services."+name+".url", up.URL)
		v.Positive("services."+name+".response_timeout", up.ResponseTimeout)
	}
	v.Require("web.dir", c.Web.Dir)
	seen := map[string]bool{}
	for i, m := range c.Ministries {
		f := "ministries[" + strconv.Itoa(i) + "]"
		v.Require(f+".id", m.ID)
		v.Require(f+".name", m.Name)
		if seen[m.ID] {
			v.Fail(f+".id", "duplicate ministry id %q", m.ID)
		}
		seen[m.ID] = true
		if len(m.Domains) == 0 && len(m.SIRETs) == 0 {
			v.Fail(f, "needs at least one of domains or sirets")
		}
	}
	if c.RateLimit.UserRPS <= 0 || c.RateLimit.UserBurst <= 0 || c.RateLimit.IPRPS <= 0 || c.RateLimit.IPBurst <= 0 || c.RateLimit.AuthPerMinute <= 0 {
		v.Fail("rate_limit", "every limit must be positive")
	}
	if c.Limits.MaxBody <= 0 {
		v.Fail("limits.max_body", "must be positive")
	}
	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			v.Fail("trusted_proxies["+strconv.Itoa(i)+"]", "not a CIDR: %q", p)
		}
	}
	v.Positive("shutdown_drain", c.ShutdownDrain)
	return v.Err()
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
