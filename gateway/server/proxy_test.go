package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"bureau/services/platform/identity"
	"bureau/services/platform/testenv"
)

// upstream is a stand-in service that reports what the gateway sent it.
type seen struct {
	User          *identity.User `json:"user"`
	IdentityError string         `json:"identity_error"`
	Cookie        string         `json:"cookie"`
	XFF           string         `json:"xff"`
	XFProto       string         `json:"xfproto"`
	RequestID     string         `json:"request_id"`
	Extra         string         `json:"extra"`
	SHA256        string         `json:"sha256"`
	Bytes         int64          `json:"bytes"`
}

func startUpstream(t *testing.T, verify func(string) (identity.User, error)) *httptest.Server {
	up := websocket.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/meet/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			_ = c.WriteMessage(mt, append([]byte("echo:"), msg...))
		}
	})
	mux.HandleFunc("/api/files/stream", func(w http.ResponseWriter, r *http.Request) {
		// Stream n bytes back without a Content-Length.
		n := int64(64 << 20)
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = byte(i)
		}
		for n > 0 {
			k := min(n, int64(len(chunk)))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := seen{Cookie: r.Header.Get("Cookie"), XFF: r.Header.Get("X-Forwarded-For"),
			XFProto: r.Header.Get("X-Forwarded-Proto"), RequestID: r.Header.Get("X-Request-Id"), Extra: r.Header.Get("Bureau-Extra")}
		if tok := r.Header.Get(identity.Header); tok != "" {
			if u, err := verify(tok); err == nil {
				s.User = &u
			} else {
				s.IdentityError = err.Error()
			}
		}
		h := sha256.New()
		s.Bytes, _ = io.Copy(h, r.Body)
		s.SHA256 = hex.EncodeToString(h.Sum(nil))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func gatewayWithUpstream(t *testing.T) (*gw, *httptest.Server) {
	pub, priv, _ := identity.GenerateKey()
	verifier := identity.NewVerifier(pub, "files")
	up := startUpstream(t, verifier.Verify)
	x, _ := startGateway(t, gwOpts{upstream: up.URL, key: identity.EncodePrivateKey(priv)})
	return x, up
}

func decodeSeen(t *testing.T, body string) seen {
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("upstream answer %q: %v", body, err)
	}
	return s
}

func TestProxyPassesIdentityAndStripsSpoofing(t *testing.T) {
	x, _ := gatewayWithUpstream(t)
	b := newBrowser(t)

	// Anonymous, with every header a client could use to impersonate.
	_, priv2, _ := identity.GenerateKey()
	forged, _, _ := identity.NewSigner(priv2, time.Minute).Sign(identity.User{ID: "admin"}, "files")
	req, _ := http.NewRequest(http.MethodGet, x.url+"/api/files/whoami", nil)
	req.Header.Set(identity.Header, forged)
	req.Header.Set("Bureau-Extra", "spoof")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("X-Request-Id", "client-chosen")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := decodeSeen(t, string(body))
	if s.User != nil || s.IdentityError != "" || s.Extra != "" {
		t.Fatalf("spoofed identity reached the service: %+v", s)
	}
	if s.XFF != "127.0.0.1" || s.XFProto != "http" {
		t.Fatalf("forwarding headers: %+v", s)
	}
	if s.RequestID == "" || s.RequestID == "client-chosen" || resp.Header.Get("X-Request-Id") != s.RequestID {
		t.Fatalf("request id: service %q, response %q", s.RequestID, resp.Header.Get("X-Request-Id"))
	}

	// Signed in: the service gets a verified identity and no session cookie.
	b.login(x, alice.Email)
	_, body2 := b.get(x.url + "/api/files/whoami")
	s = decodeSeen(t, body2)
	if s.User == nil || s.User.Email != alice.Email || s.User.Ministry != "interieur" || s.User.SessionID == "" {
		t.Fatalf("identity at the service: %+v", s)
	}
	if strings.Contains(s.Cookie, "bureau_session") {
		t.Fatalf("session cookie forwarded: %q", s.Cookie)
	}
}

func TestProxyStreamsLargeBodiesBothWays(t *testing.T) {
	x, _ := gatewayWithUpstream(t)
	b := newBrowser(t)
	b.login(x, alice.Email)

	// 96 MiB upload of unknown length through a pipe: nothing may buffer
	// the whole body (the files route has no size limit).
	const size = 96 << 20
	pr, pw := io.Pipe()
	want := sha256.New()
	go func() {
		chunk := make([]byte, 1<<20)
		for i := 0; i < size/len(chunk); i++ {
			chunk[0] = byte(i)
			want.Write(chunk)
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPut, x.url+"/api/files/upload", pr)
	req.Header.Set("Origin", x.url)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := decodeSeen(t, string(body))
	if s.Bytes != size || s.SHA256 != hex.EncodeToString(want.Sum(nil)) {
		t.Fatalf("upload arrived as %d bytes, sha %s", s.Bytes, s.SHA256)
	}

	resp, err = b.c.Get(x.url + "/api/files/stream")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != 64<<20 {
		t.Fatalf("download: %d bytes", n)
	}
}

func TestProxyBodyLimitPerRoute(t *testing.T) {
	x, _ := gatewayWithUpstream(t)
	b := newBrowser(t)
	b.login(x, alice.Email)
	big := strings.NewReader(strings.Repeat("x", 2<<20))
	req, _ := http.NewRequest(http.MethodPost, x.url+"/api/meet/signal", big)
	req.Header.Set("Origin", x.url)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(body), `"error":"too_large"`) {
		t.Fatalf("oversized meet request: %d %s", resp.StatusCode, body)
	}
}

func TestProxyUnreachableServiceIs502JSON(t *testing.T) {
	x, _ := startGateway(t, gwOpts{}) // services point at a closed port
	resp, body := newBrowser(t).get(x.url + "/api/files/x")
	if resp.StatusCode != 502 || !strings.Contains(body, `"error":"bad_gateway"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp, body = newBrowser(t).get(x.url + "/_matrix/client/versions")
	if resp.StatusCode != 502 || !strings.Contains(body, `"errcode":"M_UNKNOWN"`) {
		t.Fatalf("matrix: %d %s", resp.StatusCode, body)
	}
}

func TestProxyWebsocketAndOriginCheck(t *testing.T) {
	x, _ := gatewayWithUpstream(t)
	b := newBrowser(t)
	b.login(x, alice.Email)
	wsURL := "ws" + strings.TrimPrefix(x.url, "http") + "/api/meet/ws"
	d := websocket.Dialer{Jar: b.c.Jar, HandshakeTimeout: 5 * time.Second}

	c, _, err := d.Dial(wsURL, http.Header{"Origin": {x.url}})
	if err != nil {
		t.Fatalf("same-origin websocket: %v", err)
	}
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte("bonjour")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil || string(msg) != "echo:bonjour" {
		t.Fatalf("echo: %q %v", msg, err)
	}

	_, resp, err := d.Dial(wsURL, http.Header{"Origin": {"https://evil.example"}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-site websocket: err=%v resp=%v", err, resp)
	}
}

func TestSecurityHeadersOnOwnPages(t *testing.T) {
	x, _ := startGateway(t, gwOpts{})
	for _, p := range []string{"/", "/fichiers", "/api/me", "/auth/logged-out"} {
		resp, _ := newBrowser(t).noFollow().Get(x.url + p)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "" {
			t.Errorf("%s: missing nosniff/referrer policy", p)
		}
	}
	// SPA routes get the app; unknown API routes a JSON 404.
	resp, body := newBrowser(t).get(x.url + "/fichiers/espace/1")
	if resp.StatusCode != 200 || !strings.Contains(body, "<title>Bureau</title>") {
		t.Fatalf("SPA fallback: %d %s", resp.StatusCode, body)
	}
	resp, body = newBrowser(t).get(x.url + "/api/nothing")
	if resp.StatusCode != 404 || !strings.Contains(body, `"error":"not_found"`) {
		t.Fatalf("unknown API: %d %s", resp.StatusCode, body)
	}
}

func TestDirectorySearch(t *testing.T) {
	for name, dsn := range map[string]string{"sqlite": "", "postgres": testenv.SharedPostgres(t).NewDatabase(t)} {
		t.Run(name, func(t *testing.T) { testDirectorySearch(t, dsn) })
	}
}

func testDirectorySearch(t *testing.T, dsn string) {
	x, _ := startGateway(t, gwOpts{dbURL: dsn})
	for _, u := range []string{alice.Email, chloe.Email, david.Email} {
		newBrowser(t).login(x, u)
	}
	a := newBrowser(t)
	a.login(x, alice.Email)
	search := func(b *browser, q string) []string {
		resp, body := b.get(x.url + "/api/directory?q=" + q)
		if resp.StatusCode != 200 {
			t.Fatalf("search %q: %d %s", q, resp.StatusCode, body)
		}
		var r struct {
			Results []struct{ Email string } `json:"results"`
		}
		_ = json.Unmarshal([]byte(body), &r)
		var out []string
		for _, p := range r.Results {
			out = append(out, p.Email)
		}
		return out
	}
	if got := search(a, "chlo"); len(got) != 1 || got[0] != chloe.Email {
		t.Fatalf("chlo: %v", got)
	}
	if got := search(a, "bernard%20chl"); len(got) != 1 {
		t.Fatalf("usual-then-given name: %v", got)
	}
	if got := search(a, "david"); len(got) != 0 {
		t.Fatalf("external partner browsable: %v", got)
	}
	if got := search(a, "david.petit%40partenaire.example"); len(got) != 1 {
		t.Fatalf("external partner by exact email: %v", got)
	}
	if got := search(a, "%25"); len(got) != 0 {
		t.Fatalf("LIKE wildcard not escaped: %v", got)
	}
	d := newBrowser(t)
	d.login(x, david.Email)
	if got := search(d, "alice"); len(got) != 0 {
		t.Fatalf("external sees the directory: %v", got)
	}
	resp, _ := newBrowser(t).get(x.url + "/api/directory?q=alice")
	if resp.StatusCode != 401 {
		t.Fatalf("anonymous directory: %d", resp.StatusCode)
	}
	resp, _ = a.get(x.url + "/api/directory?q=" + strings.Repeat("a", 300))
	if resp.StatusCode != 400 {
		t.Fatalf("long query: %d", resp.StatusCode)
	}
}
