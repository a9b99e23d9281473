package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// proc is a server running in the foreground as a child of the test binary.
type proc struct {
	cmd  *exec.Cmd
	log  string        // combined stdout and stderr
	done chan struct{} // closed once the process has been reaped
	err  error         // Wait's result, valid after done
	sig  os.Signal     // asks for a clean, prompt shutdown
}

// startProc starts bin with its output in logPath. Pdeathsig kills the
// server if the test binary dies without running its cleanups (a panic, a
// -timeout), so no server outlives the test run.
func startProc(logPath string, cred *syscall.Credential, dir string, env []string, bin string, args ...string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	p := &proc{cmd: cmd, log: logPath, done: make(chan struct{}), sig: syscall.SIGTERM}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// waitReady polls ready until it succeeds, the server exits or 30 s pass.
func (p *proc) waitReady(ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		err := ready(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited during start-up (%v); log %s:\n%s", p.err, p.log, logTail(p.log))
		case <-ctx.Done():
			return fmt.Errorf("not ready after 30s: %v; log %s:\n%s", err, p.log, logTail(p.log))
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// stop ends the server with p.sig, then SIGKILL after a grace period.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(p.sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// logTail returns the end of a server log for an error message.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// randomName returns prefix followed by 16 random hex digits.
func randomName(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
