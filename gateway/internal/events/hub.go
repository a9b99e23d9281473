// Package events is the gateway's real-time hub behind /api/events: one
// websocket per browser tab, carrying the events services publish for that
// tab's user with notify.Publish.
//
// Each gateway process holds a single bus subscription to notify.Topic and
// fans every event out to the local sockets of its user, so the bus load does
// not grow with the number of tabs, and every replica sees every event.
//
// Protocol (server → client, JSON text frames):
//
//	{"type":"hello","last_event_id":"<id>"}      first frame
//	{"id":"<id>","type":"<t>","time":"<RFC 3339>","data":<json>}
//	{"type":"resync"}                            history lost: refetch state
//
// A client keeps as its cursor the id of the last event it received, or the
// hello's last_event_id when it connected without one and has received
// nothing since, and reconnects with /api/events?last_event_id=<cursor>. The
// hub then replays that user's missed events before the live ones, without
// gap or duplicate, or sends resync when they are no longer retained.
// Client → server messages are read and discarded.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"bureau/services/platform/bus"
	"bureau/services/platform/notify"
)

// Options tunes the hub; zero fields take the defaults noted.
type Options struct {
	// AllowedOrigins lists the exact origins ("https://bureau.example.gouv.fr")
	// allowed to open a socket. Empty means same origin as the request Host.
	AllowedOrigins []string
	// CheckOrigin, when set, replaces AllowedOrigins.
	CheckOrigin func(r *http.Request) bool

	PingInterval time.Duration // 25s: under common proxy idle timeouts (60s)
	PongWait     time.Duration // 60s without a pong closes the socket
	WriteTimeout time.Duration // 10s per frame
	SendBuffer   int           // 64 queued frames per socket before it is dropped
	// MaxResume bounds the bus messages (all users) scanned to replay a
	// resuming socket; a client further behind gets resync (default 500).
	MaxResume int
	ReadLimit int64 // 4 KiB: larger client messages close the socket
	// ReadyWait is how long an upgrade waits for Run to be subscribed
	// before answering 503 (default 10s).
	ReadyWait time.Duration
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PingInterval, 25*time.Second)
	def(&o.PongWait, 60*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	def(&o.ReadyWait, 10*time.Second)
	if o.SendBuffer <= 0 {
		o.SendBuffer = 64
	}
	if o.MaxResume <= 0 {
		o.MaxResume = 500
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 4 << 10
	}
}

// Hub fans bus events out to websockets. Create with New, start Run, mount
// Handler at /api/events.
type Hub struct {
	bus      bus.Bus
	opts     Options
	log      *slog.Logger
	m        metrics
	upgrader websocket.Upgrader

	ready     chan struct{} // closed once Run is subscribed
	readyOnce sync.Once
	done      chan struct{} // closed by Close
	ctx       context.Context
	cancel    context.CancelFunc

	// mu guards users and closed. Dispatch holds it shared while fanning
	// out; (un)registration holds it exclusively, which is what makes a new
	// socket's hello id and its first live event consistent (see register).
	mu     sync.RWMutex
	users  map[string]map[*conn]struct{}
	closed bool
	conns  sync.WaitGroup

	// last is the id of the newest bus message dispatched (or known at
	// start). Written only by Run, under mu shared; read under mu exclusive.
	last atomic.Pointer[string]
}

// New returns a hub reading notify.Topic from b. reg may be nil.
func New(b bus.Bus, opts Options, log *slog.Logger, reg prometheus.Registerer) *Hub {
	opts.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		bus:    b,
		opts:   opts,
		log:    log,
		m:      newMetrics(reg),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
		users:  map[string]map[*conn]struct{}{},
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Checked by Handler before upgrading, to answer 403 in JSON.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeError(w, status, "bad_handshake", reason.Error())
		},
	}
	empty := ""
	h.last.Store(&empty)
	return h
}

// frame is one queued text frame; id is "" for control frames (resync).
type frame struct {
	id   string
	data []byte
}

// conn is one socket. Only Run sends on send, so it is never closed.
type conn struct {
	ws       *websocket.Conn
	user     string
	send     chan frame
	slow     chan struct{} // closed when send overflowed
	slowOnce sync.Once
}

// enqueue never blocks: a socket that cannot keep up is dropped, so one slow
// browser delays neither the hub nor anyone else.
func (h *Hub) enqueue(c *conn, f frame) {
	select {
	case c.send <- f:
	default:
		c.slowOnce.Do(func() {
			close(c.slow)
			h.m.dropped.Inc()
			h.log.Info("events: dropping slow client", "user", c.user)
		})
	}
}

// Run subscribes to notify.Topic and dispatches until ctx ends, then closes
// every socket (1001 going away) and returns nil. A lost subscription is
// re-established, and the gap filled from the bus history.
func (h *Hub) Run(ctx context.Context) error {
	defer h.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(h.ctx, cancel)() // Close stops Run too
	delay := backoffMin
	started := false
	for ctx.Err() == nil {
		sub, err := h.bus.Subscribe(ctx, notify.Topic)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			h.log.Warn("events: bus subscribe failed", "err", err, "retry_in", delay)
			if !sleep(ctx, delay) {
				break
			}
			delay = min(2*delay, backoffMax)
			continue
		}
		delay = backoffMin
		if !started {
			h.start(ctx)
			started = true
		} else {
			h.catchUp(ctx)
		}
		// Not `range sub`: a bus may take a moment to close the channel after
		// ctx ends, and shutdown should not wait for it.
	recv:
		for {
			select {
			case msg, ok := <-sub:
				if !ok {
					break recv
				}
				h.dispatch(msg)
			case <-ctx.Done():
				return nil
			}
		}
		h.log.Warn("events: bus subscription lost, resubscribing")
	}
	return nil
}

// start learns where the topic stands, so that the first sockets get a
// usable hello id, then lets them in.
func (h *Hub) start(ctx context.Context) {
	if l, ok := h.bus.(bus.LastIDer); ok {
		id, err := l.LastID(ctx, notify.Topic)
		if err != nil {
			h.log.Warn("events: reading last event id", "err", err)
		} else {
			h.mu.RLock()
			h.last.Store(&id)
			h.mu.RUnlock()
		}
	}
	h.readyOnce.Do(func() { close(h.ready) })
}

// catchUp dispatches what was published while the hub had no subscription.
// The new subscription was opened first, so the two overlap rather than
// leave a hole; dispatch drops the overlap by id.
func (h *Hub) catchUp(ctx context.Context) {
	after := *h.last.Load()
	if after == "" {
		h.resyncAll() // nothing to resume from
		return
	}
	const page = 1000
	for {
		msgs, complete, err := h.bus.Since(ctx, notify.Topic, after, page)
		if err != nil {
			h.log.Warn("events: catching up after resubscribe", "err", err)
			h.resyncAll()
			return
		}
		if !complete {
			h.resyncAll()
		}
		for _, m := range msgs {
			h.dispatch(m)
		}
		if len(msgs) < page {
			return
		}
		after = msgs[len(msgs)-1].ID
	}
}

func (h *Hub) resyncAll() {
	h.m.resyncs.Inc()
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, cs := range h.users {
		for c := range cs {
			h.enqueue(c, frame{data: resyncFrame})
		}
	}
}

var resyncFrame = []byte(`{"type":"resync"}`)

type wireEvent struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Time string          `json:"time"`
	Data json.RawMessage `json:"data"`
}

func encodeEvent(id string, ev notify.Event) ([]byte, error) {
	data := ev.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	return json.Marshal(wireEvent{ID: id, Type: ev.Type, Time: ev.Time.UTC().Format(time.RFC3339Nano), Data: data})
}

func (h *Hub) dispatch(msg bus.Message) {
	if bus.CompareIDs(msg.ID, *h.last.Load()) <= 0 {
		return // already dispatched (catch-up overlap)
	}
	var f frame
	ev, err := notify.Decode(msg)
	if err == nil {
		f.id = msg.ID
		f.data, err = encodeEvent(msg.ID, ev)
	}
	if err != nil {
		h.log.Warn("events: undeliverable bus message", "id", msg.ID, "err", err)
	}
	id := msg.ID
	h.mu.RLock()
	defer h.mu.RUnlock()
	if f.data != nil {
		for c := range h.users[ev.User] {
			h.enqueue(c, f)
		}
	}
	h.last.Store(&id)
}

// register adds c and returns the hello id: every event with a greater id is
// dispatched after this point, hence queued to c.
func (h *Hub) register(c *conn) (last string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return "", false
	}
	cs := h.users[c.user]
	if cs == nil {
		cs = map[*conn]struct{}{}
		h.users[c.user] = cs
	}
	cs[c] = struct{}{}
	h.conns.Add(1)
	h.m.open.Inc()
	return *h.last.Load(), true
}

func (h *Hub) unregister(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cs := h.users[c.user]; cs != nil {
		delete(cs, c)
		if len(cs) == 0 {
			delete(h.users, c.user)
		}
	}
	h.m.open.Dec()
	h.conns.Done()
}

// Close closes every socket with 1001 (going away), waits for them, and
// stops Run. Safe to call more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	already := h.closed
	h.closed = true
	h.mu.Unlock()
	if !already {
		close(h.done)
		h.cancel()
	}
	h.conns.Wait()
}

// Handler serves /api/events. auth identifies the user from the request
// (session cookie); it runs before the upgrade so that a refusal is a plain
// HTTP 401.
func (h *Hub) Handler(auth func(*http.Request) (userID string, ok bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Cookies ride along on cross-site websocket handshakes; only the
		// Origin check stops another site from opening a socket as the user.
		if !h.originAllowed(r) {
			writeError(w, http.StatusForbidden, "forbidden_origin", "origin not allowed")
			return
		}
		user, ok := auth(r)
		if !ok || user == "" {
			writeError(w, http.StatusUnauthorized, "unauthenticated", "authentication required")
			return
		}
		after := r.URL.Query().Get("last_event_id")
		select {
		case <-h.done: // checked alone first: ready is closed too by then
			writeError(w, http.StatusServiceUnavailable, "unavailable", "shutting down")
			return
		default:
		}
		wait := time.NewTimer(h.opts.ReadyWait)
		defer wait.Stop()
		select {
		case <-h.ready:
		case <-h.done:
			writeError(w, http.StatusServiceUnavailable, "unavailable", "shutting down")
			return
		case <-wait.C:
			writeError(w, http.StatusServiceUnavailable, "unavailable", "event hub not ready")
			return
		case <-r.Context().Done():
			return
		}
		ws, err := h.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader has answered
		}
		h.serve(ws, user, after)
	})
}

func (h *Hub) originAllowed(r *http.Request) bool {
	if h.opts.CheckOrigin != nil {
		return h.opts.CheckOrigin(r)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Browsers always send Origin on websocket handshakes; a client
		// without one is not a browser and so holds no victim's cookies.
		return true
	}
	if len(h.opts.AllowedOrigins) > 0 {
		for _, o := range h.opts.AllowedOrigins {
			if strings.EqualFold(origin, o) {
				return true
			}
		}
		return false
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (h *Hub) serve(ws *websocket.Conn, user, after string) {
	c := &conn{ws: ws, user: user, send: make(chan frame, h.opts.SendBuffer), slow: make(chan struct{})}
	last, ok := h.register(c)
	if !ok {
		h.closeWith(ws, websocket.CloseGoingAway, "server shutting down")
		ws.Close()
		return
	}
	defer h.unregister(c)
	readDone := make(chan struct{})
	go h.readLoop(ws, readDone)
	h.writeLoop(c, last, after, readDone)
	ws.Close()
	<-readDone
}

// readLoop discards what the client sends; it exists to process pongs and
// close frames, and to notice a dead peer (no pong within PongWait).
func (h *Hub) readLoop(ws *websocket.Conn, done chan<- struct{}) {
	defer close(done)
	ws.SetReadLimit(h.opts.ReadLimit) // over the limit, gorilla closes with 1009
	_ = ws.SetReadDeadline(time.Now().Add(h.opts.PongWait))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(h.opts.PongWait))
	})
	for {
		_, r, err := ws.NextReader()
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}
	}
}

func (h *Hub) write(ws *websocket.Conn, data []byte) error {
	_ = ws.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
	return ws.WriteMessage(websocket.TextMessage, data)
}

func (h *Hub) closeWith(ws *websocket.Conn, code int, reason string) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
		time.Now().Add(h.opts.WriteTimeout))
}

func (h *Hub) writeLoop(c *conn, last, after string, readDone <-chan struct{}) {
	hello, _ := json.Marshal(struct {
		Type        string `json:"type"`
		LastEventID string `json:"last_event_id"`
	}{"hello", last})
	if h.write(c.ws, hello) != nil {
		return
	}
	// Live events are queued from registration on; the replay below may
	// overlap them, so queued events up to floor are skipped.
	floor := ""
	if after != "" {
		var err error
		if floor, err = h.replay(c, after); err != nil {
			return
		}
	}
	ping := time.NewTicker(h.opts.PingInterval)
	defer ping.Stop()
	for {
		// A drop or a shutdown wins over whatever is still queued.
		select {
		case <-c.slow:
			h.closeWith(c.ws, websocket.ClosePolicyViolation, "slow consumer")
			return
		case <-h.done:
			h.closeWith(c.ws, websocket.CloseGoingAway, "server shutting down")
			return
		default:
		}
		select {
		case <-c.slow:
		case <-h.done:
		case <-readDone:
			return
		case <-ping.C:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.opts.WriteTimeout)) != nil {
				return
			}
		case f := <-c.send:
			if f.id != "" && floor != "" && bus.CompareIDs(f.id, floor) <= 0 {
				continue
			}
			if h.write(c.ws, f.data) != nil {
				return
			}
			if f.id != "" {
				h.m.delivered.Inc()
			}
		}
	}
}

// replay sends c's events after `after` from the bus history and returns the
// newest id it covered, or resync and "" when it cannot cover the gap.
func (h *Hub) replay(c *conn, after string) (floor string, err error) {
	resync := func() (string, error) {
		h.m.resyncs.Inc()
		return "", h.write(c.ws, resyncFrame)
	}
	if _, _, err := bus.ParseID(after); err != nil {
		return resync()
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.opts.WriteTimeout)
	msgs, complete, err := h.bus.Since(ctx, notify.Topic, after, h.opts.MaxResume+1)
	cancel()
	if err != nil {
		h.log.Warn("events: replay", "err", err)
		return resync()
	}
	if !complete || len(msgs) > h.opts.MaxResume {
		return resync()
	}
	floor = after
	for _, m := range msgs {
		floor = m.ID
		ev, err := notify.Decode(m)
		if err != nil || ev.User != c.user {
			continue
		}
		data, err := encodeEvent(m.ID, ev)
		if err != nil {
			continue
		}
		if err := h.write(c.ws, data); err != nil {
			return "", err
		}
		h.m.delivered.Inc()
	}
	return floor, nil
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}

const (
	backoffMin = 50 * time.Millisecond
	backoffMax = 5 * time.Second
)

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

type metrics struct {
	open      prometheus.Gauge
	delivered prometheus.Counter
	dropped   prometheus.Counter
	resyncs   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	return metrics{
		open: register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bureau_events_open_sockets", Help: "Open /api/events websockets.",
		})),
		delivered: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bureau_events_delivered_total", Help: "Events written to websockets.",
		})),
		dropped: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bureau_events_slow_clients_dropped_total", Help: "Websockets closed because their send queue was full.",
		})),
		resyncs: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bureau_events_resyncs_total", Help: "Resync frames sent because history was lost.",
		})),
	}
}

// register tolerates a second hub on the same registry (tests, restarts) by
// sharing the already registered collector.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}
