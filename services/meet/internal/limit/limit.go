// Package limit is a token bucket: what a participant may send to the
// room (chat, questions, reactions, hand) at a sustained rate with bursts.
package limit

import (
	"sync"
	"time"
)

// Bucket holds up to burst tokens, refilled at rate per second; each
// allowed event takes one. Safe for concurrent use.
type Bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// New returns a full bucket.
func New(perSecond float64, burst int) *Bucket {
	return &Bucket{rate: perSecond, burst: float64(burst), tokens: float64(burst)}
}

// Allow takes a token at now if one is left.
func (b *Bucket) Allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		if d := now.Sub(b.last).Seconds(); d > 0 {
			b.tokens = min(b.burst, b.tokens+d*b.rate)
		}
	}
	if now.After(b.last) {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
