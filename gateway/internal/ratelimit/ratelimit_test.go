package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bureau/services/platform/testenv"
)

func TestLimiters(t *testing.T) {
	r := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	// Two Redis limiters on one server act as two gateway replicas: they
	// share one allowance.
	shared := []Limiter{NewRedis(c, "rl:"), NewRedis(c, "rl:")}
	for name, ls := range map[string][]Limiter{"memory": {NewMemory()}, "redis": shared} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			lim := PerMinute(5)
			allowed := 0
			for i := 0; i < 8; i++ {
				ok, retry, err := ls[i%len(ls)].Allow(ctx, "ip:1", lim)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					allowed++
				} else if retry <= 0 || retry > time.Minute {
					t.Fatalf("retry after %v", retry)
				}
			}
			if allowed != 5 {
				t.Fatalf("allowed %d of 8 with a burst of 5", allowed)
			}
			if ok, _, _ := ls[0].Allow(ctx, "ip:2", lim); !ok {
				t.Fatal("another key was limited")
			}
		})
	}
}
