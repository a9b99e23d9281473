// Package files is the file-sharing service (Resana-style shared spaces).
//
// This is the service's frame, wired end to end through the gateway: it
// verifies the gateway's identity tokens and answers whoami. Spaces,
// uploads, WebDAV and antivirus come with the files issue.
package files

import (
	"context"
	"net/http"

	"bureau/services/platform/service"
)

// EnvPrefix prefixes the environment overrides (BUREAU_FILES_LISTEN…).
const EnvPrefix = "BUREAU_FILES_"

// Config is the files service configuration.
type Config struct {
	service.Common `yaml:",inline"`
}

// Default returns the defaults.
func Default() *Config { return &Config{Common: service.DefaultCommon("127.0.0.1:8082")} }

// New builds the service.
func New(_ context.Context, _ *Config, base *service.Base) (service.Runner, error) {
	mux := base.Mux()
	mux.Handle("GET /api/files/whoami", base.Metrics.Instrument("whoami", http.HandlerFunc(service.WhoAmI)))
	return service.Mux{ServeMux: mux}, nil
}
