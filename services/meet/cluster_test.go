package meet_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"bureau/services/meet"
	"bureau/services/meet/internal/signal"
	"bureau/services/platform/identity"
	"bureau/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// gina: another ministry, never invited.
var gina = identity.User{ID: "ugina", Email: "gina@armees.gouv.fr", GivenName: "Gina", Ministry: "armees"}

// newCluster starts a real Redis and a PostgreSQL database for a cluster
// of meet nodes; node starts one of them.
func newCluster(t *testing.T) (node func(id string) *harness) {
	rd := testenv.StartRedis(t)
	dsn := testenv.SharedPostgres(t).NewDatabase(t)
	key := newGatewayKey(t)
	return func(id string) *harness {
		return newNode(t, key, func(c *meet.Config) {
			c.Database.URL, c.Redis.URL = dsn, rd.URL
			c.Placement.NodeID = id
			c.Placement.Heartbeat = 100 * time.Millisecond // a dead node is noticed within 300 ms
		})
	}
}

// Two meet nodes share one real Redis and one PostgreSQL: participants who
// reach different nodes meet in one room (the second node proxies the
// signalling to the room's node) and exchange media; when the room's node
// closes, its participants are told to reconnect (1012), the room comes
// back on the other node, and they meet and exchange media again there.
func TestClusterPlacement(t *testing.T) {
	node := newCluster(t)
	a, b := node("node-a"), node("node-b")

	room := a.createRoom(alice, `{"title":"Inter-nœuds"}`)
	if code, body := b.do(&bob, "GET", "/api/meet/rooms/"+room.ID, ""); code != 200 {
		t.Fatalf("node b does not know the room created on a: %d %s", code, body)
	}
	// Alice reaches a (both nodes idle: a places the room on itself), Bob
	// reaches b, which proxies him to a.
	ca, _ := a.join(alice, room.ID, signal.TypeJoined)
	cb, jb := b.join(bob, room.ID, signal.TypeJoined)
	if len(jb.Participants) != 1 || jb.Participants[0].UserID != alice.ID {
		t.Fatalf("bob (via node b) does not see alice: %+v", jb.Participants)
	}
	ca.expectWhere(signal.TypeParticipantJoined, func(m signal.Message) bool { return m.Participant.UserID == bob.ID })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ca.publish(ctx)
	fromA := cb.waitTracks(2) // 50 packets of each of alice's tracks, through node a's SFU
	if n := a.waitMetrics("two participants on a", func(m map[string]float64) bool { return m["bureau_meet_participants"] == 2 }); n["bureau_meet_participants"] != 2 {
		t.Fatal("participants")
	}
	var view roomView
	if code, body := b.do(&bob, "GET", "/api/meet/rooms/"+room.ID, ""); code != 200 || json.Unmarshal(body, &view) != nil || view.Connected != 2 {
		t.Fatalf("room view through b (answered by a): %d %s", code, body)
	}
	if m := b.metrics(); m["bureau_meet_participants"] != 0 || m["bureau_meet_rooms"] != 0 {
		t.Fatalf("node b serves the room too: %v", meetMetrics(m))
	}
	cb.send(signal.Message{Type: signal.TypeChat, Text: "via b"})
	ca.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "via b" })

	// Bob's socket to b drops; he resumes through b, which proxies the
	// resume to a: alice never sees him leave, his media keeps flowing.
	cb.drop()
	cb.reopen(b, "/api/meet/rooms/"+room.ID+"/ws", b.header(bob))
	cb.send(signal.Message{Type: signal.TypeResume, Token: jb.Token, Seq: cb.lastSeq.Load()})
	cb.expect(signal.TypeResumed)
	cb.send(signal.Message{Type: signal.TypeChat, Text: "repris via b"})
	ca.expectBefore(signal.TypeChat, func(m signal.Message) bool { return m.Text == "repris via b" }, signal.TypeParticipantLeft)
	flowing(t, fromA)

	// A guest reaching b waits in the lobby on a; revoking the link
	// through b reaches a, which turns the guest away.
	link := b.guestLink(alice, room.ID, `{}`)
	guest := b.dialPath("guest", guestPath(link.Token, "Jeanne"), nil, loopbackAPI(t))
	guest.send(signal.Message{Type: signal.TypeJoin})
	guest.expect(signal.TypeLobby)
	ca.expectWhere(signal.TypeLobbyRequest, func(m signal.Message) bool { return m.Participant.Guest })
	if code, body := b.do(&alice, "DELETE", "/api/meet/rooms/"+room.ID+"/guest-links/"+link.ID, ""); code != 204 {
		t.Fatalf("revoke through b: %d %s", code, body)
	}
	guest.expect(signal.TypeDenied)
	guest.expectClosed(websocket.CloseNormalClosure)

	// Node a goes away: both are told to reconnect, the room is freed.
	cancel()
	if err := a.svc.Close(); err != nil {
		t.Fatal(err)
	}
	ca.expectClosed(websocket.CloseServiceRestart)
	cb.expectClosed(websocket.CloseServiceRestart) // relayed through b's proxy

	// They rejoin through b (the gateway's only live upstream): the room
	// is placed on b, lock state and all from the shared database.
	ca2, _ := b.join(alice, room.ID, signal.TypeJoined)
	cb2, jb2 := b.join(bob, room.ID, signal.TypeJoined)
	if len(jb2.Participants) != 1 || jb2.Participants[0].UserID != alice.ID {
		t.Fatalf("after the failover bob does not see alice: %+v", jb2.Participants)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	ca2.publish(ctx2)
	cb2.waitTracks(2)
	if m := b.metrics(); m["bureau_meet_participants"] != 2 {
		t.Fatalf("room not on b after the failover: %v", meetMetrics(m))
	}

	// Node b crashes (no goodbye in Redis): joins through a new node c
	// fail while b's record lives (≤ 3 heartbeats), then the room moves to c.
	c := node("node-c")
	cancel2()
	meet.Crash(b.svc)
	url := "ws" + strings.TrimPrefix(c.srv.URL, "http") + "/api/meet/rooms/" + room.ID + "/ws"
	deadline := time.Now().Add(wait)
	for {
		ws, resp, err := websocket.DefaultDialer.Dial(url, c.header(alice))
		if err == nil {
			ws.Close()
			break
		}
		if resp == nil || (resp.StatusCode != 502 && resp.StatusCode != 503) || time.Now().After(deadline) {
			t.Fatalf("join through c while b is dead: %v %v", err, resp)
		}
		time.Sleep(50 * time.Millisecond) // retrying like a client, not synchronising
	}
	ca3, _ := c.join(alice, room.ID, signal.TypeJoined)
	cb3, jb3 := c.join(bob, room.ID, signal.TypeJoined)
	if len(jb3.Participants) != 1 {
		t.Fatalf("after b crashed, the room on c: %+v", jb3.Participants)
	}

	// Cancelling through a node that does not serve the room ends the
	// meeting on the node that does.
	d := node("node-d")
	if code, body := d.do(&alice, "DELETE", "/api/meet/rooms/"+room.ID, ""); code != 204 {
		t.Fatalf("cancel through d: %d %s", code, body)
	}
	for _, cl := range []*client{ca3, cb3} {
		cl.expect(signal.TypeEnded)
		cl.expectClosed(websocket.CloseNormalClosure)
	}
}

// A meeting survives a restart of meet: the same link works, its settings,
// schedule and lock state are kept, participants rejoin. SQLite file and
// PostgreSQL.
func TestPersistenceAcrossRestart(t *testing.T) {
	for name, dsn := range map[string]func(*testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "meet.db") },
		"postgres": func(t *testing.T) string { return testenv.SharedPostgres(t).NewDatabase(t) },
	} {
		t.Run(name, func(t *testing.T) {
			url := dsn(t)
			key := newGatewayKey(t)
			set := func(c *meet.Config) { c.Database.URL = url }
			h1 := newNode(t, key, set)
			room := h1.createRoom(alice, `{"title":"Comité","access":"invited","invitees":["dave@armees.gouv.fr"],"starts_at":"2030-01-02T09:00:00Z","ends_at":"2030-01-02T10:00:00Z"}`)
			host, _ := h1.join(alice, room.ID, signal.TypeJoined)
			yes := true
			host.send(signal.Message{Type: signal.TypeLock, Locked: &yes})
			host.expect(signal.TypeLock)
			if err := h1.svc.Close(); err != nil {
				t.Fatal(err)
			}
			host.expectClosed(websocket.CloseServiceRestart)

			h2 := newNode(t, key, set)
			code, body := h2.do(&alice, "GET", "/api/meet/rooms/"+room.ID, "")
			var v struct {
				roomView
				StartsAt string   `json:"starts_at"`
				Locked   bool     `json:"locked"`
				Invitees []string `json:"invitees"`
			}
			_ = json.Unmarshal(body, &v)
			if code != 200 || v.Title != "Comité" || v.StartsAt != "2030-01-02T09:00:00Z" || !v.Locked || len(v.Invitees) != 1 || v.Access != "invited" {
				t.Fatalf("after restart: %d %s", code, body)
			}
			_, lists := h2.do(&dave, "GET", "/api/meet/rooms", "")
			if !json.Valid(lists) || !strings.Contains(string(lists), room.ID) {
				t.Fatalf("invitee's list after restart: %s", lists)
			}
			// The host rejoins directly; the room is still locked, so even
			// the invitee waits; another ministry's agent (not invited,
			// private meeting) waits too and cannot publish.
			host2, _ := h2.join(alice, room.ID, signal.TypeJoined)
			h2.join(dave, room.ID, signal.TypeLobby)
			other, _ := h2.join(gina, room.ID, signal.TypeLobby)
			other.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "audio", Source: "microphone"}}})
			if e := other.expect(signal.TypeError); e.Code != signal.CodeNotAdmitted {
				t.Fatalf("lobby publish: %+v", e)
			}
			host2.expectWhere(signal.TypeLobbyRequest, func(m signal.Message) bool { return m.Participant.UserID == gina.ID })
		})
	}
}
