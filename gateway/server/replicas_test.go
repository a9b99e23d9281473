package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"bureau/gateway/internal/oidctest"
	"bureau/services/platform/bus"
	"bureau/services/platform/identity"
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

// gatewayBinary builds cmd/gateway once per test binary.
var gatewayBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "bureau-gw-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gateway")
	out, err := exec.Command("go", "build", "-o", bin, "bureau/gateway/cmd/gateway").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// startGatewayProcess runs the real gateway command with a config file, as
// in production (minus TLS), and waits until it is ready.
func startGatewayProcess(t *testing.T, l net.Listener, p *oidctest.Provider, redisURL, dbURL, key string) *gw {
	t.Helper()
	bin, err := gatewayBinary()
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // the process binds it; nothing else takes a just-freed loopback port in between
	dir := t.TempDir()
	web := filepath.Join(dir, "web")
	_ = os.MkdirAll(web, 0o755)
	_ = os.WriteFile(filepath.Join(web, "index.html"), []byte("<!doctype html><title>Bureau</title>"), 0o644)
	cfg := fmt.Sprintf(`mode: development
public_url: http://%[1]s
listen: %[1]s
ops_listen: ""
log: {level: warn}
database: {url: "%[2]s"}
redis: {url: "%[3]s"}
oidc: {issuer: "%[4]s", client_id: "%[5]s", require_acr: true}
identity: {private_key: "%[6]s"}
services:
  chat: {url: "http://127.0.0.1:1"}
  files: {url: "http://127.0.0.1:1"}
  meet: {url: "http://127.0.0.1:1"}
web: {dir: "%[7]s"}
ministries:
  - {id: interieur, name: "Ministère de l'Intérieur", domains: [interieur.gouv.fr]}
  - {id: finances, name: "Ministère de l'Économie et des Finances", domains: [finances.gouv.fr]}
`, addr, dbURL, redisURL, p.Issuer, p.ClientID, key, web)
	path := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", path)
	// The secret comes from the environment, as from a Kubernetes Secret.
	cmd.Env = append(os.Environ(), "BUREAU_GATEWAY_OIDC_CLIENT_SECRET="+p.ClientSecret)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := <-exited; err != nil {
			t.Errorf("gateway process: %v\n%s", err, logs.String())
		}
	})
	x := &gw{t: t, url: "http://" + addr}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(x.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return x
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("gateway exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not ready\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling readiness, not synchronising
	}
}

// Two gateway processes on one real Redis (and one real PostgreSQL for the
// directory): a session opened through one works through the other, and an
// event published once reaches the agent's sockets on both replicas and no
// other agent's.
func TestTwoReplicasShareSessionsAndEvents(t *testing.T) {
	rds := testenv.StartRedis(t)
	pg := testenv.SharedPostgres(t)
	dsn := pg.NewDatabase(t)
	la, lb := listen(t), listen(t)
	p := newProvider(t, "http://"+la.Addr().String())
	_, priv, _ := identity.GenerateKey()
	key := identity.EncodePrivateKey(priv)
	a := startGatewayProcess(t, la, p, rds.URL, dsn, key)
	b := startGatewayProcess(t, lb, p, rds.URL, dsn, key)

	alice1 := newBrowser(t)
	if resp := alice1.login(a, alice.Email); resp.StatusCode != 200 {
		t.Fatalf("login through replica A: %d", resp.StatusCode)
	}
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
