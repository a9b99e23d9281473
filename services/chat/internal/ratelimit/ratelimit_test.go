package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(2, 3, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("burst refused at %d", i)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: %v %v", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key limited")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refilled token refused")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("steady rate exceeded")
	}
	// Idle keys are forgotten once there are many.
	for i := range maxKeys + 5 {
		l.Allow(fmt.Sprint(i))
	}
	now = now.Add(time.Hour)
	l.Allow("new")
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets kept", len(l.buckets))
	}
	var off *Limiter = New(0, 0, time.Now)
	if ok, _ := off.Allow("x"); !ok {
		t.Fatal("disabled limiter refused")
	}
}
