package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"bureau/services/platform/bus"
	"bureau/services/platform/notify"
	"bureau/services/platform/testenv"
)

const wait = 10 * time.Second

// newBusFunc returns a fresh bus keeping about retain messages.
type newBusFunc func(t *testing.T, retain int) bus.Bus

func memoryBus(t *testing.T, retain int) bus.Bus {
	b := bus.NewMemory(bus.MemoryOptions{Retain: retain})
	t.Cleanup(func() { b.Close() })
	return b
}

func redisBus(rd *testenv.Redis, prefix string, retain int) func(t *testing.T) bus.Bus {
	return func(t *testing.T) bus.Bus {
		c := redis.NewClient(&redis.Options{Addr: rd.Addr})
		b := bus.NewRedis(c, bus.RedisOptions{Prefix: prefix, Retain: int64(retain)})
		t.Cleanup(func() {
			b.Close()
			c.Close()
		})
		return b
	}
}

func TestHubMemory(t *testing.T) { hubSuite(t, memoryBus) }

func TestHubRedis(t *testing.T) {
	rd := testenv.StartRedis(t)
	hubSuite(t, func(t *testing.T, retain int) bus.Bus {
		return redisBus(rd, "test:"+t.Name()+":", retain)(t)
	})
}

func hubSuite(t *testing.T, newBus newBusFunc) {
	t.Run("OwnEventsOnly", func(t *testing.T) { testOwnEventsOnly(t, newBus(t, 1000)) })
	t.Run("TwoTabs", func(t *testing.T) { testTwoTabs(t, newBus(t, 1000)) })
	t.Run("Resume", func(t *testing.T) { testResume(t, newBus(t, 1000)) })
	t.Run("ResumeWhilePublishing", func(t *testing.T) { testResumeWhilePublishing(t, newBus(t, 1000)) })
	t.Run("ResumeBeyondRetention", func(t *testing.T) { testResumeBeyondRetention(t, newBus(t, 10)) })
	t.Run("ResumeTooFarBehind", func(t *testing.T) { testResumeTooFarBehind(t, newBus(t, 1000)) })
	t.Run("SlowClientDropped", func(t *testing.T) { testSlowClientDropped(t, newBus(t, 1000)) })
	t.Run("HelloKnowsLastID", func(t *testing.T) { testHelloKnowsLastID(t, newBus(t, 1000)) })
	t.Run("Unauthenticated", func(t *testing.T) { testUnauthenticated(t, newBus(t, 1000)) })
	t.Run("Origin", func(t *testing.T) { testOrigin(t, newBus(t, 1000)) })
	t.Run("Heartbeat", func(t *testing.T) { testHeartbeat(t, newBus(t, 1000)) })
	t.Run("ReadLimit", func(t *testing.T) { testReadLimit(t, newBus(t, 1000)) })
	t.Run("Shutdown", func(t *testing.T) { testShutdown(t, newBus(t, 1000)) })
}

// env is one gateway replica: a running hub behind an HTTP server.
type env struct {
	hub     *Hub
	bus     bus.Bus
	srv     *httptest.Server
	reg     *prometheus.Registry
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// testAuth trusts a header; the real gateway reads the session cookie.
func testAuth(r *http.Request) (string, bool) {
	u := r.Header.Get("X-User")
	return u, u != ""
}

func startHub(t *testing.T, b bus.Bus, opts Options) *env {
	t.Helper()
	return startHubLog(t, b, opts, nil)
}

func startHubLog(t *testing.T, b bus.Bus, opts Options, log *slog.Logger) *env {
	t.Helper()
	e := &env{bus: b, reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	e.hub = New(b, opts, log, e.reg)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- e.hub.Run(ctx) }()
	e.srv = httptest.NewServer(e.hub.Handler(testAuth))
	t.Cleanup(func() {
		e.stop(t)
		e.srv.Close()
	})
	select {
	case <-e.hub.ready:
	case <-time.After(wait):
		t.Fatal("hub not ready")
	}
	return e
}

func (e *env) stop(t *testing.T) {
	e.cancel()
	if e.stopped {
		return
	}
	e.stopped = true
	select {
	case err := <-e.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(wait):
		t.Error("Run did not return")
	}
}

func (e *env) url(lastID string) string {
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/events"
	if lastID != "" {
		u += "?last_event_id=" + url.QueryEscape(lastID)
	}
	return u
}

// metric reads a gauge or counter from the hub's registry.
func (e *env) metric(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising
	}
}

type wire struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Time        string          `json:"time"`
	Data        json.RawMessage `json:"data"`
	LastEventID string          `json:"last_event_id"`
}

type client struct {
	t     *testing.T
	ws    *websocket.Conn
	hello wire
}

func (e *env) dial(t *testing.T, user, lastID string) *client {
	t.Helper()
	return e.dialWith(t, websocket.DefaultDialer, user, lastID)
}

func (e *env) dialWith(t *testing.T, d *websocket.Dialer, user, lastID string) *client {
	t.Helper()
	ws, resp, err := d.Dial(e.url(lastID), http.Header{"X-User": {user}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	c := &client{t: t, ws: ws}
	c.hello = c.read()
	if c.hello.Type != "hello" {
		t.Fatalf("first frame %+v, want hello", c.hello)
	}
	return c
}

func (c *client) read() wire {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(wait))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		c.t.Fatalf("frame %s: %v", data, err)
	}
	return w
}

// expect reads events and checks their ids, in order.
func (c *client) expect(ids ...string) {
	c.t.Helper()
	for _, id := range ids {
		if w := c.read(); w.ID != id {
			c.t.Fatalf("got frame %+v, want event %s", w, id)
		}
	}
}

// closeCode reads until the connection ends and returns its close code.
func (c *client) closeCode() int {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.t.Fatal("connection not closed")
		}
		return websocket.CloseAbnormalClosure
	}
}

func publish(t *testing.T, b bus.Bus, user string, n int) string {
	t.Helper()
	id, err := notify.Publish(context.Background(), b, notify.Event{
		User: user, Type: "test", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testOwnEventsOnly(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{})
	alice := e.dial(t, "alice", "")
	bob := e.dial(t, "bob", "")
	b1 := publish(t, b, "bob", 1)
	a1 := publish(t, b, "alice", 2)
	b2 := publish(t, b, "bob", 3)
	a2 := publish(t, b, "alice", 4)
	alice.expect(a1, a2)
	bob.expect(b1, b2)

	// The wire format.
	id, err := notify.Publish(context.Background(), b, notify.Event{
		User: "alice", Type: "chat.unread", Time: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC),
		Data: json.RawMessage(`{"room":"r1"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	w := alice.read()
	if w.ID != id || w.Type != "chat.unread" || w.Time != "2026-05-01T10:00:00Z" || string(w.Data) != `{"room":"r1"}` {
		t.Fatalf("frame %+v", w)
	}
	// Only alice's: bob's next frame is his own next event.
	b3 := publish(t, b, "bob", 5)
	bob.expect(b3)
}

func testTwoTabs(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{})
	tab1 := e.dial(t, "alice", "")
	tab2 := e.dial(t, "alice", "")
	id := publish(t, b, "alice", 1)
	tab1.expect(id)
	tab2.expect(id)
	if got := e.metric(t, "bureau_events_open_sockets"); got != 2 {
		t.Fatalf("open sockets = %v", got)
	}
}

func testResume(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{})
	c1 := e.dial(t, "alice", "")
	e1 := publish(t, b, "alice", 1)
	c1.expect(e1)
	c1.ws.Close()

	e2 := publish(t, b, "alice", 2)
	publish(t, b, "bob", 3)
	e4 := publish(t, b, "alice", 4)
	c2 := e.dial(t, "alice", e1)
	c2.expect(e2, e4)
	e5 := publish(t, b, "alice", 5)
	c2.expect(e5) // live, and nothing replayed twice in between
}

// The seam between replay and live events, under load: exactly the events
// after the resume point, once each, in order.
func testResumeWhilePublishing(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{SendBuffer: 4096, MaxResume: 4096})
	const n = 300
	ids := make(chan string, n)
	started := make(chan struct{})
	go func() {
		for i := range n {
			if i == 50 {
				close(started)
			}
			// bob's events are noise the replay must filter out.
			if _, err := notify.Publish(context.Background(), b, notify.Event{User: "bob", Type: "test"}); err != nil {
				t.Error(err)
				break
			}
			id, err := notify.Publish(context.Background(), b, notify.Event{User: "alice", Type: "test"})
			if err != nil {
				t.Error(err)
				break
			}
			ids <- id
		}
		close(ids)
	}()
	<-started
	var all []string
	for len(all) < 20 {
		all = append(all, <-ids)
	}
	from := all[9]
	c := e.dial(t, "alice", from)
	for id := range ids {
		all = append(all, id)
	}
	c.expect(all[10:]...)
	last := publish(t, b, "alice", n)
	c.expect(last)
}

func testResumeBeyondRetention(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{})
	c1 := e.dial(t, "alice", "")
	e1 := publish(t, b, "alice", 1)
	c1.expect(e1)
	c1.ws.Close()
	// Redis trims "~" by whole nodes of 100 entries: go well past retain.
	for i := range 300 {
		publish(t, b, "bob", i)
	}
	c2 := e.dial(t, "alice", e1)
	if w := c2.read(); w.Type != "resync" {
		t.Fatalf("got %+v, want resync", w)
	}
	live := publish(t, b, "alice", 2)
	// The hub's own subscription may also have fallen behind the burst
	// (memory bus) and told every socket to resync: harmless, allowed.
	w := c2.read()
	for w.Type == "resync" {
		w = c2.read()
	}
	if w.ID != live {
		t.Fatalf("got %+v, want event %s", w, live)
	}

	// A cursor that is not an id gets the same answer.
	c3 := e.dial(t, "alice", "garbage")
	if w := c3.read(); w.Type != "resync" {
		t.Fatalf("got %+v, want resync", w)
	}
}

func testResumeTooFarBehind(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{MaxResume: 5})
	from := publish(t, b, "alice", 0)
	for i := range 10 {
		publish(t, b, "bob", i)
	}
	c := e.dial(t, "alice", from)
	if w := c.read(); w.Type != "resync" {
		t.Fatalf("got %+v, want resync", w)
	}
}

// A tab that stops reading is closed with 1008 while another tab of the same
// user keeps receiving every event without delay.
func testSlowClientDropped(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{
		SendBuffer:   8,
		WriteTimeout: time.Minute, // the stuck write must outlive the test's steps
		PingInterval: time.Hour,
		PongWait:     time.Hour,
	})
	// A small receive buffer makes the server's writes block sooner.
	small := *websocket.DefaultDialer
	// Set before connect: shrinking it on an open connection makes Linux
	// drop data it already advertised room for, stalling on retransmits.
	small.NetDialContext = (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10)
		})
		return errors.Join(err, serr)
	}}).DialContext
	slow := e.dialWith(t, &small, "alice", "")
	fast := e.dial(t, "alice", "")

	payload := strings.Repeat("x", 12<<10)
	dropped := func() bool { return e.metric(t, "bureau_events_slow_clients_dropped_total") > 0 }
	// Lock-step with the fast tab: each event must reach it while the slow
	// tab's queue fills up behind a blocked socket.
	n := 0
	for ; !dropped(); n++ {
		if n == 20000 {
			t.Fatal("slow client never dropped")
		}
		id, err := notify.Publish(context.Background(), b, notify.Event{
			User: "alice", Type: "big", Data: json.RawMessage(`"` + payload + `"`),
		})
		if err != nil {
			t.Fatal(err)
		}
		fast.expect(id)
	}
	after := publish(t, b, "alice", 1)
	fast.expect(after)
	if got := e.metric(t, "bureau_events_slow_clients_dropped_total"); got != 1 {
		t.Fatalf("dropped = %v, want only the slow tab", got)
	}
	// Draining the slow socket reaches the close frame.
	if code := slow.closeCode(); code != websocket.ClosePolicyViolation {
		t.Fatalf("slow tab closed with %d, want %d", code, websocket.ClosePolicyViolation)
	}
	eventually(t, "slow socket unregistered", func() bool {
		return e.metric(t, "bureau_events_open_sockets") == 1
	})
	t.Logf("slow tab dropped after %d events", n)
}

func testHelloKnowsLastID(t *testing.T, b bus.Bus) {
	before := publish(t, b, "bob", 0) // published before the gateway started
	e := startHub(t, b, Options{})
	c := e.dial(t, "alice", "")
	if c.hello.LastEventID != before {
		t.Fatalf("hello last_event_id = %q, want %q", c.hello.LastEventID, before)
	}
	c.ws.Close()
	// The hello id is a valid resume point.
	id := publish(t, b, "alice", 1)
	c2 := e.dial(t, "alice", before)
	c2.expect(id)
}

func testUnauthenticated(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{})
	_, resp, err := websocket.DefaultDialer.Dial(e.url(""), nil)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil {
		t.Fatalf("dial: %v", err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var body struct{ Error, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error != "unauthenticated" || body.Message == "" {
		t.Fatalf("body %+v, %v", body, err)
	}
	if e.metric(t, "bureau_events_open_sockets") != 0 {
		t.Fatal("a socket was opened")
	}
}

func testOrigin(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{})
	h := http.Header{"X-User": {"alice"}, "Origin": {"https://evil.example"}}
	_, resp, err := websocket.DefaultDialer.Dial(e.url(""), h)
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site: %v %v", err, resp)
	}
	h.Set("Origin", e.srv.URL) // same origin
	ws, _, err := websocket.DefaultDialer.Dial(e.url(""), h)
	if err != nil {
		t.Fatalf("same origin: %v", err)
	}
	ws.Close()

	e2 := startHub(t, b, Options{AllowedOrigins: []string{"https://bureau.example.gouv.fr"}})
	h.Set("Origin", "https://bureau.example.gouv.fr")
	ws, _, err = websocket.DefaultDialer.Dial(e2.url(""), h)
	if err != nil {
		t.Fatalf("allowed origin: %v", err)
	}
	ws.Close()
	h.Set("Origin", e2.srv.URL) // same origin, but not in the list
	if _, resp, err := websocket.DefaultDialer.Dial(e2.url(""), h); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unlisted origin: %v", err)
	}
}

// A socket whose peer stops answering pings is closed; one that answers
// stays.
func testHeartbeat(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{PingInterval: 20 * time.Millisecond, PongWait: 500 * time.Millisecond})
	mute := e.dial(t, "alice", "") // never reads, so never answers pings
	live := e.dial(t, "alice", "")
	var pings sync.WaitGroup
	pings.Add(30)
	n := 0
	live.ws.SetPingHandler(func(data string) error {
		if n++; n <= 30 {
			pings.Done()
		}
		return live.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	frames := make(chan wire, 1)
	go func() {
		for {
			_, data, err := live.ws.ReadMessage()
			if err != nil {
				return
			}
			var w wire
			_ = json.Unmarshal(data, &w)
			frames <- w
		}
	}()
	eventually(t, "the mute socket closed", func() bool {
		return e.metric(t, "bureau_events_open_sockets") == 1
	})
	pings.Wait() // the live socket has outlived many ping rounds
	id := publish(t, b, "alice", 1)
	select {
	case w := <-frames:
		if w.ID != id {
			t.Fatalf("got %+v", w)
		}
	case <-time.After(wait):
		t.Fatal("live socket got nothing")
	}
	_ = mute.ws.SetReadDeadline(time.Now().Add(wait))
	for {
		if _, _, err := mute.ws.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("mute socket still open")
			}
			break
		}
	}
}

func testReadLimit(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{})
	c := e.dial(t, "alice", "")
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte("small is fine")); err != nil {
		t.Fatal(err)
	}
	id := publish(t, b, "alice", 1)
	c.expect(id)
	if err := c.ws.WriteMessage(websocket.TextMessage, make([]byte, 5000)); err != nil {
		t.Fatal(err)
	}
	if code := c.closeCode(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want %d", code, websocket.CloseMessageTooBig)
	}
}

func testShutdown(t *testing.T, b bus.Bus) {
	e := startHub(t, b, Options{})
	c1 := e.dial(t, "alice", "")
	c2 := e.dial(t, "bob", "")
	e.stop(t)
	for _, c := range []*client{c1, c2} {
		if code := c.closeCode(); code != websocket.CloseGoingAway {
			t.Fatalf("close code %d, want %d", code, websocket.CloseGoingAway)
		}
	}
	if got := e.metric(t, "bureau_events_open_sockets"); got != 0 {
		t.Fatalf("open sockets after shutdown = %v", got)
	}
	// New connections are refused.
	_, resp, err := websocket.DefaultDialer.Dial(e.url(""), http.Header{"X-User": {"alice"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after shutdown: %v %v", err, resp)
	}
}

// Two gateway replicas on one Redis: a publish reaches the user's sockets on
// both, and no one else's.
func TestTwoReplicasOnRedis(t *testing.T) {
	rd := testenv.StartRedis(t)
	newBus := redisBus(rd, "bureau:bus:", 1000)
	a := startHub(t, newBus(t), Options{})
	bb := startHub(t, newBus(t), Options{})
	service := newBus(t) // a service publishing through its own client

	aliceA := a.dial(t, "alice", "")
	aliceB := bb.dial(t, "alice", "")
	bobB := bb.dial(t, "bob", "")
	id := publish(t, service, "alice", 1)
	aliceA.expect(id)
	aliceB.expect(id)
	bid := publish(t, service, "bob", 2)
	bobB.expect(bid) // and not alice's before it

	// A tab moving from replica A to B resumes where it was.
	aliceA.ws.Close()
	missed := publish(t, service, "alice", 3)
	aliceB.expect(missed)
	moved := bb.dial(t, "alice", id)
	moved.expect(missed)
}

// The hub's own bus subscription can be dropped (memory bus, slow hub): it
// resubscribes and fills the gap from history, so clients miss nothing.
func TestHubResubscribes(t *testing.T) {
	b := bus.NewMemory(bus.MemoryOptions{Retain: 10000, Buffer: 1})
	defer b.Close()
	logs := &lockedBuffer{}
	e := startHubLog(t, b, Options{SendBuffer: 4096}, slog.New(slog.NewTextHandler(logs, nil)))
	c := e.dial(t, "alice", "")
	const n = 2000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = publish(t, b, "alice", i)
	}
	c.expect(ids...)
	last := publish(t, b, "alice", n)
	c.expect(last)
	if !strings.Contains(logs.String(), "resubscribing") {
		t.Fatal("the hub's subscription was never dropped: the test proved nothing")
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Sanity: the handler never upgrades a plain GET.
func TestPlainGET(t *testing.T) {
	e := startHub(t, memoryBus(t, 10), Options{})
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/events", nil)
	req.Header.Set("X-User", "alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
}
