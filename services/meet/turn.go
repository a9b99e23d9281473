package meet

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"

	"bureau/services/meet/internal/signal"
)

// TURN credentials, coturn's use-auth-secret scheme (the "TURN REST API"):
// username = "<expiry unix>:<user id>", password =
// base64(HMAC-SHA1(secret, username)). Any TURN server that shares the
// secret (the built-in one, or coturn with --use-auth-secret
// --static-auth-secret) accepts them until the expiry.

// TURNCredentials derives the credentials of userID valid until expiry.
func TURNCredentials(secret, userID string, expiry time.Time) (username, password string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + userID
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// iceServers are what a participant gets in joined: the configured TURN
// URLs with fresh credentials; nothing without a secret.
func (s *Service) iceServers(userID string) []signal.ICEServer {
	t := s.cfg.TURN
	if t.Secret == "" || len(t.URLs) == 0 {
		return nil
	}
	u, p := TURNCredentials(t.Secret, userID, time.Now().Add(t.CredentialTTL))
	return []signal.ICEServer{{URLs: t.URLs, Username: u, Credential: p}}
}

// turnAuth checks time-limited credentials: the username's expiry is in
// the future and the client proved it knows the derived password.
func turnAuth(secret string, now func() time.Time) turn.AuthHandler {
	return func(ra *turn.RequestAttributes) (string, []byte, bool) {
		exp, user, ok := strings.Cut(ra.Username, ":")
		if !ok || user == "" {
			return "", nil, false
		}
		e, err := strconv.ParseInt(exp, 10, 64)
		if err != nil || e < now().Unix() {
			return "", nil, false
		}
		mac := hmac.New(sha1.New, []byte(secret))
		mac.Write([]byte(ra.Username))
		pw := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		return user, turn.GenerateAuthKey(ra.Username, ra.Realm, pw), true
	}
}

// turnPeerAllowed keeps the relay from reaching the node's own loopback,
// unspecified, multicast or link-local addresses (a TURN server is an open
// door into the host's network otherwise); tests allow loopback.
func turnPeerAllowed(allowLoopback bool) turn.PermissionHandler {
	return func(_ net.Addr, ip net.IP) bool {
		switch {
		case ip.IsLoopback():
			return allowLoopback
		case ip.IsUnspecified(), ip.IsMulticast(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
			return false
		}
		return true
	}
}

// startTURN serves the built-in TURN server when a listen address is set.
func startTURN(c TURN, log *slog.Logger) (*turn.Server, []net.Addr, error) {
	if c.UDPListen == "" && c.TCPListen == "" {
		return nil, nil, nil
	}
	relayIP := net.ParseIP(c.RelayIP)
	gen := func() turn.RelayAddressGenerator {
		if c.RelayMinPort > 0 {
			return &turn.RelayAddressGeneratorPortRange{RelayAddress: relayIP, Address: c.RelayBind, MinPort: uint16(c.RelayMinPort), MaxPort: uint16(c.RelayMaxPort)}
		}
		return &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: c.RelayBind}
	}
	cfg := turn.ServerConfig{
		Realm:         c.Realm,
		AuthHandler:   turnAuth(c.Secret, time.Now),
		LoggerFactory: quietLogger{},
	}
	perm := turnPeerAllowed(c.AllowLoopbackPeers)
	var addrs []net.Addr
	closeAll := func() {
		for _, p := range cfg.PacketConnConfigs {
			_ = p.PacketConn.Close()
		}
		for _, l := range cfg.ListenerConfigs {
			_ = l.Listener.Close()
		}
	}
	if c.UDPListen != "" {
		pc, err := net.ListenPacket("udp4", c.UDPListen)
		if err != nil {
			return nil, nil, fmt.Errorf("meet: turn udp: %w", err)
		}
		cfg.PacketConnConfigs = append(cfg.PacketConnConfigs, turn.PacketConnConfig{PacketConn: pc, RelayAddressGenerator: gen(), PermissionHandler: perm})
		addrs = append(addrs, pc.LocalAddr())
	}
	if c.TCPListen != "" {
		l, err := net.Listen("tcp4", c.TCPListen)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("meet: turn tcp: %w", err)
		}
		cfg.ListenerConfigs = append(cfg.ListenerConfigs, turn.ListenerConfig{Listener: l, RelayAddressGenerator: gen(), PermissionHandler: perm})
		addrs = append(addrs, l.Addr())
	}
	srv, err := turn.NewServer(cfg)
	if err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("meet: turn: %w", err)
	}
	log.Info("turn server", "addrs", addrs, "relay_ip", c.RelayIP)
	return srv, addrs, nil
}

// quietLogger drops pion/turn's logs (every refused credential would be
// an error line).
type quietLogger struct{}

func (quietLogger) NewLogger(string) logging.LeveledLogger { return quiet{} }

type quiet struct{}

func (quiet) Trace(string)                  {}
func (quiet) Tracef(string, ...interface{}) {}
func (quiet) Debug(string)                  {}
func (quiet) Debugf(string, ...interface{}) {}
func (quiet) Info(string)                   {}
func (quiet) Infof(string, ...interface{})  {}
func (quiet) Warn(string)                   {}
func (quiet) Warnf(string, ...interface{})  {}
func (quiet) Error(string)                  {}
func (quiet) Errorf(string, ...interface{}) {}
