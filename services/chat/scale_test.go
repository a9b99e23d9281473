package chat_test

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"bureau/services/chat"
	"bureau/services/platform/identity"
	"bureau/services/platform/testenv"
)

// replicasWith is replicas with a configuration tweak on both.
func replicasWith(t *testing.T, configure func(*chat.Config)) (*env, *env) {
	rd := testenv.StartRedis(t)
	a := newEnvOn(t, testenv.SharedPostgres(t).NewDatabase(t), "redis://"+rd.Addr)
	a.configure = configure
	a.start()
	t.Cleanup(a.stop)
	b := *a
	b.start()
	t.Cleanup(b.stop)
	return a, &b
}

// A user-interactive auth session started on one replica is completed
// through the SSO fallback page on the other, and the retried request
// succeeds on either — once.
func TestReplicasShareUIASessions(t *testing.T) {
	ra, rb := replicas(t)
	a := ra.login(alice)
	a2 := ra.login(alice)
	code, out := call(t, a, "DELETE", "/devices/"+string(a2.DeviceID), nil)
	session, _ := out["session"].(string)
	if code != 401 || session == "" {
		t.Fatalf("want UIA: %d %v", code, out)
	}
	tok, _, _ := rb.signer.Sign(alice, "chat")
	req, _ := http.NewRequest("GET", rb.srv.URL+"/_matrix/client/v3/auth/m.login.sso/fallback/web?session="+url.QueryEscape(session), nil)
	req.Header.Set(identity.Header, tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("fallback on the other replica: %d", resp.StatusCode)
	}
	auth := map[string]any{"auth": map[string]any{"type": "m.login.sso", "session": session}}
	if code, out := call(t, on(t, rb, a), "DELETE", "/devices/"+string(a2.DeviceID), auth); code != 200 {
		t.Fatalf("completed session refused on the other replica: %d %v", code, out)
	}
	if _, err := a2.Whoami(t.Context()); errcode(err) != "M_UNKNOWN_TOKEN" {
		t.Fatalf("deleted device still works: %v", err)
	}
	a3 := rb.login(alice)
	if code, out := call(t, a, "DELETE", "/devices/"+string(a3.DeviceID), auth); code != 401 || out["session"] == session {
		t.Fatalf("a session used twice: %d %v", code, out)
	}
}

// Two replicas on one Redis share each user's send budget.
func TestReplicasShareRateLimit(t *testing.T) {
	ra, rb := replicasWith(t, func(c *chat.Config) { c.RateLimit.PerSecond, c.RateLimit.Burst = 0.01, 4 })
	a := ra.login(alice)
	room, err := a.CreateRoom(t.Context(), &mautrix.ReqCreateRoom{})
	if err != nil {
		t.Fatal(err)
	}
	path := "/_matrix/client/v3/rooms/" + url.PathEscape(room.RoomID.String()) + "/send/m.room.message/"
	b := on(t, rb, a)
	for i, cli := range []*mautrix.Client{a, b, a, b} {
		if st, out := callURL(t, cli, "PUT", path+fmt.Sprint("t", i), map[string]string{"body": "x"}); st != 200 {
			t.Fatalf("send %d within the burst: %d %v", i, st, out)
		}
	}
	for i, cli := range []*mautrix.Client{a, b} {
		st, out := callURL(t, cli, "PUT", path+fmt.Sprint("over", i), map[string]string{"body": "x"})
		if ms, _ := out["retry_after_ms"].(float64); st != 429 || out["errcode"] != "M_LIMIT_EXCEEDED" || ms < 1000 {
			t.Fatalf("over the shared burst: %d %v", st, out)
		}
	}
}

// Unread counts cached on one replica follow a redaction made through
// the other: the redacted message no longer counts.
func TestReplicasUnreadAfterRedaction(t *testing.T) {
	ra, rb := replicas(t)
	ctx := t.Context()
	a, b := ra.login(alice), rb.login(bob)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	sent, err := a.SendText(ctx, room.RoomID, "oups")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendText(ctx, room.RoomID, "bonjour"); err != nil {
		t.Fatal(err)
	}
	count := func(r *mautrix.RespSync) int {
		t.Helper()
		jr := r.Rooms.Join[room.RoomID]
		if jr == nil || jr.UnreadNotifications == nil {
			t.Fatalf("no unread counts for the room: %+v", r.Rooms.Join)
		}
		return jr.UnreadNotifications.NotificationCount
	}
	first, err := b.SyncRequest(ctx, 0, "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := count(first); n != 2 {
		t.Fatalf("unread before = %d", n)
	}
	if _, err := a.RedactEvent(ctx, room.RoomID, sent.EventID); err != nil {
		t.Fatal(err)
	}
	next, err := b.SyncRequest(ctx, 0, first.NextBatch, "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := count(next); n != 1 {
		t.Fatalf("unread on the other replica after the redaction = %d, want 1", n)
	}
}

// A download waiting on one replica for an upload made through the
// other wakes when that replica stores the bytes and its antivirus passes
// them, through the bus (well before the waiting replica's safety poll).
func TestReplicasMediaWakeUp(t *testing.T) {
	clam := testenv.StartClamAV(t)
	blobs := filepath.Join(t.TempDir(), "blobs") // shared, as S3 would be
	ra, rb := replicasWith(t, func(c *chat.Config) {
		c.Media.ClamAV.Address = clam.Addr
		c.Media.Storage.Kind, c.Media.Storage.Dir = "disk", blobs
	})
	a := ra.login(alice)
	b := rb.login(bob)
	created, err := a.CreateMXC(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan media, 1)
	go func() { got <- fetch(t, rb.srv.URL, b.AccessToken, dl(created.ContentURI)+"?timeout_ms=30000") }()
	waitFor(t, func() bool { return rb.runner.(*chat.Server).MediaWaiting() > 0 })
	start := time.Now()
	if st, code := raw(t, a, "PUT", "/_matrix/media/v3/upload/bureau.test/"+created.ContentURI.FileID+"?filename=note.txt", "bonjour"); st != 200 {
		t.Fatalf("upload: %d %s", st, code)
	}
	r := <-got
	if r.status != 200 || string(r.body) != "bonjour" || time.Since(start) > 8*time.Second { // the safety poll is 10 s
		t.Fatalf("download on the other replica: %d %q after %v", r.status, r.body, time.Since(start))
	}
	t.Logf("served on the other replica %v after the upload", time.Since(start))
}

// Over the media quota an upload is refused with MSC4335's errcode, the
// page to learn more, and the quota in the message.
func TestMediaUserQuota(t *testing.T) {
	e := newEnv(t, func(c *chat.Config) { c.Media.UserQuotaBytes = 10 })
	a := e.login(alice)
	upload(t, a, []byte("12345678"), "text/plain", "a.txt")
	st, out := callURL(t, a, "POST", "/_matrix/media/v3/upload?filename=b.txt", "12345")
	if st != 403 || out["errcode"] != "M_USER_LIMIT_EXCEEDED" || out["info_uri"] != "http://chat.test" || out["soft_limit"] != false {
		t.Fatalf("over the quota: %d %v", st, out)
	}
	upload(t, e.login(bob), []byte("12345"), "text/plain", "b.txt")
}

func TestConfigLimits(t *testing.T) {
	c := chat.Default()
	if c.Media.UserQuotaBytes != 10<<30 || c.Media.Retention != 0 {
		t.Fatalf("defaults: quota %d, retention %v", c.Media.UserQuotaBytes, c.Media.Retention)
	}
	c.Media.UserQuotaBytes, c.Media.Retention, c.Media.QuotaInfoURI = -1, time.Hour, "ftp://x"
	err := c.Validate()
	for _, field := range []string{"media.user_quota_bytes", "media.retention", "media.quota_info_uri"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s not refused: %v", field, err)
		}
	}
}
