package notifier

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"bureau/services/platform/bus"
)

func woken(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// Two replicas on one bus: a Notify on one wakes the listeners of the
// same user on the other, and only those.
func TestRelayWakesOtherReplica(t *testing.T) {
	b := bus.NewMemory(bus.MemoryOptions{})
	t.Cleanup(func() { b.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, z := New(), New()
	for _, n := range []*Notifier{a, z} {
		if err := n.Relay(t.Context(), NewRelay(b, log)); err != nil {
			t.Fatal(err)
		}
	}
	bob, carol := z.Listen("@bob:x"), z.Listen("@carol:x")
	local := a.Listen("@bob:x")
	a.Notify("@bob:x")
	if !woken(local) || !woken(bob) {
		t.Fatal("bob not woken on both replicas")
	}
	select {
	case <-carol:
		t.Fatal("carol woken")
	default:
	}
	// A dead bus costs the other replicas their wake-ups, never this one.
	b.Close()
	again := a.Listen("@bob:x")
	a.Notify("@bob:x")
	if !woken(again) {
		t.Fatal("local wake-up lost with the bus")
	}
}
