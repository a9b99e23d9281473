package chat_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"bureau/services/chat"
	"bureau/services/platform/identity"
	"bureau/services/platform/service"
	"bureau/services/platform/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		// A chat process of crash_test.go: this binary runs the service.
		chat.Main()
		os.Exit(0)
	}
	testenv.Main(m)
}

// env is a chat service behind an httptest server, with the gateway's
// identity key to simulate signed-in agents.
type env struct {
	t      *testing.T
	dir    string
	signer *identity.Signer
	pub    ed25519.PublicKey
	srv    *httptest.Server
	runner service.Runner
	// dsn is the database (default: a SQLite file in dir); redis, when
	// set, relays wake-ups between replicas.
	dsn, redis string
	// base is the URL clients use: srv's, or a chat process's.
	base string
	// configure adjusts the configuration before each start.
	configure func(*chat.Config)
}

// newEnv starts an env whose configuration the tweaks adjust.
func newEnv(t *testing.T, tweaks ...func(*chat.Config)) *env {
	return newEnvWith(t, func(c *chat.Config) {
		for _, f := range tweaks {
			f(c)
		}
	})
}

// newEnvWith starts an env whose configuration configure adjusts.
func newEnvWith(t *testing.T, configure func(*chat.Config)) *env {
	e := newEnvOn(t, "", "")
	e.configure = configure
	e.start()
	t.Cleanup(e.stop)
	return e
}

// newEnvOn prepares an env on a database and Redis, not started.
func newEnvOn(t *testing.T, dsn, redis string) *env {
	pub, priv, err := identity.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: t.TempDir(), signer: identity.NewSigner(priv, 30*time.Second), pub: pub, dsn: dsn, redis: redis}
	if e.dsn == "" {
		e.dsn = "sqlite://" + filepath.Join(e.dir, "chat.db")
	}
	return e
}

// start runs the service on the env's database and signing key.
func (e *env) start() {
	c := chat.Default()
	c.PublicURL = "http://chat.test"
	c.ServerName = "bureau.test"
	c.Database.URL = e.dsn
	c.Redis.URL = e.redis
	c.SigningKeyFile = filepath.Join(e.dir, "signing.key")
	if e.configure != nil {
		e.configure(c)
	}
	if err := c.Validate(); err != nil {
		// The frame's own check wants a gateway key; everything else must pass.
		if !strings.Contains(err.Error(), "gateway_public_key") {
			e.t.Fatal(err)
		}
	}
	base := service.NewWithKey("chat", slog.New(slog.NewTextHandler(io.Discard, nil)), e.pub, 0)
	r, err := chat.New(context.Background(), c, base)
	if err != nil {
		e.t.Fatal(err)
	}
	e.runner = r
	e.srv = httptest.NewServer(base.Identity.Middleware(r.Handler()))
	e.base = e.srv.URL
}

func (e *env) stop() {
	if e.srv != nil {
		e.srv.CloseClientConnections()
		e.srv.Close()
		e.runner.Close()
		e.srv = nil
	}
}

func (e *env) restart() {
	e.stop()
	e.start()
}

var (
	alice = identity.User{ID: "u-alice", Email: "Alice.Martin@interieur.gouv.fr", GivenName: "Alice", UsualName: "Martin", Ministry: "interieur"}
	bob   = identity.User{ID: "u-bob", Email: "bob.durand@finances.gouv.fr", GivenName: "Bob", UsualName: "Durand", Ministry: "finances"}
	carol = identity.User{ID: "u-carol", Email: "carol@culture.gouv.fr", GivenName: "Carol", Ministry: "culture"}
)

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// ssoLoginToken goes through /login/sso/redirect as the gateway would
// forward it for a signed-in agent, and returns the login token.
func (e *env) ssoLoginToken(u identity.User) string {
	e.t.Helper()
	tok, _, err := e.signer.Sign(u, "chat")
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", e.base+"/_matrix/client/v3/login/sso/redirect/proconnect?redirectUrl="+url.QueryEscape("https://app.element.io/?x=1"), nil)
	req.Header.Set(identity.Header, tok)
	resp, err := (&http.Client{CheckRedirect: noRedirect}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Host != "app.element.io" || loc.Query().Get("x") != "1" || loc.Query().Get("loginToken") == "" {
		e.t.Fatalf("sso redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("loginToken")
}

func (e *env) login(u identity.User) *mautrix.Client {
	e.t.Helper()
	cli, err := mautrix.NewClient(e.base, "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := cli.Login(e.t.Context(), &mautrix.ReqLogin{Type: mautrix.AuthTypeToken, Token: e.ssoLoginToken(u), StoreCredentials: true}); err != nil {
		e.t.Fatal(err)
	}
	return cli
}

// retarget points a client at the (restarted) server.
func (e *env) retarget(cli *mautrix.Client) {
	cli.HomeserverURL, _ = url.Parse(e.srv.URL)
}

func errcode(err error) string {
	var he mautrix.HTTPError
	if errors.As(err, &he) && he.RespError != nil {
		return he.RespError.ErrCode
	}
	return ""
}

func TestSSORedirectWithoutSession(t *testing.T) {
	e := newEnv(t)
	path := "/_matrix/client/v3/login/sso/redirect?redirectUrl=" + url.QueryEscape("https://app.element.io/")
	resp, err := (&http.Client{CheckRedirect: noRedirect}).Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "/auth/login?redirect=" + url.QueryEscape(path); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Fatalf("got %d %q, want 302 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	for _, bad := range []string{"javascript:alert(1)", "/relative", "", "ftp://x/"} {
		resp, err := http.Get(e.srv.URL + "/_matrix/client/v3/login/sso/redirect?redirectUrl=" + url.QueryEscape(bad))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("redirectUrl %q: %d", bad, resp.StatusCode)
		}
	}
}

func TestLoginFlowsAndTokens(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	cli, _ := mautrix.NewClient(e.srv.URL, "", "")
	flows, err := cli.GetLoginFlows(ctx)
	if err != nil || !flows.HasFlow(mautrix.AuthTypeSSO) || !flows.HasFlow(mautrix.AuthTypeToken) || flows.HasFlow(mautrix.AuthTypePassword) {
		t.Fatalf("flows = %+v, %v", flows, err)
	}
	tok := e.ssoLoginToken(alice)
	if _, err := cli.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypeToken, Token: tok, StoreCredentials: true}); err != nil {
		t.Fatal(err)
	}
	who, err := cli.Whoami(ctx)
	if err != nil || who.UserID != "@alice.martin-interieur.gouv.fr:bureau.test" || who.DeviceID != cli.DeviceID {
		t.Fatalf("whoami = %+v, %v", who, err)
	}
	// Single use.
	other, _ := mautrix.NewClient(e.srv.URL, "", "")
	if _, err := other.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypeToken, Token: tok}); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("reused login token: %v", err)
	}
	if _, err := other.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypePassword, Password: "x"}); errcode(err) != "M_UNKNOWN" {
		t.Fatalf("password login: %v", err)
	}
	if _, err := cli.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Whoami(ctx); errcode(err) != "M_UNKNOWN_TOKEN" {
		t.Fatalf("whoami after logout: %v", err)
	}
	cli.AccessToken = ""
	if _, err := cli.Whoami(ctx); errcode(err) != "M_MISSING_TOKEN" {
		t.Fatalf("whoami without token: %v", err)
	}
}

func timelineBodies(resp *mautrix.RespSync, room id.RoomID) []string {
	var out []string
	if jr := resp.Rooms.Join[room]; jr != nil {
		for _, ev := range jr.Timeline.Events {
			if ev.Type == event.EventMessage {
				out = append(out, ev.Content.Raw["body"].(string))
			}
		}
	}
	return out
}

// TestConversation: two agents of different ministries meet in a room,
// talk, page back, and keep their sync position across a restart.
func TestConversation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.login(alice), e.login(bob)

	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Name: "Projet", Topic: "Interministériel", Preset: "private_chat", Invite: []id.UserID{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	// Bob sees the invitation in his initial sync, with the room's name.
	bs, err := b.SyncRequest(ctx, 0, "", "", false, "")
	if err != nil {
		t.Fatal(err)
	}
	inv := bs.Rooms.Invite[room.RoomID]
	if inv == nil {
		t.Fatalf("no invite in %+v", bs.Rooms)
	}
	named := false
	for _, ev := range inv.State.Events {
		named = named || (ev.Type == event.StateRoomName && ev.Content.Raw["name"] == "Projet")
	}
	if !named {
		t.Fatalf("invite state without the name: %+v", inv.State.Events)
	}
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	bs, err = b.SyncRequest(ctx, 0, bs.NextBatch, "", false, "")
	if err != nil || bs.Rooms.Join[room.RoomID] == nil {
		t.Fatalf("joined room not in incremental sync: %v", err)
	}

	// Bob long-polls; Alice's message wakes him.
	type result struct {
		resp *mautrix.RespSync
		err  error
	}
	done := make(chan result, 1)
	go func() {
		r, err := b.SyncRequest(ctx, 30000, bs.NextBatch, "", false, "")
		done <- result{r, err}
	}()
	waitFor(t, func() bool { return e.handlerWaiting(b) })
	start := time.Now()
	if _, err := a.SendText(ctx, room.RoomID, "Bonjour Bob"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := timelineBodies(r.resp, room.RoomID); len(got) != 1 || got[0] != "Bonjour Bob" || time.Since(start) > 5*time.Second {
		t.Fatalf("long poll gave %v after %v", got, time.Since(start))
	}
	since := r.resp.NextBatch

	// Idempotent send per device.
	first, err := b.SendMessageEvent(ctx, room.RoomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "Salut"}, mautrix.ReqSendEvent{TransactionID: "txn1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.SendMessageEvent(ctx, room.RoomID, event.EventMessage, map[string]any{"msgtype": "m.text", "body": "Salut"}, mautrix.ReqSendEvent{TransactionID: "txn1"})
	if err != nil || again.EventID != first.EventID {
		t.Fatalf("retried send gave %v, %v (first %s)", again, err, first.EventID)
	}
	for i := range 25 {
		if _, err := a.SendText(ctx, room.RoomID, "msg "+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}

	// Back-pagination from the end reaches the room's creation.
	var bodies []string
	from, pages := "", 0
	for {
		page, err := b.Messages(ctx, room.RoomID, from, "", mautrix.DirectionBackward, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Chunk {
			if ev.Type == event.EventMessage {
				bodies = append(bodies, ev.Content.Raw["body"].(string))
			}
		}
		pages++
		if page.End == "" {
			break
		}
		from = page.End
	}
	if len(bodies) != 27 || bodies[0] != "msg y" || bodies[26] != "Bonjour Bob" || pages < 3 {
		t.Fatalf("back-paginated %d messages in %d pages: %v", len(bodies), pages, bodies)
	}
	// Forwards from Bob's token: exactly what came after it.
	fwd, err := b.Messages(ctx, room.RoomID, since, "", mautrix.DirectionForward, nil, 100)
	if err != nil || len(fwd.Chunk) != 26 || fwd.Chunk[0].ID != first.EventID {
		t.Fatalf("forwards: %d events, %v", len(fwd.Chunk), err)
	}
	if fwd.Chunk[0].Unsigned.TransactionID != "txn1" {
		t.Fatalf("sender's device lacks its transaction id: %+v", fwd.Chunk[0].Unsigned)
	}

	// A restart: Bob's token still works; the timeline is limited with a
	// prev_batch that pages back into the gap.
	e.restart()
	e.retarget(a)
	e.retarget(b)
	filter := &mautrix.Filter{Room: &mautrix.RoomFilter{Timeline: &mautrix.FilterPart{Limit: 5}}}
	fr, err := b.CreateFilter(ctx, filter)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := b.SyncRequest(ctx, 0, since, fr.FilterID, false, "")
	if err != nil {
		t.Fatal(err)
	}
	jr := rs.Rooms.Join[room.RoomID]
	if jr == nil || !jr.Timeline.Limited || len(jr.Timeline.Events) != 5 || jr.Timeline.PrevBatch == "" {
		t.Fatalf("after restart: %+v", jr)
	}
	gap, err := b.Messages(ctx, room.RoomID, jr.Timeline.PrevBatch, since, mautrix.DirectionBackward, nil, 100)
	if err != nil || len(gap.Chunk) != 21 {
		t.Fatalf("gap has %d events, %v", len(gap.Chunk), err)
	}
	// And an event sent after the restart reaches the old sync chain.
	if _, err := a.SendText(ctx, room.RoomID, "après"); err != nil {
		t.Fatal(err)
	}
	rs, err = b.SyncRequest(ctx, 1000, rs.NextBatch, "", false, "")
	if got := timelineBodies(rs, room.RoomID); err != nil || len(got) != 1 || got[0] != "après" {
		t.Fatalf("after restart got %v, %v", got, err)
	}

	// Bob leaves: the room moves to his leave section.
	if _, err := b.LeaveRoom(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	rs, err = b.SyncRequest(ctx, 0, rs.NextBatch, "", false, "")
	if err != nil || rs.Rooms.Leave[room.RoomID] == nil || rs.Rooms.Join[room.RoomID] != nil {
		t.Fatalf("leave not synced: %+v, %v", rs.Rooms, err)
	}
	if _, err := b.SendText(ctx, room.RoomID, "encore"); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("send after leaving: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func (e *env) handlerWaiting(*mautrix.Client) bool {
	return e.runner.(*chat.Server).SyncWaiting() > 0
}

// raw sends a request with cli's token and returns status and errcode.
func raw(t *testing.T, cli *mautrix.Client, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, cli.HomeserverURL.String()+path, strings.NewReader(body))
	if cli.AccessToken != "" {
		req.Header.Set("Authorization", "Bearer "+cli.AccessToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Errcode string `json:"errcode"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Errcode
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b, c := e.login(alice), e.login(bob), e.login(carol)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", Invite: []id.UserID{b.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SendText(ctx, room.RoomID, "secret"); err != nil {
		t.Fatal(err)
	}
	// Carol is not in the room.
	if _, err := c.Messages(ctx, room.RoomID, "", "", mautrix.DirectionBackward, nil, 10); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider read messages: %v", err)
	}
	if _, err := c.State(ctx, room.RoomID); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider read state: %v", err)
	}
	if _, err := c.SendText(ctx, room.RoomID, "intrusion"); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider sent: %v", err)
	}
	if _, err := c.JoinRoomByID(ctx, room.RoomID); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider joined an invite-only room: %v", err)
	}
	if _, err := c.InviteUser(ctx, room.RoomID, &mautrix.ReqInviteUser{UserID: c.UserID}); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("outsider invited herself: %v", err)
	}
	// Bob, invited but not joined, cannot read yet.
	if _, err := b.Messages(ctx, room.RoomID, "", "", mautrix.DirectionBackward, nil, 10); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("invitee read messages: %v", err)
	}
	// Alice cannot act as Bob: join him, or set his membership.
	if _, err := a.SendStateEvent(ctx, room.RoomID, event.StateMember, b.UserID.String(), map[string]any{"membership": "join"}); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("joined someone else: %v", err)
	}
	// Bob joins, then cannot raise himself to admin.
	if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	pl := map[string]any{"users": map[string]int{a.UserID.String(): 100, b.UserID.String(): 100}}
	if _, err := b.SendStateEvent(ctx, room.RoomID, event.StatePowerLevels, "", pl); errcode(err) != "M_FORBIDDEN" {
		t.Fatalf("raised own power level: %v", err)
	}
	// Carol's sync does not show the room.
	cs, err := c.SyncRequest(ctx, 0, "", "", false, "")
	if err != nil || len(cs.Rooms.Join)+len(cs.Rooms.Invite) != 0 {
		t.Fatalf("outsider sync: %+v, %v", cs.Rooms, err)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.login(alice)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
	if err != nil {
		t.Fatal(err)
	}
	send := "/_matrix/client/v3/rooms/" + url.PathEscape(room.RoomID.String()) + "/send/m.room.message/"
	big := `{"body":"` + strings.Repeat("x", 70000) + `"}`
	almost := `{"body":"` + strings.Repeat("x", 65000) + `"}` // fits the body limit, not the event one
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"PUT", send + "t1", `{"body":`, 400, "M_NOT_JSON"},
		{"PUT", send + "t2", `["body"]`, 400, "M_BAD_JSON"},
		{"PUT", send + "t3", `"text"`, 400, "M_BAD_JSON"},
		{"PUT", send + "t4", big, 413, "M_TOO_LARGE"},
		{"PUT", send + "t5", almost, 413, "M_TOO_LARGE"},
		{"PUT", "/_matrix/client/v3/rooms/not-a-room/send/m.room.message/t6", `{}`, 400, "M_INVALID_PARAM"},
		{"GET", "/_matrix/client/v3/rooms/" + url.PathEscape("!nope:bureau.test") + "/messages", ``, 403, "M_FORBIDDEN"},
		{"POST", "/_matrix/client/v3/createRoom", `{"invite":"x"}`, 400, "M_BAD_JSON"},
		{"POST", "/_matrix/client/v3/createRoom", `{"room_version":"1000"}`, 400, "M_BAD_JSON"},
		{"POST", "/_matrix/client/v3/join/" + url.PathEscape("#alias:bureau.test"), `{}`, 404, "M_NOT_FOUND"},
		{"POST", "/_matrix/client/v3/join/" + url.PathEscape("!unknown:bureau.test"), `{}`, 404, "M_NOT_FOUND"},
		{"GET", "/_matrix/client/v3/sync?since=garbage", ``, 400, "M_INVALID_PARAM"},
		{"GET", "/_matrix/client/v3/sync?filter=%7Bnope", ``, 400, "M_NOT_JSON"},
		{"GET", "/_matrix/client/v3/sync?timeout=-5", ``, 400, "M_INVALID_PARAM"},
		{"GET", "/_matrix/client/v3/rooms/" + url.PathEscape(room.RoomID.String()) + "/messages?dir=x", ``, 400, "M_INVALID_PARAM"},
		{"GET", "/_matrix/client/v3/rooms/" + url.PathEscape(room.RoomID.String()) + "/state/m.room.name/", ``, 404, "M_NOT_FOUND"},
		{"GET", "/_matrix/client/v3/no/such/endpoint", ``, 404, "M_UNRECOGNIZED"},
		{"POST", "/_matrix/client/v3/login", `{"type":"m.login.token","token":"forged"}`, 403, "M_FORBIDDEN"},
	} {
		status, code := raw(t, a, c.method, c.path, c.body)
		if status != c.status || code != c.code {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, status, code, c.status, c.code)
		}
	}
	// CORS preflight.
	req, _ := http.NewRequest("OPTIONS", e.srv.URL+"/_matrix/client/v3/sync", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// State round trip, including an empty state key.
	if _, err := a.SendStateEvent(ctx, room.RoomID, event.StateTopic, "", map[string]any{"topic": "Sujet"}); err != nil {
		t.Fatal(err)
	}
	var topic event.TopicEventContent
	if err := a.StateEvent(ctx, room.RoomID, event.StateTopic, "", &topic); err != nil || topic.Topic != "Sujet" {
		t.Fatalf("topic = %+v, %v", topic, err)
	}
	v, err := a.Versions(ctx)
	if err != nil || !v.ContainsGreaterOrEqual(mautrix.SpecV111) {
		t.Fatalf("versions = %+v, %v", v, err)
	}
}
