package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Ops mounts /healthz, /readyz and /metrics on mux.
func Ops(mux *http.ServeMux, h *Health, m *Metrics) {
	mux.HandleFunc("GET /healthz", h.Live)
	mux.HandleFunc("GET /readyz", h.Ready)
	mux.Handle("GET /metrics", m.Handler())
}

// Stack wraps a service's handler with the common middleware, outermost
// first: request id, panic recovery, access log.
func Stack(log *slog.Logger, trustRequestID bool, h http.Handler) http.Handler {
	return RequestID(trustRequestID, AccessLog(log, Recover(log, h)))
}

// Serve runs srv on l until ctx ends, then drains: readiness fails at once,
// new connections are refused, and in-flight requests get up to drain to
// finish. Hijacked connections (websockets) are the caller's to close, via
// srv.RegisterOnShutdown.
func Serve(ctx context.Context, srv *http.Server, l net.Listener, health *Health, drain time.Duration, log *slog.Logger) error {
	if srv.ReadHeaderTimeout == 0 {
		srv.ReadHeaderTimeout = 10 * time.Second
	}
	if srv.IdleTimeout == 0 {
		srv.IdleTimeout = 120 * time.Second
	}
	if srv.BaseContext == nil {
		// Requests see a context that outlives ctx, so a shutdown lets
		// them finish instead of cancelling them mid-way.
		base := context.WithoutCancel(ctx)
		srv.BaseContext = func(net.Listener) context.Context { return base }
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	log.Info("listening", "addr", l.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if health != nil {
		health.Drain()
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("drain timeout reached; closing remaining connections", "drain", drain)
		err = srv.Close()
	}
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) {
		return e
	}
	log.Info("stopped", "addr", l.Addr().String())
	return err
}
