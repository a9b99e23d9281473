// Package meet is the webconference and webinar service (pion SFU).
//
// This is the service's frame, wired end to end through the gateway: it
// verifies the gateway's identity tokens and answers whoami. Rooms,
// signalling and the SFU come with the meet issue.
package meet

import (
	"context"
	"net/http"

	"bureau/services/platform/service"
)

// EnvPrefix prefixes the environment overrides (BUREAU_MEET_LISTEN…).
const EnvPrefix = "BUREAU_MEET_"

// Config is the meet service configuration.
type Config struct {
	service.Common `yaml:",inline"`
}

// Default returns the defaults.
func Default() *Config { return &Config{Common: service.DefaultCommon("127.0.0.1:8083")} }

// New builds the service.
func New(_ context.Context, _ *Config, base *service.Base) (service.Runner, error) {
	mux := base.Mux()
	mux.Handle("GET /api/meet/whoami", base.Metrics.Instrument("whoami", http.HandlerFunc(service.WhoAmI)))
	return service.Mux{ServeMux: mux}, nil
}
