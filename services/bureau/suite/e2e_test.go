package suite

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bureau/services/platform/notify"
	"bureau/services/platform/testenv"
)

// repoRoot is where web/ lives, from this package's directory.
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startSuite runs the all-in-one on a free loopback port with its data in a
// temp dir: the very code `make run` starts.
func startSuite(t *testing.T) *Suite {
	return startSuiteWith(t, nil)
}

func startSuiteWith(t *testing.T, mutate func(*Config)) *Suite {
	t.Helper()
	root := repoRoot(t)
	port := testenv.FreePort(t)
	cfg := Embedded(t.TempDir())
	cfg.Gateway.Listen = "127.0.0.1:" + strconv.Itoa(port)
	cfg.Gateway.PublicURL = "http://127.0.0.1:" + strconv.Itoa(port)
	cfg.Gateway.OpsListen = ""
	cfg.Gateway.Web.Dir = filepath.Join(root, "web", "dist")
	// Media stays on 127.0.0.1: nothing in a test targets another address.
	cfg.Meet.ICE.LoopbackOnly = true
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("suite: %v", err)
		}
	})
	return s
}

// signIn logs an agent in with the development IdP's login_hint, as a
// script would, and returns a client holding the session.
func signIn(t *testing.T, s *Suite, email string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(s.URL + "/auth/login?redirect=/&login_hint=" + url.QueryEscape(email))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c
}

func me(t *testing.T, s *Suite, c *http.Client) map[string]any {
	t.Helper()
	resp, err := c.Get(s.URL + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&m) != nil {
		t.Fatalf("/api/me: %d", resp.StatusCode)
	}
	return m
}

func TestEmbeddedSuiteSignsInSeededAgentsAndReachesServices(t *testing.T) {
	s := startSuite(t)
	for email, ministry := range map[string]any{
		"alice.martin@interieur.gouv.fr": "interieur",
		"chloe.bernard@finances.gouv.fr": "finances",
		"david.petit@partenaire.example": nil,
		"zoe.durand@interieur.gouv.fr":   "interieur", // synthetic agent of a seeded ministry
	} {
		c := signIn(t, s, email)
		m := me(t, s, c)
		var got any
		if mm, ok := m["ministry"].(map[string]any); ok {
			got = mm["id"]
		}
		if m["email"] != email || got != ministry {
			t.Errorf("%s: %v", email, m)
		}
		// The services get the identity through the gateway's signed token.
		for _, p := range []string{"/api/files/whoami", "/api/meet/whoami"} {
			resp, err := c.Get(s.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			var u map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&u)
			resp.Body.Close()
			if resp.StatusCode != 200 || u["email"] != email {
				t.Errorf("%s %s: %d %v", email, p, resp.StatusCode, u)
			}
		}
	}
	resp, err := http.Get(s.URL + "/api/files/whoami")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("anonymous whoami: %d", resp.StatusCode)
	}
	resp, err = http.Get(s.URL + "/.well-known/matrix/client")
	if err != nil {
		t.Fatal(err)
	}
	var wk map[string]map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&wk)
	resp.Body.Close()
	if wk["m.homeserver"]["base_url"] != s.URL {
		t.Fatalf("matrix discovery: %v", wk)
	}
}

// runBrowser runs a web/e2e script with node + playwright-core + Debian
// Chromium against the suite; onLine sees each stdout line as it comes
// (the scripts print READY-style steps). The script must end with PASS.
func runBrowser(t *testing.T, s *Suite, script string, env []string, onLine func(string)) []string {
	t.Helper()
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "web", "dist", "index.html")); err != nil {
		t.Fatal("web/dist is not built: run `make web` (make test does)")
	}
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "playwright-core")); err != nil {
		t.Fatal("playwright-core missing: run scripts/install-test-deps.sh (make test does)")
	}
	chromium := testenv.LookBinary(t, "chromium")
	shots := os.Getenv("BUREAU_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else {
		shots = filepath.Join(shots, strings.TrimSuffix(script, ".mjs"))
	}
	return runNode(t, s, script, append([]string{"SCREENSHOT_DIR=" + shots, "CHROMIUM=" + chromium}, env...), onLine,
		"screenshots in "+shots)
}

// runNode runs a web/e2e script with node (web/node_modules) against the
// suite, with the stdout protocol of the browser scenarios.
func runNode(t *testing.T, s *Suite, script string, env []string, onLine func(string), hint string) []string {
	t.Helper()
	root := repoRoot(t)
	node := testenv.LookBinary(t, "node")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "web", "e2e", script))
	cmd.Dir = filepath.Join(root, "web")
	cmd.Env = append(append(os.Environ(), "BUREAU_URL="+s.URL), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if onLine != nil {
			onLine(sc.Text())
		}
	}
	err = cmd.Wait()
	if err != nil || len(lines) == 0 || lines[len(lines)-1] != "PASS" {
		t.Fatalf("scenario %s failed (%v):\nstdout: %s\nstderr: %s\n%s",
			script, err, strings.Join(lines, "\n"), stderr.String(), hint)
	}
	if testing.Verbose() {
		t.Logf("%s stderr:\n%s", script, stderr.String())
	}
	return lines
}

// TestBrowserShell: sign in through the development IdP, see the agent's
// name and ministry, receive a live notification, sign out.
func TestBrowserShell(t *testing.T) {
	s := startSuite(t)
	// The agent's id, to address the notification.
	aliceID := me(t, s, signIn(t, s, "alice.martin@interieur.gouv.fr"))["id"].(string)
	lines := runBrowser(t, s, "shell.mjs", []string{
		"BUREAU_AGENT_EMAIL=alice.martin@interieur.gouv.fr", "BUREAU_AGENT_NAME=Alice Martin",
		"BUREAU_MINISTRY_NAME=Ministère de l'Intérieur",
	}, func(line string) {
		if line == "READY" {
			if _, err := notify.Notify(context.Background(), s.Bus, aliceID, notify.Notification{
				Title: "Test en direct", Body: "Une notification envoyée pendant le test.", Link: "/fichiers",
			}); err != nil {
				t.Errorf("publish: %v", err)
			}
		}
	})
	for _, want := range []string{"READY", "EVENT_OK"} {
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Fatalf("step %s missing: %v", want, lines)
		}
	}
}

// TestBrowserFiles: upload with progress (pause and resume), download,
// trash and restore, a team space shared with another agent who sees and
// downloads the file — in the Fichiers view.
func TestBrowserFiles(t *testing.T) {
	s := startSuite(t)
	runBrowser(t, s, "files.mjs", nil, nil)
}

// TestBrowserVisio: two agents of the same ministry meet in the Visio view
// with Chromium's fake camera; each decodes the other's video (getStats),
// chat and raised hand cross, a screen share arrives as a second video
// track, the host mutes the other participant, and a guest without an
// account opens a guest link, waits in the lobby, is admitted and decodes
// the meeting's video.
func TestBrowserVisio(t *testing.T) {
	s := startSuite(t)
	runBrowser(t, s, "visio.mjs", nil, nil)
}

// TestBrowserChat: two agents in the Messagerie view; Alice creates an
// end-to-end encrypted room inviting Bruno, they exchange messages and each
// decrypts the other's (matrix-js-sdk with its Rust crypto in Chromium).
func TestBrowserChat(t *testing.T) {
	s := startSuite(t)
	runBrowser(t, s, "chat.mjs", []string{"CHAT_REQUIRE_E2EE=1"}, nil)
}

func TestMain(m *testing.M) { testenv.Main(m) }
