package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// EICAR is the standard anti-virus test file: harmless, detected by every
// scanner, and by the one-line database StartClamAV installs.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// eicarSignature is the MD5 of EICAR, its size and a name: a ClamAV .hdb
// line. Official signatures cannot be downloaded here and clamd refuses to
// start on an empty database.
const eicarSignature = "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n"

// ClamAV is a running clamd that knows only the EICAR signature.
type ClamAV struct {
	Addr string // 127.0.0.1:port, speaks the clamd protocol
}

// ClamAVConfig tunes StartClamAVWith.
type ClamAVConfig struct {
	// StreamMaxLength is clamd's INSTREAM limit in bytes; 0 means 64 MiB.
	StreamMaxLength int64
}

// StartClamAV starts clamd with a 64 MiB stream limit for the test.
func StartClamAV(t testing.TB) *ClamAV {
	t.Helper()
	return StartClamAVWith(t, ClamAVConfig{})
}

// StartClamAVWith starts clamd configured by c for the test.
func StartClamAVWith(t testing.TB, c ClamAVConfig) *ClamAV {
	t.Helper()
	bin := LookBinary(t, "clamd", "/usr/sbin/clamd")
	if c.StreamMaxLength == 0 {
		c.StreamMaxLength = 64 << 20
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatalf("testenv: clamav: %v", err)
	}
	if err := os.WriteFile(filepath.Join(db, "test.hdb"), []byte(eicarSignature), 0o644); err != nil {
		t.Fatalf("testenv: clamav: %v", err)
	}
	port := FreePort(t)
	// Scan limits at least the stream limit, so that a stream is scanned
	// whole rather than silently truncated at clamd's default 100 MB.
	limit := max(c.StreamMaxLength, 100<<20)
	conf := fmt.Sprintf(`DatabaseDirectory %s
TemporaryDirectory %s
TCPSocket %d
TCPAddr 127.0.0.1
Foreground true
SelfCheck 0
Bytecode no
StreamMaxLength %d
MaxFileSize %d
MaxScanSize %d
`, db, dir, port, c.StreamMaxLength, limit, 4*limit)
	confPath := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatalf("testenv: clamav: %v", err)
	}
	p, err := startProc(filepath.Join(dir, "clamd.log"), nil, dir, nil, bin, "-c", confPath)
	if err != nil {
		t.Fatalf("testenv: clamav: %v", err)
	}
	t.Cleanup(p.stop)
	c2 := &ClamAV{Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	if err := p.waitReady(c2.ping); err != nil {
		t.Fatalf("testenv: clamav: %v", err)
	}
	return c2
}

// ping sends zPING and expects PONG: clamd answers only once its database
// is loaded, while the port may be open earlier.
func (c *ClamAV) ping(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if deadline.IsZero() {
		deadline = time.Now().Add(5 * time.Second)
	}
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return err
	}
	reply, err := io.ReadAll(conn)
	if err != nil {
		return err
	}
	if r := bytes.TrimRight(reply, "\x00\n"); string(r) != "PONG" {
		return fmt.Errorf("PING answered %q", r)
	}
	return nil
}
