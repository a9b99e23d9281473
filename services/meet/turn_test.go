package meet_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"bureau/services/meet"
	"bureau/services/meet/internal/signal"
	"bureau/services/platform/testenv"
)

// relayOnly makes c gather only TURN relay candidates, with the ICE
// servers of its joined message.
func (c *client) relayOnly(j signal.Message) {
	c.t.Helper()
	if len(j.ICEServers) == 0 {
		c.t.Fatal("joined without ice_servers")
	}
	var servers []webrtc.ICEServer
	for _, s := range j.ICEServers {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	if err := c.pc.SetConfiguration(webrtc.Configuration{ICEServers: servers, ICETransportPolicy: webrtc.ICETransportPolicyRelay}); err != nil {
		c.t.Fatal(err)
	}
}

// relayed checks that c receives the publisher's media through a relay.
func relayed(t *testing.T, h *harness, room string) {
	pub, _ := h.join(alice, room, signal.TypeJoined)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub.publish(ctx)
	sub := h.dial(bob, room)
	// Relay-only must be set before the first answer, or a host pair may
	// win: the ICE servers come with joined, the offer right after it.
	sub.holdOffers()
	sub.send(signal.Message{Type: signal.TypeJoin})
	j := sub.expect(signal.TypeJoined)
	u := j.ICEServers[0].Username
	if exp, user, ok := strings.Cut(u, ":"); !ok || user != bob.ID || exp <= "1" {
		t.Fatalf("TURN username %q", u)
	}
	sub.relayOnly(j)
	sub.releaseOffers()
	sub.waitTracks(2)
	pair, err := sub.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("selected pair: %v %v", pair, err)
	}
	if pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Local.Address != "127.0.0.1" {
		t.Fatalf("local candidate %s, want a 127.0.0.1 relay", pair.Local)
	}
	t.Logf("media through %s → %s", pair.Local, pair.Remote)
}

// A client that may only use relays receives media through the built-in
// TURN server, with the credentials of its joined message.
// Over UDP, and over TCP for networks that block UDP.
func TestBuiltinTURNRelay(t *testing.T) {
	for i, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			h := newHarnessWith(t, func(c *meet.Config) {
				c.TURN.Secret, c.TURN.Realm = "0123456789abcdef-test", "bureau.test"
				c.TURN.UDPListen, c.TURN.TCPListen = "127.0.0.1:0", "127.0.0.1:0"
				c.TURN.RelayIP, c.TURN.RelayBind = "127.0.0.1", "127.0.0.1"
				c.TURN.AllowLoopbackPeers = true
				c.TURN.URLs = []string{"turn:127.0.0.1:1"} // replaced once the port is known
			}, func(c *meet.Config, s *meet.Service) {
				c.TURN.URLs = []string{"turn:" + s.TURNAddrs()[i].String() + "?transport=" + transport}
			})
			relayed(t, h, h.createRoom(alice, `{}`).ID)
		})
	}
}

// A client whose UDP is blocked (it gathers TCP only) reaches the SFU's
// ICE-TCP port and receives media over TCP.
func TestICETCP(t *testing.T) {
	h := newHarnessWith(t, func(c *meet.Config) { c.ICE.TCPListen = "127.0.0.1:0" })
	room := h.createRoom(alice, `{}`).ID
	pub, _ := h.join(alice, room, signal.TypeJoined)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub.publish(ctx)
	sub := h.dialWith(bob, room, loopbackAPINet(t, []webrtc.NetworkType{webrtc.NetworkTypeTCP4}))
	sub.send(signal.Message{Type: signal.TypeJoin})
	sub.expect(signal.TypeJoined)
	sub.waitTracks(2)
	pair, err := sub.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("selected pair: %v %v", pair, err)
	}
	if pair.Remote.Protocol != webrtc.ICEProtocolTCP || pair.Remote.Address != "127.0.0.1" || pair.Remote.Port != uint16(h.svc.SFU().TCPAddr().(*net.TCPAddr).Port) {
		t.Fatalf("remote candidate %s, want the SFU's ICE-TCP port %s", pair.Remote, h.svc.SFU().TCPAddr())
	}
	t.Logf("media over %s → %s", pair.Local, pair.Remote)
}

// The same credentials work with coturn (--use-auth-secret): an external
// coturn can replace the built-in server.
func TestCoturnRelay(t *testing.T) {
	tr := testenv.StartCoturn(t)
	h := newHarnessWith(t, func(c *meet.Config) {
		c.TURN.Secret, c.TURN.Realm = tr.Secret, tr.Realm
		c.TURN.URLs = []string{"turn:" + tr.Addr + "?transport=udp"}
	})
	relayed(t, h, h.createRoom(alice, `{}`).ID)
}

func TestTURNCredentials(t *testing.T) {
	exp := time.Unix(1700000000, 0)
	u, p := meet.TURNCredentials("secret", "uagent", exp)
	// echo -n "1700000000:uagent" | openssl dgst -sha1 -hmac secret -binary | base64
	if u != "1700000000:uagent" || p != "JSl4tKYctYzU0nkcL/QoFUkwnAI=" {
		t.Fatalf("%s %s", u, p)
	}
}
