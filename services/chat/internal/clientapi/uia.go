package clientapi

import (
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"sync"
	"time"

	"bureau/services/chat/internal/store"
	"bureau/services/platform/identity"
)

// User-interactive authentication, for the operations that need a fresh
// proof of identity (deleting devices, replacing cross-signing keys).
// Passwords do not exist here, so two stages are offered:
//
//   - m.login.sso: the client opens the fallback page
//     /_matrix/client/v3/auth/m.login.sso/fallback/web?session=…; through
//     the gateway the agent's ProConnect session vouches for them (or the
//     page sends them through /auth/login first), which completes the
//     stage;
//   - m.login.token: a fresh login token from the SSO redirect, as after a
//     login.
//
// Sessions live in memory for 10 minutes (per replica).

const uiaTTL = 10 * time.Minute

type uiaSession struct {
	userID    string
	completed bool
	expires   time.Time
}

type uiaSessions struct {
	mu sync.Mutex
	m  map[string]*uiaSession
}

func (u *uiaSessions) get(id string, now time.Time) *uiaSession {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, s := range u.m {
		if now.After(s.expires) {
			delete(u.m, k)
		}
	}
	return u.m[id]
}

func (u *uiaSessions) put(id string, s *uiaSession) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil {
		u.m = map[string]*uiaSession{}
	}
	u.m[id] = s
}

func (u *uiaSessions) del(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, id)
}

func (u *uiaSessions) complete(id, userID string, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.m[id]
	if s == nil || s.userID != userID || now.After(s.expires) {
		return false
	}
	s.completed = true
	return true
}

// checkUIA reports whether auth completes user-interactive authentication;
// when it does not, it has written the 401 with the flows.
func (a *API) checkUIA(w http.ResponseWriter, r *http.Request, dev store.Device, auth json.RawMessage) (bool, error) {
	var req struct {
		Type    string `json:"type"`
		Session string `json:"session"`
		Token   string `json:"token"`
	}
	if len(auth) > 0 && string(auth) != "null" {
		if err := json.Unmarshal(auth, &req); err != nil {
			return false, badJSON("auth: " + err.Error())
		}
	}
	now := a.now()
	s := a.uia.get(req.Session, now)
	if s != nil && s.userID != dev.UserID {
		s = nil
	}
	switch {
	case s != nil && s.completed:
		a.uia.del(req.Session)
		return true, nil
	case req.Type == "m.login.token" && req.Token != "":
		userID, err := a.store.TakeLoginToken(r.Context(), hashToken(req.Token), now.UnixMilli())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		if err == nil && userID == dev.UserID {
			if s != nil {
				a.uia.del(req.Session)
			}
			return true, nil
		}
	}
	id := req.Session
	if s == nil {
		id = newToken("uia_")
		a.uia.put(id, &uiaSession{userID: dev.UserID, expires: now.Add(uiaTTL)})
	}
	body := map[string]any{
		"flows":     []any{map[string]any{"stages": []string{"m.login.sso"}}, map[string]any{"stages": []string{"m.login.token"}}},
		"params":    map[string]any{},
		"session":   id,
		"completed": []string{},
	}
	if req.Type != "" {
		body["errcode"], body["error"] = "M_FORBIDDEN", "Authentication failed"
	}
	writeJSON(w, http.StatusUnauthorized, body)
	return false, nil
}

// uiaFallback is the m.login.sso fallback page: the gateway's session (the
// Bureau-Identity token) proves who the agent is.
func (a *API) uiaFallback(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("stage") != "m.login.sso" {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown authentication stage"))
		return
	}
	session := r.URL.Query().Get("session")
	s := a.uia.get(session, a.now())
	if s == nil {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown or expired session"))
		return
	}
	agent, ok := identity.FromContext(r.Context())
	if !ok {
		http.Redirect(w, r, "/auth/login?redirect="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	u, err := a.store.User(r.Context(), s.userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'")
	if err != nil || u.BureauID != agent.ID || !a.uia.complete(session, s.userID, a.now()) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<!doctype html><title>Bureau</title><p>Ce compte ProConnect n'est pas celui de la session Matrix ` + html.EscapeString(s.userID) + `.</p>`))
		return
	}
	w.Write([]byte(`<!doctype html><title>Bureau</title><p>Authentification confirmée. Vous pouvez fermer cette fenêtre.</p>
<script>if (window.onAuthDone) { window.onAuthDone(); } else if (window.opener && window.opener.postMessage) { window.opener.postMessage("authDone", "*"); }</script>`))
}
