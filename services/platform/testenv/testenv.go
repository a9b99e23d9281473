// Package testenv starts the real servers the tests use — Redis,
// PostgreSQL, MinIO, ClamAV, coturn — each on a free 127.0.0.1 port with a
// throwaway data directory, and stops them when the test ends.
//
// The servers are installed by scripts/install-test-deps.sh (run by
// `make test`). A missing server fails the test with that hint: the project
// tests against real components, never mocks, so a skip would hide a gap.
//
// StartX servers belong to one test. PostgreSQL and MinIO can also be
// shared by all the tests of a package (SharedPostgres, SharedMinIO, each
// test isolated in its own database or bucket), which needs
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Servers run in the foreground as children of the test binary and are
// killed with it (Pdeathsig) if it dies before its cleanups.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// LookBinary finds a server binary at one of the extra paths or on PATH.
func LookBinary(t testing.TB, name string, extra ...string) string {
	t.Helper()
	p, err := findBinary(name, extra...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return p
}

func findBinary(name string, extra ...string) (string, error) {
	for _, p := range extra {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: run scripts/install-test-deps.sh (make test does)", name)
}

// CacheDir is where install-test-deps.sh keeps built servers (MinIO).
func CacheDir() string {
	if d := os.Getenv("BUREAU_CACHE"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "bureau")
}

// WaitTCP waits until addr accepts connections or the deadline passes.
func WaitTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not reachable: %w", addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Redis is a running redis-server.
type Redis struct {
	Addr string // host:port
	URL  string // redis://host:port/0
	cmd  *exec.Cmd
}

// StartRedis starts a redis-server with no persistence for the test.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := LookBinary(t, "redis-server")
	dir := t.TempDir()
	port := FreePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start redis: %v", err)
	}
	r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	r.URL = "redis://" + r.Addr + "/0"
	t.Cleanup(func() { stop(cmd) })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := WaitTCP(ctx, r.Addr); err != nil {
		t.Fatalf("testenv: redis: %v (log in %s)", err, dir)
	}
	return r
}

// stop ends a server with SIGTERM, then SIGKILL after a grace period.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
