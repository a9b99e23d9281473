package auth

import (
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"bureau/gateway/internal/directory"
	"bureau/gateway/internal/session"
)

const (
	loginCookie  = "bureau_login"
	logoutCookie = "bureau_logout"
)

// Routes mounts /auth/login, /auth/callback, /auth/logout, /auth/logged-out.
func (rp *RP) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /auth/login", rp.handleLogin)
	mux.HandleFunc("GET /auth/callback", rp.handleCallback)
	mux.HandleFunc("POST /auth/logout", rp.handleLogout)
	mux.HandleFunc("GET /auth/logged-out", rp.handleLoggedOut)
}

// SafeRedirect keeps redirect targets on this site: a local absolute path,
// never "//host", "/\host", a scheme or control characters (open redirect).
func SafeRedirect(target string) string {
	if target == "" || target[0] != '/' || len(target) > 2048 {
		return "/"
	}
	if strings.HasPrefix(target, "//") || strings.HasPrefix(target, "/\\") || strings.ContainsAny(target, "\\\r\n\t\x00") {
		return "/"
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if strings.HasPrefix(u.Path, "/auth/") {
		return "/" // never loop back into the login machinery
	}
	// Re-encoding may turn an escaped "/%2F…" back into "//…": check again.
	out := u.RequestURI()
	if strings.HasPrefix(out, "//") || strings.HasPrefix(out, "/\\") {
		return "/"
	}
	return out
}

func (rp *RP) handleLogin(w http.ResponseWriter, r *http.Request) {
	idp, err := rp.discover(r.Context())
	if err != nil {
		rp.log.ErrorContext(r.Context(), "oidc discovery failed", "err", err)
		rp.page(w, http.StatusServiceUnavailable, "Service d'identification indisponible",
			"Le service d'identification ProConnect ne répond pas. Veuillez réessayer dans quelques instants.")
		return
	}
	login := session.Login{
		State: session.NewID(), Nonce: session.NewID(), CodeVerifier: oauth2.GenerateVerifier(),
		Redirect: SafeRedirect(r.URL.Query().Get("redirect")), Created: rp.now(),
	}
	id, err := rp.sessions.Store.PutLogin(r.Context(), login, loginTTL)
	if err != nil {
		rp.log.ErrorContext(r.Context(), "store login attempt", "err", err)
		rp.page(w, http.StatusServiceUnavailable, "Connexion impossible", "Le service est momentanément indisponible.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: id, Path: "/auth/", MaxAge: int(loginTTL.Seconds()),
		HttpOnly: true, Secure: rp.sessions.Secure, SameSite: http.SameSiteLaxMode,
	})
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(login.CodeVerifier),
		oauth2.SetAuthURLParam("nonce", login.Nonce),
	}
	if len(rp.cfg.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(rp.cfg.ACRValues, " ")))
	}
	if hint := r.URL.Query().Get("login_hint"); hint != "" && len(hint) <= 320 {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", hint))
	}
	http.Redirect(w, r, idp.oauth.AuthCodeURL(login.State, opts...), http.StatusFound)
}

func (rp *RP) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := r.Cookie(loginCookie)
	if err != nil {
		rp.page(w, http.StatusBadRequest, "Connexion expirée", "Aucune connexion n'est en cours dans ce navigateur. Veuillez recommencer.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/auth/", MaxAge: -1, HttpOnly: true, Secure: rp.sessions.Secure, SameSite: http.SameSiteLaxMode})
	login, err := rp.sessions.Store.TakeLogin(ctx, c.Value)
	if err != nil {
		rp.page(w, http.StatusBadRequest, "Connexion expirée", "Cette connexion a expiré ou a déjà été utilisée. Veuillez recommencer.")
		return
	}
	user, claims, idToken, err := rp.finish(ctx, r, login)
	if err != nil {
		var le *errLogin
		if !errors.As(err, &le) {
			le = &errLogin{status: http.StatusInternalServerError, code: "internal", msg: "Erreur interne.", err: err}
		}
		rp.log.WarnContext(ctx, "login refused", "code", le.code, "err", le.err)
		rp.page(w, le.status, "Connexion refusée", le.msg)
		return
	}
	if err := rp.dir.Record(ctx, directory.Agent{
		ID: user.ID, Issuer: rp.cfg.Issuer, Subject: claims.Subject, Email: user.Email,
		GivenName: user.GivenName, UsualName: user.UsualName, Ministry: user.Ministry, SIRET: user.SIRET,
		UID: claims.UID, IdPID: claims.IdPID, OrganizationalUnit: claims.OrganizationalUnit, External: user.External,
	}); err != nil {
		rp.log.ErrorContext(ctx, "record agent", "err", err)
		rp.page(w, http.StatusServiceUnavailable, "Connexion impossible", "Le service est momentanément indisponible.")
		return
	}
	if _, err := rp.sessions.Start(ctx, w, r, session.Session{User: user, IDToken: idToken}); err != nil {
		rp.log.ErrorContext(ctx, "create session", "err", err)
		rp.page(w, http.StatusServiceUnavailable, "Connexion impossible", "Le service est momentanément indisponible.")
		return
	}
	rp.log.InfoContext(ctx, "signed in", "user", user.ID, "ministry", user.Ministry, "external", user.External)
	http.Redirect(w, r, login.Redirect, http.StatusFound)
}

// handleLogout ends the local session, then sends the browser to the IdP's
// end_session endpoint so the ProConnect session ends too.
func (rp *RP) handleLogout(w http.ResponseWriter, r *http.Request) {
	s, had := rp.sessions.End(w, r)
	idp, err := rp.discover(r.Context())
	if !had || err != nil || idp.endSession == "" || s.IDToken == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	state := session.NewID()
	http.SetCookie(w, &http.Cookie{
		Name: logoutCookie, Value: state, Path: "/auth/", MaxAge: int(loginTTL.Seconds()),
		HttpOnly: true, Secure: rp.sessions.Secure, SameSite: http.SameSiteLaxMode,
	})
	u, err := url.Parse(idp.endSession)
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := u.Query()
	q.Set("id_token_hint", s.IDToken)
	q.Set("state", state)
	q.Set("post_logout_redirect_uri", rp.publicURL+"/auth/logged-out")
	u.RawQuery = q.Encode()
	rp.log.InfoContext(r.Context(), "signed out", "user", s.User.ID)
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// handleLoggedOut is where the IdP returns after logout; the state must be
// the one we sent (ProConnect's guidance), else the return is not trusted.
func (rp *RP) handleLoggedOut(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(logoutCookie)
	http.SetCookie(w, &http.Cookie{Name: logoutCookie, Value: "", Path: "/auth/", MaxAge: -1, HttpOnly: true, Secure: rp.sessions.Secure, SameSite: http.SameSiteLaxMode})
	if err != nil || !constantEqual(c.Value, r.URL.Query().Get("state")) {
		rp.log.WarnContext(r.Context(), "logout return with unexpected state")
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func constantEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — Bureau</title></head>
<body style="font-family:Marianne,Arial,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#161616">
<p style="font-weight:700">Bureau</p>
<h1 style="font-size:1.75rem">{{.Title}}</h1>
<p>{{.Message}}</p>
<p><a href="/auth/login" style="color:#000091">Se reconnecter</a> · <a href="/" style="color:#000091">Retour à l'accueil</a></p>
</body></html>`))

// page renders a short French error page: these are browser navigations,
// so a JSON body would leave the agent with nothing to act on.
func (rp *RP) page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, map[string]string{"Title": title, "Message": msg})
}
