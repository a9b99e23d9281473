// Package secure sets the browser security headers of the pages and APIs
// the gateway serves itself, and finds a client's real address behind the
// configured load balancers.
package secure

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Headers returns middleware setting CSP and friends. formTargets lists
// origins a form may post or redirect to (the IdP, for logout: Chromium
// applies form-action to a form's redirects too).
func Headers(formTargets []string, next http.Handler) http.Handler {
	csp := strings.Join([]string{
		"default-src 'self'",
		// WebAssembly (Matrix end-to-end encryption in the browser) needs
		// wasm-unsafe-eval; it allows compiling WASM, not eval of JavaScript.
		"script-src 'self' 'wasm-unsafe-eval'",
		// DSFR components set inline style attributes; scripts stay strict.
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data: blob:",
		"font-src 'self' data:",
		"media-src 'self' blob:",
		"connect-src 'self'",
		"object-src 'none'",
		"base-uri 'self'",
		"frame-ancestors 'none'",
		"form-action 'self' " + strings.Join(formTargets, " "),
	}, "; ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", strings.TrimSpace(csp))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self), geolocation=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// HSTS tells browsers to use HTTPS only, for every response on a TLS site.
func HSTS(https bool, next http.Handler) http.Handler {
	if !https {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		next.ServeHTTP(w, r)
	})
}

// ClientIP finds the caller's address: the TCP peer, unless the peer is a
// trusted proxy, in which case the right-most X-Forwarded-For entry that is
// not itself a trusted proxy (entries to its left are client-controlled).
type ClientIP struct {
	trusted []netip.Prefix
}

// NewClientIP parses the trusted CIDRs (already validated by the config).
func NewClientIP(cidrs []string) *ClientIP {
	c := &ClientIP{}
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil {
			c.trusted = append(c.trusted, p)
		}
	}
	return c
}

func (c *ClientIP) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client address of r.
func (c *ClientIP) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !c.isTrusted(peer.Unmap()) {
		return host
	}
	parts := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(parts) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(parts[i]))
		if err != nil {
			break
		}
		if !c.isTrusted(a.Unmap()) {
			return a.Unmap().String()
		}
	}
	return host
}
