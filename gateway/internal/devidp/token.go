package devidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Scopes the provider knows, as ProConnect: each non-openid scope grants the claim of the same name.
var (
	requiredScopes = []string{"openid", "given_name", "usual_name", "email", "uid", "siret"}
	optionalScopes = []string{"siren", "organizational_unit", "belonging_population", "phone", "idp_id"}
)

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	e := s.issuer
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuer,
		"authorization_endpoint":                e + "/authorize",
		"token_endpoint":                        e + "/token",
		"userinfo_endpoint":                     e + "/userinfo",
		"jwks_uri":                              e + "/jwks",
		"end_session_endpoint":                  e + "/session/end",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"scopes_supported":                      append(slices.Clone(requiredScopes), optionalScopes...),
		"claims_supported":                      []string{"sub", "given_name", "usual_name", "email", "uid", "siret", "siren", "organizational_unit", "belonging_population", "phone", "idp_id", "acr", "amr", "nonce", "auth_time"},
		"acr_values_supported":                  []string{ACR},
		"id_token_signing_alg_values_supported": []string{string(jose.RS256)},
		"userinfo_signing_alg_values_supported": []string{string(jose.RS256)},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"code_challenge_methods_supported":      []string{"S256"},
		"prompt_values_supported":               []string{"none", "login"},
		"claims_parameter_supported":            false,
		"request_parameter_supported":           false,
	})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{s.jwk}})
}

type tokenError struct {
	status      int
	code, desc  string
	basicChosen bool
}

func (s *Server) tokenFail(w http.ResponseWriter, e tokenError) {
	if e.status == http.StatusUnauthorized && e.basicChosen {
		w.Header().Set("WWW-Authenticate", `Basic realm="devidp"`)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.tokenFail(w, tokenError{status: http.StatusBadRequest, code: "invalid_request", desc: "unreadable form"})
		return
	}
	f := r.PostForm
	client, terr := s.authenticateClient(r)
	if terr != nil {
		s.tokenFail(w, *terr)
		return
	}
	if gt := f.Get("grant_type"); gt != "authorization_code" {
		s.tokenFail(w, tokenError{status: http.StatusBadRequest, code: "unsupported_grant_type", desc: "only authorization_code is supported"})
		return
	}
	codeValue := f.Get("code")
	now := s.now()
	invalid := func(desc string) {
		s.tokenFail(w, tokenError{status: http.StatusBadRequest, code: "invalid_grant", desc: desc})
	}

	s.mu.Lock()
	code, ok := s.codes[codeValue]
	if !ok {
		s.mu.Unlock()
		invalid("unknown authorization code")
		return
	}
	if code.used {
		// RFC 6749 §4.1.2: a replayed code may mean it was stolen; revoke what it gave.
		for _, t := range code.tokens {
			delete(s.tokens, t)
		}
		code.tokens = nil
		s.mu.Unlock()
		s.log.Warn("authorization code replayed: tokens revoked", "client_id", client.ID, "sub", code.agent.Sub)
		invalid("authorization code already used")
		return
	}
	if !now.Before(code.expires) {
		delete(s.codes, codeValue)
		s.mu.Unlock()
		invalid("authorization code expired")
		return
	}
	// Any further failure also burns the code: a code is tried once.
	code.used = true
	c := *code
	s.mu.Unlock()

	switch {
	case c.clientID != client.ID:
		invalid("authorization code was issued to another client")
		return
	case f.Get("redirect_uri") != c.redirectURI:
		invalid("redirect_uri does not match the authorization request")
		return
	}
	if err := checkPKCE(c.challenge, f.Get("code_verifier")); err != nil {
		invalid(err.Error())
		return
	}

	at := randomToken()
	idt, err := s.sign(map[string]any{
		"iss": s.issuer, "sub": c.agent.Sub, "aud": client.ID,
		"iat": now.Unix(), "exp": now.Add(IDTokenTTL).Unix(), "auth_time": c.authTime.Unix(),
		"nonce": c.nonce, "acr": ACR, "amr": []string{"pwd"}, "idp_id": c.agent.IdpID,
		"at_hash": atHash(at),
	})
	if err != nil {
		s.log.Error("sign id token", "err", err)
		s.tokenFail(w, tokenError{status: http.StatusInternalServerError, code: "server_error", desc: "cannot sign the ID token"})
		return
	}
	s.mu.Lock()
	s.tokens[at] = &accessToken{clientID: client.ID, agent: c.agent, scopes: c.scopes, expires: now.Add(AccessTokenTTL)}
	if live, ok := s.codes[codeValue]; ok {
		live.tokens = append(live.tokens, at)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": at, "token_type": "Bearer", "expires_in": int(AccessTokenTTL / time.Second),
		"id_token": idt, "scope": strings.Join(c.scopes, " "),
	})
}

// authenticateClient accepts client_secret_basic or client_secret_post, not both.
func (s *Server) authenticateClient(r *http.Request) (Client, *tokenError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return Client{}, &tokenError{status: http.StatusUnauthorized, code: "invalid_client", desc: "malformed Basic credentials", basicChosen: true}
		}
		if r.PostForm.Get("client_secret") != "" {
			return Client{}, &tokenError{status: http.StatusBadRequest, code: "invalid_request", desc: "use one client authentication method only"}
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, ok := s.clients[id]
	if !ok || secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return Client{}, &tokenError{status: http.StatusUnauthorized, code: "invalid_client", desc: "client authentication failed", basicChosen: basic}
	}
	if fid := r.PostForm.Get("client_id"); fid != "" && fid != id {
		return Client{}, &tokenError{status: http.StatusBadRequest, code: "invalid_request", desc: "client_id does not match the authenticated client"}
	}
	return c, nil
}

func checkPKCE(challenge, verifier string) error {
	switch {
	case challenge == "" && verifier == "":
		return nil
	case challenge == "":
		return errors.New("code_verifier sent but no code_challenge was in the authorization request")
	case verifier == "":
		return errors.New("code_verifier required")
	case !validVerifierSyntax(verifier):
		return errors.New("code_verifier is malformed")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1 {
		return errors.New("code_verifier does not match code_challenge")
	}
	return nil
}

func atHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// userinfo answers, like ProConnect, with a JWT signed by the same key as ID tokens.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	fail := func(desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": desc})
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		fail("missing bearer token")
		return
	}
	now := s.now()
	s.mu.Lock()
	t, ok := s.tokens[tok]
	if ok && !now.Before(t.expires) {
		delete(s.tokens, tok)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		fail("access token unknown, expired or revoked")
		return
	}
	claims := map[string]any{"iss": s.issuer, "aud": t.clientID, "sub": t.agent.Sub, "iat": now.Unix()}
	a := t.agent
	values := map[string]string{
		"given_name": a.GivenName, "usual_name": a.UsualName, "email": a.Email, "uid": a.UID,
		"siret": a.SIRET, "organizational_unit": a.OrganizationalUnit, "phone": a.Phone, "idp_id": a.IdpID,
	}
	if len(a.SIRET) == 14 {
		values["siren"] = a.SIRET[:9]
	}
	if s.ministryName(a.Email) != "" {
		values["belonging_population"] = "agent"
	} else {
		values["belonging_population"] = "partenaire"
	}
	for _, sc := range t.scopes {
		if v, ok := values[sc]; ok && v != "" {
			claims[sc] = v
		}
	}
	jwt, err := s.sign(claims)
	if err != nil {
		s.log.Error("sign userinfo", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(jwt))
}

// endSession ends the IdP session and returns to a registered
// post_logout_redirect_uri with the caller's state, as ProConnect does.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "invalid_request", "Requête illisible.")
		return
	}
	hint, target, state := r.Form.Get("id_token_hint"), r.Form.Get("post_logout_redirect_uri"), r.Form.Get("state")
	var client Client
	if hint != "" {
		aud, err := s.hintAudience(hint)
		if err != nil {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "id_token_hint invalide : "+err.Error())
			return
		}
		client = s.clients[aud]
	}
	if target != "" && (client.ID == "" || !slices.Contains(client.PostLogoutRedirectURIs, target)) {
		s.errorPage(w, http.StatusBadRequest, "invalid_request", "post_logout_redirect_uri absente, non enregistrée pour ce client, ou sans id_token_hint.")
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: s.base + "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	if target == "" {
		s.messagePage(w, "Vous êtes déconnecté", "Votre session du fournisseur d'identité de développement est terminée.")
		return
	}
	params := url.Values{}
	if state != "" {
		params.Set("state", state)
	}
	s.redirectTo(w, r, target, params)
}

// hintAudience verifies an id_token_hint's signature (expiry is ignored, as
// logout often happens after the ID token expired) and returns its client.
func (s *Server) hintAudience(hint string) (string, error) {
	jws, err := jose.ParseSigned(hint, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", errors.New("not a signed JWT")
	}
	payload, err := jws.Verify(&s.key.PublicKey)
	if err != nil {
		return "", errors.New("bad signature")
	}
	var c struct {
		Iss string `json:"iss"`
		Aud any    `json:"aud"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss != s.issuer {
		return "", errors.New("not issued by this provider")
	}
	switch aud := c.Aud.(type) {
	case string:
		if _, ok := s.clients[aud]; ok {
			return aud, nil
		}
	case []any:
		if len(aud) == 1 {
			if a, ok := aud[0].(string); ok {
				if _, ok := s.clients[a]; ok {
					return a, nil
				}
			}
		}
	}
	return "", errors.New("unknown audience")
}

func (s *Server) sign(claims map[string]any) (string, error) {
	b, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := s.signer.Sign(b)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
