package server

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bureau/gateway/config"
	"bureau/gateway/internal/apppass"
	"bureau/gateway/internal/ratelimit"
	"bureau/gateway/internal/secure"
	"bureau/gateway/internal/session"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
)

// withCaller finds who is calling, once per request, and stores it in the
// context for the rate limiter, the proxy and the gateway's APIs: the
// session cookie, or on /dav/ an app password (WebDAV clients cannot do
// OpenID Connect). /dav/ without valid credentials is answered here with a
// Basic challenge, so clients know to ask for them.
func withCaller(m *session.Manager, apps *apppass.Store, l ratelimit.Limiter, authLimit ratelimit.Limit, ip *secure.ClientIP, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, sid, err := m.Lookup(r)
		switch {
		case err == nil:
			u := s.User
			u.SessionID = sid
			next.ServeHTTP(w, withUser(r, u, sid))
			return
		case err != session.ErrNoSession:
			// The store is down: serve as anonymous rather than fail every
			// request, but say so (readiness reports it too).
			log.ErrorContext(r.Context(), "session lookup failed", "err", err)
		}
		if r.URL.Path != "/dav" && !strings.HasPrefix(r.URL.Path, "/dav/") {
			next.ServeHTTP(w, r)
			return
		}
		email, secret, ok := r.BasicAuth()
		if ok {
			a, id, err := apps.Verify(r.Context(), email, secret)
			if err == nil {
				// The service gets the identity token, never the password.
				r.Header.Del("Authorization")
				u := identity.User{ID: a.ID, Email: a.Email, GivenName: a.GivenName, UsualName: a.UsualName,
					Ministry: a.Ministry, SIRET: a.SIRET, External: a.External, SessionID: "app:" + id}
				next.ServeHTTP(w, withUser(r, u, u.SessionID))
				return
			}
			if !errors.Is(err, apppass.ErrInvalid) {
				log.ErrorContext(r.Context(), "app password check failed", "err", err)
				httpx.WriteError(w, http.StatusServiceUnavailable, "unavailable", "Service momentanément indisponible.")
				return
			}
			// Failed guesses count against the address like login attempts.
			if ok, retry, _ := l.Allow(r.Context(), "dav:"+ip.Of(r), authLimit); !ok {
				tooMany(w, r, retry)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="Bureau", charset="UTF-8"`)
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Identifiez-vous avec votre adresse et un mot de passe d'application.")
	})
}

func withUser(r *http.Request, u identity.User, sid string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, caller{user: u, sid: sid}))
}

// rateLimit bounds requests per signed-in user, else per client address.
func rateLimit(l ratelimit.Limiter, cfg config.RateLimit, ip *secure.ClientIP, userOf func(*http.Request) (identity.User, string, bool), next http.Handler) http.Handler {
	userLimit := ratelimit.Limit{Rate: cfg.UserRPS, Burst: cfg.UserBurst}
	ipLimit := ratelimit.Limit{Rate: cfg.IPRPS, Burst: cfg.IPBurst}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, lim := "ip:"+ip.Of(r), ipLimit
		if u, _, ok := userOf(r); ok {
			key, lim = "u:"+u.ID, userLimit
		}
		if ok, retry, _ := l.Allow(r.Context(), key, lim); !ok {
			tooMany(w, r, retry)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimitAuth bounds login attempts per client address: each one costs
// the IdP a round trip and creates state.
func rateLimitAuth(l ratelimit.Limiter, cfg config.RateLimit, ip *secure.ClientIP, next http.Handler) http.Handler {
	lim := ratelimit.PerMinute(cfg.AuthPerMinute)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth/login" || r.URL.Path == "/auth/callback" {
			if ok, retry, _ := l.Allow(r.Context(), "auth:"+ip.Of(r), lim); !ok {
				tooMany(w, r, retry)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func tooMany(w http.ResponseWriter, r *http.Request, retry time.Duration) {
	secs := int(math.Ceil(retry.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	if strings.HasPrefix(r.URL.Path, "/_matrix/") {
		httpx.WriteJSON(w, http.StatusTooManyRequests, map[string]any{
			"errcode": "M_LIMIT_EXCEEDED", "error": "Trop de requêtes.", "retry_after_ms": retry.Milliseconds(),
		})
		return
	}
	httpx.WriteError(w, http.StatusTooManyRequests, "rate_limited", "Trop de requêtes : réessayez dans "+strconv.Itoa(secs)+" s.")
}

// websocketOrigin refuses cross-site websocket upgrades: a websocket is a
// GET that carries cookies, so without this check any site could open one
// as the signed-in agent (cross-site websocket hijacking).
func websocketOrigin(public *url.URL, next http.Handler) http.Handler {
	want := public.Scheme + "://" + public.Host
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && !strings.HasPrefix(r.URL.Path, "/_matrix/") {
			if o := r.Header.Get("Origin"); o != "" && !strings.EqualFold(o, want) {
				httpx.WriteError(w, http.StatusForbidden, "bad_origin", "Origine non autorisée.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds the body of the gateway's own endpoints.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			httpx.WriteError(w, http.StatusRequestEntityTooLarge, "too_large", "La requête dépasse la taille autorisée.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}
