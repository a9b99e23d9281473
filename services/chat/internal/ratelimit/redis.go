package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcra is the generic cell rate algorithm, the token bucket kept as one
// number per key: the theoretical arrival time (TAT) of the next action,
// in microseconds of the Redis server's clock (one clock for every
// replica, whatever their skew). An action is allowed when, once counted,
// the TAT is at most burst emission intervals ahead of now. One script, so
// that read-check-write is atomic across replicas.
//
// KEYS[1] the key; ARGV[1] the emission interval (µs), ARGV[2] the burst.
// Returns {1, 0} when allowed, {0, µs to wait} when not.
var gcra = redis.NewScript(`
redis.replicate_commands() -- TIME then SET: effects replication (default since Redis 5)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new = tat + interval
local wait = new - burst * interval - now
if wait > 0 then return {0, wait} end
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1)
return {1, 0}
`)

// Redis is a token bucket per key shared by every process using the same
// Redis and prefix.
type Redis struct {
	rdb      redis.UniversalClient
	prefix   string
	interval int64 // µs between two actions at the steady rate
	burst    int64
	log      *slog.Logger
	warned   atomic.Int64 // unix seconds of the last warning
}

// NewRedis returns a limiter of perSecond actions with bursts of burst,
// its state under prefix in Redis; Unlimited when perSecond <= 0.
func NewRedis(rdb redis.UniversalClient, prefix string, perSecond float64, burst int, log *slog.Logger) Limiter {
	if perSecond <= 0 {
		return Unlimited{}
	}
	return &Redis{rdb: rdb, prefix: prefix, interval: max(int64(1e6/perSecond), 1), burst: int64(max(burst, 1)), log: log}
}

// Allow implements Limiter. When Redis fails the action is allowed (and
// logged): an outage of the limiter must not stop the chat.
func (l *Redis) Allow(ctx context.Context, key string) (bool, time.Duration) {
	res, err := gcra.Run(ctx, l.rdb, []string{l.prefix + key}, l.interval, l.burst).Int64Slice()
	if err != nil || len(res) != 2 {
		// One warning a minute, not one per send.
		if now, last := time.Now().Unix(), l.warned.Load(); !errors.Is(ctx.Err(), context.Canceled) && now-last >= 60 && l.warned.CompareAndSwap(last, now) {
			l.log.Warn("chat: rate limiter unavailable, allowing sends", "err", err)
		}
		return true, 0
	}
	if res[0] == 1 {
		return true, 0
	}
	return false, max(time.Duration(res[1])*time.Microsecond, time.Millisecond)
}
