package clientapi

import (
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
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
// Sessions are rows of the database (10 minutes), so that the fallback
// page and the retried request may reach any replica.

const uiaTTL = 10 * time.Minute

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
	ctx := r.Context()
	now := a.now().UnixMilli()
	known := false // req.Session is a live session of this user
	if req.Session != "" {
		s, err := a.store.UIASession(ctx, req.Session, now)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		known = err == nil && s.UserID == dev.UserID
		if known && s.Completed {
			// Taking it is atomic: a session authorises one operation.
			ok, err := a.store.TakeUIASession(ctx, req.Session, dev.UserID, now)
			if err != nil || ok {
				return ok, err
			}
			known = false
		}
	}
	if req.Type == "m.login.token" && req.Token != "" {
		userID, err := a.store.TakeLoginToken(ctx, hashToken(req.Token), now)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
		if err == nil && userID == dev.UserID {
			if known {
				if err := a.store.DeleteUIASession(ctx, req.Session); err != nil {
					return false, err
				}
			}
			return true, nil
		}
	}
	id := req.Session
	if !known {
		id = newToken("uia_")
		if err := a.store.AddUIASession(ctx, id, dev.UserID, now, now+uiaTTL.Milliseconds()); err != nil {
			return false, err
		}
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
	s, err := a.store.UIASession(r.Context(), session, a.now().UnixMilli())
	if errors.Is(err, store.ErrNotFound) {
		err = errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown or expired session")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	agent, ok := identity.FromContext(r.Context())
	if !ok {
		http.Redirect(w, r, "/auth/login?redirect="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	u, err := a.store.User(r.Context(), s.UserID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	same := err == nil && u.BureauID == agent.ID
	if same {
		if same, err = a.store.CompleteUIASession(r.Context(), session, s.UserID, a.now().UnixMilli()); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'")
	if !same {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<!doctype html><title>Bureau</title><p>Ce compte ProConnect n'est pas celui de la session Matrix ` + html.EscapeString(s.UserID) + `.</p>`))
		return
	}
	w.Write([]byte(`<!doctype html><title>Bureau</title><p>Authentification confirmée. Vous pouvez fermer cette fenêtre.</p>
<script>if (window.onAuthDone) { window.onAuthDone(); } else if (window.opener && window.opener.postMessage) { window.opener.postMessage("authDone", "*"); }</script>`))
}
