package limit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	b := New(2, 3)
	for i := range 3 {
		if !b.Allow(t0) {
			t.Fatalf("burst: event %d refused", i)
		}
	}
	if b.Allow(t0) {
		t.Fatal("4th event of a burst of 3 allowed")
	}
	// 2 per second: one token every 500 ms.
	if b.Allow(t0.Add(400 * time.Millisecond)) {
		t.Fatal("allowed before a token was refilled")
	}
	if !b.Allow(t0.Add(500 * time.Millisecond)) {
		t.Fatal("refused after a refill")
	}
	// A long pause refills to the burst, no more.
	later := t0.Add(time.Hour)
	n := 0
	for b.Allow(later) {
		n++
	}
	if n != 3 {
		t.Fatalf("after a pause: %d events, want the burst of 3", n)
	}
	// A clock going backwards does not mint tokens.
	if b.Allow(t0) {
		t.Fatal("allowed with an earlier time")
	}
}
