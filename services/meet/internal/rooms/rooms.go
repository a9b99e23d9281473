// Package rooms holds meeting rooms and who may enter them directly. It
// knows nothing of media: the live state of a meeting (who is connected,
// the lobby queue) belongs to the conference that serves the room.
//
// Rooms are in memory for this increment; the Redis room → node placement
// replaces the map, not the rules.
package rooms

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"net/mail"
	"strings"
	"sync"
	"time"

	"bureau/services/platform/identity"
)

// Access says who enters a room without waiting in the lobby.
type Access string

const (
	// AccessMinistry (the default): the host, the invitees, and agents of the
	// host's ministry. Everyone else (other ministries, externals) waits in
	// the lobby until a host admits them.
	AccessMinistry Access = "ministry"
	// AccessInvited: only the host and the invitees; everyone else waits.
	AccessInvited Access = "invited"
	// AccessAgents: every agent with the link enters directly (webinars open
	// to all ministries); externals still wait in the lobby.
	AccessAgents Access = "agents"
)

// Kind is a meeting (everyone may publish) or a webinar (presenters
// publish, attendees only watch until promoted).
type Kind string

const (
	KindMeeting Kind = "meeting"
	KindWebinar Kind = "webinar"
)

// Roles.
//
// host: the creator; moderator: named by the host at creation (moderators)
// with the host's powers over others (admit, mute, stop camera, remove,
// lock, end, promote); participant: a meeting member; in a webinar,
// presenter (named at creation: presenters) publishes, attendee only
// watches, speaker is an attendee promoted by a host or moderator.
const (
	RoleHost        = "host"
	RoleModerator   = "moderator"
	RoleParticipant = "participant"
	RolePresenter   = "presenter"
	RoleAttendee    = "attendee"
	RoleSpeaker     = "speaker"
)

// CanPublish reports whether a role may send media.
func CanPublish(role string) bool { return role != RoleAttendee }

// CanModerate reports whether a role has power over others.
func CanModerate(role string) bool { return role == RoleHost || role == RoleModerator }

// SeesQuestions reports whether a role receives Q&A questions.
func SeesQuestions(role string) bool {
	return role == RoleHost || role == RoleModerator || role == RolePresenter
}

// Admission is the outcome of a join attempt before any host decides.
type Admission string

const (
	Direct Admission = "direct"
	Lobby  Admission = "lobby"
)

// Limits.
const (
	MaxInvitees = 200
	MaxTitle    = 200
)

// Room is a meeting room. Its fields are fixed after creation.
type Room struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Access   Access   `json:"access"`
	Kind     Kind     `json:"kind"`
	HostID   string   `json:"host_id"`
	HostName string   `json:"host_name"`
	Ministry string   `json:"ministry"`
	Invitees []string `json:"invitees,omitempty"` // lower-case emails
	// Moderators and Presenters (webinars) are lower-case emails; they
	// enter directly, like invitees.
	Moderators []string  `json:"moderators,omitempty"`
	Presenters []string  `json:"presenters,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Spec is what a creator chooses.
type Spec struct {
	Title    string   `json:"title"`
	Access   Access   `json:"access"`
	Invitees []string `json:"invitees"`
	Kind     Kind     `json:"kind"`
	// Moderators get the host's powers over others; Presenters publish in
	// a webinar. Both are emails and enter directly.
	Moderators []string `json:"moderators"`
	Presenters []string `json:"presenters"`
}

// Errors.
var (
	ErrNotFound  = errors.New("rooms: no such room")
	ErrForbidden = errors.New("rooms: externals cannot create rooms")
	ErrInvalid   = errors.New("rooms: invalid room")
)

// Registry is the set of rooms.
type Registry struct {
	mu    sync.RWMutex
	rooms map[string]*Room
	now   func() time.Time
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{rooms: map[string]*Room{}, now: time.Now}
}

// Create makes a room hosted by u. Like Tchap, externals cannot create rooms.
func (g *Registry) Create(u identity.User, s Spec) (*Room, error) {
	if u.External || u.Ministry == "" {
		return nil, ErrForbidden
	}
	if s.Access == "" {
		s.Access = AccessMinistry
	}
	if s.Access != AccessMinistry && s.Access != AccessInvited && s.Access != AccessAgents {
		return nil, ErrInvalid
	}
	if s.Kind == "" {
		s.Kind = KindMeeting
	}
	if s.Kind != KindMeeting && s.Kind != KindWebinar {
		return nil, ErrInvalid
	}
	if s.Kind == KindMeeting && len(s.Presenters) > 0 {
		return nil, ErrInvalid
	}
	title := strings.TrimSpace(s.Title)
	if len([]rune(title)) > MaxTitle {
		return nil, ErrInvalid
	}
	if title == "" {
		title = "Réunion de " + u.DisplayName()
	}
	inv, err := emails(s.Invitees)
	if err != nil {
		return nil, err
	}
	mods, err := emails(s.Moderators)
	if err != nil {
		return nil, err
	}
	pres, err := emails(s.Presenters)
	if err != nil {
		return nil, err
	}
	r := &Room{
		ID: NewID(), Title: title, Access: s.Access, Kind: s.Kind, HostID: u.ID, HostName: u.DisplayName(),
		Ministry: u.Ministry, Invitees: inv, Moderators: mods, Presenters: pres, CreatedAt: g.now().UTC(),
	}
	g.mu.Lock()
	g.rooms[r.ID] = r
	g.mu.Unlock()
	return r, nil
}

func emails(in []string) ([]string, error) {
	if len(in) > MaxInvitees {
		return nil, ErrInvalid
	}
	out := make([]string, 0, len(in))
	for _, e := range in {
		a, err := mail.ParseAddress(e)
		if err != nil || a.Address != strings.TrimSpace(e) {
			return nil, ErrInvalid
		}
		out = append(out, strings.ToLower(a.Address))
	}
	return out, nil
}

// Get returns a room.
func (g *Registry) Get(id string) (*Room, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if r, ok := g.rooms[id]; ok {
		return r, nil
	}
	return nil, ErrNotFound
}

// Role is u's role in r.
func (r *Room) Role(u identity.User) string {
	switch {
	case u.ID == r.HostID:
		return RoleHost
	case listed(r.Moderators, u.Email):
		return RoleModerator
	case r.Kind == KindWebinar && listed(r.Presenters, u.Email):
		return RolePresenter
	case r.Kind == KindWebinar:
		return RoleAttendee
	}
	return RoleParticipant
}

// Admission decides whether u enters directly or waits in the lobby.
func (r *Room) Admission(u identity.User) Admission {
	if u.ID == r.HostID || r.invited(u.Email) || listed(r.Moderators, u.Email) || listed(r.Presenters, u.Email) {
		return Direct
	}
	if r.Access == AccessAgents && !u.External {
		return Direct
	}
	if r.Access == AccessMinistry && !u.External && u.Ministry != "" && u.Ministry == r.Ministry {
		return Direct
	}
	return Lobby
}

func (r *Room) invited(email string) bool { return listed(r.Invitees, email) }

func listed(list []string, email string) bool {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return false
	}
	for _, e := range list {
		if e == email {
			return true
		}
	}
	return false
}

var idEnc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random id of 80 bits in the form xxxx-xxxx-xxxx-xxxx:
// unguessable, so a link alone does not let an outsider find rooms, yet
// readable aloud.
func NewID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	s := idEnc.EncodeToString(b[:])
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// ValidID reports whether s has the form of a room id.
func ValidID(s string) bool {
	if len(s) != 19 {
		return false
	}
	for i, c := range s {
		if i%5 == 4 {
			if c != '-' {
				return false
			}
		} else if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
