// Package meet is the webconference and webinar service: rooms with a
// lobby, a websocket signalling protocol (docs/meet-protocol.md) and a pion
// SFU that forwards media without decoding it.
package meet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"bureau/services/meet/internal/placement"
	"bureau/services/meet/internal/rooms"
	"bureau/services/meet/internal/sfu"
	"bureau/services/meet/internal/store"
	"bureau/services/meet/internal/threads"
	pconfig "bureau/services/platform/config"
	"bureau/services/platform/service"
	"bureau/services/platform/sqldb"
)

// Service is the meet service.
type Service struct {
	cfg       *Config
	base      *service.Base
	store     *store.Store
	place     placement.Placer
	closers   []func() error // database, Redis: after the placement
	sfu       *sfu.SFU
	turn      *turn.Server
	turnAddrs []net.Addr
	mux       *http.ServeMux

	publicHost string
	upgrader   websocket.Upgrader
	proxies    sync.Map     // owner node URL → *httputil.ReverseProxy
	skew       atomic.Int64 // added to the clock (tests of expiry)
	// Session counters (metrics).
	resumes, resumesRefused, rateLimited, graceExpired atomic.Uint64
	closeOnce                                          sync.Once
	closeErr                                           error

	mu        sync.Mutex
	confs     map[string]*conference
	resumable map[[32]byte]*session // by SHA-256 of the resume token
	closed    bool
	stopPurge chan struct{}
}

// New builds the service.
func New(ctx context.Context, c *Config, base *service.Base) (_ *Service, err error) {
	// The all-in-one validates only Common: check the rest here too.
	var v pconfig.Checker
	c.CheckMeet(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	s := &Service{cfg: c, base: base, confs: map[string]*conference{}, resumable: map[[32]byte]*session{}, stopPurge: make(chan struct{})}
	defer func() {
		if err != nil {
			s.closeResources()
		}
	}()
	if err := s.openStore(ctx); err != nil {
		return nil, err
	}
	if err := s.openPlacement(ctx); err != nil {
		return nil, err
	}
	if s.sfu, err = sfu.New(sfu.Config{UDPListen: c.ICE.UDPListen, TCPListen: c.ICE.TCPListen, NAT1To1IPs: c.ICE.NAT1To1IPs, LoopbackOnly: c.ICE.LoopbackOnly, CongestionControl: c.Media.CongestionControl != "loss"}, base.Log); err != nil {
		return nil, err
	}
	if c.Media.Threads != "fixed" {
		release := threads.Acquire(base.Log)
		s.closers = append(s.closers, func() error { release(); return nil })
	}
	if s.turn, s.turnAddrs, err = startTURN(c.TURN, base.Log); err != nil {
		return nil, err
	}
	if u, err := url.Parse(c.PublicURL); err == nil {
		s.publicHost = u.Host
	}
	s.upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: s.checkOrigin}
	s.registerMetrics()

	mux := base.Mux()
	m := base.Metrics
	route := func(pattern, name string, h http.HandlerFunc) { mux.Handle(pattern, m.Instrument(name, h)) }
	route("GET /api/meet/whoami", "whoami", service.WhoAmI)
	route("POST /api/meet/rooms", "rooms_create", s.createRoom)
	route("GET /api/meet/rooms", "rooms_list", s.listRooms)
	route("GET /api/meet/rooms/{id}", "rooms_get", s.getRoom)
	route("PATCH /api/meet/rooms/{id}", "rooms_update", s.updateRoom)
	route("DELETE /api/meet/rooms/{id}", "rooms_cancel", s.cancelRoom)
	route("GET /api/meet/rooms/{id}/ws", "rooms_ws", s.serveWS)
	route("POST /api/meet/rooms/{id}/guest-links", "guest_links_create", s.createGuestLink)
	route("GET /api/meet/rooms/{id}/guest-links", "guest_links_list", s.listGuestLinks)
	route("DELETE /api/meet/rooms/{id}/guest-links/{link}", "guest_links_revoke", s.revokeGuestLink)
	route("GET /api/meet/guest/{token}", "guest_get", s.getGuestRoom)
	route("GET /api/meet/guest/{token}/ws", "guest_ws", s.serveGuestWS)
	s.mux = mux
	if c.Rooms.RetentionDays > 0 {
		go s.purgeLoop(time.Hour)
	}
	return s, nil
}

// openStore opens the meetings database (in memory without a URL).
func (s *Service) openStore(ctx context.Context) error {
	dsn := s.cfg.Database.URL
	if dsn == "" {
		s.base.Log.Warn("meet: database.url is empty: meetings in memory, lost at exit (development only)")
		dsn = "sqlite::memory:"
	}
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	s.closers = append(s.closers, db.Close)
	if s.store, err = store.Open(ctx, db); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	s.base.Health.Add("database", s.store.Ping)
	return nil
}

// openPlacement joins the cluster of nodes sharing redis.url, or serves
// every room here without one.
func (s *Service) openPlacement(ctx context.Context) error {
	pc := s.cfg.Placement
	id := pc.NodeID
	if id == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		id = strings.NewReplacer(":", "-", "/", "-", " ", "-").Replace(host) + "-" + hex.EncodeToString(b[:])
	}
	self := placement.Node{ID: id, URL: strings.TrimRight(pc.AdvertiseURL, "/")}
	if s.cfg.Redis.URL == "" {
		s.place = placement.Local{Node: self}
		return nil
	}
	opts, err := redis.ParseURL(s.cfg.Redis.URL)
	if err != nil {
		return fmt.Errorf("redis.url: %w", err)
	}
	rdb := redis.NewClient(opts)
	s.closers = append(s.closers, rdb.Close)
	p, err := placement.NewRedis(ctx, rdb, placement.Options{
		Prefix: "bureau:meet:", Self: self, Heartbeat: pc.Heartbeat, Load: s.load, Log: s.base.Log,
	})
	if err != nil {
		return err
	}
	s.place = p
	s.base.Health.Add("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	s.base.Log.Info("meet node joined the cluster", "node", id, "url", self.URL)
	return nil
}

// load is what the heartbeats report: participants and the rooms served.
func (s *Service) load() (int, []string) {
	n := 0
	cs := s.conferences()
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		n += c.count()
		ids = append(ids, c.id)
	}
	return n, ids
}

// Node is this node in the cluster (its id; its URL when clustered).
func (s *Service) Node() placement.Node { return s.place.Self() }

// Handler implements service.Runner.
func (s *Service) Handler() http.Handler { return s.mux }

// TURNAddrs are the built-in TURN server's listening addresses (UDP
// first), none when it is off.
func (s *Service) TURNAddrs() []net.Addr { return s.turnAddrs }

// SFU exposes the forwarding unit (stats for tests and the load tool).
func (s *Service) SFU() *sfu.SFU { return s.sfu }

// Close ends every meeting on this node and releases the media port.
// Its rooms are given up first, so that their participants, told to
// reconnect (1012), are placed on another node.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopPurge)
		if s.place != nil {
			_ = s.place.Close()
		}
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
		s.closeErr = s.closeResources()
	})
	return s.closeErr
}

func (s *Service) now() time.Time { return time.Now().Add(time.Duration(s.skew.Load())) }

func (s *Service) closeResources() error {
	var errs []error
	if s.turn != nil {
		errs = append(errs, s.turn.Close())
	}
	if s.sfu != nil {
		errs = append(errs, s.sfu.Close())
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
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
		gauge("scheduler_threads", "The process's scheduler threads (GOMAXPROCS), sized to the load with media.threads adaptive.", func() float64 { return float64(runtime.GOMAXPROCS(0)) }),
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
		counter("resumes_total", "Sessions resumed on a new websocket after a drop.", u(&s.resumes)),
		counter("resumes_refused_total", "Resume attempts refused (unknown or expired token, another identity, too far behind).", u(&s.resumesRefused)),
		counter("resume_grace_expired_total", "Participants whose websocket dropped and who did not come back within the grace.", u(&s.graceExpired)),
		counter("rate_limited_total", "Chat messages, questions, reactions and hand changes refused by a participant's rate limit.", u(&s.rateLimited)),
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

// live returns the conference of a room if it is served here.
func (s *Service) live(id string) *conference {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.confs[id]
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
	} else {
		c.setRoom(room) // the latest stored settings (invitees, access…)
	}
	return c, nil
}

// dropIfEmpty forgets a conference nobody is connected to.
func (s *Service) dropIfEmpty(c *conference) {
	s.mu.Lock()
	dropped := s.confs[c.id] == c && c.count() == 0
	// Everyone left: the meeting is over, unless this node is stopping
	// (its participants are about to rejoin on another node).
	over := dropped && !s.closed
	if dropped {
		c.mu.Lock()
		c.gone = true
		c.mu.Unlock()
		c.stopLoops()
		delete(s.confs, c.id)
	}
	s.mu.Unlock()
	if dropped {
		// Last use, for the retention of instant meetings.
		ctx, cancel := bg()
		defer cancel()
		if err := s.store.Used(ctx, c.id, s.now()); err != nil {
			s.base.Log.Warn("meeting use not stored", "room", c.id, "err", err)
		}
		if over {
			c.forget("")
		}
	}
}

var _ service.Runner = (*Service)(nil)
