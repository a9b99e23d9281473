package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"bureau/services/platform/bus"
	"bureau/services/platform/notify"
	"bureau/services/platform/testenv"
)

type wsEvent struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// dialEvents opens /api/events as the browser's agent and waits for hello.
func dialEvents(t *testing.T, x *gw, b *browser) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Jar: b.c.Jar, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(x.url, "http")+"/api/events", http.Header{"Origin": {x.url}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("events websocket: %v (status %d)", err, status)
	}
	t.Cleanup(func() { c.Close() })
	if ev := readEvent(t, c); ev.Type != "hello" {
		t.Fatalf("first message %+v, want hello", ev)
	}
	return c
}

func readEvent(t *testing.T, c *websocket.Conn) wsEvent {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ev wsEvent
	if err := c.ReadJSON(&ev); err != nil {
		t.Fatalf("read event: %v", err)
	}
	return ev
}

func title(t *testing.T, ev wsEvent) string {
	var n notify.Notification
	if err := json.Unmarshal(ev.Data, &n); err != nil {
		t.Fatalf("event data %s: %v", ev.Data, err)
	}
	return n.Title
}

// Two gateway replicas on one real Redis (and one real PostgreSQL for the
// directory): a session opened through one works through the other, and an
// event published once reaches the agent's sockets on both replicas and no
// other agent's.
func TestTwoReplicasShareSessionsAndEvents(t *testing.T) {
	rds := testenv.StartRedis(t)
	pg := testenv.SharedPostgres(t)
	dsn := pg.NewDatabase(t)
	la, lb := listen(t), listen(t)
	p := newProvider(t, "http://"+la.Addr().String())
	a, _ := startGateway(t, gwOpts{listener: la, issuer: p, redisURL: rds.URL, dbURL: dsn})
	b, _ := startGateway(t, gwOpts{listener: lb, issuer: p, redisURL: rds.URL, dbURL: dsn})

	alice1 := newBrowser(t)
	alice1.login(a, alice.Email)
	if st, me := alice1.me(b); st != 200 || me["email"] != alice.Email {
		t.Fatalf("session from replica A not valid on B: %d %v", st, me)
	}
	chloeB := newBrowser(t)
	chloeB.login(a, chloe.Email)

	wsA := dialEvents(t, a, alice1)
	wsB := dialEvents(t, b, alice1)
	wsChloe := dialEvents(t, b, chloeB)

	_, me := alice1.me(a)
	aliceID := me["id"].(string)
	_, me = chloeB.me(b)
	chloeID := me["id"].(string)

	// A service publishes on the bus, as the files or chat service will.
	client := redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer client.Close()
	svcBus := bus.NewRedis(client, bus.RedisOptions{Prefix: "bureau:bus:"})
	defer svcBus.Close()
	ctx := context.Background()
	if _, err := notify.Notify(ctx, svcBus, aliceID, notify.Notification{Title: "Pour Alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := notify.Notify(ctx, svcBus, chloeID, notify.Notification{Title: "Pour Chloé"}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*websocket.Conn{"replica A": wsA, "replica B": wsB} {
		if ev := readEvent(t, c); title(t, ev) != "Pour Alice" || ev.ID == "" {
			t.Fatalf("%s: got %+v", name, ev)
		}
	}
	// The bus is ordered: Chloé's first event must be her own, which proves
	// Alice's never reached her socket.
	if ev := readEvent(t, wsChloe); title(t, ev) != "Pour Chloé" {
		t.Fatalf("Chloé received %q", title(t, ev))
	}

	// Logout through B ends the session on A too.
	req, _ := http.NewRequest(http.MethodPost, b.url+"/auth/logout", nil)
	req.Header.Set("Origin", b.url)
	resp, err := alice1.noFollow().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st, _ := alice1.me(a); st != 401 {
		t.Fatalf("session still valid on A after logout on B: %d", st)
	}
}

func TestEventsRequireSession(t *testing.T) {
	x, _ := startGateway(t, gwOpts{})
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	_, resp, err := d.Dial("ws"+strings.TrimPrefix(x.url, "http")+"/api/events", http.Header{"Origin": {x.url}})
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous events socket: %v %v", err, resp)
	}
}
