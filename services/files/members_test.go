package files_test

import (
	"strings"
	"testing"
	"time"

	"bureau/services/platform/bus"
	"bureau/services/platform/identity"
)

type member struct {
	UserID string `json:"user_id"`
	Email  string
	Role   string
	Status string
}

func (e *env) members(u *identity.User, sp string) []member {
	e.t.Helper()
	var out struct{ Members []member }
	e.call(u, "GET", "/api/files/spaces/"+sp+"/members", nil, 200, &out)
	return out.Members
}

// newBusEnv is an env without antivirus whose notifications are watched.
func newBusEnv(t *testing.T) (*env, *events) {
	return newBusEnvWith(t, envOptions{})
}

func newBusEnvWith(t *testing.T, o envOptions) (*env, *events) {
	b := bus.NewMemory(bus.MemoryOptions{})
	t.Cleanup(func() { b.Close() })
	w := watch(t, b)
	o.bus, o.clamav = b, "-"
	return newEnv(t, o), w
}

// An invitation expires after invitation_ttl: listed as expired to the
// managers, refused to the agent (who is told), and renewed by inviting
// the address again.
func TestInvitationsExpire(t *testing.T) {
	t.Parallel()
	e, w := newBusEnvWith(t, envOptions{inviteTTL: 300 * time.Millisecond})
	var sp space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Brève"}, 201, &sp)
	base := "/api/files/spaces/" + sp.ID
	emma := identity.User{ID: "uemma", Email: "emma.durand@culture.gouv.fr", Ministry: "culture"}
	e.call(&alice, "POST", base+"/members", map[string]string{"email": emma.Email, "role": "editor"}, 201, nil)
	for deadline := time.Now().Add(10 * time.Second); ; {
		ms := e.members(&alice, sp.ID)
		if len(ms) == 2 && ms[1].Status == "expired" && ms[1].Email == emma.Email {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never expired: %+v", ms)
		}
		time.Sleep(50 * time.Millisecond) // the invitation's lifetime passing, not synchronisation
	}
	// Emma comes: not a member, told why.
	expectCode(t, e, &emma, "GET", base, nil, 404, "space_not_found")
	if ev := w.next(emma.ID); ev.Type != "files.invitation_expired" || !strings.Contains(note(t, ev).Body, "inviter à nouveau") {
		t.Fatalf("expired: %+v", ev)
	}
	// Sent again: she is known now, so a member at once.
	var m member
	e.call(&alice, "POST", base+"/members", map[string]string{"email": emma.Email, "role": "reader"}, 201, &m)
	if m.Status != "member" || m.UserID != emma.ID {
		t.Fatalf("renewed: %+v", m)
	}
	e.call(&emma, "GET", base, nil, 200, nil)
	var log auditPage
	e.call(&alice, "GET", base+"/audit?action=member_invited,invitation_renewed,invitation_accepted", nil, 200, &log)
	if len(log.Entries) != 3 || log.Entries[1].Action != "invitation_renewed" {
		t.Fatalf("audit: %+v", log.Entries)
	}
	expectCode(t, e, &chloe, "GET", base+"/members", nil, 404, "space_not_found")
}

func expectCode(t *testing.T, e *env, u *identity.User, method, path string, in any, status int, code string) {
	t.Helper()
	if st, c := e.errCode(u, method, path, in); st != status || c != code {
		t.Fatalf("%s %s: %d %s, want %d %s", method, path, st, c, status, code)
	}
}

// Role changes and removals follow the ranks: managers never touch
// owners, nobody gives more than they have, the last owner stays; an
// agent of another ministry sees nothing of it.
func TestMemberRolesAndRemoval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	var sp space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Équipe"}, 201, &sp)
	base := "/api/files/spaces/" + sp.ID + "/members"
	e.call(&alice, "POST", base, map[string]string{"user_id": bruno.ID, "role": "manager"}, 201, nil)
	e.call(&alice, "POST", base, map[string]string{"user_id": outside.ID, "role": "reader"}, 201, nil)

	// A manager cannot touch an owner nor make one.
	expectCode(t, e, &bruno, "PATCH", base+"/"+alice.ID, map[string]string{"role": "reader"}, 403, "owner_only")
	expectCode(t, e, &bruno, "DELETE", base+"/"+alice.ID, nil, 403, "owner_only")
	expectCode(t, e, &bruno, "PATCH", base+"/"+outside.ID, map[string]string{"role": "owner"}, 403, "role_too_high")
	expectCode(t, e, &bruno, "PATCH", base+"/"+outside.ID, map[string]string{"role": "chef"}, 400, "invalid_role")
	expectCode(t, e, &bruno, "PATCH", base+"/unknown", map[string]string{"role": "reader"}, 404, "member_not_found")
	var m member
	e.call(&bruno, "PATCH", base+"/"+outside.ID, map[string]string{"role": "editor"}, 200, &m)
	if m.Role != "editor" || m.UserID != outside.ID {
		t.Fatalf("role change: %+v", m)
	}
	// An editor manages nobody; the external can still not create spaces.
	expectCode(t, e, &outside, "PATCH", base+"/"+bruno.ID, map[string]string{"role": "reader"}, 403, "forbidden")
	expectCode(t, e, &outside, "POST", "/api/files/spaces", map[string]string{"name": "À moi"}, 403, "externals_cannot_create_spaces")

	// The last owner can neither leave nor be demoted.
	expectCode(t, e, &alice, "PATCH", base+"/"+alice.ID, map[string]string{"role": "manager"}, 409, "last_owner")
	expectCode(t, e, &alice, "DELETE", base+"/"+alice.ID, nil, 409, "last_owner")

	// Another ministry: 404 on everything, as if the space did not exist.
	role := map[string]string{"role": "reader"}
	for _, r := range []struct {
		method, path string
		in           any
	}{{"GET", base, nil}, {"PATCH", base + "/" + bruno.ID, role}, {"DELETE", base + "/" + bruno.ID, nil},
		{"POST", base, map[string]string{"role": "reader", "user_id": chloe.ID}}, {"DELETE", "/api/files/spaces/" + sp.ID + "/invitations/x@y.fr", nil}} {
		expectCode(t, e, &chloe, r.method, r.path, r.in, 404, "space_not_found")
	}

	// Once Bruno is an owner too, Alice may leave; then Bruno is the last.
	e.call(&alice, "PATCH", base+"/"+bruno.ID, map[string]string{"role": "owner"}, 200, nil)
	e.call(&alice, "DELETE", base+"/"+alice.ID, nil, 204, nil)
	expectCode(t, e, &alice, "GET", base, nil, 404, "space_not_found")
	// The external leaves by itself.
	e.call(&outside, "DELETE", base+"/"+outside.ID, nil, 204, nil)
	if ms := e.members(&bruno, sp.ID); len(ms) != 1 || ms[0].UserID != bruno.ID || ms[0].Role != "owner" {
		t.Fatalf("members left: %+v", ms)
	}
	expectCode(t, e, &bruno, "DELETE", base+"/"+bruno.ID, nil, 409, "last_owner")
	// A personal space has no members to manage.
	p := e.personal(&bruno)
	expectCode(t, e, &bruno, "PATCH", "/api/files/spaces/"+p.ID+"/members/"+bruno.ID, map[string]string{"role": "reader"}, 400, "personal_space")
}

// An invitation by email waits, listed as pending, until the agent's
// first request turns it into a membership with a files.shared
// notification; an email already seen becomes a member at once.
func TestInvitationsByEmail(t *testing.T) {
	t.Parallel()
	e, w := newBusEnv(t)
	var sp space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Comité"}, 201, &sp)
	base := "/api/files/spaces/" + sp.ID

	emma := identity.User{ID: "uemma", Email: "emma.durand@culture.gouv.fr", Ministry: "culture"}
	guest := identity.User{ID: "uguest", Email: "guest@cabinet.example", External: true}
	var m member
	e.call(&alice, "POST", base+"/members", map[string]string{"email": "Emma.Durand@culture.gouv.fr", "role": "editor"}, 201, &m)
	if m.Status != "pending" || m.Email != emma.Email || m.UserID != "" {
		t.Fatalf("invitation: %+v", m)
	}
	e.call(&alice, "POST", base+"/members", map[string]string{"email": guest.Email, "role": "reader"}, 201, nil)
	// Inviting again sends the invitation again, with the new role.
	e.call(&alice, "POST", base+"/members", map[string]string{"email": emma.Email, "role": "reader"}, 201, &m)
	e.call(&alice, "POST", base+"/members", map[string]string{"email": emma.Email, "role": "editor"}, 201, &m)
	if m.Status != "pending" || m.Role != "editor" {
		t.Fatalf("invitation sent again: %+v", m)
	}
	expectCode(t, e, &alice, "POST", base+"/members", map[string]string{"email": "pas une adresse", "role": "reader"}, 400, "invalid_email")
	expectCode(t, e, &alice, "POST", base+"/members", map[string]string{"email": "Bob <b@x.fr>", "role": "reader"}, 400, "invalid_email")
	expectCode(t, e, &alice, "POST", base+"/members", map[string]string{"email": "x@y.fr", "user_id": "ux", "role": "reader"}, 400, "invalid_user")
	ms := e.members(&alice, sp.ID)
	if len(ms) != 3 || ms[0].Status != "member" || ms[0].Email != alice.Email || ms[1].Status != "pending" || ms[1].Email != emma.Email || ms[2].Email != guest.Email {
		t.Fatalf("members with pending: %+v", ms)
	}
	// The guest's invitation is withdrawn before they come.
	e.call(&alice, "DELETE", base+"/invitations/"+guest.Email, nil, 204, nil)
	expectCode(t, e, &alice, "DELETE", base+"/invitations/"+guest.Email, nil, 404, "invitation_not_found")

	// Emma's first request: she is a member, told so live.
	var mine struct{ Spaces []space }
	e.call(&emma, "GET", "/api/files/spaces", nil, 200, &mine)
	if len(mine.Spaces) != 2 || mine.Spaces[1].ID != sp.ID || mine.Spaces[1].Role != "editor" {
		t.Fatalf("emma's spaces: %+v", mine.Spaces)
	}
	if ev := w.next(emma.ID); ev.Type != "files.shared" || !strings.Contains(note(t, ev).Title, "Comité") {
		t.Fatalf("shared: %+v", ev)
	}
	ms = e.members(&emma, sp.ID)
	if len(ms) != 2 || ms[1].UserID != emma.ID || ms[1].Status != "member" || ms[1].Role != "editor" {
		t.Fatalf("members after arrival: %+v", ms)
	}
	// An agent already seen is added at once, by email.
	e.call(&bruno, "GET", "/api/files/spaces", nil, 200, nil)
	e.call(&alice, "POST", base+"/members", map[string]string{"email": strings.ToUpper(bruno.Email), "role": "reader"}, 201, &m)
	if m.Status != "member" || m.UserID != bruno.ID {
		t.Fatalf("known agent by email: %+v", m)
	}
	// An external invited by email becomes a member but creates nothing.
	e.call(&alice, "POST", base+"/members", map[string]string{"email": guest.Email, "role": "reader"}, 201, nil)
	e.call(&guest, "GET", base, nil, 200, nil)
	expectCode(t, e, &guest, "POST", "/api/files/spaces", map[string]string{"name": "X"}, 403, "externals_cannot_create_spaces")
	// A reader invites nobody; another ministry sees nothing.
	expectCode(t, e, &bruno, "POST", base+"/members", map[string]string{"email": "z@z.fr", "role": "reader"}, 403, "forbidden")
}
