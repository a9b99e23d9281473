// Package devidp is the development identity provider that the suite serves
// itself in embedded mode (`make run`). It mimics ProConnect closely enough
// that the gateway runs its production OpenID Connect relying-party code
// against it: discovery under an issuer with a path, code flow only, exact
// redirect_uri, state and nonce of at least 32 characters, PKCE S256, ID token
// with acr "eidas1", userinfo answered as a signed JWT (application/jwt),
// 30-second single-use codes, 60-second access tokens, prompt=none and
// end_session with id_token_hint/state/post_logout_redirect_uri.
//
// It authenticates nobody: anyone reaching it can sign in as any seeded agent.
// New therefore refuses to build a Server unless Config.DevMode is set.
//
// Mounting: the Server matches full request paths, issuer path included, so it
// is mounted as is, without http.StripPrefix:
//
//	srv, err := devidp.New(cfg, log) // cfg.Issuer = "http://localhost:8080/devidp/api/v2"
//	mux.Handle(srv.MountPath(), srv) // "/devidp/api/v2/"
package devidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Lifetimes copied from ProConnect.
const (
	CodeTTL        = 30 * time.Second
	AccessTokenTTL = 60 * time.Second
	IDTokenTTL     = 60 * time.Second
	// SessionTTL bounds the IdP-side session that makes prompt=none succeed.
	SessionTTL = 8 * time.Hour
	// MinStateNonceLen is ProConnect's minimum length for state and nonce.
	MinStateNonceLen = 32
	// ACR is the only authentication context this provider asserts.
	ACR = "eidas1"
)

// Agent is an account that can sign in.
type Agent struct {
	Sub, Email, GivenName, UsualName, UID, SIRET, IdpID, OrganizationalUnit, Phone string
}

// Client is a registered relying party (confidential: it has a secret).
type Client struct {
	ID, Secret             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
}

// Ministry is an email domain whose every address may sign in: addresses
// that are not seeded agents become synthetic agents of that ministry.
type Ministry struct {
	Domain, Name, SIRET string
}

// Config configures a Server.
type Config struct {
	// DevMode must be true: this provider signs in anyone without a password.
	DevMode bool
	// Issuer is the full issuer URL including its path, e.g.
	// http://localhost:8080/devidp/api/v2 (ProConnect's issuers end in /api/v2).
	Issuer  string
	Clients []Client
	// Agents and Ministries default to DefaultSeed() when both are empty.
	Agents     []Agent
	Ministries []Ministry
	// KeyFile, if set, persists the RSA signing key (PEM, PKCS#8) so tokens
	// issued before a restart still verify; it is created when missing.
	// Empty means a fresh in-memory key per process.
	KeyFile string
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Server is the development identity provider; it is an http.Handler.
type Server struct {
	log        *slog.Logger
	now        func() time.Time
	issuer     string // without trailing slash
	base       string // issuer path without trailing slash, e.g. /devidp/api/v2
	secure     bool   // issuer is https: cookies get Secure
	key        *rsa.PrivateKey
	jwk        jose.JSONWebKey // public
	signer     jose.Signer
	clients    map[string]Client
	agents     []Agent          // seeded, in display order
	byEmail    map[string]Agent // lower-cased email
	ministries map[string]Ministry

	mu       sync.Mutex
	codes    map[string]*authCode
	tokens   map[string]*accessToken
	sessions map[string]*session
}

type authCode struct {
	clientID, redirectURI string
	agent                 Agent
	scopes                []string
	nonce, challenge      string
	authTime, expires     time.Time
	used                  bool
	tokens                []string // access tokens issued from it, revoked on replay
}

type accessToken struct {
	clientID string
	agent    Agent
	scopes   []string
	expires  time.Time
}

type session struct {
	agent    Agent
	authTime time.Time
	expires  time.Time
}

// New validates cfg and builds a Server. It fails unless cfg.DevMode is true.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if !cfg.DevMode {
		return nil, errors.New("devidp: the development identity provider refuses to run outside development mode")
	}
	if log == nil {
		log = slog.Default()
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("devidp: issuer %q must be an absolute http(s) URL without query or fragment", cfg.Issuer)
	}
	if len(cfg.Clients) == 0 {
		return nil, errors.New("devidp: at least one client is required")
	}
	s := &Server{
		log:        log.With("component", "devidp"),
		now:        cfg.Now,
		issuer:     strings.TrimSuffix(cfg.Issuer, "/"),
		base:       strings.TrimSuffix(u.EscapedPath(), "/"),
		secure:     u.Scheme == "https",
		clients:    map[string]Client{},
		byEmail:    map[string]Agent{},
		ministries: map[string]Ministry{},
		codes:      map[string]*authCode{},
		tokens:     map[string]*accessToken{},
		sessions:   map[string]*session{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, c := range cfg.Clients {
		if c.ID == "" || c.Secret == "" || len(c.RedirectURIs) == 0 {
			return nil, fmt.Errorf("devidp: client %q needs an id, a secret and at least one redirect URI", c.ID)
		}
		if _, dup := s.clients[c.ID]; dup {
			return nil, fmt.Errorf("devidp: duplicate client %q", c.ID)
		}
		s.clients[c.ID] = c
	}
	agents, ministries := cfg.Agents, cfg.Ministries
	if len(agents) == 0 && len(ministries) == 0 {
		agents, ministries = DefaultSeed()
	}
	for _, m := range ministries {
		d := strings.ToLower(m.Domain)
		if d == "" || strings.Contains(d, "@") {
			return nil, fmt.Errorf("devidp: ministry %q has an invalid domain %q", m.Name, m.Domain)
		}
		m.Domain = d
		s.ministries[d] = m
	}
	for _, a := range agents {
		email, ok := normalizeEmail(a.Email)
		if !ok {
			return nil, fmt.Errorf("devidp: agent has an invalid email %q", a.Email)
		}
		if _, dup := s.byEmail[email]; dup {
			return nil, fmt.Errorf("devidp: duplicate agent %q", email)
		}
		a.Email = email
		if a.Sub == "" {
			a.Sub = SubFor(email)
		}
		s.byEmail[email] = a
		s.agents = append(s.agents, a)
	}
	if s.key, err = loadOrCreateKey(cfg.KeyFile); err != nil {
		return nil, err
	}
	s.jwk = jose.JSONWebKey{Key: &s.key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	tp, err := s.jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devidp: key thumbprint: %w", err)
	}
	s.jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	s.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), s.jwk.KeyID))
	if err != nil {
		return nil, fmt.Errorf("devidp: signer: %w", err)
	}
	s.log.Warn("development identity provider enabled: anyone can sign in as any agent", "issuer", s.issuer)
	return s, nil
}

// Issuer is the issuer URL (no trailing slash).
func (s *Server) Issuer() string { return s.issuer }

// MountPath is the mux pattern to mount the Server at, e.g. "/devidp/api/v2/".
func (s *Server) MountPath() string { return s.base + "/" }

// Agents lists the seeded agents.
func (s *Server) Agents() []Agent { return append([]Agent(nil), s.agents...) }

// ServeHTTP routes on the full path, issuer path included.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.base)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch rest {
	case "/.well-known/openid-configuration":
		s.onlyMethods(w, r, s.discovery, http.MethodGet)
	case "/authorize":
		s.onlyMethods(w, r, s.authorize, http.MethodGet, http.MethodPost)
	case "/token":
		s.onlyMethods(w, r, s.token, http.MethodPost)
	case "/userinfo":
		s.onlyMethods(w, r, s.userinfo, http.MethodGet, http.MethodPost)
	case "/jwks":
		s.onlyMethods(w, r, s.jwks, http.MethodGet)
	case "/session/end":
		s.onlyMethods(w, r, s.endSession, http.MethodGet, http.MethodPost)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) onlyMethods(w http.ResponseWriter, r *http.Request, h http.HandlerFunc, methods ...string) {
	for _, m := range methods {
		if r.Method == m || (r.Method == http.MethodHead && m == http.MethodGet) {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			h(w, r)
			return
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

func loadOrCreateKey(file string) (*rsa.PrivateKey, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		switch {
		case err == nil:
			return parseKey(b, file)
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("devidp: read key file: %w", err)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devidp: generate key: %w", err)
	}
	if file == "" {
		return key, nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("devidp: encode key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("devidp: key directory: %w", err)
	}
	// O_EXCL: two processes starting together must not overwrite each other's key.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		b, rerr := os.ReadFile(file)
		if rerr != nil {
			return nil, fmt.Errorf("devidp: read key file: %w", rerr)
		}
		return parseKey(b, file)
	}
	if err != nil {
		return nil, fmt.Errorf("devidp: create key file: %w", err)
	}
	werr := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("devidp: write key file: %w", werr)
	}
	return key, nil
}

func parseKey(b []byte, file string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("devidp: key file %s: no PEM block", file)
	}
	var rk *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		rk = k
	} else {
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("devidp: key file %s: %w", file, err)
		}
		var ok bool
		if rk, ok = k.(*rsa.PrivateKey); !ok {
			return nil, fmt.Errorf("devidp: key file %s: not an RSA key", file)
		}
	}
	if rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("devidp: key file %s: RSA key shorter than 2048 bits", file)
	}
	return rk, nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}
