package meet_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"bureau/services/meet"
	"bureau/services/meet/internal/signal"
	"bureau/services/platform/identity"
	"bureau/services/platform/service"
)

// wait bounds every expectation: a deadline, never a sleep.
const wait = 15 * time.Second

var (
	alice = identity.User{ID: "ualice", Email: "alice@interieur.gouv.fr", GivenName: "Alice", UsualName: "Martin", Ministry: "interieur"}
	bob   = identity.User{ID: "ubob", Email: "bob@interieur.gouv.fr", GivenName: "Bob", UsualName: "Durand", Ministry: "interieur"}
	carol = identity.User{ID: "ucarol", Email: "carol@interieur.gouv.fr", GivenName: "Carol", UsualName: "Petit", Ministry: "interieur"}
	dave  = identity.User{ID: "udave", Email: "dave@armees.gouv.fr", GivenName: "Dave", UsualName: "Leroy", Ministry: "armees"}
	ext   = identity.User{ID: "uext", Email: "eve@prestataire.example", GivenName: "Eve", External: true}
)

type harness struct {
	t      *testing.T
	svc    *meet.Service
	srv    *httptest.Server
	signer *identity.Signer
}

// newHarness serves meet as the gateway would reach it: identity tokens
// signed with a test key, the SFU on a loopback UDP mux.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, nil)
}

// newHarnessWith lets a test adjust the configuration before the start
// (set) and after it (started, e.g. to learn an ephemeral port).
func newHarnessWith(t *testing.T, set func(*meet.Config), started ...func(*meet.Config, *meet.Service)) *harness {
	t.Helper()
	return newNode(t, newGatewayKey(t), set, started...)
}

// gatewayKey is the gateway's signing key, shared by the nodes of a
// cluster (and by a node and its restart).
type gatewayKey struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newGatewayKey(t *testing.T) gatewayKey {
	pub, priv, err := identity.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return gatewayKey{pub, priv}
}

// newNode starts one meet node trusting key. Its HTTP server starts first,
// so that placement.advertise_url can be its address.
func newNode(t *testing.T, key gatewayKey, set func(*meet.Config), started ...func(*meet.Config, *meet.Service)) *harness {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := service.NewWithKey("meet", log, key.pub, 0)
	var handler atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	cfg := meet.Default()
	cfg.PublicURL = "https://bureau.test"
	cfg.GatewayPublicKey = identity.EncodePublicKey(key.pub)
	cfg.ICE.UDPListen = "127.0.0.1:0"
	cfg.ICE.LoopbackOnly = true
	cfg.Placement.AdvertiseURL = srv.URL
	if set != nil {
		set(cfg)
	}
	if err := cfg.Validate(); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	svc, err := meet.New(context.Background(), cfg, base)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	for _, f := range started {
		f(cfg, svc)
	}
	handler.Store(base.Identity.Middleware(svc.Handler()))
	t.Cleanup(func() {
		_ = svc.Close()
		srv.Close()
	})
	return &harness{t: t, svc: svc, srv: srv, signer: identity.NewSigner(key.priv, 30*time.Second)}
}

func (h *harness) header(u identity.User) http.Header {
	tok, _, err := h.signer.Sign(u, "meet")
	if err != nil {
		h.t.Fatal(err)
	}
	return http.Header{identity.Header: {tok}}
}

type roomView struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Link      string   `json:"link"`
	Access    string   `json:"access"`
	Role      string   `json:"role"`
	Admission string   `json:"admission"`
	Invitees  []string `json:"invitees"`
	Connected int      `json:"connected"`
}

func (h *harness) do(u *identity.User, method, path, body string) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if u != nil {
		req.Header = h.header(*u)
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (h *harness) createRoom(u identity.User, spec string) roomView {
	h.t.Helper()
	code, b := h.do(&u, "POST", "/api/meet/rooms", spec)
	if code != http.StatusCreated {
		h.t.Fatalf("create room: %d %s", code, b)
	}
	var v roomView
	if err := json.Unmarshal(b, &v); err != nil {
		h.t.Fatal(err)
	}
	return v
}

// client is a participant: a websocket and a pion PeerConnection that
// answers the server's offers and counts what it receives.
type client struct {
	t    *testing.T
	name string
	ws   *websocket.Conn
	pc   *webrtc.PeerConnection
	wmu  sync.Mutex

	msgs     chan signal.Message
	closed   chan struct{}
	closeErr error
	lastSeq  atomic.Uint64 // of the last message received (resume)
	dupes    atomic.Int64  // messages received again after a resume

	mu       sync.Mutex
	offers   []string            // every offer the server sent
	offered  chan string         // the same, for waiting
	counters map[string]*counter // by track id
	newTrack chan *counter

	// ansMu orders answers; while held, offers wait in pending (holdOffers).
	ansMu   sync.Mutex
	held    bool
	pending []string
}

type counter struct {
	track   *webrtc.TrackRemote
	packets atomic.Int64
	frames  atomic.Int64 // video: packets with the marker bit
	reached chan struct{}
	once    sync.Once
	goal    int64
	tick    chan struct{} // one per packet, dropped when nobody listens
	layer   atomic.Int32  // video: the layer tag of the last frame start (payload byte 2 of the frame)
	lowest  atomic.Int32  // video: the lowest layer tag seen (reset by the test)
	maxJump atomic.Int64  // largest sequence number jump seen (continuity)
	tsJump  atomic.Int64  // largest timestamp jump seen
}

// loopbackAPI makes pion clients gather and accept 127.0.0.1 only.
// Extra interceptors come first: they see incoming packets before the
// NACK generator and the receiver reports.
func loopbackAPI(t *testing.T, extra ...interceptor.Factory) *webrtc.API {
	return loopbackAPINet(t, []webrtc.NetworkType{webrtc.NetworkTypeUDP4}, extra...)
}

// loopbackAPINet is loopbackAPI over the given networks.
func loopbackAPINet(t *testing.T, networks []webrtc.NetworkType, extra ...interceptor.Factory) *webrtc.API {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	for _, f := range extra {
		ir.Add(f)
	}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	loop := func(ip net.IP) bool { return ip.IsLoopback() }
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(loop)
	se.SetRemoteIPFilter(loop)
	se.SetNetworkTypes(networks)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// dial connects u to room without sending join.
func (h *harness) dial(u identity.User, room string) *client {
	h.t.Helper()
	return h.dialWith(u, room, loopbackAPI(h.t))
}

func (h *harness) dialWith(u identity.User, room string, api *webrtc.API) *client {
	h.t.Helper()
	return h.dialPath(u.ID, "/api/meet/rooms/"+room+"/ws", h.header(u), api)
}

// dialPath opens the websocket at path (name: for messages).
func (h *harness) dialPath(name, path string, hdr http.Header, api *webrtc.API) *client {
	h.t.Helper()
	url := "ws" + strings.TrimPrefix(h.srv.URL, "http") + path
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		h.t.Fatalf("dial %s: %v (%v)", name, err, resp)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		h.t.Fatal(err)
	}
	c := &client{
		t: h.t, name: name, ws: ws, pc: pc, msgs: make(chan signal.Message, 1024), closed: make(chan struct{}),
		counters: map[string]*counter{}, newTrack: make(chan *counter, 16), offered: make(chan string, 16),
	}
	pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci == nil {
			return
		}
		j := ci.ToJSON()
		_ = c.write(signal.Message{Type: signal.TypeCandidate, Candidate: &signal.Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}})
	})
	pc.OnTrack(c.onTrack)
	h.t.Cleanup(c.close)
	go c.readLoop(ws, c.closed)
	return c
}

// reopen replaces c's websocket (after its old one died) by a new one at
// path: the PeerConnection and the counters are kept, as a browser keeps
// them when its socket drops.
func (c *client) reopen(h *harness, path string, hdr http.Header) {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(wait):
		c.t.Fatalf("%s: old socket still open", c.name)
	}
	url := "ws" + strings.TrimPrefix(h.srv.URL, "http") + path
	ws, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		c.t.Fatalf("redial %s: %v (%v)", c.name, err, resp)
	}
	c.wmu.Lock()
	c.ws = ws
	c.wmu.Unlock()
	c.closed, c.closeErr = make(chan struct{}), nil
	go c.readLoop(ws, c.closed)
}

// drop cuts c's websocket as a network failure would: no close frame.
func (c *client) drop() {
	c.wmu.Lock()
	_ = c.ws.UnderlyingConn().Close()
	c.wmu.Unlock()
}

// join dials and joins, expecting the given first answer (joined | lobby).
func (h *harness) join(u identity.User, room, expect string) (*client, signal.Message) {
	h.t.Helper()
	c := h.dial(u, room)
	c.send(signal.Message{Type: signal.TypeJoin})
	return c, c.expect(expect)
}

func (c *client) write(m signal.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.writeRaw(websocket.TextMessage, b)
}

func (c *client) writeRaw(typ int, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(typ, b)
}

func (c *client) send(m signal.Message) {
	c.t.Helper()
	if err := c.write(m); err != nil {
		c.t.Fatalf("%s: send %s: %v", c.name, m.Type, err)
	}
}

func (c *client) readLoop(ws *websocket.Conn, closed chan struct{}) {
	defer close(closed)
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			c.closeErr = err
			return
		}
		var m signal.Message
		if err := json.Unmarshal(b, &m); err != nil {
			c.closeErr = err
			return
		}
		if m.Seq != 0 {
			// Replayed after a resume and already seen: skipped, as the
			// web client does.
			if m.Seq <= c.lastSeq.Load() {
				c.dupes.Add(1)
				continue
			}
			c.lastSeq.Store(m.Seq)
		}
		switch m.Type {
		case signal.TypeOffer:
			c.mu.Lock()
			c.offers = append(c.offers, m.SDP)
			c.mu.Unlock()
			select {
			case c.offered <- m.SDP:
			default:
			}
			c.ansMu.Lock()
			if c.held {
				c.pending = append(c.pending, m.SDP)
				c.ansMu.Unlock()
				continue
			}
			err := c.answer(m.SDP)
			c.ansMu.Unlock()
			if err != nil {
				// The server closing the media connection (end, remove)
				// may overtake an offer still queued on the socket: a
				// closed PeerConnection ignores it, as a browser would.
				if errors.Is(err, webrtc.ErrConnectionClosed) || strings.Contains(err.Error(), "connection closed") {
					continue
				}
				c.closeErr = err
				return
			}
		case signal.TypeCandidate:
			if f := strings.Fields(m.Candidate.Candidate); len(f) > 4 && f[4] != "127.0.0.1" {
				c.closeErr = errors.New("server offered a non-loopback candidate: " + m.Candidate.Candidate)
				return
			}
			if m.Candidate.Candidate != "" {
				_ = c.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex})
			}
		default:
			c.msgs <- m
		}
	}
}

// holdOffers keeps the server's offers unanswered until releaseOffers, so
// that a test sets the PeerConnection up from joined before it answers.
// Call it before sending join.
func (c *client) holdOffers() {
	c.ansMu.Lock()
	c.held = true
	c.ansMu.Unlock()
}

// releaseOffers answers the held offers, in order, and the next ones as
// they come.
func (c *client) releaseOffers() {
	c.t.Helper()
	c.ansMu.Lock()
	defer c.ansMu.Unlock()
	c.held = false
	for _, sdp := range c.pending {
		if err := c.answer(sdp); err != nil {
			c.t.Fatalf("%s: answer: %v", c.name, err)
		}
	}
	c.pending = nil
}

func (c *client) answer(sdp string) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := c.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	if false {
		c.t.Logf("OFFER\n%s\nANSWER\n%s", sdp, ans.SDP)
	}
	return c.write(signal.Message{Type: signal.TypeAnswer, SDP: ans.SDP})
}

// expect skips messages until one of type typ arrives.
func (c *client) expect(typ string) signal.Message {
	c.t.Helper()
	return c.expectWhere(typ, func(signal.Message) bool { return true })
}

func (c *client) expectWhere(typ string, ok func(signal.Message) bool) signal.Message {
	c.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case m := <-c.msgs:
			if m.Type == typ && ok(m) {
				return m
			}
		case <-c.closed:
			// Drain what arrived before the close.
			for {
				select {
				case m := <-c.msgs:
					if m.Type == typ && ok(m) {
						return m
					}
				default:
					c.t.Fatalf("%s: closed (%v) while waiting for %s", c.name, c.closeErr, typ)
				}
			}
		case <-timeout:
			c.t.Fatalf("%s: no %s within %s", c.name, typ, wait)
		}
	}
}

// next is the very next message.
func (c *client) next() signal.Message {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(wait):
		c.t.Fatalf("%s: no message within %s", c.name, wait)
	}
	return signal.Message{}
}

// expectClosed waits for the server to close the socket with code.
func (c *client) expectClosed(code int) {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(wait):
		c.t.Fatalf("%s: socket still open after %s", c.name, wait)
	}
	var ce *websocket.CloseError
	if !errors.As(c.closeErr, &ce) || ce.Code != code {
		c.t.Fatalf("%s: closed with %v, want close code %d", c.name, c.closeErr, code)
	}
}

func (c *client) close() {
	_ = c.ws.Close()
	_ = c.pc.Close()
}

func (c *client) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	k := &counter{track: tr, reached: make(chan struct{}), goal: 50, tick: make(chan struct{}, 1)}
	c.mu.Lock()
	c.counters[tr.ID()] = k
	c.mu.Unlock()
	c.newTrack <- k
	buf := make([]byte, 1500)
	var p rtpHeader
	var h rtp.Header
	var lastSeq uint16
	var lastTS uint32
	for i := 0; ; i++ {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if !p.parse(buf[:n]) {
			continue
		}
		if hl, err := h.Unmarshal(buf[:n]); err == nil {
			if i > 0 {
				if j := int64(int16(h.SequenceNumber - lastSeq)); j > k.maxJump.Load() || -j > k.maxJump.Load() {
					k.maxJump.Store(max(j, -j))
				}
				if j := int64(int32(h.Timestamp - lastTS)); j > k.tsJump.Load() || -j > k.tsJump.Load() {
					k.tsJump.Store(max(j, -j))
				}
			}
			lastSeq, lastTS = h.SequenceNumber, h.Timestamp
			if pl := buf[hl:n]; len(pl) > 3 && pl[0]&0x10 != 0 && tr.Kind() == webrtc.RTPCodecTypeVideo {
				k.layer.Store(int32(pl[3]))
				if int32(pl[3]) < k.lowest.Load() {
					k.lowest.Store(int32(pl[3]))
				}
			}
		}
		k.packets.Add(1)
		select {
		case k.tick <- struct{}{}:
		default:
		}
		if p.marker {
			k.frames.Add(1)
		}
		if k.packets.Load() >= k.goal {
			k.once.Do(func() { close(k.reached) })
		}
	}
}

type rtpHeader struct{ marker bool }

func (h *rtpHeader) parse(b []byte) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false
	}
	h.marker = b[1]&0x80 != 0
	return true
}

// publisher sends synthetic Opus (20 ms) and VP8 (30 fps, ~3 packets a
// frame) until ctx ends.
type publisher struct {
	audio, video *webrtc.TrackLocalStaticSample
	plis         atomic.Int64 // keyframe requests received for video
}

func (c *client) publish(ctx context.Context) *publisher {
	c.t.Helper()
	a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", c.name)
	if err != nil {
		c.t.Fatal(err)
	}
	v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", c.name)
	if err != nil {
		c.t.Fatal(err)
	}
	p := &publisher{audio: a, video: v}
	for _, tr := range []webrtc.TrackLocal{a, v} {
		x, err := c.pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			c.t.Fatal(err)
		}
		go func() {
			for {
				pkts, _, err := x.Sender().ReadRTCP()
				if err != nil {
					return
				}
				for _, pk := range pkts {
					if _, ok := pk.(*rtcp.PictureLossIndication); ok && tr == v {
						p.plis.Add(1)
					}
				}
			}
		}()
	}
	c.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "audio", Source: "microphone"}, {Kind: "video", Source: "camera"}}})
	go func() {
		audio := bytes.Repeat([]byte{0xfc, 0xff, 0xfe}, 40)
		frame := make([]byte, 3000)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = a.WriteSample(media.Sample{Data: audio, Duration: 20 * time.Millisecond})
			if i%2 == 0 {
				// Byte 0 bit 0 clear: a keyframe tag every 30 frames.
				frame[0] = 0x01
				if i%60 == 0 {
					frame[0] = 0x00
				}
				frame[1] = byte(i)
				_ = v.WriteSample(media.Sample{Data: frame, Duration: 40 * time.Millisecond})
			}
		}
	}()
	return p
}

// waitTracks waits for n incoming tracks and for each to reach its goal.
func (c *client) waitTracks(n int) []*counter {
	c.t.Helper()
	var ks []*counter
	timeout := time.After(wait)
	for len(ks) < n {
		select {
		case k := <-c.newTrack:
			ks = append(ks, k)
		case <-timeout:
			c.t.Fatalf("%s: %d of %d tracks within %s", c.name, len(ks), n, wait)
		}
	}
	for _, k := range ks {
		select {
		case <-k.reached:
		case <-timeout:
			c.t.Fatalf("%s: track %s got %d packets, want %d", c.name, k.track.ID(), k.packets.Load(), k.goal)
		}
	}
	return ks
}

// next waits for the track's next packet, failing after the deadline.
func (k *counter) next(t *testing.T) {
	t.Helper()
	select {
	case <-k.tick:
	case <-time.After(wait):
		t.Fatalf("track %s stopped (%d packets)", k.track.ID(), k.packets.Load())
	}
}

// metrics scrapes the service's /metrics: sample (name with its labels,
// as exposed) → value.
func (h *harness) metrics() map[string]float64 {
	h.t.Helper()
	code, b := h.do(nil, http.MethodGet, "/metrics", "")
	if code != http.StatusOK {
		h.t.Fatalf("/metrics: %d", code)
	}
	m := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			h.t.Fatalf("/metrics line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// waitMetrics scrapes until ok accepts the metrics (or fails after wait).
func (h *harness) waitMetrics(what string, ok func(map[string]float64) bool) map[string]float64 {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		m := h.metrics()
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("metrics: %s: %v", what, meetMetrics(m))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func meetMetrics(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, "bureau_meet_") && !strings.HasPrefix(k, "bureau_meet_http") {
			out[k] = v
		}
	}
	return out
}

// pubSub: alice joins a new meeting and publishes until ctx ends, bob
// joins and receives her two tracks.
func (h *harness) pubSub(ctx context.Context) (room string, pub, sub *client, joined signal.Message, ks []*counter) {
	h.t.Helper()
	room = h.createRoom(alice, `{}`).ID
	pub, _ = h.join(alice, room, signal.TypeJoined)
	pub.publish(ctx)
	sub, joined = h.join(bob, room, signal.TypeJoined)
	return room, pub, sub, joined, sub.waitTracks(2)
}

// flowing waits for 10 more packets on each of ks.
func flowing(t *testing.T, ks []*counter) {
	t.Helper()
	for _, k := range ks {
		n := k.packets.Load()
		for k.packets.Load() < n+10 {
			k.next(t)
		}
	}
}
