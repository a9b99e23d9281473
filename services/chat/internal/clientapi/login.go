package clientapi

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/matrix-org/gomatrixserverlib"

	"bureau/services/chat/internal/store"
	"bureau/services/platform/identity"
)

// IdentityProvider is the only SSO provider: the gateway's ProConnect
// session.
const IdentityProvider = "proconnect"

func (a *API) versions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"versions":          []string{"v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11"},
		"unstable_features": map[string]bool{},
	})
}

func (a *API) loginFlows(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"flows": []any{
		map[string]any{"type": "m.login.sso", "identity_providers": []any{
			map[string]string{"id": IdentityProvider, "name": "ProConnect"},
		}},
		map[string]any{"type": "m.login.token"},
	}})
}

// ssoRedirect completes SSO at once when the gateway vouches for the agent
// (Bureau-Identity, verified by the service frame); otherwise it sends the
// browser through the gateway's login, which comes back here.
func (a *API) ssoRedirect(w http.ResponseWriter, r *http.Request) {
	if idp := r.PathValue("idp"); idp != "" && idp != IdentityProvider {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown identity provider"))
		return
	}
	target, err := url.Parse(r.URL.Query().Get("redirectUrl"))
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		a.fail(w, r, badParam("redirectUrl must be an absolute http(s) URL"))
		return
	}
	agent, ok := identity.FromContext(r.Context())
	if !ok {
		http.Redirect(w, r, "/auth/login?redirect="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	u, err := a.store.EnsureUser(r.Context(), store.User{
		UserID: "@" + Localpart(agent.Email, agent.ID) + ":" + a.cfg.ServerName, BureauID: agent.ID, DisplayName: agent.DisplayName(),
	}, a.now().UnixMilli())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.SetAffiliation(r.Context(), u.UserID, agent.Ministry, agent.External); err != nil {
		a.fail(w, r, err)
		return
	}
	tok := newToken("bul_")
	if err := a.store.AddLoginToken(r.Context(), hashToken(tok), u.UserID, a.now().Add(a.cfg.LoginTokenTTL).UnixMilli()); err != nil {
		a.fail(w, r, err)
		return
	}
	q := target.Query()
	q.Set("loginToken", tok)
	target.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// Localpart follows Tchap: the email, lowercased, with "@" replaced by "-";
// characters Matrix does not allow become "_".
func Localpart(email, fallback string) string {
	s := strings.ToLower(strings.TrimSpace(email))
	if s == "" {
		s = strings.ToLower(fallback)
	}
	s = strings.ReplaceAll(s, "@", "-")
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', strings.ContainsRune("._=-/+", r):
			return r
		}
		return '_'
	}, s)
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Type                     string `json:"type"`
		Token                    string `json:"token"`
		DeviceID                 string `json:"device_id"`
		InitialDeviceDisplayName string `json:"initial_device_display_name"`
		RefreshToken             bool   `json:"refresh_token"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Type != "m.login.token" {
		a.fail(w, r, errf(http.StatusBadRequest, "M_UNKNOWN", "Unsupported login type: sign in through SSO"))
		return
	}
	userID, err := a.store.TakeLoginToken(r.Context(), hashToken(req.Token), a.now().UnixMilli())
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, errf(http.StatusForbidden, "M_FORBIDDEN", "Invalid or expired login token"))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	dev := store.Device{UserID: userID, DeviceID: req.DeviceID, DisplayName: req.InitialDeviceDisplayName}
	if dev.DeviceID == "" || len(dev.DeviceID) > 64 {
		dev.DeviceID = newDeviceID()
	}
	tokens, sess := a.newSession(req.RefreshToken)
	if err := a.store.PutDeviceSession(r.Context(), dev, sess, a.now().UnixMilli()); err != nil {
		a.fail(w, r, err)
		return
	}
	tokens["user_id"], tokens["device_id"], tokens["home_server"] = userID, dev.DeviceID, a.cfg.ServerName
	tokens["well_known"] = map[string]any{"m.homeserver": map[string]string{"base_url": a.cfg.PublicURL}}
	writeJSON(w, http.StatusOK, tokens)
}

// newSession makes an access token and, when asked, a refresh token
// with an expiring access token: the response fields and what to store.
func (a *API) newSession(refresh bool) (map[string]any, store.Session) {
	access := newToken("bua_")
	out := map[string]any{"access_token": access}
	sess := store.Session{TokenHash: hashToken(access)}
	if refresh {
		rt := newToken("bur_")
		out["refresh_token"] = rt
		out["expires_in_ms"] = a.cfg.AccessTokenLifetime.Milliseconds()
		sess.RefreshHash = hashToken(rt)
		sess.Expires = a.now().Add(a.cfg.AccessTokenLifetime).UnixMilli()
	}
	return out, sess
}

// refresh rotates a refresh token: a new access token and a new refresh
// token; the old refresh token keeps working until the new access token
// is used.
func (a *API) refresh(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.RefreshToken == "" {
		a.fail(w, r, badJSON("refresh_token is required"))
		return
	}
	tokens, sess := a.newSession(true)
	_, err := a.store.Refresh(r.Context(), hashToken(req.RefreshToken), sess)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, errf(http.StatusUnauthorized, "M_UNKNOWN_TOKEN", "Unknown or used refresh token"))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokens)
}

func newDeviceID() string {
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, dev store.Device) {
	if err := a.store.DeleteDevice(r.Context(), dev.UserID, dev.DeviceID); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) logoutAll(w http.ResponseWriter, r *http.Request, dev store.Device) {
	if err := a.store.DeleteDevices(r.Context(), dev.UserID); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) whoami(w http.ResponseWriter, _ *http.Request, dev store.Device) {
	writeJSON(w, http.StatusOK, map[string]any{"user_id": dev.UserID, "device_id": dev.DeviceID, "is_guest": false})
}

func (a *API) capabilities(w http.ResponseWriter, _ *http.Request, _ store.Device) {
	available := map[string]string{}
	for v, impl := range gomatrixserverlib.StableRoomVersions() {
		if !impl.DomainlessRoomIDs() {
			available[string(v)] = "stable"
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"capabilities": map[string]any{
		"m.change_password": map[string]bool{"enabled": false},
		"m.set_displayname": map[string]bool{"enabled": true},
		"m.set_avatar_url":  map[string]bool{"enabled": true},
		"m.3pid_changes":    map[string]bool{"enabled": false},
		"m.get_login_token": map[string]bool{"enabled": false},
		"m.room_versions":   map[string]any{"default": string(a.rooms.DefaultVersion), "available": available},
	}})
}
