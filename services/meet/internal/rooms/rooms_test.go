package rooms

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"bureau/services/platform/identity"
)

func TestAdmission(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	g := creator(func(u identity.User, s Spec) (*Room, error) { return New(u, s, now) })
	host := identity.User{ID: "h", Email: "h@interieur.gouv.fr", Ministry: "interieur"}
	peer := identity.User{ID: "p", Email: "p@interieur.gouv.fr", Ministry: "interieur"}
	other := identity.User{ID: "o", Email: "o@armees.gouv.fr", Ministry: "armees"}
	guest := identity.User{ID: "x", Email: "x@example.com", External: true}
	invited := identity.User{ID: "i", Email: "I@Armees.gouv.fr", Ministry: "armees"}

	r, err := g.Create(host, Spec{Invitees: []string{"i@armees.gouv.fr"}})
	if err != nil {
		t.Fatal(err)
	}
	if !ValidID(r.ID) || r.Access != AccessMinistry || !strings.Contains(r.Title, "h@interieur") {
		t.Fatalf("room %+v", r)
	}
	for u, want := range map[identity.User]Admission{host: Direct, peer: Direct, invited: Direct, other: Lobby, guest: Lobby} {
		if got := r.Admission(u); got != want {
			t.Errorf("%s: %s, want %s", u.ID, got, want)
		}
	}
	r2, _ := g.Create(host, Spec{Access: AccessInvited, Invitees: []string{"i@armees.gouv.fr"}})
	for u, want := range map[identity.User]Admission{host: Direct, peer: Lobby, invited: Direct, other: Lobby} {
		if got := r2.Admission(u); got != want {
			t.Errorf("invited room, %s: %s, want %s", u.ID, got, want)
		}
	}
	if r.Role(host) != RoleHost || r.Role(peer) != RoleParticipant {
		t.Fatal("roles")
	}
	// An external with a ministry-looking email is still an external.
	spoof := identity.User{ID: "s", Email: "s@interieur.gouv.fr", Ministry: "interieur", External: true}
	if r.Admission(spoof) != Lobby {
		t.Fatal("external of the same ministry entered directly")
	}
	if _, err := g.Create(guest, Spec{}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("external created a room: %v", err)
	}
	for _, s := range []Spec{{Access: "open"}, {Invitees: []string{"Bob <b@x.fr>"}}, {Title: strings.Repeat("x", MaxTitle+1)}} {
		if _, err := g.Create(host, s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v accepted", s)
		}
	}
	for _, s := range []Spec{{Kind: "conference"}, {Presenters: []string{"a@x.fr"}}, {Kind: KindWebinar, Moderators: []string{"nope"}}} {
		if _, err := g.Create(host, s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v accepted", s)
		}
	}
	w, err := g.Create(host, Spec{Kind: KindWebinar, Access: AccessAgents, Moderators: []string{"P@interieur.gouv.fr"}, Presenters: []string{"o@armees.gouv.fr"}})
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[identity.User]string{host: RoleHost, peer: RoleModerator, other: RolePresenter, invited: RoleAttendee, guest: RoleAttendee} {
		if got := w.Role(u); got != want {
			t.Errorf("webinar role of %s: %s, want %s", u.ID, got, want)
		}
	}
	for u, want := range map[identity.User]Admission{invited: Direct, other: Direct, guest: Lobby} {
		if got := w.Admission(u); got != want {
			t.Errorf("webinar (agents) admission of %s: %s, want %s", u.ID, got, want)
		}
	}
	if CanPublish(RoleAttendee) || !CanPublish(RoleSpeaker) || CanModerate(RolePresenter) || !CanModerate(RoleModerator) || SeesQuestions(RoleAttendee) {
		t.Fatal("role rights")
	}
	if w.GuestRole() != RoleAttendee || r.GuestRole() != RoleGuest || CanModerate(RoleGuest) || !CanPublish(RoleGuest) {
		t.Fatal("guest roles")
	}
	for _, s := range []string{"", "abcd-efgh-ijkl-mnop-", "ABCD-efgh-ijkl-mnop", "abcd_efgh-ijkl-mnop", "abcd-efgh-ijkl-mno1"} {
		if ValidID(s) {
			t.Errorf("ValidID(%q)", s)
		}
	}
}

type creator func(identity.User, Spec) (*Room, error)

func (c creator) Create(u identity.User, s Spec) (*Room, error) { return c(u, s) }

func TestSchedule(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	host := identity.User{ID: "h", Email: "h@interieur.gouv.fr", Ministry: "interieur"}
	at := func(h int) *time.Time { v := now.Add(time.Duration(h) * time.Hour); return &v }
	r, err := New(host, Spec{Title: " Point ", StartsAt: at(24), EndsAt: at(25)}, now)
	if err != nil || r.Title != "Point" || !r.Scheduled() || !r.EndsAt.Equal(*at(25)) {
		t.Fatalf("%+v %v", r, err)
	}
	for _, s := range []Spec{{StartsAt: at(1)}, {EndsAt: at(1)}, {StartsAt: at(2), EndsAt: at(1)}, {StartsAt: at(1), EndsAt: at(1)}, {StartsAt: at(0), EndsAt: at(24*8 + 1)}} {
		if _, err := New(host, s, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("schedule %v–%v accepted", s.StartsAt, s.EndsAt)
		}
	}
	before := *r
	bad := "\x07bell"
	if err := r.Apply(Patch{Title: &bad, EndsAt: at(30)}); !errors.Is(err, ErrInvalid) || r.Title != before.Title || !r.EndsAt.Equal(before.EndsAt) {
		t.Fatal("a refused patch changed the room")
	}
	title, inv := "Revue", []string{"A@armees.gouv.fr"}
	if err := r.Apply(Patch{Title: &title, Invitees: &inv, EndsAt: at(26)}); err != nil || r.Title != "Revue" || r.Invitees[0] != "a@armees.gouv.fr" || !r.Listed("a@ARMEES.gouv.fr") {
		t.Fatalf("patch: %v %+v", err, r)
	}
	if err := r.Apply(Patch{Unschedule: true}); err != nil || r.Scheduled() {
		t.Fatal("unschedule")
	}
}

func TestGuestName(t *testing.T) {
	for in, want := range map[string]string{"  Jeanne  Dupont ": "Jeanne Dupont", "Zoé": "Zoé"} {
		if got, err := GuestName(in); err != nil || got != want {
			t.Errorf("GuestName(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "   ", "a\x00b", "line\nbreak", strings.Repeat("é", MaxGuestName+1), "\xff\xfe"} {
		if _, err := GuestName(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("GuestName(%q) accepted", in)
		}
	}
}

func FuzzGuestName(f *testing.F) {
	for _, s := range []string{"Jeanne", " a  b ", "\u202e", "\x00", strings.Repeat("x", 80)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := GuestName(in)
		if err != nil {
			return
		}
		if got == "" || !utf8.ValidString(got) || utf8.RuneCountInString(got) > MaxGuestName || strings.ContainsFunc(got, unicode.IsControl) || got != strings.TrimSpace(got) {
			t.Fatalf("GuestName(%q) = %q", in, got)
		}
		if again, err := GuestName(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q, %v", got, again, err)
		}
	})
}

// FuzzPatch: any JSON a host sends to PATCH either is refused, leaving the
// room as it was, or gives a room that keeps every invariant.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`{"title":"Revue"}`, `{"starts_at":"2030-01-01T10:00:00Z","ends_at":"2030-01-01T11:00:00+01:00"}`,
		`{"unschedule":true,"invitees":["A@b.fr"]}`, `{"access":"agents","presenters":["x@y.fr"]}`, `{"ends_at":"0001-01-01T00:00:00Z"}`,
	} {
		f.Add(s)
	}
	host := identity.User{ID: "h", Email: "h@interieur.gouv.fr", Ministry: "interieur"}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		var p Patch
		if json.Unmarshal([]byte(body), &p) != nil {
			return
		}
		r, err := New(host, Spec{Title: "Base"}, now)
		if err != nil {
			t.Fatal(err)
		}
		before := *r
		if err := r.Apply(p); err != nil {
			if !errors.Is(err, ErrInvalid) || !reflect.DeepEqual(before, *r) {
				t.Fatalf("refused patch %s changed the room or gave %v", body, err)
			}
			return
		}
		if r.Title == "" || utf8.RuneCountInString(r.Title) > MaxTitle || checkSchedule(r.StartsAt, r.EndsAt) != nil ||
			(r.Access != AccessMinistry && r.Access != AccessInvited && r.Access != AccessAgents) ||
			(r.Kind == KindMeeting && len(r.Presenters) > 0) || len(r.Invitees) > MaxInvitees {
			t.Fatalf("patch %s gave an invalid room %+v", body, r)
		}
		for _, e := range r.Invitees {
			if e != strings.ToLower(e) || !strings.Contains(e, "@") {
				t.Fatalf("invitee %q", e)
			}
		}
	})
}

// Webinar chat: everyone by default, stage or off on request, anything
// else refused at creation and in a patch (the room unchanged).
func TestWebinarChat(t *testing.T) {
	host := identity.User{ID: "h", Email: "h@interieur.gouv.fr", Ministry: "interieur"}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	r, err := New(host, Spec{Kind: KindWebinar}, now)
	if err != nil || r.Chat() != ChatEveryone {
		t.Fatalf("default: %v %q", err, r.Chat())
	}
	off, bad := ChatOff, WebinarChat("attendees")
	if _, err := New(host, Spec{Kind: KindWebinar, WebinarChat: &bad}, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad setting at creation: %v", err)
	}
	if err := r.Apply(Patch{WebinarChat: &off}); err != nil || r.Chat() != ChatOff {
		t.Fatalf("patch: %v %q", err, r.Chat())
	}
	if err := r.Apply(Patch{WebinarChat: &bad}); !errors.Is(err, ErrInvalid) || r.Chat() != ChatOff {
		t.Fatalf("bad patch: %v %q", err, r.Chat())
	}
}
