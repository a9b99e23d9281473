// Package clientapi serves the Matrix Client-Server API: request parsing,
// authentication by access token, errors with the spec's errcodes, and the
// mapping onto the room pipeline (rooms) and the store.
package clientapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"bureau/services/chat/internal/media"
	"bureau/services/chat/internal/notifier"
	"bureau/services/chat/internal/ratelimit"
	"bureau/services/chat/internal/rooms"
	"bureau/services/chat/internal/store"
)

// Config is what the API needs to know about its deployment.
type Config struct {
	ServerName     string
	PublicURL      string
	PresenceOff    bool
	LoginTokenTTL  time.Duration
	MaxSyncTimeout time.Duration
	// Media is the content repository (nil: no media endpoints);
	// LegacyMedia also serves the deprecated unauthenticated downloads.
	Media       *media.Service
	LegacyMedia bool
	// AccessTokenLifetime is the life of access tokens of clients that
	// asked for a refresh token (others never expire, as on Synapse).
	AccessTokenLifetime time.Duration
	// Sends limits each user's event sends (messages, redactions); nil
	// means no limit.
	Sends ratelimit.Limiter
	// PresenceIdle is how long without activity an online user turns
	// unavailable (default 5 min); PresenceGrace, how long after the
	// longest sync a silent user turns offline (default 30 s).
	PresenceIdle, PresenceGrace time.Duration
}

// API is the Client-Server API.
type API struct {
	cfg      Config
	store    *store.Store
	rooms    *rooms.Service
	notifier *notifier.Notifier
	log      *slog.Logger
	now      func() time.Time
	typing   typingRooms
	// typingRelay, with several replicas, shares typing between them.
	typingRelay *notifier.Relay
	sends       ratelimit.Limiter
	unread      unreadCache
	touches     presenceTouches
	timers      presenceTimers
}

// New returns the API.
func New(cfg Config, st *store.Store, rs *rooms.Service, n *notifier.Notifier, log *slog.Logger) *API {
	if cfg.LoginTokenTTL <= 0 {
		cfg.LoginTokenTTL = 2 * time.Minute
	}
	if cfg.AccessTokenLifetime <= 0 {
		cfg.AccessTokenLifetime = 5 * time.Minute
	}
	if cfg.MaxSyncTimeout <= 0 {
		cfg.MaxSyncTimeout = 60 * time.Second
	}
	if cfg.Sends == nil {
		cfg.Sends = ratelimit.Unlimited{}
	}
	if cfg.PresenceIdle <= 0 {
		cfg.PresenceIdle = idleAfter
	}
	if cfg.PresenceGrace <= 0 {
		cfg.PresenceGrace = offlineGrace
	}
	return &API{cfg: cfg, store: st, rooms: rs, notifier: n, log: log, now: time.Now, sends: cfg.Sends}
}

const v3 = "/_matrix/client/v3"

// Register mounts the API on mux. instrument names a route for metrics.
func (a *API) Register(mux *http.ServeMux, instrument func(name string, h http.Handler) http.Handler) {
	route := func(pattern, name string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+v3+path, instrument(name, h))
	}
	mux.Handle("GET /_matrix/client/versions", instrument("versions", http.HandlerFunc(a.versions)))
	route("GET /login", "login_flows", a.loginFlows)
	route("POST /login", "login", a.login)
	route("POST /refresh", "refresh", a.refresh)
	route("GET /login/sso/redirect", "sso_redirect", a.ssoRedirect)
	route("GET /login/sso/redirect/{idp}", "sso_redirect", a.ssoRedirect)
	route("POST /logout", "logout", a.authed(a.logout))
	route("POST /logout/all", "logout_all", a.authed(a.logoutAll))
	route("GET /account/whoami", "whoami", a.authed(a.whoami))
	route("GET /capabilities", "capabilities", a.authed(a.capabilities))
	route("POST /user/{userId}/filter", "filter_put", a.authed(a.putFilter))
	route("GET /user/{userId}/filter/{filterId}", "filter_get", a.authed(a.getFilter))
	route("POST /createRoom", "create_room", a.authed(a.createRoom))
	route("POST /join/{roomIdOrAlias}", "join", a.authed(a.join))
	route("POST /rooms/{roomId}/join", "join", a.authed(a.join))
	route("POST /rooms/{roomId}/invite", "invite", a.authed(a.invite))
	route("POST /rooms/{roomId}/leave", "leave", a.authed(a.leave))
	route("POST /rooms/{roomId}/kick", "kick", a.authed(a.kick))
	route("POST /rooms/{roomId}/ban", "ban", a.authed(a.ban))
	route("POST /rooms/{roomId}/unban", "unban", a.authed(a.unban))
	route("PUT /rooms/{roomId}/send/{type}/{txnId}", "send", a.authed(a.send))
	route("PUT /rooms/{roomId}/redact/{eventId}/{txnId}", "redact", a.authed(a.redact))
	route("GET /rooms/{roomId}/state", "state", a.authed(a.state))
	route("GET /rooms/{roomId}/state/{type}", "state_get", a.authed(a.stateGet))
	route("GET /rooms/{roomId}/state/{type}/{stateKey...}", "state_get", a.authed(a.stateGet))
	route("PUT /rooms/{roomId}/state/{type}", "state_put", a.authed(a.statePut))
	route("PUT /rooms/{roomId}/state/{type}/{stateKey...}", "state_put", a.authed(a.statePut))
	route("GET /rooms/{roomId}/messages", "messages", a.authed(a.messages))
	route("GET /rooms/{roomId}/members", "members", a.authed(a.members))
	route("GET /rooms/{roomId}/joined_members", "joined_members", a.authed(a.joinedMembers))
	route("GET /rooms/{roomId}/event/{eventId}", "event", a.authed(a.event))
	route("GET /rooms/{roomId}/context/{eventId}", "context", a.authed(a.eventContext))
	route("GET /joined_rooms", "joined_rooms", a.authed(a.joinedRooms))
	route("GET /sync", "sync", a.authed(a.sync))
	route("GET /auth/{stage}/fallback/web", "uia_fallback", a.uiaFallback)
	a.registerKeys(route)
	a.registerAccount(route)
	a.registerPush(route)
	a.registerMedia(mux, instrument)
	a.registerDirectory(route)
	a.registerTags(route)
	a.registerPresence(route)
	a.registerRelations(mux, instrument)
}

// CORS answers preflights and adds the headers the spec requires to every
// client API response, so that Element Web on another origin works.
func CORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "X-Requested-With, Content-Type, Authorization")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ---- errors ----

type matrixError struct {
	status int
	code   string
	msg    string
}

func (e *matrixError) Error() string { return e.code + ": " + e.msg }

func errf(status int, code, msg string) *matrixError { return &matrixError{status, code, msg} }

var (
	errMissingToken = errf(http.StatusUnauthorized, "M_MISSING_TOKEN", "Missing access token")
	errUnknownToken = errf(http.StatusUnauthorized, "M_UNKNOWN_TOKEN", "Unknown access token")
	errNotJSON      = errf(http.StatusBadRequest, "M_NOT_JSON", "Content not JSON")
	errTooLarge     = errf(http.StatusRequestEntityTooLarge, "M_TOO_LARGE", "Request or event too large")
	errNotMember    = errf(http.StatusForbidden, "M_FORBIDDEN", "You are not a member of this room")
)

func badJSON(msg string) *matrixError { return errf(http.StatusBadRequest, "M_BAD_JSON", msg) }
func badParam(msg string) *matrixError {
	return errf(http.StatusBadRequest, "M_INVALID_PARAM", msg)
}

// Unrecognized answers an unknown endpoint as the spec asks.
func Unrecognized(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]string{"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail writes err: a matrixError as is, the pipeline's errors as their
// errcodes, anything else as a logged 500 without details.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var me *matrixError
	var forbidden *rooms.ForbiddenError
	var bad *rooms.BadRequestError
	switch {
	case errors.As(err, &me):
	case errors.As(err, &forbidden):
		me = errf(http.StatusForbidden, "M_FORBIDDEN", forbidden.Reason)
	case errors.As(err, &bad):
		me = errf(http.StatusBadRequest, "M_BAD_JSON", bad.Reason)
	case errors.Is(err, rooms.ErrTooLarge):
		me = errTooLarge
	case errors.Is(err, rooms.ErrUnknownRoom):
		me = errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown room")
	case errors.Is(err, context.Canceled):
		return
	default:
		a.log.ErrorContext(r.Context(), "chat: request failed", "path", r.URL.Path, "err", err)
		me = errf(http.StatusInternalServerError, "M_UNKNOWN", "Internal error")
	}
	writeJSON(w, me.status, map[string]string{"errcode": me.code, "error": me.msg})
}

// ---- request bodies ----

const maxBody = 1 << 20

// readJSON reads a JSON object body into v (an empty body is {}).
func readJSON(r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return errf(http.StatusBadRequest, "M_UNKNOWN", "Cannot read body")
	}
	if int64(len(body)) > limit {
		return errTooLarge
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if !json.Valid(body) {
		return errNotJSON
	}
	if body[0] != '{' {
		return badJSON("Body must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badJSON(err.Error())
	}
	return nil
}

// ---- authentication ----

type ctxDevice struct{}

func accessToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	return r.URL.Query().Get("access_token")
}

func (a *API) authed(h func(http.ResponseWriter, *http.Request, store.Device)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := accessToken(r)
		if tok == "" {
			a.fail(w, r, errMissingToken)
			return
		}
		dev, err := a.store.DeviceByToken(r.Context(), hashToken(tok))
		if errors.Is(err, store.ErrNotFound) {
			a.fail(w, r, errUnknownToken)
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if dev.Expires != 0 && a.now().UnixMilli() >= dev.Expires {
			// The client refreshes and carries on: a soft logout.
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errcode": "M_UNKNOWN_TOKEN", "error": "Access token expired", "soft_logout": true})
			return
		}
		h(w, r, dev)
	}
}

// allowSend applies the send rate limit, answering 429 M_LIMIT_EXCEEDED
// itself when the user is over it.
func (a *API) allowSend(w http.ResponseWriter, dev store.Device) bool {
	// A shared limiter (Redis) that does not answer quickly lets the send
	// through rather than hold it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ok, wait := a.sends.Allow(ctx, dev.UserID)
	if !ok {
		ms := wait.Milliseconds()
		w.Header().Set("Retry-After", strconv.FormatInt((ms+999)/1000, 10))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": ms})
	}
	return ok
}

// newToken returns a random token with a prefix telling what it is.
func newToken(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how tokens are stored: a leaked database holds no usable
// token.
func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}
