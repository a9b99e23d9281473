package meet

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"bureau/services/meet/internal/rooms"
	"bureau/services/meet/internal/store"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
)

// roomView is a room as the REST API shows it to u.
type roomView struct {
	ID         string       `json:"id"`
	Title      string       `json:"title"`
	Link       string       `json:"link"`
	Access     rooms.Access `json:"access"`
	Kind       rooms.Kind   `json:"kind"`
	HostName   string       `json:"host_name"`
	Ministry   string       `json:"ministry"`
	Invitees   []string     `json:"invitees,omitempty"`   // shown to the host only
	Moderators []string     `json:"moderators,omitempty"` // host only
	Presenters []string     `json:"presenters,omitempty"` // host only
	StartsAt   time.Time    `json:"starts_at,omitzero"`
	EndsAt     time.Time    `json:"ends_at,omitzero"`
	Locked     bool         `json:"locked,omitempty"`
	// WebinarChat (webinars): who may chat, everyone | stage | off.
	WebinarChat rooms.WebinarChat `json:"webinar_chat,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	Role        string            `json:"role"`
	Admission   string            `json:"admission"` // direct | lobby
	Connected   int               `json:"connected"` // sockets in the meeting (lobby included)
}

func (s *Service) roomLink(id string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/visio/" + id
}

func (s *Service) view(r *rooms.Room, u identity.User) roomView {
	v := roomView{
		ID: r.ID, Title: r.Title, Link: s.roomLink(r.ID),
		Access: r.Access, Kind: r.Kind, HostName: r.HostName, Ministry: r.Ministry,
		StartsAt: r.StartsAt, EndsAt: r.EndsAt, Locked: r.Locked, CreatedAt: r.CreatedAt,
		Role: r.Role(u), Admission: string(r.Admission(u)),
	}
	if r.Kind == rooms.KindWebinar {
		v.WebinarChat = r.Chat()
	}
	if v.Role == rooms.RoleHost {
		v.Invitees, v.Moderators, v.Presenters = r.Invitees, r.Moderators, r.Presenters
	}
	if c := s.live(r.ID); c != nil {
		v.Connected = c.count()
	}
	return v
}

// user is the caller as the gateway vouches for it, or a 401.
func user(w http.ResponseWriter, r *http.Request) (identity.User, bool) {
	u, ok := identity.FromContext(r.Context())
	if !ok {
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Vous n'êtes pas connecté.")
	}
	return u, ok
}

// decode reads a JSON body strictly (unknown fields refused).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpx.WriteError(w, http.StatusBadRequest, "bad_request", "Requête invalide.")
		return false
	}
	return true
}

func (s *Service) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.base.Log.ErrorContext(r.Context(), "meet database", "err", err)
	httpx.WriteError(w, http.StatusServiceUnavailable, "unavailable", "Le service de visioconférence est momentanément indisponible.")
}

func (s *Service) createRoom(w http.ResponseWriter, r *http.Request) {
	u, ok := user(w, r)
	if !ok {
		return
	}
	var spec rooms.Spec
	if !decode(w, r, &spec) {
		return
	}
	room, err := rooms.New(u, spec, s.now())
	switch {
	case errors.Is(err, rooms.ErrForbidden):
		httpx.WriteError(w, http.StatusForbidden, "forbidden", "Les comptes externes ne peuvent pas créer de réunion.")
		return
	case err != nil:
		httpx.WriteError(w, http.StatusBadRequest, "invalid_room", "Titre, horaires, mode d'accès ou invités invalides.")
		return
	}
	if err := s.store.CreateRoom(r.Context(), room); err != nil {
		s.storeFailed(w, r, err)
		return
	}
	s.base.Log.Info("room created", "room", room.ID, "host", u.ID, "access", room.Access, "scheduled", room.Scheduled())
	httpx.WriteJSON(w, http.StatusCreated, s.view(room, u))
}

// listRooms: "my meetings", those the caller hosts or is named in.
func (s *Service) listRooms(w http.ResponseWriter, r *http.Request) {
	u, ok := user(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := store.ListFilter{UserID: u.ID, Email: strings.ToLower(strings.TrimSpace(u.Email)), Now: s.now(), Limit: 50}
	switch q.Get("upcoming") {
	case "", "false", "0":
	case "true", "1":
		f.Upcoming = true
	default:
		httpx.WriteError(w, http.StatusBadRequest, "bad_request", "upcoming vaut true ou false.")
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			httpx.WriteError(w, http.StatusBadRequest, "bad_request", "limit va de 1 à 200.")
			return
		}
		f.Limit = n
	}
	if f.Email == "" {
		f.Email = "\x00" // matches nobody's invitation
	}
	rs, err := s.store.ListRooms(r.Context(), f)
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	out := make([]roomView, 0, len(rs))
	for _, room := range rs {
		out = append(out, s.view(room, u))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"rooms": out})
}

// getRoom answers from the node serving the meeting, if any, so that
// `connected` counts its participants.
func (s *Service) getRoom(w http.ResponseWriter, r *http.Request) {
	u, room, ok := s.lookup(w, r)
	if !ok || !s.joinable(w, room) || s.forwarded(w, r, room.ID) {
		return
	}
	httpx.WriteJSON(w, http.StatusOK, s.view(room, u))
}

// updateRoom: the host changes title, access, people or schedule.
func (s *Service) updateRoom(w http.ResponseWriter, r *http.Request) {
	u, room, ok := s.hostOnly(w, r)
	// Answered by the node serving the meeting, which applies a change of
	// webinar chat live.
	if !ok || s.forwarded(w, r, room.ID) {
		return
	}
	before := room.Chat()
	var p rooms.Patch
	if !decode(w, r, &p) {
		return
	}
	if err := room.Apply(p); err != nil {
		httpx.WriteError(w, http.StatusBadRequest, "invalid_room", "Titre, horaires, mode d'accès ou invités invalides.")
		return
	}
	if err := s.store.UpdateRoom(r.Context(), room, s.now()); err != nil {
		s.storeFailed(w, r, err)
		return
	}
	if c := s.live(room.ID); c != nil {
		c.setRoom(room)
		if room.Kind == rooms.KindWebinar && room.Chat() != before {
			c.setWebinarChat(nil, room.Chat())
		}
	}
	httpx.WriteJSON(w, http.StatusOK, s.view(room, u))
}

// cancelRoom: the host cancels the meeting; its links stop working and a
// meeting in progress ends for everyone (the request goes to its node).
func (s *Service) cancelRoom(w http.ResponseWriter, r *http.Request) {
	u, room, ok := s.hostOnly(w, r)
	if !ok || s.forwarded(w, r, room.ID) {
		return
	}
	if err := s.store.CancelRoom(r.Context(), room.ID, s.now()); err != nil {
		s.storeFailed(w, r, err)
		return
	}
	s.base.Log.Info("room cancelled", "room", room.ID, "by", u.ID)
	if c := s.live(room.ID); c != nil {
		c.endAll("")
	}
	w.WriteHeader(http.StatusNoContent)
}

// lookup authenticates the caller and finds the room, answering errors.
func (s *Service) lookup(w http.ResponseWriter, r *http.Request) (identity.User, *rooms.Room, bool) {
	u, ok := user(w, r)
	if !ok {
		return u, nil, false
	}
	room, ok := s.findRoom(w, r, r.PathValue("id"))
	return u, room, ok
}

func (s *Service) findRoom(w http.ResponseWriter, r *http.Request, id string) (*rooms.Room, bool) {
	if !rooms.ValidID(id) {
		httpx.WriteError(w, http.StatusNotFound, "not_found", "Cette réunion n'existe pas.")
		return nil, false
	}
	room, err := s.store.Room(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		httpx.WriteError(w, http.StatusNotFound, "not_found", "Cette réunion n'existe pas.")
		return nil, false
	}
	if err != nil {
		s.storeFailed(w, r, err)
		return nil, false
	}
	return room, true
}

// joinable refuses a cancelled meeting (410).
func (s *Service) joinable(w http.ResponseWriter, room *rooms.Room) bool {
	if room.Cancelled() {
		httpx.WriteError(w, http.StatusGone, "cancelled", "Cette réunion a été annulée par son organisateur.")
		return false
	}
	return true
}

// hostOnly is lookup for what only the host may do.
func (s *Service) hostOnly(w http.ResponseWriter, r *http.Request) (identity.User, *rooms.Room, bool) {
	u, room, ok := s.lookup(w, r)
	if !ok || !s.joinable(w, room) {
		return u, nil, false
	}
	if room.Role(u) != rooms.RoleHost {
		httpx.WriteError(w, http.StatusForbidden, "forbidden", "Seul l'organisateur peut modifier cette réunion.")
		return u, nil, false
	}
	return u, room, true
}

// moderatorOnly is lookup for what the host and moderators may do.
func (s *Service) moderatorOnly(w http.ResponseWriter, r *http.Request) (identity.User, *rooms.Room, bool) {
	u, room, ok := s.lookup(w, r)
	if !ok || !s.joinable(w, room) {
		return u, nil, false
	}
	if !rooms.CanModerate(room.Role(u)) {
		httpx.WriteError(w, http.StatusForbidden, "forbidden", "Seuls l'organisateur et les modérateurs gèrent les liens invités.")
		return u, nil, false
	}
	return u, room, true
}

func bg() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}
