// Command meet-load measures the SFU: one publisher (synthetic VP8 at about
// 1.5 Mbit/s and Opus) → N subscribers, all pion clients on 127.0.0.1.
// The SFU runs in a child process so that /proc gives its own CPU and RSS,
// not the clients'.
//
//	go run ./cmd/meet-load -n 10,50,100 -d 10s
//
// -cpuprofile file writes the SFU's CPU profile over each measurement
// window (joins excluded; file.N for each subscriber count N when several
// are given).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"bureau/services/meet"
	"bureau/services/meet/internal/sfu"
	msignal "bureau/services/meet/internal/signal"
	"bureau/services/platform/identity"
	"bureau/services/platform/service"
)

func main() {
	child := flag.Bool("sfu", false, "internal: run the SFU (child process)")
	ns := flag.String("n", "10,50", "subscriber counts, comma-separated")
	dur := flag.Duration("d", 10*time.Second, "measurement window per run")
	kbps := flag.Int("kbps", 1500, "publisher video bitrate")
	audio := flag.Int("audio", 0, "audio-only publishers instead of the video publisher (e.g. -audio 5 -n 50)")
	simulcast := flag.Bool("simulcast", true, "video in three simulcast layers (¼, ½, full: 10 %, 33 %, 100 % of -kbps); subscribers get the top one")
	ccMode := flag.String("cc", "gcc", "the SFU's congestion control: gcc | loss")
	cpuprofile := flag.String("cpuprofile", "", "write the SFU's CPU profile over the measurement window to this file (file.N per subscriber count when several)")
	sink := flag.Bool("sink", false, "subscribers send no RTCP at all (no receiver reports, NACKs or transport-cc feedback): the cheapest clients, for counts the machine cannot otherwise host; the SFU's feedback processing is then not measured")
	pubChild := flag.Bool("pub", false, "internal: run the publishers (child process)")
	procs := flag.Int("procs", 0, "the SFU process's GOMAXPROCS, fixed (0: the SFU's default, media.threads adaptive: one thread while one is enough, more when its load needs them)")
	flag.Parse()
	if *child {
		runSFU()
		return
	}
	if *pubChild {
		runPublishers(*audio, *simulcast, *kbps)
		return
	}
	os.Setenv("MEET_LOAD_CC", *ccMode)
	if *procs < 0 {
		fmt.Fprintln(os.Stderr, "bad -procs:", *procs)
		os.Exit(2)
	}
	if *procs > 0 {
		os.Setenv("MEET_LOAD_PROCS", strconv.Itoa(*procs))
	}
	fmt.Printf("%6s %8s %10s %8s %10s %10s %8s %9s %9s %9s %11s %6s %7s\n", "subs", "streams", "out pkt/s", "cores", "mc/stream", "µs/pkt", "RSS MB", "loss", "lat p50", "lat p99", "layers q/h/f", "no media", "threads")
	counts := strings.Split(*ns, ",")
	for _, f := range counts {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "bad -n:", f)
			os.Exit(2)
		}
		prof := *cpuprofile
		if prof != "" && len(counts) > 1 {
			prof += "." + strconv.Itoa(n)
		}
		os.Setenv("MEET_LOAD_CPUPROFILE", prof)
		if err := run(n, *dur, *kbps, *audio, *simulcast, *sink); err != nil {
			fmt.Fprintln(os.Stderr, "run:", err)
			os.Exit(1)
		}
	}
}

// runSFU serves meet on loopback and prints its address; the key comes
// from the parent.
func runSFU() {
	pub, err := identity.DecodePublicKey(os.Getenv("MEET_LOAD_KEY"))
	if err != nil {
		panic(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := service.NewWithKey("meet", log, pub, 0)
	cfg := meet.Default()
	cfg.PublicURL = "http://127.0.0.1"
	cfg.ICE.UDPListen = "127.0.0.1:0"
	cfg.ICE.LoopbackOnly = true
	cfg.Rooms.MaxParticipants = 1000
	cfg.Media.CongestionControl = os.Getenv("MEET_LOAD_CC")
	svc, err := meet.New(context.Background(), cfg, base)
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	if f := os.Getenv("MEET_LOAD_CPUPROFILE"); f != "" {
		// The parent signals the measurement window: SIGUSR1 starts the
		// profile, SIGUSR2 ends it.
		sig := make(chan os.Signal, 2)
		signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
		go func() {
			for s := range sig {
				if s == syscall.SIGUSR2 {
					pprof.StopCPUProfile()
					continue
				}
				out, err := os.Create(f)
				if err != nil {
					panic(err)
				}
				_ = pprof.StartCPUProfile(out)
			}
		}()
	}
	fmt.Println("ADDR", l.Addr().String())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { _ = http.Serve(l, base.Identity.Middleware(svc.Handler())) }()
	<-ctx.Done()
	pprof.StopCPUProfile() // waits for a stop in progress: the profile is whole
	_ = svc.Close()
}

type env struct {
	addr      string
	signer    *identity.Signer
	tokens    map[string]string // by user id, signed by the parent (publisher child)
	api, lean *webrtc.API
}

func run(n int, window time.Duration, kbps, audioPubs int, simulcast, sink bool) error {
	pub, priv, err := identity.GenerateKey()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-sfu")
	cmd.Env = append(os.Environ(), "MEET_LOAD_KEY="+identity.EncodePublicKey(pub))
	if p := os.Getenv("MEET_LOAD_PROCS"); p != "" {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+p)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		return fmt.Errorf("child: %q %v", line, err)
	}
	e := &env{addr: strings.TrimSpace(line[5:]), signer: identity.NewSigner(priv, 60*time.Second), api: loopbackAPI(full), lean: loopbackAPI(lean)}
	if sink {
		e.lean = loopbackAPI(bare)
	}

	host := identity.User{ID: "uhost", Email: "host@interieur.gouv.fr", GivenName: "Hôte", Ministry: "interieur"}
	room, err := e.createRoom(host)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The publishers run in a process of their own: starved by hundreds
	// of subscriber connections in this one, they would send late and
	// little, and the SFU would have less to forward than it should.
	var tokens []string
	for _, u := range publishers(audioPubs) {
		tok, _, err := identity.NewSigner(priv, time.Hour).Sign(u, "meet")
		if err != nil {
			return err
		}
		tokens = append(tokens, u.ID+"="+tok)
	}
	pc := exec.Command(self, "-pub", "-audio", strconv.Itoa(audioPubs), "-kbps", strconv.Itoa(kbps), "-simulcast="+strconv.FormatBool(simulcast))
	pc.Env = append(os.Environ(), "MEET_LOAD_ADDR="+e.addr, "MEET_LOAD_ROOM="+room, "MEET_LOAD_TOKENS="+strings.Join(tokens, ","))
	pout, err := pc.StdoutPipe()
	if err != nil {
		return err
	}
	pc.Stderr = os.Stderr
	if err := pc.Start(); err != nil {
		return err
	}
	defer func() { _ = pc.Process.Signal(syscall.SIGTERM); _ = pc.Wait() }()
	if line, err := bufio.NewReader(pout).ReadString('\n'); err != nil || line != "READY\n" {
		return fmt.Errorf("publisher: %q %v", line, err)
	}

	subs := make([]*client, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	// At most joinBatch joins at a time: 300 handshakes at once on a busy
	// 2-core machine time out.
	sem := make(chan struct{}, joinBatch)
	for i := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			u := identity.User{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("a%d@interieur.gouv.fr", i), Ministry: "interieur"}
			c, err := e.connectAs(ctx, u, room, e.lean, i < latencySample)
			if err != nil {
				errs <- err
				return
			}
			subs[i] = c
			select {
			case <-c.flowing:
			case <-time.After(30 * time.Second):
				// Measured anyway: the report says how many got media.
			}
		}()
	}
	wg.Wait()
	for _, c := range subs {
		if c != nil {
			defer c.close()
		}
	}
	select {
	case err := <-errs:
		return err
	default:
	}

	// Let the joins' renegotiations settle, then measure.
	time.Sleep(2 * time.Second)
	pid := cmd.Process.Pid
	for _, c := range subs {
		c.resetWindow()
	}
	profiling := os.Getenv("MEET_LOAD_CPUPROFILE") != ""
	if profiling {
		_ = cmd.Process.Signal(syscall.SIGUSR1)
	}
	cpu0, _ := procCPU(pid)
	m0, _ := e.metrics()
	start := time.Now()
	time.Sleep(window)
	el := time.Since(start)
	cpu1, _ := procCPU(pid)
	m1, _ := e.metrics()
	if profiling {
		_ = cmd.Process.Signal(syscall.SIGUSR2)
	}

	outPkts := m1["bureau_meet_rtp_packets_sent_total"] - m0["bureau_meet_rtp_packets_sent_total"]
	streams := m1["bureau_meet_forwards"]
	cores := (cpu1 - cpu0).Seconds() / el.Seconds()
	var got, want int64
	var lat []time.Duration
	var layers [3]int
	late := 0 // subscribers without media (never reached 50 packets)
	for _, c := range subs {
		if l := c.layer.Load(); l >= 0 && l < 3 {
			layers[l]++
		}
		g, w, l := c.window()
		got, want, lat = got+g, want+w, append(lat, l...)
	}
	loss := 0.0
	if want > 0 {
		loss = 1 - float64(got)/float64(want)
	}
	slices.Sort(lat)
	pct := func(q float64) string {
		if len(lat) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1fms", float64(lat[int(q*float64(len(lat)-1))].Microseconds())/1000)
	}
	rss, _ := procRSS(pid)
	for _, c := range subs {
		select {
		case <-c.flowing:
		default:
			late++
		}
	}
	fmt.Printf("%6d %8.0f %10.0f %8.3f %10.2f %10.1f %8.1f %8.2f%% %9s %9s %11s %6d %7.0f\n", n, streams, outPkts/el.Seconds(), cores,
		cores*1000/streams, (cpu1-cpu0).Seconds()*1e6/outPkts, float64(rss)/(1<<20), loss*100, pct(0.5), pct(0.99),
		fmt.Sprintf("%d/%d/%d", layers[0], layers[1], layers[2]), late, m1["bureau_meet_scheduler_threads"])
	return nil
}

// latencySample subscribers read the publisher's send time in each frame
// (the others only count: the clients must stay cheap).
const latencySample = 20

const joinBatch = 16

// procCPU is user+system time of pid (clock ticks of 10 ms on Linux).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which may contain spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS")
}

func (e *env) header(u identity.User) http.Header {
	if tok, ok := e.tokens[u.ID]; ok {
		return http.Header{identity.Header: {tok}}
	}
	tok, _, _ := e.signer.Sign(u, "meet")
	return http.Header{identity.Header: {tok}}
}

// publishers are the host (the video publisher, or the first of the
// audio ones) and the other audio publishers.
func publishers(audio int) []identity.User {
	us := []identity.User{{ID: "uhost", Email: "host@interieur.gouv.fr", GivenName: "Hôte", Ministry: "interieur"}}
	for i := 1; i < audio; i++ {
		us = append(us, identity.User{ID: fmt.Sprintf("up%d", i), Email: fmt.Sprintf("p%d@interieur.gouv.fr", i), Ministry: "interieur"})
	}
	return us
}

// runPublishers publishes into MEET_LOAD_ROOM with the tokens the parent
// signed, prints READY, and runs until SIGTERM.
func runPublishers(audio int, simulcast bool, kbps int) {
	e := &env{addr: os.Getenv("MEET_LOAD_ADDR"), api: loopbackAPI(full), tokens: map[string]string{}}
	for _, kv := range strings.Split(os.Getenv("MEET_LOAD_TOKENS"), ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.tokens[k] = v
		}
	}
	room := os.Getenv("MEET_LOAD_ROOM")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, u := range publishers(audio) {
		c, err := e.connect(ctx, u, room)
		if err != nil {
			fmt.Println("ERROR", err)
			return
		}
		defer c.close()
		switch {
		case audio > 0:
			c.publishAudio(ctx)
		case simulcast:
			c.publishSimulcast(ctx, kbps)
		default:
			c.publish(ctx, kbps)
		}
	}
	fmt.Println("READY")
	<-ctx.Done()
}

func (e *env) createRoom(u identity.User) (string, error) {
	req, _ := http.NewRequest("POST", "http://"+e.addr+"/api/meet/rooms", strings.NewReader(`{}`))
	req.Header = e.header(u)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.ID == "" {
		return "", fmt.Errorf("create room: %d %v", resp.StatusCode, err)
	}
	return v.ID, nil
}

func (e *env) metrics() (map[string]float64, error) {
	resp, err := http.Get("http://" + e.addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && strings.HasPrefix(f[0], "bureau_meet_") {
			m[f[0]], _ = strconv.ParseFloat(f[1], 64)
		}
	}
	return m, sc.Err()
}

// loopbackAPI: full interceptors for publishers (NACK responder…); lean
// ones for subscribers — what the SFU needs back from a browser (receiver
// reports, NACKs, transport-cc feedback) and nothing else (no stats).
type clientKind int

const (
	full clientKind = iota // pion's default interceptors (publishers)
	lean                   // reports, NACKs, transport-cc feedback
	bare                   // no interceptor: receives and drops
)

func loopbackAPI(kind clientKind) *webrtc.API {
	m := &webrtc.MediaEngine{}
	_ = m.RegisterDefaultCodecs()
	for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		_ = m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo)
	}
	ir := &interceptor.Registry{}
	switch kind {
	case full:
		_ = webrtc.RegisterDefaultInterceptors(m, ir)
	case lean:
		if gen, err := nack.NewGeneratorInterceptor(); err == nil {
			m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
			ir.Add(gen)
		}
		_ = webrtc.ConfigureRTCPReports(ir)
		_ = webrtc.ConfigureTWCCSender(m, ir)
	}
	se := webrtc.SettingEngine{}
	loop := func(ip net.IP) bool { return ip.IsLoopback() }
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(loop)
	se.SetRemoteIPFilter(loop)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// client is a minimal participant: answers offers, trickles candidates,
// counts received RTP packets.
type client struct {
	ws      *websocket.Conn
	pc      *webrtc.PeerConnection
	wmu     sync.Mutex
	packets atomic.Int64
	sent    atomic.Int64 // publisher: packets written
	flowing chan struct{}
	once    sync.Once
	latency bool         // reads the send time of each frame
	layer   atomic.Int32 // simulcast layer of the last video frame start

	mu     sync.Mutex
	tracks []*seqCount
	lat    []time.Duration
}

// seqCount counts one received track's packets and the span of sequence
// numbers they cover since the window opened: loss = 1 - count/span.
type seqCount struct {
	mu          sync.Mutex
	count       int64
	first, last int64 // extended sequence numbers
	started     bool
}

func (k *seqCount) add(seq uint16) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.count++
	if !k.started {
		k.first, k.last, k.started = int64(seq), int64(seq), true
		return
	}
	ext := k.last + int64(int16(seq-uint16(k.last)))
	k.last = max(k.last, ext)
	k.first = min(k.first, ext)
}

func (k *seqCount) reset() {
	k.mu.Lock()
	k.count, k.started = 0, false
	k.mu.Unlock()
}

func (k *seqCount) take() (got, want int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.started {
		return 0, 0
	}
	return k.count, k.last - k.first + 1
}

func (c *client) resetWindow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.tracks {
		k.reset()
	}
	c.lat = c.lat[:0]
}

func (c *client) window() (got, want int64, lat []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range c.tracks {
		g, w := k.take()
		got, want = got+g, want+w
	}
	return got, want, append([]time.Duration(nil), c.lat...)
}

func (e *env) connect(ctx context.Context, u identity.User, room string) (*client, error) {
	return e.connectAs(ctx, u, room, e.api, false)
}

func (e *env) connectAs(ctx context.Context, u identity.User, room string, api *webrtc.API, latency bool) (*client, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+e.addr+"/api/meet/rooms/"+room+"/ws", e.header(u))
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &client{ws: ws, pc: pc, flowing: make(chan struct{}), latency: latency}
	pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci != nil {
			j := ci.ToJSON()
			c.write(msignal.Message{Type: msignal.TypeCandidate, Candidate: &msignal.Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}})
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		k := &seqCount{}
		c.mu.Lock()
		c.tracks = append(c.tracks, k)
		c.mu.Unlock()
		video := tr.Kind() == webrtc.RTPCodecTypeVideo
		buf := make([]byte, 1500)
		var h rtp.Header
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			hl, err := h.Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			k.add(h.SequenceNumber)
			if c.packets.Add(1) == 50 {
				c.once.Do(func() { close(c.flowing) })
			}
			// Frame start (VP8 S bit): the publisher's send time follows
			// the 1-byte descriptor and the frame tag.
			if pl := buf[hl:n]; video && len(pl) >= 11 && pl[0]&0x10 != 0 {
				c.layer.Store(int32(pl[10]))
			}
			if pl := buf[hl:n]; c.latency && video && len(pl) >= 10 && pl[0]&0x10 != 0 {
				if sent := int64(binary.BigEndian.Uint64(pl[2:10])); sent > 0 {
					c.mu.Lock()
					c.lat = append(c.lat, time.Duration(time.Now().UnixNano()-sent))
					c.mu.Unlock()
				}
			}
		}
	})
	go c.readLoop()
	c.write(msignal.Message{Type: msignal.TypeJoin})
	return c, nil
}

func (c *client) write(m msignal.Message) {
	b, _ := json.Marshal(m)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *client) readLoop() {
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var m msignal.Message
		if json.Unmarshal(b, &m) != nil {
			return
		}
		switch m.Type {
		case msignal.TypeOffer:
			if c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}) != nil {
				return
			}
			ans, err := c.pc.CreateAnswer(nil)
			if err != nil || c.pc.SetLocalDescription(ans) != nil {
				return
			}
			c.write(msignal.Message{Type: msignal.TypeAnswer, SDP: ans.SDP})
		case msignal.TypeCandidate:
			if m.Candidate != nil && m.Candidate.Candidate != "" {
				_ = c.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: m.Candidate.Candidate, SDPMid: m.Candidate.SDPMid, SDPMLineIndex: m.Candidate.SDPMLineIndex})
			}
		}
	}
}

func (c *client) close() { _ = c.ws.Close(); _ = c.pc.Close() }

// publishAudio sends Opus every 20 ms.
func (c *client) publishAudio(ctx context.Context) {
	a, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "pub")
	x, _ := c.pc.AddTransceiverFromTrack(a, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := x.Sender().Read(buf); err != nil {
				return
			}
		}
	}()
	c.write(msignal.Message{Type: msignal.TypePublish, Tracks: []msignal.TrackSpec{{Kind: "audio", Source: "microphone"}}})
	go func() {
		audio := bytes.Repeat([]byte{0xfc}, 120)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if a.WriteSample(media.Sample{Data: audio, Duration: 20 * time.Millisecond}) == nil {
					c.sent.Add(1)
				}
			}
		}
	}()
}

// publish sends VP8 frames at kbps (30 fps) and Opus every 20 ms; the
// packet count is what each subscriber should receive.
func (c *client) publish(ctx context.Context, kbps int) {
	a, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "pub")
	v, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "pub")
	var keyframe atomic.Bool // a PLI arrived: the next frame is a keyframe, as a browser does
	for _, tr := range []webrtc.TrackLocal{a, v} {
		x, _ := c.pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		go func() {
			buf := make([]byte, 1500)
			for {
				n, _, err := x.Sender().Read(buf)
				if err != nil {
					return
				}
				if tr == v && sfu.WantsKeyframe(buf[:n]) {
					keyframe.Store(true)
				}
			}
		}()
	}
	c.write(msignal.Message{Type: msignal.TypePublish, Tracks: []msignal.TrackSpec{{Kind: "audio", Source: "microphone"}, {Kind: "video", Source: "camera"}}})
	go func() {
		audio := bytes.Repeat([]byte{0xfc}, 120)
		frame := make([]byte, kbps*1000/8/30)
		perFrame := int64((len(frame) + 1199) / 1200) // pion's VP8 packetizer at the default MTU
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		var lastAudio time.Time
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				frame[0] = 0x01
				if i%60 == 0 || keyframe.Swap(false) {
					frame[0] = 0x00
				}
				binary.BigEndian.PutUint64(frame[1:], uint64(time.Now().UnixNano()))
				if v.WriteSample(media.Sample{Data: frame, Duration: time.Second / 30}) == nil {
					c.sent.Add(perFrame)
				}
				for ; now.Sub(lastAudio) >= 20*time.Millisecond; lastAudio = lastAudio.Add(20 * time.Millisecond) {
					if lastAudio.IsZero() {
						lastAudio = now
					}
					if a.WriteSample(media.Sample{Data: audio, Duration: 20 * time.Millisecond}) == nil {
						c.sent.Add(1)
					}
				}
			}
		}
	}()
}

// publishSimulcast sends VP8 in three rid encodings (q, h, f at 10 %, 33 %
// and 100 % of kbps, 30 fps, a keyframe every 2 s or on PLI, as a browser
// does) and Opus every 20 ms. pion does not write the mid and rid header
// extensions itself: the packets carry them. sent counts the top layer's
// packets and the audio (what a subscriber on the top layer receives).
func (c *client) publishSimulcast(ctx context.Context, kbps int) {
	rids := []string{"q", "h", "f"}
	shares := []int{10, 33, 100}
	var encs [3]*webrtc.TrackLocalStaticRTP
	for i, rid := range rids {
		encs[i], _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "pub", webrtc.WithRTPStreamID(rid))
	}
	x, err := c.pc.AddTransceiverFromTrack(encs[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		panic(err)
	}
	for _, e := range encs[1:] {
		if err := x.Sender().AddEncoding(e); err != nil {
			panic(err)
		}
	}
	var keyframe [3]atomic.Bool
	for i, rid := range rids {
		go func() {
			for {
				pkts, _, err := x.Sender().ReadSimulcastRTCP(rid)
				if err != nil {
					return
				}
				for _, p := range pkts {
					if _, ok := p.(*rtcp.PictureLossIndication); ok {
						keyframe[i].Store(true)
					}
				}
			}
		}()
	}
	a, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "pub")
	ax, _ := c.pc.AddTransceiverFromTrack(a, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := ax.Sender().Read(buf); err != nil {
				return
			}
		}
	}()
	c.write(msignal.Message{Type: msignal.TypePublish, Tracks: []msignal.TrackSpec{{Kind: "audio", Source: "microphone"}, {Kind: "video", Source: "camera"}}})
	extID := func(uri string) uint8 {
		d := c.pc.LocalDescription()
		if d == nil {
			return 0
		}
		return msignal.ExtmapID(d.SDP, uri)
	}
	go func() {
		audio := bytes.Repeat([]byte{0xfc}, 120)
		frame := make([]byte, 1201)
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		var seq [3]uint16
		var midID, ridID uint8
		var lastAudio time.Time
		for i := 0; ; i++ {
			var now time.Time
			select {
			case <-ctx.Done():
				return
			case now = <-tick.C:
			}
			for ; !lastAudio.IsZero() && now.Sub(lastAudio) >= 20*time.Millisecond; lastAudio = lastAudio.Add(20 * time.Millisecond) {
				if a.WriteSample(media.Sample{Data: audio, Duration: 20 * time.Millisecond}) == nil {
					c.sent.Add(1)
				}
			}
			if lastAudio.IsZero() {
				lastAudio = now
			}
			if midID == 0 || ridID == 0 {
				midID, ridID = extID(sdp.SDESMidURI), extID(sdp.SDESRTPStreamIDURI)
				if midID == 0 || ridID == 0 || x.Mid() == "" {
					continue
				}
			}
			for l, e := range encs {
				size := kbps * 1000 / 8 / 30 * shares[l] / 100
				key := i%60 == 0 || keyframe[l].Swap(false)
				for off := 0; off < size; off += 1200 {
					n := min(1200, size-off)
					pl := frame[:n+1]
					pl[0] = 0
					if off == 0 {
						pl[0] = 0x10 // S: start of the frame
						pl[1] = 0x01
						if key {
							pl[1] = 0x00
						}
						if n >= 10 {
							binary.BigEndian.PutUint64(pl[2:], uint64(time.Now().UnixNano()))
							pl[10] = byte(l)
						}
					}
					p := rtp.Packet{Header: rtp.Header{
						Version: 2, PayloadType: 96, SequenceNumber: seq[l], Timestamp: uint32(i) * 3000,
						Marker: off+n >= size,
					}, Payload: pl}
					seq[l]++
					_ = p.Header.SetExtension(midID, []byte(x.Mid()))
					_ = p.Header.SetExtension(ridID, []byte(rids[l]))
					if e.WriteRTP(&p) == nil && l == 2 {
						c.sent.Add(1)
					}
				}
			}
		}
	}()
}
