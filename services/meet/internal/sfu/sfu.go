// Package sfu forwards media between the participants of a meeting: one
// PeerConnection per participant, each published track read once and
// written to every subscriber's connection as RTP, never decoded.
//
// The server is the only offerer: a participant asks to publish, the server
// adds receive-only transceivers and offers; a new subscription adds a
// send-only transceiver and offers again. One offerer means no glare, and
// the server checks every publication against the participant's rights
// before a single media packet is accepted.
package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Config is the network side of the SFU.
type Config struct {
	// UDPListen is the single UDP port every PeerConnection shares
	// ("0.0.0.0:7882", "127.0.0.1:0"); empty means an ephemeral port per
	// connection.
	UDPListen string
	// TCPListen is the ICE-TCP port (passive candidates) for clients
	// whose UDP is blocked ("0.0.0.0:7881", "127.0.0.1:0"); empty: none.
	TCPListen string
	// NAT1To1IPs are public addresses advertised instead of the host's own
	// (the node sits behind a 1:1 NAT).
	NAT1To1IPs []string
	// LoopbackOnly gathers, offers and accepts only loopback candidates:
	// tests never reach an address outside 127.0.0.0/8.
	LoopbackOnly bool
	// CongestionControl picks each subscriber's simulcast layers from a
	// send-side bandwidth estimate (transport-wide CC feedback, GCC);
	// without it the loss of the receiver reports decides.
	CongestionControl bool
}

// Stats are cumulative counters, read by metrics and the load tool.
type Stats struct {
	PacketsIn     atomic.Uint64 // RTP packets received from publishers
	BytesIn       atomic.Uint64
	PacketsOut    atomic.Uint64               // RTP packets written to subscribers
	BytesOut      atomic.Uint64               // RTP bytes (header + payload) written to subscribers
	PacketsMuted  atomic.Uint64               // RTP packets of paused (muted) tracks, not forwarded
	PLIsSent      atomic.Uint64               // keyframe requests sent to publishers
	LayerSwitches atomic.Uint64               // simulcast layer switches of subscribers
	BWEDowns      atomic.Uint64               // layer caps lowered by the bandwidth estimate
	NACKs         atomic.Uint64               // packets subscribers asked again for
	Retransmits   atomic.Uint64               // of those, resent from the layer buffers
	RTXSent       atomic.Uint64               // of those, on an RTX repair stream
	PLIsThrottle  atomic.Uint64               // keyframe requests dropped by the throttle
	PacketsLost   atomic.Uint64               // lost packets reported by subscribers (RR cumulative lost, summed increases)
	Peers         atomic.Int64                // open PeerConnections
	Tracks        atomic.Int64                // published tracks being forwarded
	TracksByKind  [NumTrackKinds]atomic.Int64 // of those, by TrackKind
	Forwards      atomic.Int64                // (track, subscriber) pairs
}

// Track kinds of the metrics: a screen share's video is "screen", its
// audio "audio".
const (
	TrackKindAudio = iota
	TrackKindVideo
	TrackKindScreen
	NumTrackKinds
)

// TrackKindNames name the TrackKind indexes (the metrics' kind label).
var TrackKindNames = [NumTrackKinds]string{"audio", "video", "screen"}

// metricKind is t's index in TracksByKind.
func (t *Track) metricKind() int {
	switch {
	case t.Kind == "audio":
		return TrackKindAudio
	case t.Source == "screen":
		return TrackKindScreen
	}
	return TrackKindVideo
}

// addTrack counts t as forwarded (d = 1) or gone (d = -1).
func (s *Stats) addTrack(t *Track, d int64) {
	s.Tracks.Add(d)
	s.TracksByKind[t.metricKind()].Add(d)
}

// SFU owns the WebRTC API shared by all connections of this node.
type SFU struct {
	api   *webrtc.API
	mux   ice.UDPMux
	out   fanout // the mux's sockets, nil without a mux
	tcp   net.Listener
	log   *slog.Logger
	Stats Stats

	// newPeerMu makes NewPeerConnection and the estimator it creates one
	// step: pion reports the estimator to a callback, by an id we do not
	// know yet.
	newPeerMu     sync.Mutex
	lastEstimator *sendSide
	// videoNoRTX are the video codecs offered to publishers.
	videoNoRTX []webrtc.RTPCodecParameters
}

// New prepares the codecs, interceptors and ICE settings, and opens the
// UDP mux when configured.
func New(c Config, log *slog.Logger) (*SFU, error) {
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	// pion's defaults minus two per-packet costs per subscriber: the NACK
	// responder (a copy of every outgoing packet per subscriber: the SFU
	// answers NACKs from one buffer per published layer instead, see
	// ring) and the stats interceptor (unused). Kept: the NACK generator
	// (asks publishers to repair upstream loss), RTCP sender/receiver
	// reports (the latter reading only sender reports: srOnly), TWCC
	// feedback to publishers.
	if err := registerInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("sfu: interceptors: %w", err)
	}
	s := &SFU{log: log, videoNoRTX: videoCodecs(false)}
	if c.CongestionControl {
		if err := s.registerCC(m, ir); err != nil {
			return nil, fmt.Errorf("sfu: congestion control: %w", err)
		}
	}
	se := webrtc.SettingEngine{}
	// mDNS would multicast to 224.0.0.251; an SFU has nothing to hide or
	// resolve.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// SRTP: AES-128-GCM first (pion prefers AES-256-GCM: 14 AES rounds
	// instead of 10 on every packet, for no gain that matters here), then
	// AES-256-GCM, then AES-CM + HMAC-SHA1 (the mandatory one, and by far
	// the dearest in Go) for peers without AEAD. The SFU is the DTLS
	// server with every client (it offers actpass; browsers and pion
	// answer active), so its order decides.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if c.LoopbackOnly {
		loop := func(ip net.IP) bool { return ip.IsLoopback() }
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(loop)
		se.SetRemoteIPFilter(loop)
	}
	if len(c.NAT1To1IPs) > 0 {
		se.SetNAT1To1IPs(c.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	if c.UDPListen != "" {
		mux, out, err := openMux(c)
		if err != nil {
			return nil, err
		}
		s.mux, s.out = mux, out
		se.SetICEUDPMux(mux)
	}
	if c.TCPListen != "" {
		l, err := net.Listen("tcp4", c.TCPListen)
		if err != nil {
			if s.mux != nil {
				_ = s.mux.Close()
			}
			return nil, fmt.Errorf("sfu: tcp_listen: %w", err)
		}
		s.tcp = l
		// 8 packets queued per connection before the reader falls behind.
		se.SetICETCPMux(webrtc.NewICETCPMux(nil, l, 8))
		networks = append(networks, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return s, nil
}

// openMux opens the UDP mux on batched sockets (batchConn): one socket
// for a given address, one per local IPv4 address for an unspecified one
// (a reply must leave from the address the client sent to).
func openMux(c Config) (ice.UDPMux, fanout, error) {
	host, p, err := net.SplitHostPort(c.UDPListen)
	if err != nil {
		return nil, nil, fmt.Errorf("sfu: udp_listen: %w", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return nil, nil, fmt.Errorf("sfu: udp_listen port: %w", err)
	}
	ips := []net.IP{net.ParseIP(host)}
	if host == "" || ips[0].IsUnspecified() {
		if ips, err = localIPv4s(c.LoopbackOnly); err != nil {
			return nil, nil, fmt.Errorf("sfu: udp_listen: %w", err)
		}
	}
	var out fanout
	var muxes []ice.UDPMux
	for _, ip := range ips {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
		if err == nil {
			var bc *batchConn
			if bc, err = newBatchConn(conn); err == nil {
				out = append(out, bc)
				muxes = append(muxes, webrtc.NewICEUDPMux(nil, bc))
				continue
			}
			_ = conn.Close()
		}
		for _, m := range muxes {
			_ = m.Close()
		}
		return nil, nil, fmt.Errorf("sfu: udp_listen %s: %w", ip, err)
	}
	if len(muxes) == 1 {
		return muxes[0], out, nil
	}
	return ice.NewMultiUDPMuxDefault(muxes...), out, nil
}

// localIPv4s are the addresses of the interfaces that are up: unicast,
// not link-local, loopback only when asked (as pion's own multi mux).
func localIPv4s(loopback bool) ([]net.IP, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || (i.Flags&net.FlagLoopback != 0) != loopback {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() && !n.IP.IsMulticast() {
				ips = append(ips, n.IP.To4())
			}
		}
	}
	if len(ips) == 0 {
		return nil, errors.New("no IPv4 address to listen on")
	}
	return ips, nil
}

// fanout are the SFU's batched UDP sockets: a forwarding loop holds them
// while it writes one packet to every subscriber and releases them after,
// which sends the batch (see batchConn).
type fanout []*batchConn

func (f fanout) hold() {
	for _, c := range f {
		c.hold()
	}
}

func (f fanout) release() {
	for _, c := range f {
		c.release()
	}
}

// UDPAddr is the address of the UDP mux when it is a single socket.
func (s *SFU) UDPAddr() net.Addr {
	if s.mux == nil {
		return nil
	}
	if a := s.mux.GetListenAddresses(); len(a) == 1 {
		return a[0]
	}
	return nil
}

// TCPAddr is the ICE-TCP listener's address (nil: none).
func (s *SFU) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// Close releases the UDP mux and the ICE-TCP listener; connections must
// be closed first.
func (s *SFU) Close() error {
	var err error
	if s.tcp != nil {
		err = s.tcp.Close()
	}
	if s.mux != nil {
		err = errors.Join(err, s.mux.Close())
	}
	return err
}

// Codecs: Opus with in-band FEC; VP8 first, H.264; RTX for each video codec.
func videoCodecs(rtx bool) []webrtc.RTPCodecParameters {
	var cs []webrtc.RTPCodecParameters
	for _, c := range []struct {
		mime, fmtp string
		pt         webrtc.PayloadType
	}{
		{webrtc.MimeTypeVP8, "", 96},
		{webrtc.MimeTypeRTX, "apt=96", 97},
		// H.264 constrained baseline (what every browser and hardware
		// encoder has), packetization mode 1, then baseline.
		{webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", 102},
		{webrtc.MimeTypeRTX, "apt=102", 103},
		{webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", 104},
		{webrtc.MimeTypeRTX, "apt=104", 105},
	} {
		if c.mime == webrtc.MimeTypeRTX && !rtx {
			continue
		}
		fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: webrtc.TypeRTCPFBTransportCC}}
		if c.mime == webrtc.MimeTypeRTX {
			fb = nil
		}
		cs = append(cs, webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: c.mime, ClockRate: 90000, SDPFmtpLine: c.fmtp, RTCPFeedback: fb,
		}, PayloadType: c.pt})
	}
	return cs
}

func registerCodecs(m *webrtc.MediaEngine) error {
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
	}, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("sfu: codec opus: %w", err)
	}
	for _, c := range videoCodecs(true) {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("sfu: codec %s: %w", c.MimeType, err)
		}
	}
	// Simulcast: encodings are told apart by mid and rid header extensions.
	for _, uri := range []string{sdp.SDESMidURI, sdp.SDESRTPStreamIDURI, sdp.SDESRepairRTPStreamIDURI} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("sfu: header extension %s: %w", uri, err)
		}
	}
	// Audio levels travel with each packet: the active speaker needs them
	// without decoding.
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("sfu: audio level: %w", err)
	}
	return nil
}

func registerInterceptors(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return err
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(gen)
	if err := registerReports(ir); err != nil {
		return err
	}
	return webrtc.ConfigureTWCCSender(m, ir)
}

// ErrClosed is returned by a closed peer.
var ErrClosed = errors.New("sfu: peer closed")
