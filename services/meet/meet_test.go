package meet_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtcp"

	"bureau/services/meet"
	"bureau/services/meet/internal/signal"
	"bureau/services/platform/identity"
)

func TestRoomsREST(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{"title":"Point hebdo","invitees":["dave@armees.gouv.fr"]}`)
	if r.Role != "host" || r.Admission != "direct" || r.Access != "ministry" || r.Link != "https://bureau.test/visio/"+r.ID {
		t.Fatalf("created %+v", r)
	}
	for _, tc := range []struct {
		u         identity.User
		admission string
	}{{bob, "direct"}, {dave, "direct"}, {carol, "direct"}, {ext, "lobby"}} {
		code, b := h.do(&tc.u, "GET", "/api/meet/rooms/"+r.ID, "")
		var v roomView
		_ = json.Unmarshal(b, &v)
		if code != 200 || v.Admission != tc.admission || v.Role != "participant" || v.Invitees != nil {
			t.Errorf("%s: %d %s", tc.u.ID, code, b)
		}
	}
	other := identity.User{ID: "ufrank", Email: "frank@armees.gouv.fr", Ministry: "armees"}
	if _, b := h.do(&other, "GET", "/api/meet/rooms/"+r.ID, ""); !strings.Contains(string(b), `"admission":"lobby"`) {
		t.Errorf("other ministry, not invited: %s", b)
	}
	for _, tc := range []struct {
		name   string
		u      *identity.User
		method string
		path   string
		body   string
		code   int
	}{
		{"anonymous create", nil, "POST", "/api/meet/rooms", `{}`, 401},
		{"anonymous get", nil, "GET", "/api/meet/rooms/" + r.ID, "", 401},
		{"external create", &ext, "POST", "/api/meet/rooms", `{}`, 403},
		{"unknown field", &alice, "POST", "/api/meet/rooms", `{"titel":"x"}`, 400},
		{"bad access", &alice, "POST", "/api/meet/rooms", `{"access":"public"}`, 400},
		{"bad invitee", &alice, "POST", "/api/meet/rooms", `{"invitees":["not an email"]}`, 400},
		{"unknown room", &alice, "GET", "/api/meet/rooms/aaaa-aaaa-aaaa-aaaa", "", 404},
		{"malformed id", &alice, "GET", "/api/meet/rooms/..%2f", "", 404},
		{"ws unknown room", &alice, "GET", "/api/meet/rooms/aaaa-aaaa-aaaa-aaaa/ws", "", 404},
		{"ws anonymous", nil, "GET", "/api/meet/rooms/" + r.ID + "/ws", "", 401},
	} {
		if code, b := h.do(tc.u, tc.method, tc.path, tc.body); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, b, tc.code)
		}
	}
	// A token signed by another key is no identity at all.
	_, priv, _ := identity.GenerateKey()
	tok, _, _ := identity.NewSigner(priv, 0).Sign(alice, "meet")
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/meet/rooms/"+r.ID, nil)
	req.Header.Set(identity.Header, tok)
	if resp, err := h.srv.Client().Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("forged token: %v %v", resp.StatusCode, err)
	}
	// Cross-origin browsers are refused even without the gateway.
	hdr := h.header(alice)
	hdr.Set("Origin", "https://evil.example")
	url := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/api/meet/rooms/" + r.ID + "/ws"
	if _, resp, err := websocket.DefaultDialer.Dial(url, hdr); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin upgrade: %v", err)
	}
	hdr.Set("Origin", "https://bureau.test")
	ws, _, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		t.Fatalf("same-origin upgrade: %v", err)
	}
	ws.Close()
}

// One publisher, two subscribers: both receive the publisher's Opus and VP8
// through the SFU; when the publisher leaves, both are told.
func TestMediaForwarding(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	pub, joined := h.join(alice, r.ID, signal.TypeJoined)
	pubID := joined.Self.ID
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pp := pub.publish(ctx)
	// The server confirms it applied the answer (a browser sends its new
	// tracks' media only then).
	pub.expect(signal.TypeAnswered)
	// bob joins after the tracks exist, carol while they are announced.
	pub.expect(signal.TypeTrackPublished)
	s1, j1 := h.join(bob, r.ID, signal.TypeJoined)
	s2, _ := h.join(carol, r.ID, signal.TypeJoined)
	if len(j1.Participants) != 1 || j1.Participants[0].ID != pubID || j1.Participants[0].Role != "host" {
		t.Fatalf("bob's joined: %+v", j1.Participants)
	}
	var s1video *counter
	for _, s := range []*client{s1, s2} {
		ks := s.waitTracks(2)
		var video *counter
		for _, k := range ks {
			if k.track.StreamID() != pubID {
				t.Fatalf("%s: track stream %q, want the publisher %q", s.name, k.track.StreamID(), pubID)
			}
			if k.track.Kind().String() == "video" {
				video = k
			}
		}
		if video == nil || video.frames.Load() < 10 {
			t.Fatalf("%s: no VP8 frames: %+v", s.name, video)
		}
		if mt := video.track.Codec().MimeType; !strings.EqualFold(mt, "video/VP8") {
			t.Fatalf("%s: video codec %s", s.name, mt)
		}
		if s == s1 {
			s1video = video
		}
	}

	// Keyframe requests: bob sends a PLI with every video packet he gets
	// (about 75/s); the publisher receives them throttled.
	st := &h.svc.SFU().Stats
	plis0, throttled0, start := pp.plis.Load(), st.PLIsThrottle.Load(), time.Now()
	const sent = 100
	for range sent {
		select {
		case <-s1video.tick:
		case <-time.After(wait):
			t.Fatal("video stopped")
		}
		if err := s1.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(s1video.track.SSRC())}}); err != nil {
			t.Fatal(err)
		}
	}
	// The last PLIs may still be in flight: wait for the throttle counter
	// to account for most of them, then for one to reach the publisher.
	elapsed := time.Since(start)
	deadline := time.After(wait)
	for pp.plis.Load() == plis0 || st.PLIsThrottle.Load()-throttled0 < sent/2 {
		select {
		case <-s1video.tick:
		case <-deadline:
			t.Fatalf("PLIs: publisher got %d, throttled %d", pp.plis.Load()-plis0, st.PLIsThrottle.Load()-throttled0)
		}
	}
	got := pp.plis.Load() - plis0
	if max := int64(time.Since(start)/(500*time.Millisecond)) + 2; got > max {
		t.Fatalf("publisher got %d PLIs in %s from %d requests (max %d)", got, elapsed, sent, max)
	}
	t.Logf("PLI: %d sent by a subscriber in %s, %d reached the publisher", sent, elapsed.Round(time.Millisecond), got)
	if st.Tracks.Load() != 2 || st.Forwards.Load() != 4 || st.PacketsOut.Load() == 0 {
		t.Fatalf("stats: tracks %d forwards %d out %d", st.Tracks.Load(), st.Forwards.Load(), st.PacketsOut.Load())
	}

	// The service's metrics, on its own registry.
	h.waitMetrics("media flowing", func(m map[string]float64) bool {
		return m["bureau_meet_rooms"] == 1 && m["bureau_meet_participants"] == 3 &&
			m[`bureau_meet_tracks{kind="audio"}`] == 1 && m[`bureau_meet_tracks{kind="video"}`] == 1 &&
			m[`bureau_meet_tracks{kind="screen"}`] == 0 && m["bureau_meet_forwards"] == 4 &&
			m["bureau_meet_rtp_bytes_received_total"] > 0 && m["bureau_meet_rtp_bytes_sent_total"] > 0 &&
			m["bureau_meet_rtp_packets_sent_total"] > 0 && m["bureau_meet_plis_sent_total"] > 0
	})

	// Signalling between members.
	s1.send(signal.Message{Type: signal.TypeChat, Text: "Bonjour à tous"})
	if m := s2.expect(signal.TypeChat); m.Text != "Bonjour à tous" || m.Name != "Bob Durand" || m.ID == "" || m.Time == 0 {
		t.Fatalf("chat: %+v", m)
	}
	yes := true
	s2.send(signal.Message{Type: signal.TypeHand, Raised: &yes})
	if m := pub.expect(signal.TypeHand); m.Raised == nil || !*m.Raised {
		t.Fatalf("hand: %+v", m)
	}
	pub.send(signal.Message{Type: signal.TypeMute, Kind: "audio", Muted: &yes})
	if m := s1.expect(signal.TypeMute); m.ID != pubID || m.Kind != "audio" || !*m.Muted {
		t.Fatalf("mute: %+v", m)
	}

	pub.send(signal.Message{Type: signal.TypeLeave})
	pub.expectClosed(websocket.CloseNormalClosure)
	for _, s := range []*client{s1, s2} {
		s.expectWhere(signal.TypeTrackUnpublished, func(m signal.Message) bool { return m.ID == pubID })
		s.expectWhere(signal.TypeParticipantLeft, func(m signal.Message) bool { return m.ID == pubID })
	}
	h.waitMetrics("publisher left", func(m map[string]float64) bool {
		return m["bureau_meet_participants"] == 2 && m[`bureau_meet_tracks{kind="audio"}`] == 0 &&
			m[`bureau_meet_tracks{kind="video"}`] == 0 && m["bureau_meet_rooms"] == 1
	})
	for _, s := range []*client{s1, s2} {
		s.send(signal.Message{Type: signal.TypeLeave})
		s.expectClosed(websocket.CloseNormalClosure)
	}
	h.waitMetrics("everyone left", func(m map[string]float64) bool {
		return m["bureau_meet_participants"] == 0 && m["bureau_meet_rooms"] == 0 &&
			m[`bureau_meet_tracks{kind="audio"}`] == 0 && m[`bureau_meet_tracks{kind="video"}`] == 0 &&
			m["bureau_meet_peers"] == 0 && m["bureau_meet_forwards"] == 0
	})
}

// An agent of another ministry waits in the lobby, sees and sends nothing
// until the host admits them; an external denied is disconnected.
func TestLobbyAdmission(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	host, _ := h.join(alice, r.ID, signal.TypeJoined)
	d, lobby := h.join(dave, r.ID, signal.TypeLobby)
	if lobby.Room == nil || lobby.Room.ID != r.ID {
		t.Fatalf("lobby: %+v", lobby)
	}
	req := host.expect(signal.TypeLobbyRequest)
	if req.Participant == nil || req.Participant.UserID != dave.ID || req.Participant.Ministry != "armees" {
		t.Fatalf("lobby request: %+v", req)
	}
	daveID := req.Participant.ID

	// Not admitted: no publishing, no chat, no media connection.
	d.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "video", Source: "camera"}}})
	if m := d.next(); m.Type != signal.TypeError || m.Code != signal.CodeNotAdmitted {
		t.Fatalf("publish from the lobby: %+v", m)
	}
	d.send(signal.Message{Type: signal.TypeChat, Text: "je peux entrer ?"})
	if m := d.next(); m.Code != signal.CodeNotAdmitted {
		t.Fatalf("chat from the lobby: %+v", m)
	}
	// Members do not see the lobby, and cannot admit.
	b, jb := h.join(bob, r.ID, signal.TypeJoined)
	if len(jb.Participants) != 1 {
		t.Fatalf("bob sees %+v", jb.Participants)
	}
	b.send(signal.Message{Type: signal.TypeAdmit, ID: daveID})
	if m := b.expect(signal.TypeError); m.Code != signal.CodeForbidden {
		t.Fatalf("participant admitting: %+v", m)
	}
	host.send(signal.Message{Type: signal.TypeChat, Text: "réunion interne"})
	b.expect(signal.TypeChat)

	host.send(signal.Message{Type: signal.TypeAdmit, ID: daveID})
	// Dave's very next message is joined: the chat sent while he waited
	// never reached him.
	j := d.next()
	if j.Type != signal.TypeJoined || j.Self.ID != daveID || len(j.Participants) != 2 {
		t.Fatalf("dave after admission: %+v", j)
	}
	b.expectWhere(signal.TypeParticipantJoined, func(m signal.Message) bool { return m.Participant.ID == daveID })
	d.send(signal.Message{Type: signal.TypeChat, Text: "merci"})
	host.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "merci" })

	e, _ := h.join(ext, r.ID, signal.TypeLobby)
	req = host.expectWhere(signal.TypeLobbyRequest, func(m signal.Message) bool { return m.Participant.UserID == ext.ID })
	host.send(signal.Message{Type: signal.TypeDeny, ID: req.Participant.ID})
	e.expect(signal.TypeDenied)
	e.expectClosed(websocket.CloseNormalClosure)
	host.send(signal.Message{Type: signal.TypeAdmit, ID: req.Participant.ID})
	if m := host.expect(signal.TypeError); m.Code != signal.CodeNotFound {
		t.Fatalf("admit after deny: %+v", m)
	}
}

// With access "invited", only invitees enter directly, even from the
// host's ministry.
func TestInvitedAccess(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{"access":"invited","invitees":["Dave@Armees.gouv.fr"]}`)
	host, _ := h.join(alice, r.ID, signal.TypeJoined)
	h.join(dave, r.ID, signal.TypeJoined)
	h.join(carol, r.ID, signal.TypeLobby)
	host.expectWhere(signal.TypeLobbyRequest, func(m signal.Message) bool { return m.Participant.UserID == carol.ID })
}

// Bad input closes that participant's socket, with a reason, and nobody
// else's.
func TestBadSignallingClosesOnlySender(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	a, _ := h.join(alice, r.ID, signal.TypeJoined)
	b, _ := h.join(bob, r.ID, signal.TypeJoined)
	huge := `{"type":"chat","text":"` + strings.Repeat("x", signal.MaxMessage) + `"}`
	for _, tc := range []struct {
		name  string
		typ   int
		msg   string
		code  int
		error string
	}{
		{"malformed JSON", websocket.TextMessage, `{"type":"chat",`, websocket.CloseInvalidFramePayloadData, signal.CodeBadMessage},
		{"unknown type", websocket.TextMessage, `{"type":"format_c"}`, websocket.CloseInvalidFramePayloadData, signal.CodeUnknownType},
		{"unknown field", websocket.TextMessage, `{"type":"chat","text":"x","admin":true}`, websocket.CloseInvalidFramePayloadData, signal.CodeBadMessage},
		{"server field", websocket.TextMessage, `{"type":"chat","text":"x","name":"Le Ministre"}`, websocket.CloseInvalidFramePayloadData, signal.CodeBadMessage},
		{"SDP garbage", websocket.TextMessage, `{"type":"answer","sdp":"garbage\r\n"}`, websocket.CloseInvalidFramePayloadData, signal.CodeBadSDP},
		{"unsolicited answer", websocket.TextMessage, `{"type":"answer","sdp":"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}`, websocket.CloseInvalidFramePayloadData, signal.CodeBadSDP},
		{"bad candidate", websocket.TextMessage, `{"type":"candidate","candidate":{"candidate":"candidate:garbage"}}`, websocket.CloseInvalidFramePayloadData, signal.CodeBadMessage},
		{"binary", websocket.BinaryMessage, `{"type":"chat","text":"x"}`, websocket.CloseInvalidFramePayloadData, signal.CodeBadMessage},
		{"huge", websocket.TextMessage, huge, websocket.CloseMessageTooBig, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, j := h.join(carol, r.ID, signal.TypeJoined)
			c.t, a.t, b.t = t, t, t
			defer func() { a.t, b.t = h.t, h.t }()
			cid := j.Self.ID
			if err := c.writeRaw(tc.typ, []byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			if tc.error != "" {
				if m := c.expect(signal.TypeError); m.Code != tc.error {
					t.Fatalf("error %+v, want %s", m, tc.error)
				}
			}
			c.expectClosed(tc.code)
			for _, o := range []*client{a, b} {
				o.expectWhere(signal.TypeParticipantLeft, func(m signal.Message) bool { return m.ID == cid })
			}
			a.send(signal.Message{Type: signal.TypeChat, Text: "toujours là ? " + tc.name})
			b.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "toujours là ? "+tc.name })
		})
	}
	// A first message other than join is refused too.
	c := h.dial(carol, r.ID)
	c.send(signal.Message{Type: signal.TypeChat, Text: "x"})
	c.expectClosed(websocket.CloseInvalidFramePayloadData)
}

func TestConfigValidation(t *testing.T) {
	pub, _, _ := identity.GenerateKey()
	ok := func() *meet.Config {
		c := meet.Default()
		c.PublicURL = "https://bureau.test"
		c.GatewayPublicKey = identity.EncodePublicKey(pub)
		return c
	}
	if err := ok().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c := ok()
	c.ICE.UDPListen = "0.0.0.0:7882"
	c.ICE.TCPListen = ":7881"
	c.Media.CongestionControl = "loss"
	c.ICE.NAT1To1IPs = []string{"203.0.113.7"}
	c.TURN.Secret, c.TURN.Realm, c.TURN.URLs = "0123456789abcdef", "bureau.test", []string{"turn:bureau.test:3478"}
	if err := c.Validate(); err != nil {
		t.Fatalf("production settings: %v", err)
	}
	c = ok()
	c.ICE.UDPListen = "7882"
	c.ICE.TCPListen = "[::1]:7881"
	c.Media.CongestionControl = "bbr"
	c.ICE.NAT1To1IPs = []string{"not-an-ip"}
	c.TURN.Secret = "short"
	c.TURN.URLs = []string{"https://x"}
	c.TURN.CredentialTTL = 0
	c.Rooms.MaxParticipants = 1
	c.Rooms.ResumeGrace = -time.Second
	c.Rooms.RetentionDays = -1
	c.Limits.Chat.Burst = 0
	c.Limits.Reaction.PerSecond = 0
	c.Media.Threads = "all"
	err := c.Validate()
	for _, f := range []string{"ice.udp_listen", "ice.tcp_listen", "media.congestion_control", "ice.nat_1to1_ips", "turn.secret", "turn.realm", "turn.urls", "turn.credential_ttl", "rooms.max_participants",
		"rooms.resume_grace", "rooms.retention_days", "limits.chat.burst", "limits.reaction.per_second", "media.threads"} {
		if err == nil || !strings.Contains(err.Error(), f+":") {
			t.Errorf("%s not reported in %v", f, err)
		}
	}
	c = ok()
	c.TURN.UDPListen, c.TURN.TCPListen = "0.0.0.0:3478", "3478"
	c.TURN.RelayBind = "nowhere"
	c.TURN.RelayMinPort, c.TURN.RelayMaxPort = 50000, 40000
	err = c.Validate()
	for _, f := range []string{"turn.udp_listen", "turn.tcp_listen", "turn.relay_ip", "turn.relay_bind", "turn.relay_min_port"} {
		if err == nil || !strings.Contains(err.Error(), f+":") {
			t.Errorf("%s not reported in %v", f, err)
		}
	}
	c = ok()
	c.TURN.Secret, c.TURN.Realm, c.TURN.URLs = "0123456789abcdef", "bureau.test", []string{"turn:turn.bureau.test:3478?transport=udp"}
	c.TURN.UDPListen, c.TURN.TCPListen, c.TURN.RelayIP = "0.0.0.0:3478", "0.0.0.0:3478", "203.0.113.7"
	c.TURN.RelayMinPort, c.TURN.RelayMaxPort = 49152, 49999
	if err := c.Validate(); err != nil {
		t.Fatalf("built-in TURN: %v", err)
	}
	c = ok()
	c.ICE.LoopbackOnly = true
	c.ICE.NAT1To1IPs = []string{"203.0.113.7"}
	if err := c.Validate(); err == nil {
		t.Fatal("loopback_only with NAT IPs accepted")
	}
	c = ok()
	c.Database.URL = "mysql://x"
	c.Redis.URL = "localhost:6379"
	c.Placement.AdvertiseURL = "10.0.0.5:8083"
	c.Placement.NodeID = "a b"
	c.Placement.Heartbeat = time.Millisecond
	err = c.Validate()
	for _, f := range []string{"database.url", "redis.url", "placement.advertise_url", "placement.node_id", "placement.heartbeat"} {
		if err == nil || !strings.Contains(err.Error(), f+":") {
			t.Errorf("%s not reported in %v", f, err)
		}
	}
	c = ok()
	c.Database.URL, c.Redis.URL, c.Placement.AdvertiseURL = "postgres://meet@db/bureau", "redis://redis:6379/0", "http://10.0.0.5:8083"
	if err := c.Validate(); err != nil {
		t.Fatalf("cluster settings: %v", err)
	}
}

// TestSchedulerThreads: by default a meet node runs on one scheduler
// thread (more only when its load needs them: internal/threads) and says
// so in its metrics; "fixed" leaves Go's choice; the last node to stop
// gives the process its threads back.
func TestSchedulerThreads(t *testing.T) {
	max := runtime.GOMAXPROCS(0)
	if max < 2 || os.Getenv("GOMAXPROCS") != "" {
		t.Skip("one CPU or GOMAXPROCS set: nothing is sized")
	}
	fixed := newHarnessWith(t, func(c *meet.Config) { c.Media.Threads = "fixed" })
	if got := fixed.metrics()["bureau_meet_scheduler_threads"]; got != float64(max) {
		t.Fatalf("fixed: scheduler_threads = %v, want %d", got, max)
	}
	h := newHarness(t)
	// The first sample is a second away: the node starts on one thread.
	if got := h.metrics()["bureau_meet_scheduler_threads"]; got != 1 {
		t.Fatalf("adaptive: scheduler_threads = %v at start, want 1", got)
	}
	_ = h.svc.Close()
	if got := runtime.GOMAXPROCS(0); got != max {
		t.Fatalf("after the node stopped GOMAXPROCS = %d, want %d", got, max)
	}
}
