package chat_test

import (
	"os"
	"sync"
	"testing"
	"time"

	"bureau/services/chat"
)

// TestMeasureUnreadCount measures the cost of exact unread counts: 5000
// unread messages, counted from scratch (cold cache) and then from the
// cache. Not part of the normal run (about 10 s): MEASURE_UNREAD=1
// go test -run TestMeasureUnreadCount -v ./services/chat/
func TestMeasureUnreadCount(t *testing.T) {
	if os.Getenv("MEASURE_UNREAD") == "" {
		t.Skip("set MEASURE_UNREAD=1 to measure")
	}
	const n = 5000
	e := newEnv(t, func(c *chat.Config) { c.RateLimit.PerSecond = 0 })
	ctx := t.Context()
	a, b, _, room := sharingAgents(t, e)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n / 8 {
				if _, err := b.SendText(ctx, room.RoomID, "message"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, what := range []string{"cold", "cached"} {
		t0 := time.Now()
		s, err := a.SyncRequest(ctx, 0, "", "", false, "")
		if err != nil {
			t.Fatal(err)
		}
		got := s.Rooms.Join[room.RoomID].UnreadNotifications.NotificationCount
		t.Logf("initial sync, %s unread cache: %v (notification_count %d)", what, time.Since(t0), got)
		if got != n {
			t.Fatalf("notification_count %d, want %d", got, n)
		}
	}
}
