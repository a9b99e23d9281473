// Package chat is the Matrix homeserver (Tchap-style messaging).
//
// This is the service's frame, wired end to end through the gateway: it
// answers client discovery (/.well-known/matrix/client) and, as the Matrix
// spec asks of unknown endpoints, 404 M_UNRECOGNIZED elsewhere. The
// Client-Server API comes with the chat issue.
package chat

import (
	"context"
	"net/http"
	"strings"

	"bureau/services/platform/httpx"
	"bureau/services/platform/service"
)

// EnvPrefix prefixes the environment overrides (BUREAU_CHAT_LISTEN…).
const EnvPrefix = "BUREAU_CHAT_"

// Config is the chat service configuration.
type Config struct {
	service.Common `yaml:",inline"`
}

// Default returns the defaults.
func Default() *Config { return &Config{Common: service.DefaultCommon("127.0.0.1:8081")} }

// New builds the service.
func New(_ context.Context, c *Config, base *service.Base) (service.Runner, error) {
	mux := base.Mux()
	public := strings.TrimRight(c.PublicURL, "/")
	mux.Handle("GET /.well-known/matrix/client", base.Metrics.Instrument("wellknown", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Clients on other origins (Element Web) read this: CORS as the
		// spec requires for the client API.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"m.homeserver": map[string]string{"base_url": public}})
	})))
	mux.Handle("/_matrix/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		httpx.WriteJSON(w, http.StatusNotFound, map[string]string{"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"})
	}))
	return service.Mux{ServeMux: mux}, nil
}
