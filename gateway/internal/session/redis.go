package session

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis stores sessions as JSON values with a TTL, so expiry is Redis's job
// and every gateway replica sees the same sessions.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedis uses keys under prefix (e.g. "bureau:gw:").
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	return &Redis{c: c, prefix: prefix}
}

func (r *Redis) skey(key string) string { return r.prefix + "sess:" + key }
func (r *Redis) lkey(id string) string  { return r.prefix + "login:" + Hash(id) }

func (r *Redis) Create(ctx context.Context, s Session, ttl time.Duration) (string, error) {
	id := NewID()
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return id, r.c.Set(ctx, r.skey(Hash(id)), b, ttl).Err()
}

func (r *Redis) Get(ctx context.Context, key string) (Session, error) {
	var s Session
	b, err := r.c.Get(ctx, r.skey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func (r *Redis) Touch(ctx context.Context, key string, s Session, ttl time.Duration) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	// XX: never resurrect a session deleted by a logout on another replica.
	ok, err := r.c.SetArgs(ctx, r.skey(key), b, redis.SetArgs{Mode: "XX", TTL: ttl}).Result()
	if errors.Is(err, redis.Nil) || (err == nil && ok != "OK") {
		return ErrNotFound
	}
	return err
}

func (r *Redis) Delete(ctx context.Context, key string) error {
	return r.c.Del(ctx, r.skey(key)).Err()
}

func (r *Redis) PutLogin(ctx context.Context, l Login, ttl time.Duration) (string, error) {
	id := NewID()
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	return id, r.c.Set(ctx, r.lkey(id), b, ttl).Err()
}

func (r *Redis) TakeLogin(ctx context.Context, id string) (Login, error) {
	var l Login
	if !validID(id) {
		return l, ErrNotFound
	}
	// GETDEL makes the attempt single-use even with two concurrent callbacks.
	b, err := r.c.GetDel(ctx, r.lkey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return l, ErrNotFound
	}
	if err != nil {
		return l, err
	}
	return l, json.Unmarshal(b, &l)
}

func (r *Redis) Ping(ctx context.Context) error { return r.c.Ping(ctx).Err() }
