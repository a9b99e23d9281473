// Package auth is the gateway's OpenID Connect relying party for ProConnect
// (formerly AgentConnect): login with authorization code + PKCE, state and
// nonce checks, ID token and signed-userinfo verification against the
// issuer's JWKS, and logout through the IdP's end_session endpoint.
//
// Token verification is delegated to coreos/go-oidc (widely used, small,
// follows the spec closely) and the code exchange to golang.org/x/oauth2.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"bureau/gateway/config"
	"bureau/gateway/internal/directory"
	"bureau/gateway/internal/session"
	"bureau/services/platform/identity"
)

// loginTTL bounds how long a user may take on the IdP's pages.
const loginTTL = 10 * time.Minute

// Claims are the ProConnect identity claims the gateway uses.
type Claims struct {
	Subject            string `json:"sub"`
	Email              string `json:"email"`
	GivenName          string `json:"given_name"`
	UsualName          string `json:"usual_name"`
	UID                string `json:"uid"`
	SIRET              string `json:"siret"`
	IdPID              string `json:"idp_id"`
	OrganizationalUnit string `json:"organizational_unit"`
}

// RP is the relying party. Discovery is lazy and retried, so the gateway
// starts (and reports not-ready) while the IdP is unreachable, and the
// embedded run can discover the development IdP it serves itself.
type RP struct {
	cfg        config.OIDC
	publicURL  string
	sessions   *session.Manager
	dir        *directory.Directory
	ministries *directory.Ministries
	log        *slog.Logger
	client     *http.Client
	now        func() time.Time

	mu  sync.Mutex
	idp *discovered
}

type discovered struct {
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	keys       *oidc.RemoteKeySet
	userinfo   string
	endSession string
	oauth      oauth2.Config
}

// New returns a relying party for cfg; publicURL is the gateway's origin.
func New(cfg config.OIDC, publicURL string, sessions *session.Manager, dir *directory.Directory, ministries *directory.Ministries, log *slog.Logger) *RP {
	return &RP{
		cfg: cfg, publicURL: strings.TrimRight(publicURL, "/"), sessions: sessions, dir: dir, ministries: ministries, log: log,
		client: &http.Client{Timeout: 10 * time.Second},
		now:    time.Now,
	}
}

// discover fetches the issuer's metadata once it succeeds.
func (rp *RP) discover(ctx context.Context) (*discovered, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.idp != nil {
		return rp.idp, nil
	}
	cctx := oidc.ClientContext(ctx, rp.client)
	p, err := oidc.NewProvider(cctx, rp.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc discovery of %s: %w", rp.cfg.Issuer, err)
	}
	var meta struct {
		JWKS        string   `json:"jwks_uri"`
		UserInfo    string   `json:"userinfo_endpoint"`
		EndSession  string   `json:"end_session_endpoint"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, fmt.Errorf("oidc discovery: %w", err)
	}
	if meta.UserInfo == "" || meta.JWKS == "" {
		return nil, errors.New("oidc discovery: issuer publishes no userinfo or jwks endpoint")
	}
	// Pin the client authentication method: oauth2's auto-detection retries
	// a failed exchange the other way, reusing (and so burning) the code,
	// which hides the real error behind "code already used".
	endpoint := p.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInParams
	if len(meta.AuthMethods) == 0 || contains(meta.AuthMethods, "client_secret_basic") {
		endpoint.AuthStyle = oauth2.AuthStyleInHeader
	}
	// The key set outlives this request: give it its own context.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), rp.client), meta.JWKS)
	algs := []string{oidc.RS256, oidc.ES256}
	rp.idp = &discovered{
		provider: p,
		verifier: oidc.NewVerifier(rp.cfg.Issuer, keys, &oidc.Config{
			ClientID: rp.cfg.ClientID, SupportedSigningAlgs: algs, Now: rp.now,
		}),
		keys:       keys,
		userinfo:   meta.UserInfo,
		endSession: meta.EndSession,
		oauth: oauth2.Config{
			ClientID: rp.cfg.ClientID, ClientSecret: rp.cfg.ClientSecret,
			Endpoint: endpoint, RedirectURL: rp.publicURL + "/auth/callback",
			Scopes: rp.cfg.Scopes,
		},
	}
	return rp.idp, nil
}

// UserID derives the stable Bureau user id from the issuer and subject:
// ProConnect's sub is stable per account, and the issuer keeps two IdPs'
// subjects apart.
func UserID(issuer, sub string) string {
	h := sha256.Sum256([]byte(issuer + "\x00" + sub))
	return "u" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:20]))
}

// errLogin is a login failure shown to the user with a status and a code.
type errLogin struct {
	status int
	code   string
	msg    string
	err    error
}

func (e *errLogin) Error() string {
	if e.err != nil {
		return e.code + ": " + e.err.Error()
	}
	return e.code
}

func fail(status int, code, msg string, err error) error {
	return &errLogin{status: status, code: code, msg: msg, err: err}
}

// finish runs the callback checks: state, code exchange with PKCE, ID
// token (signature, issuer, audience, expiry, nonce, acr), signed userinfo.
func (rp *RP) finish(ctx context.Context, r *http.Request, login session.Login) (identity.User, Claims, string, error) {
	q := r.URL.Query()
	if !constantEqual(q.Get("state"), login.State) {
		return identity.User{}, Claims{}, "", fail(http.StatusBadRequest, "invalid_state", "La connexion a expiré ou a été altérée. Veuillez recommencer.", nil)
	}
	if e := q.Get("error"); e != "" {
		return identity.User{}, Claims{}, "", fail(http.StatusUnauthorized, "idp_error", "Le fournisseur d'identité a refusé la connexion : "+e+".", errors.New(q.Get("error_description")))
	}
	code := q.Get("code")
	if code == "" {
		return identity.User{}, Claims{}, "", fail(http.StatusBadRequest, "missing_code", "Réponse du fournisseur d'identité incomplète.", nil)
	}
	idp, err := rp.discover(ctx)
	if err != nil {
		return identity.User{}, Claims{}, "", fail(http.StatusServiceUnavailable, "idp_unavailable", "Le service d'identification est indisponible.", err)
	}
	cctx := oidc.ClientContext(ctx, rp.client)
	tok, err := idp.oauth.Exchange(cctx, code, oauth2.VerifierOption(login.CodeVerifier))
	if err != nil {
		return identity.User{}, Claims{}, "", fail(http.StatusUnauthorized, "invalid_grant", "Le code de connexion est invalide ou déjà utilisé.", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return identity.User{}, Claims{}, "", fail(http.StatusUnauthorized, "missing_id_token", "Le fournisseur d'identité n'a pas fourni de jeton d'identité.", nil)
	}
	idt, err := idp.verifier.Verify(cctx, raw)
	if err != nil {
		return identity.User{}, Claims{}, "", fail(http.StatusUnauthorized, "invalid_id_token", "Le jeton d'identité est invalide.", err)
	}
	if !constantEqual(idt.Nonce, login.Nonce) {
		return identity.User{}, Claims{}, "", fail(http.StatusUnauthorized, "invalid_nonce", "Le jeton d'identité ne correspond pas à cette connexion.", nil)
	}
	var idc struct {
		ACR string `json:"acr"`
	}
	if err := idt.Claims(&idc); err != nil {
		return identity.User{}, Claims{}, "", fail(http.StatusUnauthorized, "invalid_id_token", "Le jeton d'identité est illisible.", err)
	}
	if rp.cfg.RequireACR && !contains(rp.cfg.ACRValues, idc.ACR) {
		return identity.User{}, Claims{}, "", fail(http.StatusUnauthorized, "insufficient_acr", "Le niveau d'authentification est insuffisant.", fmt.Errorf("acr %q", idc.ACR))
	}
	claims, err := rp.userinfo(cctx, idp, tok.AccessToken, idt.Subject)
	if err != nil {
		return identity.User{}, Claims{}, "", fail(http.StatusUnauthorized, "invalid_userinfo", "Les informations d'identité reçues sont invalides.", err)
	}
	if claims.Email == "" || !strings.Contains(claims.Email, "@") {
		return identity.User{}, Claims{}, "", fail(http.StatusUnauthorized, "missing_email", "Le fournisseur d'identité n'a pas fourni d'adresse électronique.", nil)
	}
	u := identity.User{
		ID: UserID(rp.cfg.Issuer, idt.Subject), Email: strings.ToLower(claims.Email),
		GivenName: claims.GivenName, UsualName: claims.UsualName, SIRET: claims.SIRET,
	}
	if m, ok := rp.ministries.Resolve(u.Email, claims.SIRET); ok {
		u.Ministry = m.ID
	} else {
		u.External = true
	}
	return u, claims, raw, nil
}

// userinfo fetches the userinfo answer and, unless configured otherwise,
// requires it to be a JWT signed by the issuer's keys (ProConnect signs it).
func (rp *RP) userinfo(ctx context.Context, idp *discovered, accessToken, subject string) (Claims, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, idp.userinfo, nil)
	if err != nil {
		return Claims{}, err
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/jwt, application/json")
	resp, err := rp.client.Do(req)
	if err != nil {
		return Claims{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Claims{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Claims{}, fmt.Errorf("userinfo: status %d", resp.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var payload []byte
	switch {
	case mt == "application/jwt":
		payload, err = idp.keys.VerifySignature(ctx, strings.TrimSpace(string(body)))
		if err != nil {
			return Claims{}, fmt.Errorf("userinfo signature: %w", err)
		}
	case mt == "application/json" && rp.cfg.AllowUnsignedUserinfo:
		payload = body
	default:
		return Claims{}, fmt.Errorf("userinfo is not a signed JWT (Content-Type %q)", mt)
	}
	var c Claims
	var meta struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("userinfo: %w", err)
	}
	_ = json.Unmarshal(payload, &meta)
	if c.Subject != subject {
		return Claims{}, errors.New("userinfo sub differs from the ID token's")
	}
	if meta.Iss != "" && meta.Iss != rp.cfg.Issuer {
		return Claims{}, fmt.Errorf("userinfo iss %q is not the issuer", meta.Iss)
	}
	if len(meta.Aud) > 0 && !audienceHas(meta.Aud, rp.cfg.ClientID) {
		return Claims{}, errors.New("userinfo audience is not this client")
	}
	return c, nil
}

func audienceHas(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return contains(many, want)
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
