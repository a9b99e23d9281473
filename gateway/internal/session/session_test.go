package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"bureau/services/platform/identity"
	"bureau/services/platform/testenv"
)

func stores(t *testing.T) map[string]Store {
	r := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { c.Close() })
	return map[string]Store{"memory": NewMemory(), "redis": NewRedis(c, "test:")}
}

func TestStores(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := Session{User: identity.User{ID: "u1", Email: "a@b"}, IDToken: "tok", Created: time.Now().Round(0)}
			id, err := st.Create(ctx, s, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			key := Hash(id)
			got, err := st.Get(ctx, key)
			if err != nil || got.User != s.User || got.IDToken != "tok" {
				t.Fatalf("get: %+v %v", got, err)
			}
			if _, err := st.Get(ctx, Hash(NewID())); !errors.Is(err, ErrNotFound) {
				t.Fatalf("unknown id: %v", err)
			}
			if err := st.Touch(ctx, key, got, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Get(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("after delete: %v", err)
			}
			// A touch never resurrects a deleted session (logout on another replica).
			if err := st.Touch(ctx, key, got, time.Minute); !errors.Is(err, ErrNotFound) {
				t.Fatalf("touch after delete: %v", err)
			}

			lid, err := st.PutLogin(ctx, Login{State: "s", Nonce: "n"}, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			l, err := st.TakeLogin(ctx, lid)
			if err != nil || l.State != "s" {
				t.Fatalf("take login: %+v %v", l, err)
			}
			if _, err := st.TakeLogin(ctx, lid); !errors.Is(err, ErrNotFound) {
				t.Fatalf("login attempt reused: %v", err)
			}
		})
	}
}

func TestStoreKeysAreHashed(t *testing.T) {
	r := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	ctx := context.Background()
	id, _ := NewRedis(c, "k:").Create(ctx, Session{}, time.Minute)
	keys, _ := c.Keys(ctx, "*").Result()
	if len(keys) != 1 || keys[0] != "k:sess:"+Hash(id) {
		t.Fatalf("keys %v: the cookie value must not appear in Redis", keys)
	}
}

func TestManagerTimeouts(t *testing.T) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	mem := NewMemory()
	mem.now = func() time.Time { return now }
	m := &Manager{Store: mem, Idle: 30 * time.Minute, Absolute: 2 * time.Hour, Now: func() time.Time { return now }}
	w := httptest.NewRecorder()
	id, err := m.Start(context.Background(), w, httptest.NewRequest("GET", "/", nil), Session{User: identity.User{ID: "u"}})
	if err != nil {
		t.Fatal(err)
	}
	req := func() *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: id})
		return r
	}
	// Activity every 20 minutes keeps it alive past the idle timeout...
	for i := 0; i < 5; i++ {
		now = now.Add(20 * time.Minute)
		if _, _, err := m.Lookup(req()); err != nil {
			t.Fatalf("active session expired after %d lookups: %v", i, err)
		}
	}
	// ...but not past the absolute timeout.
	now = now.Add(25 * time.Minute) // 2h05 after login
	if _, _, err := m.Lookup(req()); !errors.Is(err, ErrNoSession) {
		t.Fatalf("absolute timeout not enforced: %v", err)
	}
	// Idle timeout.
	id, _ = m.Start(context.Background(), httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), Session{})
	now = now.Add(31 * time.Minute)
	if _, _, err := m.Lookup(req()); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle timeout not enforced: %v", err)
	}
}

func TestStripCookie(t *testing.T) {
	m := &Manager{}
	h := http.Header{"Cookie": {"a=1; bureau_session=secret; b=2", "bureau_session=x"}}
	m.StripCookie(h)
	if got := h.Get("Cookie"); got != "a=1; b=2" {
		t.Fatalf("got %q", got)
	}
}

func TestMain(m *testing.M) { testenv.Main(m) }
