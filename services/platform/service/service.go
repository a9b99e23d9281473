// Package service is the frame every Bureau service runs in: the settings
// they all share, logger, metrics, health, verification of the gateway's
// identity tokens, and serving with graceful shutdown.
package service

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	pconfig "bureau/services/platform/config"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
	"bureau/services/platform/logging"
)

// Common are the settings of every service.
type Common struct {
	Listen    string `yaml:"listen" env:"LISTEN"`
	PublicURL string `yaml:"public_url" env:"PUBLIC_URL"`
	Log       struct {
		Level  string `yaml:"level" env:"LEVEL"`
		Format string `yaml:"format" env:"FORMAT"`
	} `yaml:"log" envPrefix:"LOG_"`
	// GatewayPublicKey (base64 Ed25519) verifies the identity tokens the
	// gateway attaches; requests without a valid one are anonymous.
	GatewayPublicKey string        `yaml:"gateway_public_key" env:"GATEWAY_PUBLIC_KEY"`
	ShutdownDrain    time.Duration `yaml:"shutdown_drain" env:"SHUTDOWN_DRAIN"`
}

// Check validates the common settings.
func (c *Common) Check(v *pconfig.Checker) {
	v.Addr("listen", c.Listen)
	v.Require("public_url", c.PublicURL)
	v.URL("public_url", c.PublicURL)
	if _, err := identity.DecodePublicKey(c.GatewayPublicKey); err != nil {
		v.Fail("gateway_public_key", "%v", err)
	}
	v.Positive("shutdown_drain", c.ShutdownDrain)
}

// Base is what a running service is made of.
type Base struct {
	Name     string
	Log      *slog.Logger
	Metrics  *httpx.Metrics
	Health   *httpx.Health
	Identity *identity.Verifier
	drain    time.Duration
}

// New builds the frame of service name; logs go to w.
func New(name string, c Common, w io.Writer) (*Base, error) {
	log, err := logging.New(w, c.Log.Level, c.Log.Format)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	pub, err := identity.DecodePublicKey(c.GatewayPublicKey)
	if err != nil {
		return nil, fmt.Errorf("gateway_public_key: %w", err)
	}
	return NewWithKey(name, log.With("service", name), pub, c.ShutdownDrain), nil
}

// NewWithKey builds the frame from an existing logger and key (the
// all-in-one binary).
func NewWithKey(name string, log *slog.Logger, pub ed25519.PublicKey, drain time.Duration) *Base {
	if drain <= 0 {
		drain = 20 * time.Second
	}
	return &Base{
		Name: name, Log: log, Metrics: httpx.NewMetrics("bureau_" + name), Health: &httpx.Health{},
		Identity: identity.NewVerifier(pub, name), drain: drain,
	}
}

// Mux returns a mux with /healthz, /readyz and /metrics mounted. Services
// are reached only through the gateway (in-cluster), so metrics may share
// their port.
func (b *Base) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	httpx.Ops(mux, b.Health, b.Metrics)
	return mux
}

// Serve runs h on l with the common middleware (request id from the
// gateway, access log, recovery, identity) until ctx ends.
func (b *Base) Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:  httpx.Stack(b.Log, true, b.Identity.Middleware(h)),
		ErrorLog: slog.NewLogLogger(b.Log.Handler(), slog.LevelWarn),
	}
	return httpx.Serve(ctx, srv, l, b.Health, b.drain, b.Log)
}

// Listen opens the service's TCP listener.
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return l, nil
}

// DefaultCommon returns the common defaults with the given listen address.
func DefaultCommon(listen string) Common {
	return Common{Listen: listen, ShutdownDrain: 30 * time.Second}
}

// Validate makes a config that is only Common a config.Validatable; a
// service with more settings calls Check from its own Validate.
func (c *Common) Validate() error {
	var v pconfig.Checker
	c.Check(&v)
	return v.Err()
}

// WhoAmI answers the verified identity of the caller (401 when anonymous):
// the end-to-end check that the gateway's tokens reach a service.
func WhoAmI(w http.ResponseWriter, r *http.Request) {
	u, ok := identity.FromContext(r.Context())
	if !ok {
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Vous n'êtes pas connecté.")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, u)
}

// Mux is a Runner for a service that is just its routes.
type Mux struct{ *http.ServeMux }

// Handler implements Runner.
func (m Mux) Handler() http.Handler { return m.ServeMux }

// Close implements Runner.
func (Mux) Close() error { return nil }
