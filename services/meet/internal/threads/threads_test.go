package threads

import (
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	cases := []struct {
		name           string
		n, max         int
		used           float64
		low            int
		wantN, wantLow int
	}{
		{"one busy thread grows", 1, 2, 0.8, 0, 2, 0},
		{"one thread, light load stays", 1, 2, 0.5, 0, 1, 0},
		{"at the ceiling stays", 2, 2, 1.9, 0, 2, 0},
		{"grows one at a time", 2, 8, 1.5, 0, 3, 0},
		{"low load counts before shrinking", 2, 2, 0.3, 5, 2, 6},
		{"shrinks after the hold", 2, 2, 0.3, downHold - 1, 1, 0},
		{"a busy sample resets the count", 2, 2, 0.9, downHold - 1, 2, 0},
		// A webinar's joins grew the threads; its forwarding takes 0.45
		// of one thread, 0.62 on two: that is not a reason to keep two.
		{"the second thread's own cost does not keep it", 2, 2, 0.62, downHold - 1, 1, 0},
		{"never below one", 1, 2, 0, downHold, 1, 0},
	}
	for _, c := range cases {
		n, low := decide(c.n, c.max, c.used, c.low)
		if n != c.wantN || low != c.wantLow {
			t.Errorf("%s: decide(%d, %d, %.2f, %d) = %d, %d; want %d, %d", c.name, c.n, c.max, c.used, c.low, n, low, c.wantN, c.wantLow)
		}
	}
}

// TestFollowsLoad runs the sampler on a CPU clock the test drives: the
// process's GOMAXPROCS goes to one thread, grows while the load is high,
// comes back down after a quiet spell, and is restored by the last
// release (and left alone while another user still holds it).
func TestFollowsLoad(t *testing.T) {
	max := runtime.GOMAXPROCS(0)
	if max < 2 {
		t.Skip("one CPU: nothing to size")
	}
	t.Setenv("GOMAXPROCS", "")
	var busy atomic.Int64 // CPU cores the fake clock says the process uses
	// CPU time advances with wall time times the busy cores.
	var mu sync.Mutex
	var cpuNow time.Duration
	last := time.Now()
	cpu := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		cpuNow += time.Duration(float64(now.Sub(last)) * float64(busy.Load()) / 100)
		last = now
		return cpuNow
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	every := 5 * time.Millisecond
	release := acquire(log, cpu, every)
	second := acquire(log, cpu, every)
	waitFor := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for runtime.GOMAXPROCS(0) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: GOMAXPROCS = %d, want %d", what, runtime.GOMAXPROCS(0), want)
			}
			time.Sleep(every)
		}
	}
	waitFor(1, "at start")
	busy.Store(95) // 0.95 core on one thread
	waitFor(2, "under load")
	busy.Store(10)
	waitFor(1, "after a quiet spell")
	second()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("a release while another user holds the sizer changed GOMAXPROCS to %d", got)
	}
	release()
	if got := runtime.GOMAXPROCS(0); got != max {
		t.Fatalf("after the last release GOMAXPROCS = %d, want %d restored", got, max)
	}
}

func TestEnvironmentWins(t *testing.T) {
	max := runtime.GOMAXPROCS(0)
	t.Setenv("GOMAXPROCS", "2")
	release := acquire(slog.New(slog.NewTextHandler(io.Discard, nil)), cpuTime, time.Millisecond)
	defer release()
	if got := runtime.GOMAXPROCS(0); got != max {
		t.Fatalf("GOMAXPROCS set by the operator: changed to %d", got)
	}
}

func TestCPUTimeAdvances(t *testing.T) {
	a := cpuTime()
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for cpuTime() <= a {
		if time.Now().After(deadline) {
			t.Fatal("the process's CPU time did not advance while it computed")
		}
		for i := range 1_000_000 {
			x ^= i
		}
	}
	_ = x
}
