package meet

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"bureau/services/meet/internal/rooms"
	"bureau/services/meet/internal/signal"
	"bureau/services/meet/internal/store"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
)

// Guest links: a host (or moderator) makes a link with a random token; the
// database keeps only its hash. Someone without an account who opens it
// gives a name and waits in the lobby until admitted. The token is the
// guest's only credential: it names one meeting, expires, and can be
// revoked.

const maxGuestLinkLabel = 100

// MaxGuestLinkLife bounds a guest link's expiry.
const MaxGuestLinkLife = 366 * 24 * time.Hour

type guestLinkView struct {
	store.GuestLink
	// Token and URL are shown once, at creation.
	Token string `json:"token,omitempty"`
	URL   string `json:"url,omitempty"`
}

func (s *Service) guestURL(token string) string {
	// In the fragment: browsers do not send it, so the token stays out of
	// access logs and Referer headers when the page loads.
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/visio/invite#" + token
}

func (s *Service) createGuestLink(w http.ResponseWriter, r *http.Request) {
	u, room, ok := s.moderatorOnly(w, r)
	if !ok {
		return
	}
	var req struct {
		Label     string     `json:"label"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if !decode(w, r, &req) {
		return
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	label := strings.TrimSpace(req.Label)
	if !utf8.ValidString(label) || utf8.RuneCountInString(label) > maxGuestLinkLabel {
		httpx.WriteError(w, http.StatusBadRequest, "invalid_label", "Le libellé fait au plus 100 caractères.")
		return
	}
	g := &store.GuestLink{ID: "gl" + rooms.NewID()[:14], RoomID: room.ID, Label: label, CreatedBy: u.ID, CreatedAt: now}
	if e := req.ExpiresAt; e != nil {
		if !e.After(now) || e.Sub(now) > MaxGuestLinkLife {
			httpx.WriteError(w, http.StatusBadRequest, "invalid_expiry", "L'expiration doit être dans le futur, à moins d'un an.")
			return
		}
		g.ExpiresAt = e.UTC().Truncate(time.Millisecond)
	}
	token, hash := store.NewGuestToken()
	if err := s.store.CreateGuestLink(r.Context(), g, hash); err != nil {
		s.storeFailed(w, r, err)
		return
	}
	s.base.Log.Info("guest link created", "room", room.ID, "link", g.ID, "by", u.ID, "expires", g.ExpiresAt)
	httpx.WriteJSON(w, http.StatusCreated, guestLinkView{GuestLink: *g, Token: token, URL: s.guestURL(token)})
}

func (s *Service) listGuestLinks(w http.ResponseWriter, r *http.Request) {
	_, room, ok := s.moderatorOnly(w, r)
	if !ok {
		return
	}
	links, err := s.store.GuestLinks(r.Context(), room.ID)
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"links": links})
}

// revokeGuestLink ends a link; guests of that link still waiting in the
// lobby are turned away (the request goes to the meeting's node). Admitted
// guests stay.
func (s *Service) revokeGuestLink(w http.ResponseWriter, r *http.Request) {
	u, room, ok := s.moderatorOnly(w, r)
	if !ok || s.forwarded(w, r, room.ID) {
		return
	}
	id := r.PathValue("link")
	err := s.store.RevokeGuestLink(r.Context(), room.ID, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, http.StatusNotFound, "not_found", "Ce lien invité n'existe pas.")
		return
	}
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	s.base.Log.Info("guest link revoked", "room", room.ID, "link", id, "by", u.ID)
	if c := s.live(room.ID); c != nil {
		c.dropLink(id)
	}
	w.WriteHeader(http.StatusNoContent)
}

// guestRoom resolves a guest token to its meeting, answering 404 (unknown
// token or meeting) or 410 (revoked, expired, cancelled).
func (s *Service) guestRoom(w http.ResponseWriter, r *http.Request) (*store.GuestLink, *rooms.Room, bool) {
	token := r.PathValue("token")
	var g *store.GuestLink
	err := store.ErrNotFound
	if signal.ValidToken(token) {
		g, err = s.store.GuestLinkByToken(r.Context(), token)
	}
	if err == nil {
		err = g.Usable(s.now())
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		httpx.WriteError(w, http.StatusNotFound, "not_found", "Ce lien d'invitation n'existe pas. Vérifiez qu'il a été copié en entier.")
		return nil, nil, false
	case errors.Is(err, store.ErrRevoked):
		httpx.WriteError(w, http.StatusGone, "link_revoked", "Ce lien d'invitation a été désactivé par l'organisateur.")
		return nil, nil, false
	case errors.Is(err, store.ErrExpired):
		httpx.WriteError(w, http.StatusGone, "link_expired", "Ce lien d'invitation a expiré.")
		return nil, nil, false
	case err != nil:
		s.storeFailed(w, r, err)
		return nil, nil, false
	}
	room, ok := s.findRoom(w, r, g.RoomID)
	if !ok || !s.joinable(w, room) {
		return nil, nil, false
	}
	return g, room, true
}

// guestRoomView is what a guest learns before joining.
type guestRoomView struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	Kind      rooms.Kind `json:"kind"`
	HostName  string     `json:"host_name"`
	StartsAt  time.Time  `json:"starts_at,omitzero"`
	EndsAt    time.Time  `json:"ends_at,omitzero"`
	Role      string     `json:"role"`
	Admission string     `json:"admission"` // always lobby
	ExpiresAt time.Time  `json:"link_expires_at,omitzero"`
}

func (s *Service) getGuestRoom(w http.ResponseWriter, r *http.Request) {
	g, room, ok := s.guestRoom(w, r)
	if !ok {
		return
	}
	httpx.WriteJSON(w, http.StatusOK, guestRoomView{
		ID: room.ID, Title: room.Title, Kind: room.Kind, HostName: room.HostName, StartsAt: room.StartsAt, EndsAt: room.EndsAt,
		Role: room.GuestRole(), Admission: string(rooms.Lobby), ExpiresAt: g.ExpiresAt,
	})
}

// serveGuestWS: ?name= is the display name the guest typed. The identity
// is made here from the link, never from anything else the client sends:
// a Bureau-Identity header on this path is ignored.
func (s *Service) serveGuestWS(w http.ResponseWriter, r *http.Request) {
	g, room, ok := s.guestRoom(w, r)
	if !ok {
		return
	}
	name, err := rooms.GuestName(r.URL.Query().Get("name"))
	if err != nil {
		httpx.WriteError(w, http.StatusBadRequest, "invalid_name", "Indiquez votre nom (1 à 64 caractères).")
		return
	}
	if s.routed(w, r, room.ID) {
		return
	}
	// The user id is set at join, from the guest's key.
	ss := s.newSession(newParticipantID(), identity.User{GivenName: name, External: true}, room.GuestRole())
	ss.guest, ss.link = true, g.ID
	s.serveSession(w, r, room, ss)
}
