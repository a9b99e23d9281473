package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bureau/services/platform/testenv"
)

func TestLimiter(t *testing.T) {
	ctx := t.Context()
	now := time.Unix(0, 0)
	l := New(2, 3, func() time.Time { return now }).(*Memory)
	for i := range 3 {
		if ok, _ := l.Allow(ctx, "a"); !ok {
			t.Fatalf("burst refused at %d", i)
		}
	}
	ok, wait := l.Allow(ctx, "a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: %v %v", ok, wait)
	}
	if ok, _ := l.Allow(ctx, "b"); !ok {
		t.Fatal("another key limited")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.Allow(ctx, "a"); !ok {
		t.Fatal("refilled token refused")
	}
	if ok, _ := l.Allow(ctx, "a"); ok {
		t.Fatal("steady rate exceeded")
	}
	// Idle keys are forgotten once there are many.
	for i := range maxKeys + 5 {
		l.Allow(ctx, fmt.Sprint(i))
	}
	now = now.Add(time.Hour)
	l.Allow(ctx, "new")
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets kept", len(l.buckets))
	}
	if ok, _ := New(0, 0, time.Now).Allow(ctx, "x"); !ok {
		t.Fatal("disabled limiter refused")
	}
}

// Two limiters on one Redis (two replicas) share one budget per key: what
// one allowed, the other does not allow again.
func TestRedisShared(t *testing.T) {
	ctx := t.Context()
	rd := testenv.StartRedis(t)
	var ls []Limiter
	for range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: rd.Addr})
		t.Cleanup(func() { rdb.Close() })
		ls = append(ls, NewRedis(rdb, "test:rl:", 1.0/3600, 3, slog.Default()))
	}
	a, b := ls[0], ls[1]
	for i, l := range []Limiter{a, b, a} {
		if ok, _ := l.Allow(ctx, "alice"); !ok {
			t.Fatalf("burst refused at %d", i)
		}
	}
	for _, l := range ls {
		ok, wait := l.Allow(ctx, "alice")
		if ok || wait < 59*time.Minute || wait > time.Hour {
			t.Fatalf("over the shared burst: %v %v", ok, wait)
		}
	}
	if ok, _ := b.Allow(ctx, "bob"); !ok {
		t.Fatal("another key limited")
	}
	// The steady rate refills the shared bucket: 20/s, burst 1.
	fast := NewRedis(redis.NewClient(&redis.Options{Addr: rd.Addr}), "test:rl2:", 20, 1, slog.Default())
	if ok, _ := fast.Allow(ctx, "k"); !ok {
		t.Fatal("first refused")
	}
	ok, wait := fast.Allow(ctx, "k")
	if ok || wait <= 0 || wait > 50*time.Millisecond {
		t.Fatalf("second: %v %v", ok, wait)
	}
	deadline := time.Now().Add(5 * time.Second)
	for ok, _ := fast.Allow(ctx, "k"); !ok; ok, _ = fast.Allow(ctx, "k") {
		if time.Now().After(deadline) {
			t.Fatal("bucket never refilled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Redis down: actions are allowed rather than the chat stopped.
func TestRedisDownAllows(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	l := NewRedis(rdb, "x:", 1, 1, slog.New(slog.DiscardHandler))
	for range 3 {
		if ok, _ := l.Allow(t.Context(), "k"); !ok {
			t.Fatal("refused with Redis down")
		}
	}
}

// BenchmarkRedisAllow is the cost a shared limit adds to each send (one
// script call, one round trip).
func BenchmarkRedisAllow(b *testing.B) {
	rd := testenv.StartRedis(b)
	rdb := redis.NewClient(&redis.Options{Addr: rd.Addr})
	defer rdb.Close()
	l := NewRedis(rdb, "bench:", 1e9, 1000, slog.Default())
	ctx := context.Background()
	for b.Loop() {
		l.Allow(ctx, "k")
	}
}
