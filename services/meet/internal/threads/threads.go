// Package threads sizes the meet process's Go scheduler (GOMAXPROCS) to
// its load: one thread while one is enough, more when the load needs them.
//
// Why: pion hands every packet from goroutine to goroutine (UDP mux → ICE
// → DTLS/SRTP → track reader, and back for RTCP). With one P a hand-off
// puts the next goroutine in that P's run-next slot, on the same thread.
// With a second, idle P, each hand-off wakes another OS thread (futex),
// which spins, steals or finds nothing, and parks again; locks and cache
// lines then bounce between cores. Measured on a 2-core machine
// (docs/meet.md, "CPU and the scheduler"): 1 → 150 costs 7.2 µs of CPU
// per forwarded packet on one P and 9.0 on two, 5 audio → 50 12 against
// 16.7. The SFU's work is not parallel enough at these loads to pay for
// the second thread.
//
// A sampler reads the process's CPU time (getrusage) every second. It adds
// a thread as soon as the threads were busy for upAt of a sample, and
// removes one after downHold samples in a row in which the process used at
// most downAt of one thread fewer: quick to grow (a meeting must not queue
// behind a saturated thread), slower to shrink. downAt is above upAt on
// purpose: the same load costs a third more CPU on n threads than on n−1
// (the hand-offs), so a load that grew the threads in a burst (a webinar's
// 300 joins) and measures 0.6 cores on two needs about 0.45 on one — with
// a lower downAt it would keep the costlier second thread for good. After
// a shrink the load sits at ≈ 0.75 / 1.35 ≈ 0.55 of the threads left,
// below upAt: no flapping. The
// ceiling is GOMAXPROCS as Go set it at start (the CPUs, or the container's
// CPU limit). A GOMAXPROCS variable in the environment is the operator's
// choice: nothing is changed then.
package threads

import (
	"log/slog"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

const (
	upAt     = 0.7
	downAt   = 0.75
	downHold = 10
	interval = time.Second
)

// decide is the policy: the next thread count after a sample in which the
// process used `used` cores on n threads, and how many low samples in a
// row there have been.
func decide(n, max int, used float64, low int) (next, lowNext int) {
	if n < max && used >= upAt*float64(n) {
		return n + 1, 0
	}
	if n > 1 && used <= downAt*float64(n-1) {
		if low+1 >= downHold {
			return n - 1, 0
		}
		return n, low + 1
	}
	return n, 0
}

// The sizer is per process (GOMAXPROCS is): the services that want it
// share one, started by the first and stopped by the last.
var (
	mu    sync.Mutex
	users int
	run   *sizer
)

// Acquire starts sizing the process's threads (once per process; a no-op
// if GOMAXPROCS is set in the environment or the process may use one CPU
// only). The returned function releases it; the last release restores
// the ceiling.
func Acquire(log *slog.Logger) (release func()) {
	return acquire(log, cpuTime, interval)
}

func acquire(log *slog.Logger, cpu func() time.Duration, every time.Duration) func() {
	mu.Lock()
	defer mu.Unlock()
	if users == 0 {
		if v := os.Getenv("GOMAXPROCS"); v != "" {
			log.Info("meet: GOMAXPROCS is set, the scheduler threads are not sized to the load", "gomaxprocs", v)
			return func() {}
		}
		max := runtime.GOMAXPROCS(0)
		if max < 2 {
			return func() {}
		}
		run = start(log, max, cpu, every)
	}
	users++
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if users--; users == 0 {
				run.stop()
				run = nil
			}
		})
	}
}

type sizer struct {
	max  int
	quit chan struct{}
	done chan struct{}
}

func start(log *slog.Logger, max int, cpu func() time.Duration, every time.Duration) *sizer {
	s := &sizer{max: max, quit: make(chan struct{}), done: make(chan struct{})}
	runtime.GOMAXPROCS(1)
	log.Info("meet: scheduler threads sized to the load", "threads", 1, "max", max)
	go s.loop(log, cpu, every)
	return s
}

func (s *sizer) loop(log *slog.Logger, cpu func() time.Duration, every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	n, low := 1, 0
	last, lastAt := cpu(), time.Now()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			c := cpu()
			used := float64(c-last) / float64(now.Sub(lastAt))
			last, lastAt = c, now
			next, l := decide(n, s.max, used, low)
			low = l
			if next != n {
				runtime.GOMAXPROCS(next)
				log.Info("meet: scheduler threads", "threads", next, "was", n, "cpu_cores_used", used)
				n = next
			}
		}
	}
}

// stop ends the sampling and gives the process all its threads back.
func (s *sizer) stop() {
	close(s.quit)
	<-s.done
	runtime.GOMAXPROCS(s.max)
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
