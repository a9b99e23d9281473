package session

import (
	"context"
	"sync"
	"time"
)

// Memory is the embedded store: a map with expiries, swept lazily.
type Memory struct {
	mu       sync.Mutex
	sessions map[string]memEntry[Session]
	logins   map[string]memEntry[Login]
	now      func() time.Time
	ops      int
}

type memEntry[T any] struct {
	v   T
	exp time.Time
}

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{sessions: map[string]memEntry[Session]{}, logins: map[string]memEntry[Login]{}, now: time.Now}
}

func (m *Memory) sweep() {
	// Every 1024 writes, drop expired entries so abandoned sessions do not
	// accumulate; amortised O(1).
	m.ops++
	if m.ops%1024 != 0 {
		return
	}
	now := m.now()
	for k, e := range m.sessions {
		if now.After(e.exp) {
			delete(m.sessions, k)
		}
	}
	for k, e := range m.logins {
		if now.After(e.exp) {
			delete(m.logins, k)
		}
	}
}

func (m *Memory) Create(_ context.Context, s Session, ttl time.Duration) (string, error) {
	id := NewID()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	m.sessions[Hash(id)] = memEntry[Session]{s, m.now().Add(ttl)}
	return id, nil
}

func (m *Memory) Get(_ context.Context, key string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.sessions[key]
	if !ok || m.now().After(e.exp) {
		return Session{}, ErrNotFound
	}
	return e.v, nil
}

func (m *Memory) Touch(_ context.Context, key string, s Session, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[key]; !ok {
		return ErrNotFound
	}
	m.sessions[key] = memEntry[Session]{s, m.now().Add(ttl)}
	return nil
}

func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.sessions, key)
	m.mu.Unlock()
	return nil
}

func (m *Memory) PutLogin(_ context.Context, l Login, ttl time.Duration) (string, error) {
	id := NewID()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	m.logins[Hash(id)] = memEntry[Login]{l, m.now().Add(ttl)}
	return id, nil
}

func (m *Memory) TakeLogin(_ context.Context, id string) (Login, error) {
	if !validID(id) {
		return Login{}, ErrNotFound
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := Hash(id)
	e, ok := m.logins[k]
	delete(m.logins, k)
	if !ok || m.now().After(e.exp) {
		return Login{}, ErrNotFound
	}
	return e.v, nil
}

func (m *Memory) Ping(context.Context) error { return nil }
