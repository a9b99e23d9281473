package server

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"bureau/gateway/internal/apppass"
	"bureau/gateway/internal/directory"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
)

// api serves the gateway's own JSON endpoints.
type api struct {
	dir        *directory.Directory
	apps       *apppass.Store
	ministries *directory.Ministries
	verifiers  []*identity.Verifier
	userOf     func(*http.Request) (identity.User, string, bool)
}

type ministryJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type personJSON struct {
	ID          string        `json:"id"`
	Email       string        `json:"email"`
	GivenName   string        `json:"given_name"`
	UsualName   string        `json:"usual_name"`
	DisplayName string        `json:"display_name"`
	Ministry    *ministryJSON `json:"ministry"`
	SIRET       string        `json:"siret,omitempty"`
	External    bool          `json:"external"`
}

func (a *api) person(u identity.User) personJSON {
	p := personJSON{ID: u.ID, Email: u.Email, GivenName: u.GivenName, UsualName: u.UsualName,
		DisplayName: u.DisplayName(), SIRET: u.SIRET, External: u.External}
	if m, ok := a.ministries.Get(u.Ministry); ok {
		p.Ministry = &ministryJSON{ID: m.ID, Name: m.Name}
	}
	return p
}

// me answers who is signed in.
func (a *api) me(w http.ResponseWriter, r *http.Request) {
	u, _, ok := a.userOf(r)
	if !ok {
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Vous n'êtes pas connecté.")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, a.person(u))
}

// verifiers accept identity tokens the gateway issued to any service, so a
// service can search the directory on behalf of the agent it serves.
func verifiers(pub ed25519.PublicKey) []*identity.Verifier {
	var vs []*identity.Verifier
	for _, aud := range []string{"chat", "files", "meet"} {
		vs = append(vs, identity.NewVerifier(pub, aud))
	}
	return vs
}

func (a *api) caller(r *http.Request) (identity.User, bool) {
	if u, _, ok := a.userOf(r); ok {
		return u, true
	}
	if tok := r.Header.Get(identity.Header); tok != "" {
		for _, v := range a.verifiers {
			if u, err := v.Verify(tok); err == nil {
				return u, true
			}
		}
	}
	return identity.User{}, false
}

// directory searches agents by name or email prefix. As on Tchap, an
// external partner gets no results: partners meet people through the rooms
// and spaces they are invited to, not by browsing the State's directory.
func (a *api) directory(w http.ResponseWriter, r *http.Request) {
	u, ok := a.caller(r)
	if !ok {
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Vous n'êtes pas connecté.")
		return
	}
	q := r.URL.Query().Get("q")
	if !utf8.ValidString(q) || len(q) > 200 {
		httpx.WriteError(w, http.StatusBadRequest, "bad_query", "Le paramètre q doit faire au plus 200 caractères.")
		return
	}
	limit := 20
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 50 {
			httpx.WriteError(w, http.StatusBadRequest, "bad_limit", "Le paramètre limit doit être un entier entre 1 et 50.")
			return
		}
		limit = n
	}
	results := []personJSON{}
	if !u.External && utf8.RuneCountInString(q) >= 2 {
		agents, err := a.dir.Search(r.Context(), q, limit)
		if err != nil {
			httpx.WriteError(w, http.StatusServiceUnavailable, "unavailable", "L'annuaire est momentanément indisponible.")
			return
		}
		for _, ag := range agents {
			results = append(results, a.person(identity.User{ID: ag.ID, Email: ag.Email, GivenName: ag.GivenName,
				UsualName: ag.UsualName, Ministry: ag.Ministry, External: ag.External}))
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"results": results})
}

// sessionUser is the caller signed in with a browser session: app
// passwords are managed from the web app only, never with an app password.
func (a *api) sessionUser(w http.ResponseWriter, r *http.Request) (identity.User, bool) {
	u, sid, ok := a.userOf(r)
	if !ok || strings.HasPrefix(sid, "app:") {
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Vous n'êtes pas connecté.")
		return identity.User{}, false
	}
	return u, true
}

func (a *api) listAppPasswords(w http.ResponseWriter, r *http.Request) {
	u, ok := a.sessionUser(w, r)
	if !ok {
		return
	}
	list, err := a.apps.List(r.Context(), u.ID)
	if err != nil {
		httpx.WriteError(w, http.StatusServiceUnavailable, "unavailable", "Service momentanément indisponible.")
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"app_passwords": list})
}

func (a *api) createAppPassword(w http.ResponseWriter, r *http.Request) {
	u, ok := a.sessionUser(w, r)
	if !ok {
		return
	}
	var body struct {
		Label string `json:"label"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		httpx.WriteError(w, http.StatusBadRequest, "bad_json", "Corps JSON attendu : {\"label\": \"…\"}.")
		return
	}
	p, secret, err := a.apps.Create(r.Context(), u.ID, body.Label)
	switch {
	case errors.Is(err, apppass.ErrBadLabel):
		httpx.WriteError(w, http.StatusBadRequest, "bad_label", "Le libellé doit faire de 1 à 100 caractères.")
	case errors.Is(err, apppass.ErrTooMany):
		httpx.WriteError(w, http.StatusConflict, "too_many", "Vous avez atteint le nombre maximal de mots de passe d'application.")
	case err != nil:
		httpx.WriteError(w, http.StatusServiceUnavailable, "unavailable", "Service momentanément indisponible.")
	default:
		httpx.WriteJSON(w, http.StatusCreated, map[string]any{
			"id": p.ID, "label": p.Label, "created_at": p.CreatedAt, "password": secret,
		})
	}
}

func (a *api) revokeAppPassword(w http.ResponseWriter, r *http.Request) {
	u, ok := a.sessionUser(w, r)
	if !ok {
		return
	}
	switch err := a.apps.Revoke(r.Context(), u.ID, r.PathValue("id")); {
	case errors.Is(err, apppass.ErrNotFound):
		httpx.WriteError(w, http.StatusNotFound, "not_found", "Mot de passe d'application inconnu.")
	case err != nil:
		httpx.WriteError(w, http.StatusServiceUnavailable, "unavailable", "Service momentanément indisponible.")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
