// Package ratelimit bounds request rates per key (a user or a client
// address). Memory keeps token buckets in the process (one replica);
// Redis shares them across replicas with the GCRA algorithm of
// go-redis/redis_rate, so a client cannot multiply its allowance by the
// number of gateway replicas.
package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Limit is a steady rate per second with a burst.
type Limit struct {
	Rate  float64
	Burst int
}

// PerMinute is n events a minute with a burst of n.
func PerMinute(n int) Limit { return Limit{Rate: float64(n) / 60, Burst: n} }

// Limiter decides whether one more event is allowed for key.
type Limiter interface {
	// Allow consumes one event; when refused, retry tells when to retry.
	Allow(ctx context.Context, key string, l Limit) (ok bool, retry time.Duration, err error)
}

// Memory is an in-process limiter.
type Memory struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
	calls   int
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewMemory returns an empty in-process limiter.
func NewMemory() *Memory { return &Memory{buckets: map[string]*bucket{}, now: time.Now} }

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (bool, time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	m.calls++
	if m.calls%8192 == 0 {
		// A bucket idle long enough to be full again carries no state.
		for k, b := range m.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(m.buckets, k)
			}
		}
	}
	b, ok := m.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.Rate), l.Burst)}
		m.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	m.mu.Unlock()
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
}

// Redis is a limiter shared by every replica.
type Redis struct {
	l      *redis_rate.Limiter
	prefix string
}

// NewRedis uses c with keys under prefix.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	return &Redis{l: redis_rate.NewLimiter(c), prefix: prefix}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (bool, time.Duration, error) {
	// redis_rate counts per period: express the rate per second, or per
	// minute when it is below one a second (integer rates only).
	lim := redis_rate.Limit{Rate: int(l.Rate), Burst: l.Burst, Period: time.Second}
	if l.Rate < 1 {
		lim = redis_rate.Limit{Rate: int(l.Rate * 60), Burst: l.Burst, Period: time.Minute}
	}
	if lim.Rate < 1 {
		lim.Rate = 1
	}
	res, err := r.l.Allow(ctx, r.prefix+key, lim)
	if err != nil {
		return true, 0, err // fail open: a Redis hiccup must not lock everyone out
	}
	return res.Allowed > 0, res.RetryAfter, nil
}
