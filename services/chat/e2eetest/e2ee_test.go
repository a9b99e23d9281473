//go:build goolm

package e2eetest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"bureau/services/chat"
	"bureau/services/platform/identity"
	"bureau/services/platform/service"
)

// server runs the chat service on httptest with a test gateway key;
// configure adjusts its configuration.
func server(t *testing.T, configure ...func(*chat.Config)) (string, *identity.Signer) {
	pub, priv, err := identity.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := chat.Default()
	c.PublicURL, c.ServerName = "http://chat.test", "bureau.test"
	c.Database.URL = "sqlite://" + filepath.Join(dir, "chat.db")
	for _, f := range configure {
		f(c)
	}
	base := service.NewWithKey("chat", slog.New(slog.NewTextHandler(io.Discard, nil)), pub, 0)
	r, err := chat.New(context.Background(), c, base)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(base.Identity.Middleware(r.Handler()))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); r.Close() })
	return srv.URL, identity.NewSigner(priv, 30*time.Second)
}

// agent is a Matrix client with its crypto machine.
type agent struct {
	t     *testing.T
	cli   *mautrix.Client
	mach  *crypto.OlmMachine
	since string
}

// rooms is the crypto state store: every room of these tests is encrypted.
type rooms struct{ ids []id.RoomID }

func (s *rooms) IsEncrypted(context.Context, id.RoomID) (bool, error) { return true, nil }
func (s *rooms) GetEncryptionEvent(context.Context, id.RoomID) (*event.EncryptionEventContent, error) {
	return &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}, nil
}
func (s *rooms) FindSharedRooms(context.Context, id.UserID) ([]id.RoomID, error) { return s.ids, nil }

// login goes through the SSO token flow as the gateway forwards it, then
// sets up the device's keys.
func login(t *testing.T, ctx context.Context, base string, signer *identity.Signer, u identity.User, rs *rooms) *agent {
	tok, _, err := signer.Sign(u, "chat")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", base+"/_matrix/client/v3/login/sso/redirect/proconnect?redirectUrl="+url.QueryEscape("https://app.test/"), nil)
	req.Header.Set(identity.Header, tok)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("loginToken") == "" {
		t.Fatalf("sso redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cli, err := mautrix.NewClient(base, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Login(ctx, &mautrix.ReqLogin{Type: mautrix.AuthTypeToken, Token: loc.Query().Get("loginToken"), StoreCredentials: true}); err != nil {
		t.Fatal(err)
	}
	log := zerolog.New(io.Discard)
	mach := crypto.NewOlmMachine(cli, &log, crypto.NewMemoryStore(nil), rs)
	if err := mach.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mach.ShareKeys(ctx, -1); err != nil {
		t.Fatalf("upload keys: %v", err)
	}
	return &agent{t: t, cli: cli, mach: mach}
}

// sync runs one /sync (long-polling when it has a token) through the
// crypto machine and returns it.
func (a *agent) sync(ctx context.Context) *mautrix.RespSync {
	a.t.Helper()
	timeout := 0
	if a.since != "" {
		timeout = 5000
	}
	resp, err := a.cli.SyncRequest(ctx, timeout, a.since, "", false, event.PresenceOffline)
	if err != nil {
		a.t.Fatal(err)
	}
	a.mach.ProcessSyncResponse(ctx, resp, a.since)
	a.since = resp.NextBatch
	return resp
}

// decrypted syncs until an encrypted message arrives in room and returns
// its decrypted body.
func (a *agent) decrypted(ctx context.Context, room id.RoomID) string {
	a.t.Helper()
	return a.decryptedMessage(ctx, room).Body
}

// decryptedMessage syncs until an encrypted message arrives in room and
// returns its decrypted content.
func (a *agent) decryptedMessage(ctx context.Context, room id.RoomID) *event.MessageEventContent {
	a.t.Helper()
	for range 20 {
		resp := a.sync(ctx)
		jr, ok := resp.Rooms.Join[room]
		if !ok {
			continue
		}
		for _, evt := range jr.Timeline.Events {
			if evt.Type != event.EventEncrypted || evt.Sender == a.cli.UserID {
				continue
			}
			evt.RoomID = room
			if evt.Content.Parsed == nil {
				if err := evt.Content.ParseRaw(evt.Type); err != nil {
					a.t.Fatal(err)
				}
			}
			dec, err := a.mach.DecryptMegolmEvent(ctx, evt)
			if err != nil {
				a.t.Fatalf("%s cannot decrypt %s: %v", a.cli.UserID, evt.ID, err)
			}
			if dec.Content.Parsed == nil {
				if err := dec.Content.ParseRaw(dec.Type); err != nil {
					a.t.Fatal(err)
				}
			}
			return dec.Content.AsMessage()
		}
	}
	a.t.Fatalf("%s: no encrypted message in %s", a.cli.UserID, room)
	return nil
}

// send encrypts a text message for the room's members and sends it.
func (a *agent) send(ctx context.Context, room id.RoomID, members []id.UserID, body string) {
	a.t.Helper()
	a.sendContent(ctx, room, members, &event.MessageEventContent{MsgType: event.MsgText, Body: body})
}

// sendContent encrypts a message for the room's members and sends it.
func (a *agent) sendContent(ctx context.Context, room id.RoomID, members []id.UserID, content *event.MessageEventContent) {
	a.t.Helper()
	if err := a.mach.ShareGroupSession(ctx, room, members); err != nil {
		a.t.Fatalf("share group session: %v", err)
	}
	enc, err := a.mach.EncryptMegolmEvent(ctx, room, event.EventMessage, content)
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.cli.SendMessageEvent(ctx, room, event.EventEncrypted, enc); err != nil {
		a.t.Fatal(err)
	}
}

// directChat signs in two agents of different ministries; Alice creates a
// direct chat with Bob, who joins it.
func directChat(t *testing.T, ctx context.Context, base string, signer *identity.Signer) (alice, bob *agent, room id.RoomID) {
	t.Helper()
	rs := &rooms{}
	alice = login(t, ctx, base, signer, identity.User{ID: "u-alice", Email: "alice@interieur.gouv.fr", GivenName: "Alice", Ministry: "interieur"}, rs)
	bob = login(t, ctx, base, signer, identity.User{ID: "u-bob", Email: "bob@finances.gouv.fr", GivenName: "Bob", Ministry: "finances"}, rs)
	alice.sync(ctx)
	bob.sync(ctx)
	created, err := alice.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "trusted_private_chat", IsDirect: true, Invite: []id.UserID{bob.cli.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	room = created.RoomID
	rs.ids = []id.RoomID{room}
	if _, err := bob.cli.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	return alice, bob, room
}

// TestEncryptedDM: two agents of different ministries sign in through the
// SSO token flow, create an encrypted DM, exchange messages both ways, and
// each decrypts the other's.
func TestEncryptedDM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base, signer := server(t)
	alice, bob, room := directChat(t, ctx, base, signer)
	var enc event.EncryptionEventContent
	if err := alice.cli.StateEvent(ctx, room, event.StateEncryption, "", &enc); err != nil || enc.Algorithm != id.AlgorithmMegolmV1 {
		t.Fatalf("DM not encrypted by default: %v %+v", err, enc)
	}
	members := []id.UserID{alice.cli.UserID, bob.cli.UserID}

	alice.send(ctx, room, members, "Bonjour Bob, réunion à 15 h")
	if got := bob.decrypted(ctx, room); got != "Bonjour Bob, réunion à 15 h" {
		t.Fatalf("bob decrypted %q", got)
	}
	bob.send(ctx, room, members, "Bien reçu, Alice")
	if got := alice.decrypted(ctx, room); got != "Bien reçu, Alice" {
		t.Fatalf("alice decrypted %q", got)
	}
	// The server only ever stored ciphertext.
	msgs, err := alice.cli.Messages(ctx, room, "", "", mautrix.DirectionBackward, nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, evt := range msgs.Chunk {
		if strings.Contains(string(evt.Content.VeryRaw), "Bonjour") || strings.Contains(string(evt.Content.VeryRaw), "reçu") {
			t.Fatalf("plaintext on the server: %s", evt.Content.VeryRaw)
		}
	}
	// The one-time keys claimed were replenished by the clients.
	resp := bob.sync(ctx)
	if resp.DeviceOTKCount.SignedCurve25519 == 0 {
		t.Fatalf("bob has no one-time keys left: %+v", resp.DeviceOTKCount)
	}
}
