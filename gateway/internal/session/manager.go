package session

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Manager ties the store to the browser cookie and enforces the idle and
// absolute timeouts.
type Manager struct {
	Store    Store
	Idle     time.Duration
	Absolute time.Duration
	// Secure marks cookies Secure and uses the __Host- prefix, which
	// browsers only accept over HTTPS with Path=/ and no Domain: a
	// subdomain cannot plant or overwrite the session cookie.
	Secure bool
	Now    func() time.Time
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// CookieName is the session cookie's name.
func (m *Manager) CookieName() string {
	if m.Secure {
		return "__Host-bureau_session"
	}
	return "bureau_session"
}

// Start opens a new session for s and sets its cookie. A session the
// browser already had is deleted: the id always changes at login, which
// defeats session fixation.
func (m *Manager) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, s Session) (string, error) {
	if c, err := r.Cookie(m.CookieName()); err == nil && validID(c.Value) {
		_ = m.Store.Delete(ctx, Hash(c.Value))
	}
	now := m.now()
	s.Created, s.LastSeen = now, now
	id, err := m.Store.Create(ctx, s, m.Idle)
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name: m.CookieName(), Value: id, Path: "/",
		HttpOnly: true, Secure: m.Secure, SameSite: http.SameSiteLaxMode,
	})
	return id, nil
}

// ErrNoSession means the request has no valid session.
var ErrNoSession = errors.New("session: none")

// Lookup returns the request's session and its key (the hash of the cookie
// value), refreshing its idle expiry at most once a minute (so a busy
// browser does not write to the store on every request).
func (m *Manager) Lookup(r *http.Request) (Session, string, error) {
	c, err := r.Cookie(m.CookieName())
	if err != nil || !validID(c.Value) {
		return Session{}, "", ErrNoSession
	}
	ctx := r.Context()
	key := Hash(c.Value)
	s, err := m.Store.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return Session{}, "", ErrNoSession
	}
	if err != nil {
		return Session{}, "", err
	}
	now := m.now()
	if now.Sub(s.Created) > m.Absolute {
		_ = m.Store.Delete(ctx, key)
		return Session{}, "", ErrNoSession
	}
	if now.Sub(s.LastSeen) > time.Minute {
		s.LastSeen = now
		ttl := min(m.Idle, m.Absolute-now.Sub(s.Created))
		if err := m.Store.Touch(ctx, key, s, ttl); errors.Is(err, ErrNotFound) {
			return Session{}, "", ErrNoSession
		}
	}
	return s, key, nil
}

// End deletes the request's session and clears the cookie; it returns the
// ended session (its ID token is the IdP logout hint).
func (m *Manager) End(w http.ResponseWriter, r *http.Request) (Session, bool) {
	m.clear(w)
	c, err := r.Cookie(m.CookieName())
	if err != nil || !validID(c.Value) {
		return Session{}, false
	}
	key := Hash(c.Value)
	s, err := m.Store.Get(r.Context(), key)
	_ = m.Store.Delete(r.Context(), key)
	return s, err == nil
}

func (m *Manager) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: m.CookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: m.Secure, SameSite: http.SameSiteLaxMode,
	})
}

// StripCookie removes the session cookie from a request forwarded to a
// service: services get a short-lived identity token instead and never see
// a credential they could replay against the gateway.
func (m *Manager) StripCookie(h http.Header) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	name := m.CookieName() + "="
	var kept []string
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			part = strings.TrimSpace(part)
			if part != "" && !strings.HasPrefix(part, name) {
				kept = append(kept, part)
			}
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}
