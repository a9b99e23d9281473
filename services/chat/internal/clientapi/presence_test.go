package clientapi

import (
	"encoding/json"
	"testing"
	"time"

	"bureau/services/chat/internal/store"
)

// Idleness and silence are read from the timestamps: online turns
// unavailable after idleAfter without activity, anything turns offline
// once the syncs stopped for longer than the longest sync plus a grace.
func TestEffectivePresence(t *testing.T) {
	a := &API{cfg: Config{MaxSyncTimeout: 30 * time.Second, PresenceIdle: idleAfter, PresenceGrace: offlineGrace}}
	now := int64(10_000_000_000)
	ms := func(d time.Duration) int64 { return now - d.Milliseconds() }
	for _, c := range []struct {
		state          string
		active, synced time.Duration
		want           string
		current        bool
	}{
		{"online", 0, 0, "online", true},
		{"online", 2 * time.Minute, 0, "online", false},
		{"online", 6 * time.Minute, 0, "unavailable", false},
		{"unavailable", 10 * time.Minute, time.Second, "unavailable", false},
		{"online", 61 * time.Second, 61 * time.Second, "offline", false},
		{"unavailable", time.Hour, 2 * time.Minute, "offline", false},
		{"offline", 0, 0, "offline", false},
	} {
		p := store.Presence{State: c.state, LastActive: ms(c.active), LastSync: ms(c.synced)}
		got := a.presenceContent(p, now)
		if got["presence"] != c.want || (got["currently_active"] == true) != c.current || got["last_active_ago"] != c.active.Milliseconds() {
			t.Errorf("%s active %v ago, synced %v ago: %v, want %s (currently active %v)", c.state, c.active, c.synced, got, c.want, c.current)
		}
	}
}

// FuzzParsePresence: any body is accepted with a valid state and a bounded
// message, or refused with a 400; never a panic.
func FuzzParsePresence(f *testing.F) {
	for _, s := range []string{`{"presence":"online"}`, `{"presence":"unavailable","status_msg":"x"}`, `{"presence":"busy"}`, `{}`, `{"presence":null}`, `{"presence":"online","status_msg":null}`, `{"presence":"offline","status_msg":5}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var body map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &body) != nil {
			return
		}
		state, msg, err := parsePresence(body)
		if err != nil {
			if me, ok := err.(*matrixError); !ok || me.status != 400 {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if !validPresence(state) || len(msg) > maxStatusMsg {
			t.Fatalf("%q accepted as %q %q", s, state, msg)
		}
	})
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"m.presence", "m.presence", true}, {"m.presence", "m.presences", false},
		{"*", "m.presence", true}, {"m.*", "m.presence", true}, {"*.presence", "m.presence", true},
		{"m.*e", "m.presence", true}, {"m.*x*", "m.presence", false}, {"m.*r*s*", "m.presence", true},
		{"im.*", "m.presence", false}, {"m.presence*", "m.presence", true}, {"**", "", true},
	} {
		if got := globMatch(c.pattern, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}
