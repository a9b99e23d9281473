// Package meet is the webconference and webinar service: rooms with a
// lobby, a websocket signalling protocol (docs/meet-protocol.md) and a pion
// SFU that forwards media without decoding it.
package meet

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
	"github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"

	"bureau/services/meet/internal/rooms"
	"bureau/services/meet/internal/sfu"
	pconfig "bureau/services/platform/config"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
	"bureau/services/platform/service"
)

// Service is the meet service.
type Service struct {
	cfg       *Config
	base      *service.Base
	rooms     *rooms.Registry
	sfu       *sfu.SFU
	turn      *turn.Server
	turnAddrs []net.Addr
	mux       *http.ServeMux

	publicHost string
	upgrader   websocket.Upgrader

	mu     sync.Mutex
	confs  map[string]*conference
	closed bool
}

// New builds the service.
func New(_ context.Context, c *Config, base *service.Base) (*Service, error) {
	// The all-in-one validates only Common: check the rest here too.
	var v pconfig.Checker
	c.CheckMeet(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	media, err := sfu.New(sfu.Config{UDPListen: c.ICE.UDPListen, TCPListen: c.ICE.TCPListen, NAT1To1IPs: c.ICE.NAT1To1IPs, LoopbackOnly: c.ICE.LoopbackOnly, CongestionControl: c.Media.CongestionControl != "loss"}, base.Log)
	if err != nil {
		return nil, err
	}
	ts, taddrs, err := startTURN(c.TURN, base.Log)
	if err != nil {
		_ = media.Close()
		return nil, err
	}
	s := &Service{cfg: c, base: base, rooms: rooms.NewRegistry(), sfu: media, turn: ts, turnAddrs: taddrs, confs: map[string]*conference{}}
	if u, err := url.Parse(c.PublicURL); err == nil {
		s.publicHost = u.Host
	}
	s.upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: s.checkOrigin}
	s.registerMetrics()

	mux := base.Mux()
	m := base.Metrics
	mux.Handle("GET /api/meet/whoami", m.Instrument("whoami", http.HandlerFunc(service.WhoAmI)))
	mux.Handle("POST /api/meet/rooms", m.Instrument("rooms_create", http.HandlerFunc(s.createRoom)))
	mux.Handle("GET /api/meet/rooms/{id}", m.Instrument("rooms_get", http.HandlerFunc(s.getRoom)))
	mux.Handle("GET /api/meet/rooms/{id}/ws", m.Instrument("rooms_ws", http.HandlerFunc(s.serveWS)))
	s.mux = mux
	return s, nil
}

// Handler implements service.Runner.
func (s *Service) Handler() http.Handler { return s.mux }

// TURNAddrs are the built-in TURN server's listening addresses (UDP
// first), none when it is off.
func (s *Service) TURNAddrs() []net.Addr { return s.turnAddrs }

// SFU exposes the forwarding unit (stats for tests and the load tool).
func (s *Service) SFU() *sfu.SFU { return s.sfu }

// Close ends every meeting and releases the media port.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	confs := make([]*conference, 0, len(s.confs))
	for _, c := range s.confs {
		confs = append(confs, c)
	}
	s.mu.Unlock()
	for _, c := range confs {
		c.closeAll()
	}
	if s.turn != nil {
		_ = s.turn.Close()
	}
	return s.sfu.Close()
}

// checkOrigin accepts non-browser clients (no Origin) and same-origin
// browsers. The gateway already refuses cross-origin upgrades; this holds
// when meet is reached some other way.
func (s *Service) checkOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || (s.publicHost != "" && strings.EqualFold(u.Host, s.publicHost))
}

// registerMetrics exports the SFU's counters on the service's own
// registry (never the global one: several instances may share a process).
// The hot path only adds to atomics; these functions read them at scrape
// time.
func (s *Service) registerMetrics() {
	st := &s.sfu.Stats
	ns := "bureau_meet"
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, f)
	}
	u := func(v *atomic.Uint64) func() float64 { return func() float64 { return float64(v.Load()) } }
	cs := []prometheus.Collector{
		gauge("rooms", "Rooms with someone connected (lobby included).", func() float64 {
			s.mu.Lock()
			defer s.mu.Unlock()
			return float64(len(s.confs))
		}),
		gauge("participants", "Participants in a room (admitted, lobby excluded).", func() float64 {
			n := 0
			for _, c := range s.conferences() {
				n += c.memberCount()
			}
			return float64(n)
		}),
		gauge("peers", "Open PeerConnections.", func() float64 { return float64(st.Peers.Load()) }),
		gauge("forwards", "Forwarded (track, subscriber) pairs.", func() float64 { return float64(st.Forwards.Load()) }),
		counter("rtp_packets_received_total", "RTP packets received from publishers.", u(&st.PacketsIn)),
		counter("rtp_bytes_received_total", "RTP bytes received from publishers.", u(&st.BytesIn)),
		counter("rtp_packets_sent_total", "RTP packets written to subscribers (retransmissions excluded).", u(&st.PacketsOut)),
		counter("rtp_bytes_sent_total", "RTP bytes written to subscribers (plain RTP, retransmissions excluded).", u(&st.BytesOut)),
		counter("rtp_packets_muted_total", "RTP packets of muted tracks, not forwarded.", u(&st.PacketsMuted)),
		counter("packets_lost_total", "Packets subscribers reported lost (increases of the RTCP receiver reports' cumulative lost).", u(&st.PacketsLost)),
		counter("plis_sent_total", "Keyframe requests sent to publishers, after throttling.", u(&st.PLIsSent)),
		counter("plis_throttled_total", "Keyframe requests dropped by the throttle.", u(&st.PLIsThrottle)),
		counter("layer_switches_total", "Simulcast layer switches of subscribers.", u(&st.LayerSwitches)),
		counter("bwe_layer_downs_total", "Simulcast layer caps lowered by a subscriber's bandwidth estimate (congestion control).", u(&st.BWEDowns)),
		counter("nacks_received_total", "Packets subscribers asked again for (NACK).", u(&st.NACKs)),
		counter("retransmits_total", "Packets resent to subscribers from the layer buffers.", u(&st.Retransmits)),
	}
	for k, name := range sfu.TrackKindNames {
		v := &st.TracksByKind[k]
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: ns, Name: "tracks", Help: "Published tracks being forwarded, by kind (audio, video, screen).",
			ConstLabels: prometheus.Labels{"kind": name},
		}, func() float64 { return float64(v.Load()) }))
	}
	s.base.Metrics.Registry.MustRegister(cs...)
}

// conferences is a snapshot of the live conferences.
func (s *Service) conferences() []*conference {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := make([]*conference, 0, len(s.confs))
	for _, c := range s.confs {
		cs = append(cs, c)
	}
	return cs
}

// roomView is a room as the REST API shows it to u.
type roomView struct {
	ID         string       `json:"id"`
	Title      string       `json:"title"`
	Link       string       `json:"link"`
	Access     rooms.Access `json:"access"`
	Kind       rooms.Kind   `json:"kind"`
	HostName   string       `json:"host_name"`
	Ministry   string       `json:"ministry"`
	Invitees   []string     `json:"invitees,omitempty"`   // shown to the host only
	Moderators []string     `json:"moderators,omitempty"` // host only
	Presenters []string     `json:"presenters,omitempty"` // host only
	Role       string       `json:"role"`
	Admission  string       `json:"admission"` // direct | lobby
	Connected  int          `json:"connected"`
}

func (s *Service) view(r *rooms.Room, u identity.User) roomView {
	v := roomView{
		ID: r.ID, Title: r.Title, Link: strings.TrimRight(s.cfg.PublicURL, "/") + "/visio/" + r.ID,
		Access: r.Access, Kind: r.Kind, HostName: r.HostName, Ministry: r.Ministry,
		Role: r.Role(u), Admission: string(r.Admission(u)),
	}
	if v.Role == rooms.RoleHost {
		v.Invitees, v.Moderators, v.Presenters = r.Invitees, r.Moderators, r.Presenters
	}
	s.mu.Lock()
	c := s.confs[r.ID]
	s.mu.Unlock()
	if c != nil {
		v.Connected = c.count()
	}
	return v
}

func (s *Service) createRoom(w http.ResponseWriter, r *http.Request) {
	u, ok := identity.FromContext(r.Context())
	if !ok {
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Vous n'êtes pas connecté.")
		return
	}
	var spec rooms.Spec
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		httpx.WriteError(w, http.StatusBadRequest, "bad_request", "Requête invalide.")
		return
	}
	room, err := s.rooms.Create(u, spec)
	switch {
	case errors.Is(err, rooms.ErrForbidden):
		httpx.WriteError(w, http.StatusForbidden, "forbidden", "Les comptes externes ne peuvent pas créer de réunion.")
		return
	case err != nil:
		httpx.WriteError(w, http.StatusBadRequest, "invalid_room", "Titre, mode d'accès ou invités invalides.")
		return
	}
	s.base.Log.Info("room created", "room", room.ID, "host", u.ID, "access", room.Access)
	httpx.WriteJSON(w, http.StatusCreated, s.view(room, u))
}

func (s *Service) getRoom(w http.ResponseWriter, r *http.Request) {
	u, room, ok := s.lookup(w, r)
	if !ok {
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s.view(room, u))
}

// lookup authenticates the caller and finds the room, answering errors.
func (s *Service) lookup(w http.ResponseWriter, r *http.Request) (identity.User, *rooms.Room, bool) {
	u, ok := identity.FromContext(r.Context())
	if !ok {
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Vous n'êtes pas connecté.")
		return u, nil, false
	}
	id := r.PathValue("id")
	var room *rooms.Room
	var err error
	if rooms.ValidID(id) {
		room, err = s.rooms.Get(id)
	} else {
		err = rooms.ErrNotFound
	}
	if err != nil {
		httpx.WriteError(w, http.StatusNotFound, "not_found", "Cette réunion n'existe pas.")
		return u, nil, false
	}
	return u, room, true
}

// conference returns the live state of room, creating it on first use.
func (s *Service) conference(room *rooms.Room) (*conference, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("meet: shutting down")
	}
	c := s.confs[room.ID]
	if c == nil {
		c = newConference(s, room)
		s.confs[room.ID] = c
	}
	return c, nil
}

// dropIfEmpty forgets a conference nobody is connected to.
func (s *Service) dropIfEmpty(c *conference) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.confs[c.room.ID] == c && c.count() == 0 {
		c.mu.Lock()
		c.gone = true
		c.mu.Unlock()
		c.stopLoops()
		delete(s.confs, c.room.ID)
	}
}

var _ service.Runner = (*Service)(nil)
