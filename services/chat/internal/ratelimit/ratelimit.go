// Package ratelimit limits actions per key (per user for event sends): a
// burst, then a steady rate. Memory keeps the buckets in this process (one
// replica, the embedded mode); Redis shares them between all the replicas.
package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"
)

// Limiter limits actions per key.
type Limiter interface {
	// Allow takes a token for key; when none is left it says how long to
	// wait for one.
	Allow(ctx context.Context, key string) (ok bool, wait time.Duration)
}

// Unlimited allows everything (no limit configured).
type Unlimited struct{}

// Allow implements Limiter.
func (Unlimited) Allow(context.Context, string) (bool, time.Duration) { return true, 0 }

// Memory is a token bucket per key in this process.
type Memory struct {
	rate, burst float64
	now         func() time.Time
	mu          sync.Mutex
	buckets     map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns an in-memory limiter of perSecond actions with bursts of
// burst; Unlimited when perSecond <= 0.
func New(perSecond float64, burst int, now func() time.Time) Limiter {
	if perSecond <= 0 {
		return Unlimited{}
	}
	return &Memory{rate: perSecond, burst: float64(max(burst, 1)), now: now, buckets: map[string]*bucket{}}
}

// maxKeys bounds the memory: beyond it, full buckets (idle keys) go.
const maxKeys = 10000

// Allow implements Limiter.
func (l *Memory) Allow(_ context.Context, key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxKeys {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, max(wait, time.Millisecond)
}

func (l *Memory) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}
