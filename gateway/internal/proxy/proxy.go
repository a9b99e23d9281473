// Package proxy forwards requests from the gateway to the services.
//
// It is net/http/httputil.ReverseProxy (streaming both ways, websocket
// upgrades, hop-by-hop header handling) plus what the gateway adds: every
// client-supplied identity or forwarding header is dropped, the gateway's
// session cookie is removed, and a short-lived signed identity token for the
// target service is attached when the caller is signed in.
package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
	"bureau/services/platform/offload"
)

// Options configures one upstream.
type Options struct {
	// Audience is the service name, the "aud" of its identity tokens.
	Audience string
	Target   *url.URL
	// MaxBody: 0 means unlimited (uploads stream through untouched).
	MaxBody         int64
	ResponseTimeout time.Duration
	// Matrix makes errors use the Matrix errcode shape.
	Matrix bool
	// PublicURL gives X-Forwarded-Host/Proto, since TLS usually ends
	// before the gateway.
	PublicURL *url.URL
	Signer    *identity.Signer
	Tokens    *TokenCache
	// User returns the signed-in caller, if any, and its session hash.
	User func(*http.Request) (identity.User, string, bool)
	// ClientIP returns the caller's address as the gateway sees it.
	ClientIP func(*http.Request) string
	// StripCookie removes the gateway's session cookie.
	StripCookie func(http.Header)
	// Offload: the service may leave the body of a GET to the gateway,
	// which fetches it from the object store (see package offload).
	Offload bool
	Log     *slog.Logger
}

// New returns the handler forwarding to one service.
func New(o Options) http.Handler {
	tr := &http.Transport{
		Proxy:                 nil, // never through an environment proxy: services are in-cluster
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.ResponseTimeout,
		ExpectContinueTimeout: time.Second,
		// A proxy passes bodies as they are: no gzip of its own to undo.
		DisableCompression: true,
	}
	var store http.RoundTripper // the object store, for offloaded bodies
	if o.Offload {
		st := tr.Clone()
		st.MaxIdleConnsPerHost = 64
		st.ResponseHeaderTimeout = 30 * time.Second
		store = st
	}
	rp := &httputil.ReverseProxy{
		Transport:  tr,
		BufferPool: httpx.Buffers, // 1 MiB: see httpx.CopyBody
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(o.Target)
			pr.Out.Host = pr.In.Host
			h := pr.Out.Header
			// Rewrite already drops X-Forwarded-*; drop the rest of what a
			// client could use to impersonate someone or spoof its origin.
			for k := range h {
				if len(k) >= 7 && strings.EqualFold(k[:7], "bureau-") {
					h.Del(k)
				}
			}
			h.Del("Forwarded")
			h.Del("X-Real-Ip")
			if o.StripCookie != nil {
				o.StripCookie(h)
			}
			h.Set("X-Forwarded-For", o.ClientIP(pr.In))
			h.Set("X-Forwarded-Host", o.PublicURL.Host)
			h.Set("X-Forwarded-Proto", o.PublicURL.Scheme)
			if store != nil && pr.In.Method == http.MethodGet {
				h.Set(offload.AcceptHeader, "1")
			}
			if u, sid, ok := o.User(pr.In); ok {
				if tok, err := o.Tokens.Get(o.Signer, u, sid, o.Audience); err == nil {
					h.Set(identity.Header, tok)
				}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			// An offloaded body is fetched here (errors are a 502); the
			// offload headers never reach the client.
			if err := offload.Fetch(store, resp); err != nil {
				return err
			}
			// Services set their own policies (e.g. sandboxed downloads);
			// fill in the baseline only where they did not.
			for k, v := range baseline {
				if resp.Header.Get(k) == "" {
					resp.Header.Set(k, v)
				}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				writeErr(w, o.Matrix, http.StatusRequestEntityTooLarge, "too_large", "M_TOO_LARGE", "La requête dépasse la taille autorisée.")
			case errors.Is(err, context.Canceled):
				// The client went away: nothing to answer.
				w.WriteHeader(499)
			default:
				o.Log.WarnContext(r.Context(), "upstream error", "service", o.Audience, "err", err)
				writeErr(w, o.Matrix, http.StatusBadGateway, "bad_gateway", "M_UNKNOWN", "Le service est momentanément indisponible.")
			}
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.MaxBody > 0 {
			if r.ContentLength > o.MaxBody {
				writeErr(w, o.Matrix, http.StatusRequestEntityTooLarge, "too_large", "M_TOO_LARGE", "La requête dépasse la taille autorisée.")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, o.MaxBody)
		}
		rp.ServeHTTP(w, r)
	})
}

var baseline = map[string]string{
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "same-origin",
}

func writeErr(w http.ResponseWriter, matrix bool, status int, code, errcode, msg string) {
	if matrix {
		httpx.WriteJSON(w, status, map[string]string{"errcode": errcode, "error": msg})
		return
	}
	httpx.WriteError(w, status, code, msg)
}

// TokenCache reuses a session's identity token for a service until half
// its life is gone: signing is cheap, but not free on every request.
type TokenCache struct {
	mu      sync.Mutex
	entries map[tokenKey]tokenEntry
	now     func() time.Time
	puts    int
}

type tokenKey struct{ sid, aud string }

type tokenEntry struct {
	tok   string
	fresh time.Time // reuse until then
	exp   time.Time
}

// NewTokenCache returns an empty cache.
func NewTokenCache() *TokenCache {
	return &TokenCache{entries: map[tokenKey]tokenEntry{}, now: time.Now}
}

// Get returns a token for u at aud, signing a new one when needed.
func (c *TokenCache) Get(s *identity.Signer, u identity.User, sid, aud string) (string, error) {
	k := tokenKey{sid, aud}
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Before(e.fresh) {
		return e.tok, nil
	}
	tok, exp, err := s.Sign(u, aud)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.puts++
	if c.puts%4096 == 0 {
		for k, e := range c.entries {
			if now.After(e.exp) {
				delete(c.entries, k)
			}
		}
	}
	c.entries[k] = tokenEntry{tok: tok, fresh: now.Add(s.TTL() / 2), exp: exp}
	c.mu.Unlock()
	return tok, nil
}
