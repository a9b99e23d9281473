package meet

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"bureau/services/meet/internal/placement"
	"bureau/services/platform/httpx"
)

// hopHeader marks a signalling request proxied by another meet node. The
// gateway strips every Bureau-* header clients send, so only a node sets
// it.
const hopHeader = "Bureau-Meet-Hop"

// routed sends a join for a room served by another node to that node,
// proxying the websocket (the client keeps its single entry, the gateway;
// media then flows straight to the owner's ICE address, which its SFU
// advertises). It reports whether it answered.
func (s *Service) routed(w http.ResponseWriter, r *http.Request, room string) bool {
	n, local, err := s.place.Place(r.Context(), room)
	if err != nil {
		s.base.Log.ErrorContext(r.Context(), "room placement", "room", room, "err", err)
		httpx.WriteError(w, http.StatusServiceUnavailable, "unavailable", "Le service de visioconférence est momentanément indisponible.")
		return true
	}
	if local {
		return false
	}
	if r.Header.Get(hopHeader) != "" {
		// Placement moved between the two nodes' decisions: one hop only,
		// the client retries.
		httpx.WriteError(w, http.StatusServiceUnavailable, "moved", "La réunion change de serveur : réessayez.")
		return true
	}
	s.proxyTo(n).ServeHTTP(w, r)
	return true
}

// nodeTransport reaches the other nodes directly, never through an
// environment proxy: they are in-cluster.
var nodeTransport = &http.Transport{
	Proxy:                 nil,
	DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	MaxIdleConnsPerHost:   16,
	IdleConnTimeout:       90 * time.Second,
	ResponseHeaderTimeout: 15 * time.Second,
}

// forwarded sends a request that acts on a live meeting (cancel, revoke a
// guest link) to the node serving it, so that it reaches the sockets
// there. It reports whether it answered. A room served nowhere, or here,
// is handled here.
func (s *Service) forwarded(w http.ResponseWriter, r *http.Request, room string) bool {
	if r.Header.Get(hopHeader) != "" {
		return false
	}
	n, local, found, err := s.place.Owner(r.Context(), room)
	if err != nil {
		s.base.Log.ErrorContext(r.Context(), "room placement", "room", room, "err", err)
		httpx.WriteError(w, http.StatusServiceUnavailable, "unavailable", "Le service de visioconférence est momentanément indisponible.")
		return true
	}
	if !found || local {
		return false
	}
	s.proxyTo(n).ServeHTTP(w, r)
	return true
}

func (s *Service) proxyTo(n placement.Node) http.Handler {
	if p, ok := s.proxies.Load(n.URL); ok {
		return p.(http.Handler)
	}
	target, err := url.Parse(n.URL)
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpx.WriteError(w, http.StatusBadGateway, "bad_gateway", "Le serveur de la réunion est injoignable.")
		})
	}
	self := s.place.Self().ID
	p := &httputil.ReverseProxy{
		Transport: nodeTransport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// The owner checks the Origin against the public host, and
			// the identity token (forwarded as is) itself.
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(hopHeader, self)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.base.Log.WarnContext(r.Context(), "meet node unreachable", "node", n.ID, "url", n.URL, "err", err)
			httpx.WriteError(w, http.StatusBadGateway, "bad_gateway", "Le serveur de la réunion est injoignable : réessayez.")
		},
	}
	actual, _ := s.proxies.LoadOrStore(n.URL, p)
	return actual.(http.Handler)
}
