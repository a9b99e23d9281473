package rooms

import (
	"errors"
	"strings"
	"testing"

	"bureau/services/platform/identity"
)

func TestAdmission(t *testing.T) {
	g := NewRegistry()
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
	if got, err := g.Get(r.ID); err != nil || got != r {
		t.Fatal("get")
	}
	if _, err := g.Get("zzzz-zzzz-zzzz-zzzz"); !errors.Is(err, ErrNotFound) {
		t.Fatal("unknown room found")
	}
	for _, s := range []string{"", "abcd-efgh-ijkl-mnop-", "ABCD-efgh-ijkl-mnop", "abcd_efgh-ijkl-mnop", "abcd-efgh-ijkl-mno1"} {
		if ValidID(s) {
			t.Errorf("ValidID(%q)", s)
		}
	}
}
