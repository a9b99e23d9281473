// Command meet-load measures the SFU: one publisher (synthetic VP8 at about
// 1.5 Mbit/s and Opus) → N subscribers, all pion clients on 127.0.0.1.
// The SFU runs in a child process so that /proc gives its own CPU and RSS,
// not the clients'.
//
//	go run ./cmd/meet-load -n 10,50,100 -d 10s
//
// MEET_LOAD_CPUPROFILE=file writes the SFU's CPU profile (the whole run).
package main

import (
	"bufio"
	"bytes"
	"context"
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
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
	flag.Parse()
	if *child {
		runSFU()
		return
	}
	fmt.Printf("%6s %8s %10s %8s %10s %10s %8s %10s\n", "subs", "streams", "out pkt/s", "cores", "mc/stream", "µs/pkt", "RSS MB", "recv loss")
	for _, f := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "bad -n:", f)
			os.Exit(2)
		}
		if err := run(n, *dur, *kbps, *audio); err != nil {
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
	svc, err := meet.New(context.Background(), cfg, base)
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	if f := os.Getenv("MEET_LOAD_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			panic(err)
		}
		_ = pprof.StartCPUProfile(out)
		defer pprof.StopCPUProfile()
	}
	fmt.Println("ADDR", l.Addr().String())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { _ = http.Serve(l, base.Identity.Middleware(svc.Handler())) }()
	<-ctx.Done()
	_ = svc.Close()
}

type env struct {
	addr   string
	signer *identity.Signer
	api    *webrtc.API
}

func run(n int, window time.Duration, kbps, audioPubs int) error {
	pub, priv, err := identity.GenerateKey()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-sfu")
	cmd.Env = append(os.Environ(), "MEET_LOAD_KEY="+identity.EncodePublicKey(pub), "GOMAXPROCS=2")
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
	e := &env{addr: strings.TrimSpace(line[5:]), signer: identity.NewSigner(priv, 60*time.Second), api: loopbackAPI()}

	host := identity.User{ID: "uhost", Email: "host@interieur.gouv.fr", GivenName: "Hôte", Ministry: "interieur"}
	room, err := e.createRoom(host)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := e.connect(ctx, host, room)
	if err != nil {
		return err
	}
	defer p.close()
	pubs := []*client{p}
	if audioPubs > 0 {
		p.publishAudio(ctx)
		for i := 1; i < audioPubs; i++ {
			u := identity.User{ID: fmt.Sprintf("up%d", i), Email: fmt.Sprintf("p%d@interieur.gouv.fr", i), Ministry: "interieur"}
			q, err := e.connect(ctx, u, room)
			if err != nil {
				return err
			}
			defer q.close()
			q.publishAudio(ctx)
			pubs = append(pubs, q)
		}
	} else {
		p.publish(ctx, kbps)
	}
	sentAll := func() int64 {
		var t int64
		for _, q := range pubs {
			t += q.sent.Load()
		}
		return t
	}

	subs := make([]*client, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := identity.User{ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("a%d@interieur.gouv.fr", i), Ministry: "interieur"}
			c, err := e.connect(ctx, u, room)
			if err != nil {
				errs <- err
				return
			}
			subs[i] = c
			select {
			case <-c.flowing:
			case <-time.After(60 * time.Second):
				errs <- errors.New("subscriber received no media within 60 s")
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
	cpu0, _ := procCPU(pid)
	m0, _ := e.metrics()
	recv0 := received(subs)
	sent0 := sentAll()
	start := time.Now()
	time.Sleep(window)
	el := time.Since(start)
	cpu1, _ := procCPU(pid)
	m1, _ := e.metrics()
	recv1 := received(subs)
	sent1 := sentAll()

	outPkts := m1["bureau_meet_rtp_packets_sent_total"] - m0["bureau_meet_rtp_packets_sent_total"]
	streams := m1["bureau_meet_forwards"]
	cores := (cpu1 - cpu0).Seconds() / el.Seconds()
	expected := float64(sent1-sent0) * float64(n)
	loss := 0.0
	if expected > 0 {
		loss = 1 - float64(recv1-recv0)/expected
	}
	rss, _ := procRSS(pid)
	fmt.Printf("%6d %8.0f %10.0f %8.3f %10.2f %10.1f %8.1f %9.2f%%\n", n, streams, outPkts/el.Seconds(), cores,
		cores*1000/streams, (cpu1-cpu0).Seconds()*1e6/outPkts, float64(rss)/(1<<20), loss*100)
	return nil
}

func received(cs []*client) int64 {
	var t int64
	for _, c := range cs {
		t += c.packets.Load()
	}
	return t
}

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
	tok, _, _ := e.signer.Sign(u, "meet")
	return http.Header{identity.Header: {tok}}
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

func loopbackAPI() *webrtc.API {
	m := &webrtc.MediaEngine{}
	_ = m.RegisterDefaultCodecs()
	ir := &interceptor.Registry{}
	_ = webrtc.RegisterDefaultInterceptors(m, ir)
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
}

func (e *env) connect(ctx context.Context, u identity.User, room string) (*client, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+e.addr+"/api/meet/rooms/"+room+"/ws", e.header(u))
	if err != nil {
		return nil, err
	}
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &client{ws: ws, pc: pc, flowing: make(chan struct{})}
	pc.OnICECandidate(func(ci *webrtc.ICECandidate) {
		if ci != nil {
			j := ci.ToJSON()
			c.write(msignal.Message{Type: msignal.TypeCandidate, Candidate: &msignal.Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}})
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			if c.packets.Add(1) == 50 {
				c.once.Do(func() { close(c.flowing) })
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
