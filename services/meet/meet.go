// Package meet is the webconference and webinar service (pion SFU).
//
// This is the service's frame, wired end to end through the gateway: it
// verifies the gateway's identity tokens and answers whoami. Rooms,
// signalling and the SFU come with the meet issue.
package meet

import (
	"context"
	"net/http"
	"time"

	pconfig "bureau/services/platform/config"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
	"bureau/services/platform/service"
)

// EnvPrefix prefixes the environment overrides (BUREAU_MEET_LISTEN…).
const EnvPrefix = "BUREAU_MEET_"

// Config is the meet service configuration.
type Config struct {
	service.Common `yaml:",inline"`
}

// Default returns the defaults.
func Default() *Config {
	c := &Config{}
	c.Listen = "127.0.0.1:8083"
	c.ShutdownDrain = 30 * time.Second
	return c
}

// Validate implements config.Validatable.
func (c *Config) Validate() error {
	var v pconfig.Checker
	c.Common.Check(&v)
	return v.Err()
}

// Service is a running meet service.
type Service struct {
	mux *http.ServeMux
}

// New builds the service.
func New(_ context.Context, _ *Config, base *service.Base) (*Service, error) {
	mux := base.Mux()
	mux.Handle("GET /api/meet/whoami", base.Metrics.Instrument("whoami", http.HandlerFunc(whoami)))
	return &Service{mux: mux}, nil
}

func whoami(w http.ResponseWriter, r *http.Request) {
	u, ok := identity.FromContext(r.Context())
	if !ok {
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Vous n'êtes pas connecté.")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, u)
}

// Handler is the service's HTTP handler.
func (s *Service) Handler() http.Handler { return s.mux }

// Close releases resources.
func (s *Service) Close() error { return nil }
