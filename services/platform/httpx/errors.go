// Package httpx holds what every Bureau HTTP server shares: JSON errors,
// request ids, access logs, panic recovery, Prometheus metrics, health
// endpoints and a server runner with graceful shutdown.
package httpx

import (
	"encoding/json"
	"net/http"
)

// ErrorBody is the JSON shape of every non-Matrix API error.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error": code, "message": message} with status.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, ErrorBody{Error: code, Message: message})
}
