package meet_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"bureau/services/meet"
	"bureau/services/meet/internal/signal"
	"bureau/services/platform/identity"
)

type guestLink struct {
	ID        string `json:"id"`
	Token     string `json:"token"`
	URL       string `json:"url"`
	ExpiresAt string `json:"expires_at"`
	RevokedAt string `json:"revoked_at"`
}

func (h *harness) guestLink(u identity.User, room, body string) guestLink {
	h.t.Helper()
	code, b := h.do(&u, "POST", "/api/meet/rooms/"+room+"/guest-links", body)
	if code != http.StatusCreated {
		h.t.Fatalf("guest link: %d %s", code, b)
	}
	var g guestLink
	if err := json.Unmarshal(b, &g); err != nil {
		h.t.Fatal(err)
	}
	return g
}

// guestPath is a guest's websocket path; no identity header goes with it.
func guestPath(token, name string) string {
	return "/api/meet/guest/" + token + "/ws?name=" + url.QueryEscape(name)
}

// dialGuest is expected to be refused with status and the JSON error code.
func (h *harness) dialGuestRefused(path string, status int, code string) {
	h.t.Helper()
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + path
	_, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err == nil || resp == nil || resp.StatusCode != status {
		h.t.Fatalf("guest dial %s: %v %v, want %d", path, err, resp, status)
	}
	var e struct{ Error string }
	if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error != code {
		h.t.Fatalf("guest dial %s: error %q, want %q", path, e.Error, code)
	}
}

// A guest (no account) opens a guest link, gives a name, waits in the
// lobby where they cannot publish; once admitted they receive the host's
// media. They show as guests and cannot moderate. Expired, revoked and
// unknown links are refused with a JSON error; only a host or moderator
// makes links.
func TestGuestLink(t *testing.T) {
	h := newHarness(t)
	room := h.createRoom(alice, `{"title":"Avec des invités"}`)
	g := h.guestLink(alice, room.ID, `{"label":"Prestataire"}`)
	if len(g.Token) != 43 || g.URL != "https://bureau.test/visio/invite#"+g.Token || g.ExpiresAt != "" {
		t.Fatalf("link %+v", g)
	}
	for _, tc := range []struct {
		name string
		u    *identity.User
		body string
		code int
	}{
		{"participant", &bob, `{}`, 403},
		{"anonymous", nil, `{}`, 401},
		{"past expiry", &alice, `{"expires_at":"2001-01-01T00:00:00Z"}`, 400},
		{"unknown field", &alice, `{"token":"mine"}`, 400},
	} {
		if code, b := h.do(tc.u, "POST", "/api/meet/rooms/"+room.ID+"/guest-links", tc.body); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, b, tc.code)
		}
	}
	// What the guest page shows, without any identity.
	code, b := h.do(nil, "GET", "/api/meet/guest/"+g.Token, "")
	if code != 200 || !strings.Contains(string(b), `"title":"Avec des invités"`) || !strings.Contains(string(b), `"admission":"lobby"`) || !strings.Contains(string(b), `"role":"guest"`) {
		t.Fatalf("guest view: %d %s", code, b)
	}
	h.dialGuestRefused(guestPath(g.Token, "   "), 400, "invalid_name")
	h.dialGuestRefused(guestPath(g.Token, "Bad\u202ename"), 400, "invalid_name")
	h.dialGuestRefused(guestPath(strings.Repeat("A", 43), "Jeanne"), 404, "not_found")
	h.dialGuestRefused(guestPath("short", "Jeanne"), 404, "not_found")

	host, _ := h.join(alice, room.ID, signal.TypeJoined)
	// The guest sends a forged identity along: it is ignored.
	hdr := h.header(carol)
	guest := h.dialPath("guest", guestPath(g.Token, "  Jeanne   Invitée "), hdr, loopbackAPI(t))
	guest.send(signal.Message{Type: signal.TypeJoin})
	guest.expect(signal.TypeLobby)
	req := host.expect(signal.TypeLobbyRequest)
	p := req.Participant
	if p.Name != "Jeanne Invitée" || !p.Guest || p.Role != "guest" || !p.External || !strings.HasPrefix(p.UserID, "guest-") || p.UserID == carol.ID {
		t.Fatalf("guest as the host sees them: %+v", p)
	}
	guest.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "video", Source: "camera"}}})
	if e := guest.expect(signal.TypeError); e.Code != signal.CodeNotAdmitted {
		t.Fatalf("guest publish in the lobby: %+v", e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	host.publish(ctx)
	host.send(signal.Message{Type: signal.TypeAdmit, ID: p.ID})
	joined := guest.expect(signal.TypeJoined)
	if joined.Self.Role != "guest" || !joined.Self.Guest {
		t.Fatalf("guest joined as %+v", joined.Self)
	}
	guest.waitTracks(2) // the host's audio and video reach the admitted guest
	// A guest has no moderation rights.
	guest.send(signal.Message{Type: signal.TypeModerate, Action: signal.ActionMute, ID: req.Participant.ID})
	if e := guest.expect(signal.TypeError); e.Code != signal.CodeForbidden {
		t.Fatalf("guest moderating: %+v", e)
	}
	yes := true
	guest.send(signal.Message{Type: signal.TypeLock, Locked: &yes})
	if e := guest.expect(signal.TypeError); e.Code != signal.CodeForbidden {
		t.Fatalf("guest locking: %+v", e)
	}

	// Expiry: a link valid one hour is refused once the hour is over.
	exp := h.guestLink(alice, room.ID, `{"expires_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`)
	if code, _ := h.do(nil, "GET", "/api/meet/guest/"+exp.Token, ""); code != 200 {
		t.Fatalf("fresh link: %d", code)
	}
	meet.Advance(h.svc, time.Hour+time.Second)
	if code, b := h.do(nil, "GET", "/api/meet/guest/"+exp.Token, ""); code != 410 || !strings.Contains(string(b), `"error":"link_expired"`) {
		t.Fatalf("expired link: %d %s", code, b)
	}
	h.dialGuestRefused(guestPath(exp.Token, "Jeanne"), 410, "link_expired")

	// Revocation: refused from then on; a guest of that link still in the
	// lobby is turned away.
	waiting := h.dialPath("waiting", guestPath(g.Token, "Paul"), nil, loopbackAPI(t))
	waiting.send(signal.Message{Type: signal.TypeJoin})
	waiting.expect(signal.TypeLobby)
	host.expectWhere(signal.TypeLobbyRequest, func(m signal.Message) bool { return m.Participant.Name == "Paul" })
	if code, b := h.do(&bob, "DELETE", "/api/meet/rooms/"+room.ID+"/guest-links/"+g.ID, ""); code != 403 {
		t.Fatalf("participant revoking: %d %s", code, b)
	}
	if code, b := h.do(&alice, "DELETE", "/api/meet/rooms/"+room.ID+"/guest-links/"+g.ID, ""); code != 204 {
		t.Fatalf("revoke: %d %s", code, b)
	}
	waiting.expect(signal.TypeDenied)
	waiting.expectClosed(websocket.CloseNormalClosure)
	h.dialGuestRefused(guestPath(g.Token, "Jeanne"), 410, "link_revoked")
	if code, b := h.do(nil, "GET", "/api/meet/guest/"+g.Token, ""); code != 410 || !strings.Contains(string(b), `"error":"link_revoked"`) {
		t.Fatalf("revoked link: %d %s", code, b)
	}
	_, list := h.do(&alice, "GET", "/api/meet/rooms/"+room.ID+"/guest-links", "")
	var links struct{ Links []guestLink }
	if err := json.Unmarshal(list, &links); err != nil || len(links.Links) != 2 || links.Links[0].Token != "" {
		t.Fatalf("links: %s", list)
	}
	// The admitted guest stays.
	guest.send(signal.Message{Type: signal.TypeChat, Text: "toujours là"})
	host.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "toujours là" && m.Name == "Jeanne Invitée" })
}

// Scheduled meetings: created with a start and an end, listed in "my
// meetings" of the host and of the invitees (not of others), changed and
// cancelled by the host only; a cancelled meeting's link is dead.
func TestScheduledMeetings(t *testing.T) {
	h := newHarness(t)
	future := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	at := func(d time.Duration) string { return future.Add(d).Format(time.RFC3339) }
	room := h.createRoom(alice, `{"title":"Revue","invitees":["dave@armees.gouv.fr"],"starts_at":"`+at(0)+`","ends_at":"`+at(time.Hour)+`"}`)
	instant := h.createRoom(alice, `{}`)
	for _, tc := range []struct {
		name, body string
	}{
		{"end before start", `{"starts_at":"` + at(time.Hour) + `","ends_at":"` + at(0) + `"}`},
		{"start only", `{"starts_at":"` + at(0) + `"}`},
		{"not a time", `{"starts_at":"demain","ends_at":"` + at(0) + `"}`},
		{"eight days", `{"starts_at":"` + at(0) + `","ends_at":"` + at(8*24*time.Hour) + `"}`},
	} {
		if code, b := h.do(&alice, "POST", "/api/meet/rooms", tc.body); code != 400 {
			t.Errorf("%s: %d %s", tc.name, code, b)
		}
	}
	list := func(u identity.User, query string) []string {
		t.Helper()
		code, b := h.do(&u, "GET", "/api/meet/rooms"+query, "")
		var v struct{ Rooms []roomView }
		if code != 200 || json.Unmarshal(b, &v) != nil {
			t.Fatalf("list %s: %d %s", u.ID, code, b)
		}
		ids := []string{}
		for _, r := range v.Rooms {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got := list(alice, "?upcoming=true"); len(got) != 1 || got[0] != room.ID {
		t.Fatalf("host's upcoming: %v", got)
	}
	if got := list(alice, ""); len(got) != 2 || got[0] != room.ID || got[1] != instant.ID {
		t.Fatalf("host's meetings (latest start first): %v", got)
	}
	if got := list(dave, ""); len(got) != 1 || got[0] != room.ID {
		t.Fatalf("invitee's meetings: %v", got)
	}
	if got := list(bob, ""); len(got) != 0 {
		t.Fatalf("bob is in nobody's list: %v", got)
	}
	if code, _ := h.do(&alice, "GET", "/api/meet/rooms?limit=0", ""); code != 400 {
		t.Fatal("limit=0 accepted")
	}

	// Only the host changes it; a moderator-less participant gets 403.
	if code, _ := h.do(&bob, "PATCH", "/api/meet/rooms/"+room.ID, `{"title":"Pris"}`); code != 403 {
		t.Fatal("a participant changed the meeting")
	}
	if code, _ := h.do(&alice, "PATCH", "/api/meet/rooms/"+room.ID, `{"ends_at":"`+at(-time.Hour)+`"}`); code != 400 {
		t.Fatal("end before start accepted")
	}
	code, b := h.do(&alice, "PATCH", "/api/meet/rooms/"+room.ID, `{"title":"Revue mensuelle","invitees":["carol@interieur.gouv.fr"],"ends_at":"`+at(2*time.Hour)+`"}`)
	if code != 200 || !strings.Contains(string(b), `"title":"Revue mensuelle"`) || !strings.Contains(string(b), `"ends_at":"`+at(2*time.Hour)+`"`) {
		t.Fatalf("patch: %d %s", code, b)
	}
	if got := list(dave, ""); len(got) != 0 {
		t.Fatalf("dave, no longer invited, still lists it: %v", got)
	}
	if got := list(carol, ""); len(got) != 1 {
		t.Fatalf("carol, newly invited: %v", got)
	}

	// Cancel: the meeting in progress ends, the link is dead (410).
	c, _ := h.join(bob, room.ID, signal.TypeJoined)
	if code, _ := h.do(&bob, "DELETE", "/api/meet/rooms/"+room.ID, ""); code != 403 {
		t.Fatal("a participant cancelled the meeting")
	}
	if code, b := h.do(&alice, "DELETE", "/api/meet/rooms/"+room.ID, ""); code != 204 {
		t.Fatalf("cancel: %d %s", code, b)
	}
	c.expect(signal.TypeEnded)
	c.expectClosed(websocket.CloseNormalClosure)
	if code, b := h.do(&bob, "GET", "/api/meet/rooms/"+room.ID, ""); code != 410 || !strings.Contains(string(b), `"error":"cancelled"`) {
		t.Fatalf("cancelled room: %d %s", code, b)
	}
	if code, _ := h.do(&bob, "GET", "/api/meet/rooms/"+room.ID+"/ws", ""); code != 410 {
		t.Fatal("cancelled room's socket")
	}
	if got := list(alice, ""); len(got) != 1 || got[0] != instant.ID {
		t.Fatalf("cancelled meeting still listed: %v", got)
	}
}
