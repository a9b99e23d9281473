package devidp

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	sessionCookie = "devidp_session"
	csrfCookie    = "devidp_csrf"
)

// authParams are the authorization request parameters that survive the login page.
type authParams struct {
	ClientID, RedirectURI, ResponseType, Scope, State, Nonce string
	CodeChallenge, CodeChallengeMethod, ACRValues            string
	Prompt, LoginHint                                        string
}

func readAuthParams(f url.Values) authParams {
	return authParams{
		ClientID: f.Get("client_id"), RedirectURI: f.Get("redirect_uri"),
		ResponseType: f.Get("response_type"), Scope: f.Get("scope"),
		State: f.Get("state"), Nonce: f.Get("nonce"),
		CodeChallenge: f.Get("code_challenge"), CodeChallengeMethod: f.Get("code_challenge_method"),
		ACRValues: f.Get("acr_values"), Prompt: f.Get("prompt"), LoginHint: f.Get("login_hint"),
	}
}

// hidden lists the parameters the login forms post back; prompt and
// login_hint are dropped because the agent is now interacting.
func (p authParams) hidden() [][2]string {
	all := [][2]string{
		{"client_id", p.ClientID}, {"redirect_uri", p.RedirectURI}, {"response_type", p.ResponseType},
		{"scope", p.Scope}, {"state", p.State}, {"nonce", p.Nonce},
		{"code_challenge", p.CodeChallenge}, {"code_challenge_method", p.CodeChallengeMethod},
		{"acr_values", p.ACRValues},
	}
	return slices.DeleteFunc(all, func(kv [2]string) bool { return kv[1] == "" })
}

// authorize handles GET (from the relying party) and POST (from our login page).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "invalid_request", "Requête illisible.")
		return
	}
	p := readAuthParams(r.Form)
	client, ok := s.clients[p.ClientID]
	if !ok {
		// Never redirect before the client and its redirect_uri are known:
		// that would make us an open redirector.
		s.errorPage(w, http.StatusBadRequest, "invalid_client", "Client inconnu : client_id « "+p.ClientID+" ».")
		return
	}
	if !slices.Contains(client.RedirectURIs, p.RedirectURI) {
		s.errorPage(w, http.StatusBadRequest, "invalid_request", "Le paramètre redirect_uri ne correspond exactement à aucune adresse enregistrée pour ce client.")
		return
	}
	if code, desc := validateAuthParams(p); code != "" {
		s.redirectError(w, r, p, code, desc)
		return
	}
	prompts := strings.Fields(p.Prompt)
	if r.Method == http.MethodPost {
		s.loginSubmit(w, r, p)
		return
	}
	sess := s.currentSession(r)
	var hinted *Agent
	if p.LoginHint != "" {
		a, ok := s.resolveAgent(p.LoginHint)
		if !ok && !slices.Contains(prompts, "none") {
			s.loginPage(w, r, p, http.StatusBadRequest, "L'adresse « "+p.LoginHint+" » n'appartient à aucun agent ni ministère connu de ce fournisseur.")
			return
		}
		if ok {
			hinted = &a
		}
	}
	sessionFits := sess != nil && (p.LoginHint == "" || (hinted != nil && hinted.Email == sess.agent.Email))
	switch {
	case slices.Contains(prompts, "none"):
		if !sessionFits {
			s.redirectError(w, r, p, "login_required", "Aucune session active pour cet agent.")
			return
		}
		s.issueCode(w, r, p, sess.agent, sess.authTime)
	case sessionFits && !slices.Contains(prompts, "login"):
		s.issueCode(w, r, p, sess.agent, sess.authTime)
	case hinted != nil:
		s.signIn(w, r, p, *hinted)
	default:
		s.loginPage(w, r, p, http.StatusOK, "")
	}
}

// validateAuthParams applies ProConnect's rules once client and redirect_uri are trusted.
func validateAuthParams(p authParams) (code, desc string) {
	prompts := strings.Fields(p.Prompt)
	switch {
	case p.ResponseType != "code":
		return "unsupported_response_type", "response_type must be code"
	case !slices.Contains(strings.Fields(p.Scope), "openid"):
		return "invalid_scope", "scope must include openid"
	case len(p.State) < MinStateNonceLen:
		return "invalid_request", "state must be at least 32 characters"
	case len(p.Nonce) < MinStateNonceLen:
		return "invalid_request", "nonce must be at least 32 characters"
	case p.CodeChallenge != "" && p.CodeChallengeMethod != "S256",
		p.CodeChallenge == "" && p.CodeChallengeMethod != "":
		return "invalid_request", "code_challenge requires code_challenge_method=S256 (plain is not supported)"
	case p.CodeChallenge != "" && !validVerifierSyntax(p.CodeChallenge):
		return "invalid_request", "code_challenge is malformed"
	case slices.Contains(prompts, "none") && len(prompts) > 1:
		return "invalid_request", "prompt=none cannot be combined with other values"
	}
	return "", ""
}

// validVerifierSyntax checks RFC 7636's 43–128 unreserved characters (an S256
// challenge is 43 base64url characters, which also passes).
func validVerifierSyntax(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

// loginSubmit handles the login page's POST: a login-CSRF attacker could
// otherwise sign a victim in as an agent of their choosing.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request, p authParams) {
	c, err := r.Cookie(csrfCookie)
	form := r.PostForm.Get("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 || !s.sameOrigin(r) {
		s.errorPage(w, http.StatusForbidden, "access_denied", "Formulaire expiré ou soumis depuis un autre site. Recommencez la connexion depuis l'application.")
		return
	}
	a, ok := s.resolveAgent(r.PostForm.Get("email"))
	if !ok {
		s.loginPage(w, r, p, http.StatusBadRequest, "L'adresse « "+r.PostForm.Get("email")+" » n'appartient à aucun agent ni ministère connu de ce fournisseur.")
		return
	}
	s.signIn(w, r, p, a)
}

// sameOrigin rejects cross-site form posts using the headers browsers send;
// clients that send neither (tests, curl) rely on the CSRF cookie alone.
func (s *Server) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		iu, _ := url.Parse(s.issuer)
		return o == iu.Scheme+"://"+iu.Host
	}
	return true
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, p authParams, a Agent) {
	now := s.now()
	id := randomToken()
	s.mu.Lock()
	s.sessions[id] = &session{agent: a, authTime: now, expires: now.Add(SessionTTL)}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: s.base + "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(SessionTTL / time.Second),
	})
	s.log.Info("agent signed in", "email", a.Email, "sub", a.Sub, "client_id", p.ClientID)
	s.issueCode(w, r, p, a, now)
}

func (s *Server) currentSession(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[c.Value]
	if !ok || !s.now().Before(sess.expires) {
		delete(s.sessions, c.Value)
		return nil
	}
	return sess
}

func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, p authParams, a Agent, authTime time.Time) {
	now := s.now()
	code := randomToken()
	s.mu.Lock()
	s.pruneLocked(now)
	s.codes[code] = &authCode{
		clientID: p.ClientID, redirectURI: p.RedirectURI, agent: a,
		scopes: strings.Fields(p.Scope), nonce: p.Nonce, challenge: p.CodeChallenge,
		authTime: authTime, expires: now.Add(CodeTTL),
	}
	s.mu.Unlock()
	s.redirectTo(w, r, p.RedirectURI, url.Values{"code": {code}, "state": {p.State}})
}

func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, p authParams, code, desc string) {
	v := url.Values{"error": {code}, "error_description": {desc}}
	if p.State != "" {
		v.Set("state", p.State)
	}
	s.redirectTo(w, r, p.RedirectURI, v)
}

// redirectTo adds params to a registered URI, keeping its own query.
func (s *Server) redirectTo(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, err := url.Parse(target)
	if err != nil {
		s.errorPage(w, http.StatusBadRequest, "invalid_request", "Adresse de retour invalide.")
		return
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// pruneLocked drops expired state so a long `make run` does not grow forever.
// Used codes are kept until their expiry so a replay is still recognised.
func (s *Server) pruneLocked(now time.Time) {
	for k, c := range s.codes {
		if !now.Before(c.expires) {
			delete(s.codes, k)
		}
	}
	for k, t := range s.tokens {
		if !now.Before(t.expires) {
			delete(s.tokens, k)
		}
	}
	for k, ss := range s.sessions {
		if !now.Before(ss.expires) {
			delete(s.sessions, k)
		}
	}
}
