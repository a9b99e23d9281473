package meet_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"bureau/services/meet/internal/signal"
)

var ufrag = regexp.MustCompile(`a=ice-ufrag:(\S+)`)

// A subscriber whose network changed asks for an ICE restart: the server
// offers new ICE credentials, the client answers, and media keeps flowing
// on the same tracks without leaving the room.
func TestICERestart(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, pub, sub, _, ks := h.pubSub(ctx)
	first := ""
	for first == "" {
		select {
		case o := <-sub.offered:
			first = ufrag.FindStringSubmatch(o)[1]
		case <-time.After(wait):
			t.Fatal("no offer")
		}
	}
	for len(sub.offered) > 0 {
		<-sub.offered
	}
	sub.send(signal.Message{Type: signal.TypeRestartICE})
	deadline := time.After(wait)
	for {
		var o string
		select {
		case o = <-sub.offered:
		case <-deadline:
			t.Fatal("no ICE restart offer")
		}
		if u := ufrag.FindStringSubmatch(o)[1]; u != first {
			t.Logf("ice-ufrag %s → %s", first, u)
			break
		}
	}
	// Media goes on after the restart (the client answered it).
	for _, k := range ks {
		n := k.packets.Load()
		for k.packets.Load() < n+20 {
			k.next(t)
		}
	}
	if st := sub.pc.ICEConnectionState().String(); st != "connected" && st != "completed" {
		t.Fatalf("ICE state %s after the restart", st)
	}
	sub.send(signal.Message{Type: signal.TypeChat, Text: "toujours là"})
	pub.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "toujours là" })
}
