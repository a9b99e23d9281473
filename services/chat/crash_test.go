package chat_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"bureau/services/platform/identity"
	"bureau/services/platform/testenv"
)

// serveEnv makes the test binary run the chat service (see TestMain): the
// crash tests kill a real process, with the code of cmd/chat.
const serveEnv = "BUREAU_CHAT_TEST_SERVE"

// chatProc is the chat service running as a child process.
type chatProc struct {
	t    *testing.T
	e    *env
	port int
	cmd  *exec.Cmd
	exit chan error
}

// spawn starts the chat process on e's database and signing key, and
// points e's clients at it.
func spawn(t *testing.T, e *env) *chatProc {
	p := &chatProc{t: t, e: e, port: testenv.FreePort(t)}
	p.start()
	t.Cleanup(func() {
		if p.cmd != nil {
			p.cmd.Process.Kill()
			<-p.exit
		}
	})
	return p
}

func (p *chatProc) start() {
	p.t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(p.port)
	logf, err := os.OpenFile(filepath.Join(p.e.dir, "chat.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serveEnv+"=1",
		"BUREAU_CHAT_LISTEN="+addr, "BUREAU_CHAT_PUBLIC_URL=http://"+addr, "BUREAU_CHAT_SERVER_NAME=bureau.test",
		"BUREAU_CHAT_GATEWAY_PUBLIC_KEY="+identity.EncodePublicKey(p.e.pub),
		"BUREAU_CHAT_DATABASE_URL="+p.e.dsn, "BUREAU_CHAT_SIGNING_KEY_FILE="+filepath.Join(p.e.dir, "signing.key"),
		"BUREAU_CHAT_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd, p.exit = cmd, make(chan error, 1)
	go func() { p.exit <- cmd.Wait() }()
	p.e.base = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.e.base + "/_matrix/client/versions")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.exit:
			log, _ := os.ReadFile(filepath.Join(p.e.dir, "chat.log"))
			p.t.Fatalf("chat process exited: %v\n%s", err, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatal("chat process not ready")
		}
	}
}

// kill9 kills the process with SIGKILL: no shutdown code runs.
func (p *chatProc) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exit
	p.cmd = nil
}

// stop asks for a graceful shutdown, which must exit cleanly.
func (p *chatProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.exit; err != nil {
		p.t.Fatalf("graceful stop: %v", err)
	}
	p.cmd = nil
}

// ledger is what the server acknowledged: transaction id → event id.
type ledger struct {
	mu    sync.Mutex
	acked map[string]id.EventID
	order []string // txn ids in acknowledgement order
}

func (l *ledger) send(cli *mautrix.Client, room id.RoomID, txn string) error {
	resp, err := cli.SendMessageEvent(context.Background(), room, event.EventMessage,
		map[string]any{"msgtype": "m.text", "body": txn}, mautrix.ReqSendEvent{TransactionID: txn})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[txn] = resp.EventID
	l.order = append(l.order, txn)
	return nil
}

// check verifies, on the restarted server, that every acknowledged event
// is in the room's history, once; that retrying an acknowledged
// transaction id gives the same event; and that the sync token taken
// before the crash still works and returns only what came after it.
func (l *ledger) check(t *testing.T, cli *mautrix.Client, room id.RoomID, since string, before map[string]bool) {
	t.Helper()
	ctx := t.Context()
	stored := map[string]int{}
	from := ""
	for {
		page, err := cli.Messages(ctx, room, from, "", mautrix.DirectionBackward, nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Chunk {
			if ev.Type == event.EventMessage {
				stored[ev.Content.Raw["body"].(string)]++
				if txn := ev.Unsigned.TransactionID; txn != "" && l.acked[txn] != "" && l.acked[txn] != ev.ID {
					t.Fatalf("txn %s acknowledged as %s, stored as %s", txn, l.acked[txn], ev.ID)
				}
			}
		}
		if page.End == "" {
			break
		}
		from = page.End
	}
	for txn := range l.acked {
		if stored[txn] != 1 {
			t.Fatalf("acknowledged %s stored %d times", txn, stored[txn])
		}
	}
	for body, n := range stored {
		if n != 1 {
			t.Fatalf("%s stored %d times", body, n)
		}
	}
	// Retried transaction ids are idempotent across the restart.
	for _, txn := range l.order[max(0, len(l.order)-20):] {
		resp, err := cli.SendMessageEvent(ctx, room, event.EventMessage, map[string]any{"msgtype": "m.text", "body": txn}, mautrix.ReqSendEvent{TransactionID: txn})
		if err != nil || resp.EventID != l.acked[txn] {
			t.Fatalf("retried %s after restart: %v, %v (acknowledged %s)", txn, resp, err, l.acked[txn])
		}
	}
	// The old token: an incremental sync of what followed, nothing older.
	r, err := cli.SyncRequest(ctx, 0, since, `{"room":{"timeline":{"limit":100}}}`, false, "")
	if err != nil {
		t.Fatalf("sync with the pre-crash token: %v", err)
	}
	got := map[string]bool{}
	if jr := r.Rooms.Join[room]; jr != nil {
		for _, ev := range jr.Timeline.Events {
			if ev.Type == event.EventMessage {
				got[ev.Content.Raw["body"].(string)] = true
			}
		}
	}
	for txn := range l.acked {
		if before[txn] && got[txn] {
			t.Fatalf("sync since the old token returned %s, sent before it", txn)
		}
		if !before[txn] && !got[txn] {
			t.Fatalf("sync since the old token misses %s", txn)
		}
	}
}

// snapshot returns the acknowledged transaction ids so far.
func (l *ledger) snapshot() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]bool, len(l.acked))
	for txn := range l.acked {
		out[txn] = true
	}
	return out
}

// TestKillNineLosesNothingAcknowledged runs the chat service as a process
// and kills it with SIGKILL between sends and in the middle of a burst of
// concurrent sends, then stops it gracefully; after each restart on the
// same database nothing acknowledged is missing or doubled, retried
// transaction ids give the same events, and the client's sync token still
// works.
func TestKillNineLosesNothingAcknowledged(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			dsn := ""
			if engine == "postgres" {
				dsn = testenv.SharedPostgres(t).NewDatabase(t)
			}
			e := newEnvOn(t, dsn, "")
			p := spawn(t, e)
			ctx := t.Context()
			cli := e.login(alice)
			room, err := cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
			if err != nil {
				t.Fatal(err)
			}
			l := &ledger{acked: map[string]id.EventID{}}
			token := func() string {
				r, err := cli.SyncRequest(ctx, 0, "", `{"room":{"timeline":{"limit":1}}}`, false, "")
				if err != nil {
					t.Fatal(err)
				}
				return r.NextBatch
			}

			// 1. Killed right after an acknowledged send.
			for i := range 5 {
				if err := l.send(cli, room.RoomID, fmt.Sprintf("calm-%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			since, before := token(), l.snapshot()
			if err := l.send(cli, room.RoomID, "last-before-kill"); err != nil {
				t.Fatal(err)
			}
			p.kill9()
			p.start()
			l.check(t, cli, room.RoomID, since, before)

			// 2. Killed at a random point of a burst of concurrent sends:
			// sends in flight fail, the acknowledged ones must all stay.
			since, before = token(), l.snapshot()
			var wg sync.WaitGroup
			for s := range 3 {
				wg.Go(func() {
					for i := range 20 {
						if err := l.send(cli, room.RoomID, fmt.Sprintf("burst-%d-%d", s, i)); err != nil {
							return // the process is gone
						}
					}
				})
			}
			// Once the burst is under way, kill at a random point of it.
			waitFor(t, func() bool { return len(l.snapshot()) >= len(before)+3 })
			time.Sleep(time.Duration(rand.IntN(50)) * time.Millisecond)
			p.kill9()
			wg.Wait()
			p.start()
			acked := len(l.snapshot()) - len(before)
			t.Logf("%s: %d sends of the burst acknowledged before kill -9", engine, acked)
			l.check(t, cli, room.RoomID, since, before)

			// 3. A graceful restart.
			since, before = token(), l.snapshot()
			for i := range 3 {
				if err := l.send(cli, room.RoomID, fmt.Sprintf("graceful-%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			p.stop()
			p.start()
			l.check(t, cli, room.RoomID, since, before)
			if err := l.send(cli, room.RoomID, "after all"); err != nil {
				t.Fatal(errors.Join(err, errors.New("send after the restarts")))
			}
		})
	}
}
