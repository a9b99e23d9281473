package testenv

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TURN is a running coturn server with the TURN REST API shared secret
// (time-limited credentials, as the meet service hands them out).
type TURN struct {
	Addr    string // 127.0.0.1:port, UDP and TCP
	Realm   string
	Secret  string // static-auth-secret
	MinPort int    // relay port range
	MaxPort int
}

// StartCoturn starts turnserver for the test, listening and relaying only
// on 127.0.0.1.
func StartCoturn(t testing.TB) *TURN {
	t.Helper()
	bin := LookBinary(t, "turnserver", "/usr/bin/turnserver")
	dir := t.TempDir()
	port := FreePort(t)
	// Relay ports cannot be probed in advance (coturn binds them per
	// allocation); a random 200-port window above the Linux ephemeral range
	// (32768-60999 is where FreePort's ports come from) rarely collides.
	minPort := 61000 + 200*rand.IntN(20)
	tr := &TURN{
		Addr:    fmt.Sprintf("127.0.0.1:%d", port),
		Realm:   "bureau.test",
		Secret:  randomName("turn-"),
		MinPort: minPort,
		MaxPort: minPort + 199,
	}
	p, err := startProc(filepath.Join(dir, "turnserver.out"), nil, dir, nil, bin,
		"-n", // no /etc/turnserver.conf
		"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		"--listening-port="+strconv.Itoa(port),
		"--min-port="+strconv.Itoa(tr.MinPort), "--max-port="+strconv.Itoa(tr.MaxPort),
		"--realm="+tr.Realm, "--use-auth-secret", "--static-auth-secret="+tr.Secret,
		"--no-tls", "--no-dtls", "--no-cli", "--no-rfc5780", "--allow-loopback-peers",
		// Keep every file in the test's directory, none in /var.
		"--log-file="+filepath.Join(dir, "turnserver.log"), "--simple-log", "--no-stdout-log",
		"--pidfile="+filepath.Join(dir, "turnserver.pid"),
		"--db="+filepath.Join(dir, "turndb"),
	)
	if err != nil {
		t.Fatalf("testenv: coturn: %v", err)
	}
	t.Cleanup(p.stop)
	// coturn opens its TCP and UDP listeners one after the other: wait for
	// both, the UDP one by a STUN Binding answered.
	ready := func(ctx context.Context) error {
		if err := WaitTCP(ctx, tr.Addr); err != nil {
			return err
		}
		return waitSTUN(ctx, tr.Addr)
	}
	if err := p.waitReady(ready); err != nil {
		t.Fatalf("testenv: coturn: %v (log %s)", err, filepath.Join(dir, "turnserver.log"))
	}
	return tr
}

// waitSTUN sends STUN Binding requests (RFC 8489) to addr over UDP until one
// is answered.
func waitSTUN(ctx context.Context, addr string) error {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	req := make([]byte, 20)
	binary.BigEndian.PutUint16(req[0:], 0x0001)
	binary.BigEndian.PutUint32(req[4:], 0x2112A442)
	resp := make([]byte, 1500)
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("no STUN answer on %s: %w", addr, err)
		}
		_ = conn.SetDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := conn.Write(req); err == nil {
			if n, err := conn.Read(resp); err == nil && n >= 20 {
				return nil
			}
		}
		// Refused (answered at once by the kernel) or lost: the listener is
		// not up yet; pause before the next try.
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}
