package meet

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	pconfig "bureau/services/platform/config"
	"bureau/services/platform/service"
)

// EnvPrefix prefixes the environment overrides (BUREAU_MEET_LISTEN…).
const EnvPrefix = "BUREAU_MEET_"

// Config is the meet service configuration.
type Config struct {
	service.Common `yaml:",inline"`
	ICE            ICE   `yaml:"ice" envPrefix:"ICE_"`
	TURN           TURN  `yaml:"turn" envPrefix:"TURN_"`
	Rooms          Rooms `yaml:"rooms" envPrefix:"ROOMS_"`
	Database       struct {
		// URL: sqlite:///path/meet.db or postgres://…; empty: in memory,
		// meetings lost at exit (development only).
		URL string `yaml:"url" env:"URL"`
	} `yaml:"database" envPrefix:"DATABASE_"`
	Redis struct {
		// URL of the Redis shared by the meet nodes (room placement);
		// empty: a single node, placement in memory.
		URL string `yaml:"url" env:"URL"`
	} `yaml:"redis" envPrefix:"REDIS_"`
	Placement Placement `yaml:"placement" envPrefix:"PLACEMENT_"`
	Media     Media     `yaml:"media" envPrefix:"MEDIA_"`
	// Limits are per-participant rate limits on what a participant sends
	// to the room (token buckets; over the limit: an error, not a
	// disconnect).
	Limits Limits `yaml:"limits" envPrefix:"LIMITS_"`
}

// Limits are the rate limits of in-meeting messages.
type Limits struct {
	Chat     Rate `yaml:"chat" envPrefix:"CHAT_"`
	Question Rate `yaml:"question" envPrefix:"QUESTION_"`
	Reaction Rate `yaml:"reaction" envPrefix:"REACTION_"`
	Hand     Rate `yaml:"hand" envPrefix:"HAND_"`
}

// Rate is a token bucket: Burst messages at once, refilled at PerSecond.
type Rate struct {
	PerSecond float64 `yaml:"per_second" env:"PER_SECOND"`
	Burst     int     `yaml:"burst" env:"BURST"`
}

// Placement is how meet nodes sharing a Redis find each other.
type Placement struct {
	// NodeID names this node (default: host name + random suffix).
	NodeID string `yaml:"node_id" env:"NODE_ID"`
	// AdvertiseURL is where the other nodes reach this node's HTTP port
	// (signalling is proxied there), e.g. http://10.0.3.7:8083. Required
	// with redis.url.
	AdvertiseURL string `yaml:"advertise_url" env:"ADVERTISE_URL"`
	// Heartbeat is how often the node refreshes its record and its rooms;
	// both expire after 3 heartbeats, then its rooms are placed anew.
	Heartbeat time.Duration `yaml:"heartbeat" env:"HEARTBEAT"`
}

// Media tunes the forwarding.
type Media struct {
	// CongestionControl picks subscribers' simulcast layers: "gcc" (the
	// default: a send-side estimate from transport-wide CC feedback) or
	// "loss" (from the loss of RTCP receiver reports only: no per-packet
	// estimator cost).
	CongestionControl string `yaml:"congestion_control" env:"CONGESTION_CONTROL"`
	// Threads is how the process's scheduler threads (GOMAXPROCS) are
	// sized: "adaptive" (the default) runs on one while one is enough and
	// adds threads, up to the CPUs the process may use, when its load
	// needs them — the SFU forwards a packet for a third less CPU on one
	// thread (docs/meet.md); "fixed" leaves Go's choice (every CPU, the
	// container's limit, or the GOMAXPROCS variable). The all-in-one
	// process uses "fixed": the other services share its threads.
	Threads string `yaml:"threads" env:"THREADS"`
}

// ICE is how media reaches the node.
type ICE struct {
	// UDPListen is the one UDP port all media shares (UDP mux), e.g.
	// "0.0.0.0:7882"; empty gives each connection an ephemeral port (the
	// embedded default, fine on a laptop, not behind a firewall).
	UDPListen string `yaml:"udp_listen" env:"UDP_LISTEN"`
	// TCPListen is the ICE-TCP port for clients whose UDP is blocked,
	// e.g. "0.0.0.0:7881" (media over TCP, passive candidates); empty:
	// none (TURN over TCP remains).
	TCPListen string `yaml:"tcp_listen" env:"TCP_LISTEN"`
	// NAT1To1IPs are the public IPv4 addresses of a node behind 1:1 NAT,
	// advertised in place of its own.
	NAT1To1IPs []string `yaml:"nat_1to1_ips" env:"NAT_1TO1_IPS" envSeparator:","`
	// LoopbackOnly offers and accepts only 127.0.0.1 candidates (tests).
	LoopbackOnly bool `yaml:"loopback_only" env:"LOOPBACK_ONLY"`
}

// TURN: the credentials given to clients, and the built-in TURN server
// (pion/turn) when a listen address is set.
type TURN struct {
	// Secret derives time-limited credentials, coturn's use-auth-secret
	// scheme, so an external coturn can replace the built-in server.
	Secret        string        `yaml:"secret" env:"SECRET"`
	Realm         string        `yaml:"realm" env:"REALM"`
	URLs          []string      `yaml:"urls" env:"URLS" envSeparator:","`
	CredentialTTL time.Duration `yaml:"credential_ttl" env:"CREDENTIAL_TTL"`
	// UDPListen and TCPListen start the built-in server ("0.0.0.0:3478");
	// empty: no built-in server (an external coturn with the same secret).
	UDPListen string `yaml:"udp_listen" env:"UDP_LISTEN"`
	TCPListen string `yaml:"tcp_listen" env:"TCP_LISTEN"`
	// RelayIP is the address relays are advertised at (the node's public
	// IPv4); RelayBind is where they are opened (default 0.0.0.0).
	RelayIP   string `yaml:"relay_ip" env:"RELAY_IP"`
	RelayBind string `yaml:"relay_bind" env:"RELAY_BIND"`
	// RelayMinPort–RelayMaxPort is the relay port range to open in the
	// firewall (0: ephemeral ports).
	RelayMinPort int `yaml:"relay_min_port" env:"RELAY_MIN_PORT"`
	RelayMaxPort int `yaml:"relay_max_port" env:"RELAY_MAX_PORT"`
	// AllowLoopbackPeers lets relays reach 127.0.0.0/8 (tests only).
	AllowLoopbackPeers bool `yaml:"allow_loopback_peers" env:"ALLOW_LOOPBACK_PEERS"`
}

// Rooms are limits on meetings.
type Rooms struct {
	MaxParticipants int `yaml:"max_participants" env:"MAX_PARTICIPANTS"`
	// ResumeGrace is how long a participant whose websocket dropped stays
	// in the room (tracks kept) waiting for the client to resume; then they
	// leave. 0: leave at once.
	ResumeGrace time.Duration `yaml:"resume_grace" env:"RESUME_GRACE"`
	// RetentionDays: meetings ended, cancelled or unused for this many
	// days are deleted with their people, guest links and bans (checked
	// every hour). 0: kept forever.
	RetentionDays int `yaml:"retention_days" env:"RETENTION_DAYS"`
}

// Default returns the defaults.
func Default() *Config {
	return &Config{
		Common:    service.DefaultCommon("127.0.0.1:8083"),
		TURN:      TURN{CredentialTTL: 12 * time.Hour, RelayBind: "0.0.0.0"},
		Rooms:     Rooms{MaxParticipants: 100, ResumeGrace: 20 * time.Second, RetentionDays: 90},
		Placement: Placement{Heartbeat: 2 * time.Second},
		Limits: Limits{
			Chat:     Rate{PerSecond: 1, Burst: 10},
			Question: Rate{PerSecond: 0.2, Burst: 3},
			Reaction: Rate{PerSecond: 2, Burst: 10},
			Hand:     Rate{PerSecond: 0.5, Burst: 4},
		},
	}
}

// Validate checks every setting, naming the fields.
func (c *Config) Validate() error {
	var v pconfig.Checker
	c.Check(&v)
	c.CheckMeet(&v)
	return v.Err()
}

// CheckMeet checks the meet-specific settings (the all-in-one validates
// Common itself and calls this for the rest).
func (c *Config) CheckMeet(v *pconfig.Checker) {
	checkListen(v, "ice.udp_listen", c.ICE.UDPListen)
	checkListen(v, "ice.tcp_listen", c.ICE.TCPListen)
	for _, s := range c.ICE.NAT1To1IPs {
		if ip := net.ParseIP(strings.TrimSpace(s)); ip == nil || ip.To4() == nil {
			v.Fail("ice.nat_1to1_ips", "%q is not an IPv4 address", s)
		}
	}
	if c.ICE.LoopbackOnly && len(c.ICE.NAT1To1IPs) > 0 {
		v.Fail("ice.nat_1to1_ips", "cannot be set with ice.loopback_only")
	}
	if cc := c.Media.CongestionControl; cc != "" && cc != "gcc" && cc != "loss" {
		v.Fail("media.congestion_control", "must be gcc or loss, got %q", cc)
	}
	if th := c.Media.Threads; th != "" && th != "adaptive" && th != "fixed" {
		v.Fail("media.threads", "must be adaptive or fixed, got %q", th)
	}
	if c.TURN.Secret != "" {
		if len(c.TURN.Secret) < 16 {
			v.Fail("turn.secret", "must be at least 16 characters")
		}
		v.Require("turn.realm", c.TURN.Realm)
		if len(c.TURN.URLs) == 0 {
			v.Fail("turn.urls", "is required with turn.secret")
		}
	}
	for _, u := range c.TURN.URLs {
		if !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
			v.Fail("turn.urls", "%q must start with turn: or turns:", u)
		}
	}
	v.Positive("turn.credential_ttl", c.TURN.CredentialTTL)
	for name, a := range map[string]string{"turn.udp_listen": c.TURN.UDPListen, "turn.tcp_listen": c.TURN.TCPListen} {
		if a == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			v.Fail(name, "must be host:port, got %q", a)
		}
		if c.TURN.Secret == "" {
			v.Fail(name, "needs turn.secret")
		}
		if ip := net.ParseIP(c.TURN.RelayIP); ip == nil || ip.To4() == nil {
			v.Fail("turn.relay_ip", "must be the IPv4 address relays are reached at, got %q", c.TURN.RelayIP)
		}
	}
	if ip := net.ParseIP(c.TURN.RelayBind); c.TURN.RelayBind != "" && (ip == nil || ip.To4() == nil) {
		v.Fail("turn.relay_bind", "must be an IPv4 address, got %q", c.TURN.RelayBind)
	}
	if lo, hi := c.TURN.RelayMinPort, c.TURN.RelayMaxPort; lo != 0 || hi != 0 {
		if lo < 1024 || hi > 65535 || lo > hi {
			v.Fail("turn.relay_min_port", "relay ports must satisfy 1024 ≤ min ≤ max ≤ 65535, got %d–%d", lo, hi)
		}
	}
	c.checkCluster(v)
	if n := c.Rooms.MaxParticipants; n < 2 || n > 1000 {
		v.Fail("rooms.max_participants", "must be between 2 and 1000, got %d", n)
	}
	if g := c.Rooms.ResumeGrace; g < 0 || g > 5*time.Minute {
		v.Fail("rooms.resume_grace", "must be between 0 and 5m, got %s", g)
	}
	if d := c.Rooms.RetentionDays; d < 0 || d > 36600 {
		v.Fail("rooms.retention_days", "must be between 0 (keep) and 36600, got %d", d)
	}
	for name, r := range map[string]Rate{"limits.chat": c.Limits.Chat, "limits.question": c.Limits.Question, "limits.reaction": c.Limits.Reaction, "limits.hand": c.Limits.Hand} {
		if r.PerSecond <= 0 || r.PerSecond > 1000 {
			v.Fail(name+".per_second", "must be above 0 and at most 1000, got %g", r.PerSecond)
		}
		if r.Burst < 1 || r.Burst > 1000 {
			v.Fail(name+".burst", "must be between 1 and 1000, got %d", r.Burst)
		}
	}
}

func (c *Config) checkCluster(v *pconfig.Checker) {
	if d := c.Database.URL; d != "" && !strings.HasPrefix(d, "sqlite:") && !strings.HasPrefix(d, "postgres://") && !strings.HasPrefix(d, "postgresql://") {
		v.Fail("database.url", "must be sqlite://PATH or postgres://…")
	}
	if c.Redis.URL == "" {
		return
	}
	if !strings.HasPrefix(c.Redis.URL, "redis://") && !strings.HasPrefix(c.Redis.URL, "rediss://") {
		v.Fail("redis.url", "must be redis://… or rediss://…")
	}
	if u, err := url.Parse(c.Placement.AdvertiseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		v.Fail("placement.advertise_url", "must be this node's http(s)://host:port, reachable by the other nodes, got %q", c.Placement.AdvertiseURL)
	}
	if id := c.Placement.NodeID; id != "" && (len(id) > 64 || strings.ContainsAny(id, " :/\t\n")) {
		v.Fail("placement.node_id", "must be 1 to 64 characters without spaces, colons or slashes")
	}
	if h := c.Placement.Heartbeat; h < 50*time.Millisecond || h > time.Minute {
		v.Fail("placement.heartbeat", "must be between 50ms and 1m, got %s", h)
	}
}

// checkListen checks an optional IPv4 host:port listen address.
func checkListen(v *pconfig.Checker, name, a string) {
	if a == "" {
		return
	}
	host, port, err := net.SplitHostPort(a)
	if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 {
		v.Fail(name, "must be host:port with a numeric port, got %q", a)
	} else if ip := net.ParseIP(host); host != "" && (ip == nil || ip.To4() == nil) {
		v.Fail(name, "host must be an IPv4 address or empty, got %q", host)
	}
}
