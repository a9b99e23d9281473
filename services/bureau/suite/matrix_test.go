package suite

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A Matrix client signs in with the agent's ProConnect session at the
// gateway (m.login.sso then m.login.token), through the real gateway and
// chat service of the all-in-one.
func TestMatrixLoginThroughGatewaySession(t *testing.T) {
	s := startSuite(t)
	c := signIn(t, s, "alice.martin@interieur.gouv.fr")
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	resp, err := noFollow.Get(s.URL + "/_matrix/client/v3/login/sso/redirect/proconnect?redirectUrl=" + url.QueryEscape("http://localhost:9999/element/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), "http://localhost:9999/element/") || loc.Query().Get("loginToken") == "" {
		t.Fatalf("sso redirect: %d %v", resp.StatusCode, loc)
	}

	// The token is used by the client without cookies, as Element would.
	body, _ := json.Marshal(map[string]string{"type": "m.login.token", "token": loc.Query().Get("loginToken")})
	resp, err = http.Post(s.URL+"/_matrix/client/v3/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		UserID      string `json:"user_id"`
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(login.UserID, "@alice.martin-interieur.gouv.fr:127.0.0.1:") || login.AccessToken == "" {
		t.Fatalf("login: %d %+v", resp.StatusCode, login)
	}
	req, _ := http.NewRequest("GET", s.URL+"/_matrix/client/v3/account/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+login.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var who map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&who)
	resp.Body.Close()
	if who["user_id"] != login.UserID {
		t.Fatalf("whoami: %v", who)
	}

	// Media through the gateway: a 2 MiB upload passes its body limit, the
	// authenticated download keeps the chat service's safety headers.
	file := bytes.Repeat([]byte("0123456789abcdef"), 128<<10)
	req, _ = http.NewRequest("POST", s.URL+"/_matrix/media/v3/upload?filename=gros.bin", bytes.NewReader(file))
	req.Header.Set("Authorization", "Bearer "+login.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		ContentURI string `json:"content_uri"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	mxc, ok := strings.CutPrefix(up.ContentURI, "mxc://")
	if resp.StatusCode != 200 || !ok {
		t.Fatalf("upload through the gateway: %d %+v", resp.StatusCode, up)
	}
	req, _ = http.NewRequest("GET", s.URL+"/_matrix/client/v1/media/download/"+mxc, nil)
	req.Header.Set("Authorization", "Bearer "+login.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, file) || !strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "sandbox;") ||
		resp.Header.Get("Content-Disposition") != "attachment; filename=gros.bin" {
		t.Fatalf("download through the gateway: %d, %d bytes, %v", resp.StatusCode, len(got), resp.Header)
	}

	// Without a gateway session the browser is sent to log in first, and
	// comes back to the same SSO URL.
	anon := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = anon.Get(s.URL + "/_matrix/client/v3/login/sso/redirect?redirectUrl=" + url.QueryEscape("http://localhost:9999/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ = resp.Location()
	if loc == nil || loc.Path != "/auth/login" || !strings.HasPrefix(loc.Query().Get("redirect"), "/_matrix/client/v3/login/sso/redirect") {
		t.Fatalf("anonymous sso: %d %v", resp.StatusCode, loc)
	}
}

// TestMatrixJSSDK: matrix-js-sdk 43 in Node with its Rust crypto, through
// the gateway: SSO sign-in of agents of two ministries, an encrypted DM
// both ways, typing and receipts, history visibility for a late joiner and
// 500 messages back-paginated in order (web/e2e/matrix-sdk.mjs).
func TestMatrixJSSDK(t *testing.T) {
	if _, err := os.Stat(filepath.Join(repoRoot(t), "web", "node_modules", "matrix-js-sdk")); err != nil {
		t.Fatal("matrix-js-sdk missing: run scripts/install-test-deps.sh (make test does)")
	}
	s := startSuite(t)
	start := time.Now()
	runNode(t, s, "matrix-sdk.mjs", nil, nil, "")
	t.Logf("matrix-js-sdk scenario: %v", time.Since(start))
}
