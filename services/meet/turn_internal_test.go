package meet

import (
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/pion/turn/v5"
)

func TestTURNAuth(t *testing.T) {
	now := time.Unix(1700000000, 0)
	auth := turnAuth("s3cret", func() time.Time { return now })
	u, p := TURNCredentials("s3cret", "uagent", now.Add(time.Hour))
	user, key, ok := auth(&turn.RequestAttributes{Username: u, Realm: "r"})
	if !ok || user != "uagent" || !bytes.Equal(key, turn.GenerateAuthKey(u, "r", p)) {
		t.Fatalf("valid credentials: %v %q", ok, user)
	}
	// Another secret derives another key: the integrity check fails.
	_, other := TURNCredentials("other", "uagent", now.Add(time.Hour))
	if bytes.Equal(key, turn.GenerateAuthKey(u, "r", other)) {
		t.Fatal("key independent of the secret")
	}
	expired, _ := TURNCredentials("s3cret", "uagent", now.Add(-time.Second))
	for _, name := range []string{expired, "uagent", "abc:uagent", "1800000000:"} {
		if _, _, ok := auth(&turn.RequestAttributes{Username: name, Realm: "r"}); ok {
			t.Errorf("%q accepted", name)
		}
	}
	allow, deny := turnPeerAllowed(true), turnPeerAllowed(false)
	for ip, want := range map[string]bool{"127.0.0.1": false, "0.0.0.0": false, "169.254.1.1": false, "224.0.0.251": false, "192.0.2.10": true} {
		if got := deny(nil, net.ParseIP(ip)); got != want {
			t.Errorf("peer %s: %v", ip, got)
		}
	}
	if !allow(nil, net.ParseIP("127.0.0.1")) {
		t.Error("loopback refused when allowed")
	}
}
