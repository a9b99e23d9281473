package httpx

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Check is one readiness dependency (database, bus, blob store…).
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Health serves /healthz (the process is alive) and /readyz (its
// dependencies answer). Kubernetes restarts on the first and only stops
// routing traffic on the second, so a database outage does not cause a
// restart storm.
type Health struct {
	mu       sync.RWMutex
	checks   []Check
	draining bool
}

// Add registers a readiness check.
func (h *Health) Add(name string, fn func(ctx context.Context) error) {
	h.mu.Lock()
	h.checks = append(h.checks, Check{Name: name, Fn: fn})
	h.mu.Unlock()
}

// Drain makes /readyz fail so load balancers stop sending new requests
// while in-flight ones finish (graceful shutdown).
func (h *Health) Drain() {
	h.mu.Lock()
	h.draining = true
	h.mu.Unlock()
}

// Live handles /healthz.
func (h *Health) Live(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Ready handles /readyz: every check runs concurrently under a 2 s budget.
func (h *Health) Ready(w http.ResponseWriter, r *http.Request) {
	h.mu.RLock()
	checks, draining := append([]Check(nil), h.checks...), h.draining
	h.mu.RUnlock()
	if draining {
		WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	failed := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Fn(ctx); err != nil {
				mu.Lock()
				failed[c.Name] = err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failed": failed})
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
