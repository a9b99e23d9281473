// Package rooms holds meeting rooms and who may enter them directly. It
// knows nothing of media: the live state of a meeting (who is connected,
// the lobby queue) belongs to the conference that serves the room.
//
// Rooms are stored by internal/store (SQLite or PostgreSQL); which node
// serves a room live is internal/placement's business.
package rooms

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	// RoleGuest: someone without an account who came through a guest link
	// (shown as « invité »). Always waits in the lobby, never moderates; in
	// a webinar a guest is an attendee.
	RoleGuest = "guest"
)

// CanPublish reports whether a role may send media.
func CanPublish(role string) bool { return role != RoleAttendee }

// CanModerate reports whether a role has power over others.
func CanModerate(role string) bool { return role == RoleHost || role == RoleModerator }

// SeesQuestions reports whether a role receives Q&A questions.
func SeesQuestions(role string) bool {
	return role == RoleHost || role == RoleModerator || role == RolePresenter
}

// WebinarChat says who may chat in a webinar (meetings: everyone).
type WebinarChat string

const (
	// ChatEveryone (the default): every member's message goes to everyone.
	ChatEveryone WebinarChat = "everyone"
	// ChatStage: an attendee's message goes to the stage (hosts,
	// moderators, presenters, speakers) and back to its sender; the
	// stage's messages go to everyone.
	ChatStage WebinarChat = "stage"
	// ChatOff: attendees cannot chat; the stage still can.
	ChatOff WebinarChat = "off"
)

// Valid reports whether w is one of the settings.
func (w WebinarChat) Valid() bool { return w == ChatEveryone || w == ChatStage || w == ChatOff }

// Chat is who may chat in the room's webinar (everyone when unset).
func (r *Room) Chat() WebinarChat {
	if r.WebinarChat == "" {
		return ChatEveryone
	}
	return r.WebinarChat
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
	// MaxDuration bounds a scheduled meeting (start to end).
	MaxDuration = 7 * 24 * time.Hour
)

// Room is a meeting room, as stored.
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
	// StartsAt and EndsAt schedule the meeting (both zero: an instant
	// meeting). They inform; the link works at any time until cancelled.
	StartsAt time.Time `json:"starts_at,omitzero"`
	EndsAt   time.Time `json:"ends_at,omitzero"`
	// Locked: arrivals without moderation rights wait in the lobby. Kept
	// across restarts.
	Locked bool `json:"locked,omitempty"`
	// CancelledAt: the host cancelled the meeting; its link is dead.
	CancelledAt time.Time `json:"cancelled_at,omitzero"`
	// WebinarChat: who may chat in a webinar; changed live by the host
	// and moderators too.
	WebinarChat WebinarChat `json:"webinar_chat"`
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
	// StartsAt/EndsAt schedule the meeting; both or neither.
	StartsAt *time.Time `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"`
	// WebinarChat: everyone (default) | stage | off.
	WebinarChat *WebinarChat `json:"webinar_chat"`
}

// Patch is what a host changes (PATCH): nil fields stay as they are.
type Patch struct {
	Title      *string    `json:"title"`
	Access     *Access    `json:"access"`
	Invitees   *[]string  `json:"invitees"`
	Moderators *[]string  `json:"moderators"`
	Presenters *[]string  `json:"presenters"`
	StartsAt   *time.Time `json:"starts_at"`
	EndsAt     *time.Time `json:"ends_at"`
	// Unschedule turns a scheduled meeting back into an instant one.
	Unschedule bool `json:"unschedule"`
	// WebinarChat: who may chat in a webinar.
	WebinarChat *WebinarChat `json:"webinar_chat"`
}

// Errors.
var (
	ErrNotFound  = errors.New("rooms: no such room")
	ErrForbidden = errors.New("rooms: externals cannot create rooms")
	ErrInvalid   = errors.New("rooms: invalid room")
)

// New makes a room hosted by u (not stored). Like Tchap, externals cannot
// create rooms.
func New(u identity.User, s Spec, now time.Time) (*Room, error) {
	if u.External || u.Ministry == "" {
		return nil, ErrForbidden
	}
	if s.Access == "" {
		s.Access = AccessMinistry
	}
	if s.Kind == "" {
		s.Kind = KindMeeting
	}
	if s.Kind != KindMeeting && s.Kind != KindWebinar {
		return nil, ErrInvalid
	}
	title := strings.TrimSpace(s.Title)
	if title == "" {
		title = "Réunion de " + u.DisplayName()
	}
	r := &Room{
		ID: NewID(), Title: title, Access: s.Access, Kind: s.Kind, HostID: u.ID, HostName: u.DisplayName(),
		Ministry: u.Ministry, CreatedAt: now.UTC().Truncate(time.Millisecond), WebinarChat: ChatEveryone,
	}
	p := Patch{Title: &title, Invitees: &s.Invitees, Moderators: &s.Moderators, Presenters: &s.Presenters, StartsAt: s.StartsAt, EndsAt: s.EndsAt, WebinarChat: s.WebinarChat}
	if err := r.Apply(p); err != nil {
		return nil, err
	}
	return r, nil
}

// Apply changes r as p says, or leaves it untouched and reports
// ErrInvalid.
func (r *Room) Apply(p Patch) error {
	n := *r
	if p.Title != nil {
		t := strings.TrimSpace(*p.Title)
		if t == "" || utf8.RuneCountInString(t) > MaxTitle || !utf8.ValidString(t) || strings.ContainsFunc(t, unicode.IsControl) {
			return ErrInvalid
		}
		n.Title = t
	}
	if p.Access != nil {
		n.Access = *p.Access
	}
	if n.Access != AccessMinistry && n.Access != AccessInvited && n.Access != AccessAgents {
		return ErrInvalid
	}
	if p.WebinarChat != nil {
		n.WebinarChat = *p.WebinarChat
	}
	if n.WebinarChat == "" {
		n.WebinarChat = ChatEveryone
	}
	if !n.WebinarChat.Valid() {
		return ErrInvalid
	}
	for _, l := range []struct {
		in  *[]string
		out *[]string
	}{{p.Invitees, &n.Invitees}, {p.Moderators, &n.Moderators}, {p.Presenters, &n.Presenters}} {
		if l.in == nil {
			continue
		}
		v, err := emails(*l.in)
		if err != nil {
			return err
		}
		*l.out = v
	}
	if n.Kind == KindMeeting && len(n.Presenters) > 0 {
		return ErrInvalid
	}
	if p.Unschedule {
		n.StartsAt, n.EndsAt = time.Time{}, time.Time{}
	}
	if p.StartsAt != nil {
		n.StartsAt = p.StartsAt.UTC().Truncate(time.Millisecond)
	}
	if p.EndsAt != nil {
		n.EndsAt = p.EndsAt.UTC().Truncate(time.Millisecond)
	}
	if err := checkSchedule(n.StartsAt, n.EndsAt); err != nil {
		return err
	}
	*r = n
	return nil
}

// checkSchedule: both times or neither, the end after the start, within
// MaxDuration, between years 2000 and 9999 (stored as Unix ms).
func checkSchedule(start, end time.Time) error {
	if start.IsZero() && end.IsZero() {
		return nil
	}
	if start.IsZero() || end.IsZero() || !end.After(start) || end.Sub(start) > MaxDuration ||
		start.Year() < 2000 || end.Year() > 9999 {
		return ErrInvalid
	}
	return nil
}

// Scheduled reports whether the meeting has a start and an end.
func (r *Room) Scheduled() bool { return !r.StartsAt.IsZero() }

// Cancelled reports whether the host cancelled the meeting.
func (r *Room) Cancelled() bool { return !r.CancelledAt.IsZero() }

// Listed reports whether email is among the invitees, moderators or
// presenters.
func (r *Room) Listed(email string) bool {
	return listed(r.Invitees, email) || listed(r.Moderators, email) || listed(r.Presenters, email)
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

// GuestRole is the role of someone who came through a guest link.
func (r *Room) GuestRole() string {
	if r.Kind == KindWebinar {
		return RoleAttendee
	}
	return RoleGuest
}

// Admission decides whether u enters directly or waits in the lobby.
// Guests (no account) always wait: the caller does not ask.
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

// MaxGuestName bounds the display name a guest gives.
const MaxGuestName = 64

// GuestName checks and normalises the display name a guest types: spaces
// trimmed and collapsed, 1 to MaxGuestName characters, no control or
// format characters (no bidi overrides to disguise a name).
func GuestName(s string) (string, error) {
	if !utf8.ValidString(s) || len(s) > 4*MaxGuestName+64 {
		return "", ErrInvalid
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.Is(unicode.Cf, r) || (unicode.IsControl(r) && r != ' ') }) {
		return "", ErrInvalid
	}
	n := strings.Join(strings.Fields(s), " ")
	if n == "" || utf8.RuneCountInString(n) > MaxGuestName {
		return "", ErrInvalid
	}
	return n, nil
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
