package meet_test

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"bureau/services/meet"
	"bureau/services/meet/internal/signal"
)

// Who was let into a meeting stays let in when the room's node stops: a
// guest and an agent of another ministry admitted on node A, the guest
// promoted to speaker with a raised hand, rejoin through node B after A
// stopped and enter directly, as they were. A host who arrives while
// people wait sees them and admits them. A removed guest stays out; an
// ended meeting forgets its admissions (two nodes, real Redis and
// PostgreSQL).
func TestAdmissionSurvivesNode(t *testing.T) {
	node := newCluster(t)
	a, b := node("node-a"), node("node-b")
	room := a.createRoom(alice, `{"title":"Webinaire interministériel","kind":"webinar","access":"ministry"}`).ID
	link := a.guestLink(alice, room, `{}`)

	// The guest and dave (armees) arrive first: nobody to admit them yet.
	guest := a.dialPath("guest", guestPath(link.Token, "Jeanne"), nil, loopbackAPI(t))
	guest.send(signal.Message{Type: signal.TypeJoin})
	guestKey := guest.expect(signal.TypeLobby).GuestKey
	other, _ := a.join(dave, room, signal.TypeLobby)
	// The host arrives: she is shown both and admits them.
	host, _ := a.join(alice, room, signal.TypeJoined)
	waiting := map[string]string{}
	for range 2 {
		m := host.expect(signal.TypeLobbyRequest)
		waiting[m.Participant.Name] = m.Participant.ID
	}
	if waiting["Jeanne"] == "" || waiting["Dave Leroy"] == "" {
		t.Fatalf("the host arriving does not see who waits: %v", waiting)
	}
	host.send(signal.Message{Type: signal.TypeAdmit, ID: waiting["Jeanne"]})
	host.send(signal.Message{Type: signal.TypeAdmit, ID: waiting["Dave Leroy"]})
	jg := guest.expect(signal.TypeJoined)
	if jg.Self.Role != "attendee" {
		t.Fatalf("guest admitted as %+v", jg.Self)
	}
	other.expect(signal.TypeJoined)
	host.send(signal.Message{Type: signal.TypePromote, ID: jg.Self.ID})
	guest.expectWhere(signal.TypeRole, func(m signal.Message) bool { return m.Role == "speaker" })
	yes := true
	guest.send(signal.Message{Type: signal.TypeHand, Raised: &yes})
	host.expectWhere(signal.TypeHand, func(m signal.Message) bool { return m.ID == jg.Self.ID && *m.Raised })

	// Node a stops: everyone is told to reconnect and rejoins through b.
	if err := a.svc.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{host, guest, other} {
		c.expectClosed(websocket.CloseServiceRestart)
	}
	guest2 := b.dialPath("guest on b", guestPath(link.Token, "Jeanne"), nil, loopbackAPI(t))
	guest2.send(signal.Message{Type: signal.TypeJoin, GuestKey: guestKey})
	jg2 := guest2.expect(signal.TypeJoined) // no lobby
	if jg2.Self.Role != "speaker" || !jg2.Self.Hand || jg2.Self.UserID != jg.Self.UserID {
		t.Fatalf("guest back on b as %+v, want the speaker with a raised hand", jg2.Self)
	}
	other2, jd2 := b.join(dave, room, signal.TypeJoined)
	if jd2.Self.Role != "attendee" {
		t.Fatalf("dave back on b as %+v", jd2.Self)
	}
	host2, jh2 := b.join(alice, room, signal.TypeJoined)
	found := false
	for _, p := range jh2.Participants {
		found = found || (p.ID == jg2.Self.ID && p.Role == "speaker" && p.Hand)
	}
	if !found {
		t.Fatalf("the host back on b does not see the speaker's hand: %+v", jh2.Participants)
	}
	if m := b.metrics(); m["bureau_meet_participants"] != 3 {
		t.Fatalf("room not on b: %v", meetMetrics(m))
	}

	// Removed: the guest's browser is refused, even though she had been
	// admitted.
	host2.send(signal.Message{Type: signal.TypeModerate, Action: signal.ActionRemove, ID: jg2.Self.ID})
	guest2.expect(signal.TypeRemoved)
	guest2.expectClosed(websocket.CloseNormalClosure)
	back := b.dialPath("guest back", guestPath(link.Token, "Jeanne"), nil, loopbackAPI(t))
	back.send(signal.Message{Type: signal.TypeJoin, GuestKey: guestKey})
	if e := back.expect(signal.TypeError); e.Code != signal.CodeForbidden {
		t.Fatalf("removed guest back: %+v", e)
	}

	// Ended: the next meeting in this room starts from its rules, and dave
	// waits in the lobby again.
	host2.send(signal.Message{Type: signal.TypeEnd})
	for _, c := range []*client{host2, other2} {
		c.expect(signal.TypeEnded)
		c.expectClosed(websocket.CloseNormalClosure)
	}
	b.waitMetrics("the meeting is over", func(m map[string]float64) bool { return m["bureau_meet_rooms"] == 0 })
	b.join(dave, room, signal.TypeLobby)
}

// On one node, a guest admitted whose socket dropped for longer than the
// resume grace rejoins directly while the meeting goes on; once everyone
// left, the meeting is over and the same guest waits again.
func TestAdmissionAfterGrace(t *testing.T) {
	h := newHarnessWith(t, func(c *meet.Config) { c.Rooms.ResumeGrace = 100 * time.Millisecond })
	room := h.createRoom(alice, `{}`).ID
	link := h.guestLink(alice, room, `{}`)
	host, _ := h.join(alice, room, signal.TypeJoined)
	guest := h.dialPath("guest", guestPath(link.Token, "Jeanne"), nil, loopbackAPI(t))
	guest.send(signal.Message{Type: signal.TypeJoin})
	key := guest.expect(signal.TypeLobby).GuestKey
	req := host.expect(signal.TypeLobbyRequest)
	host.send(signal.Message{Type: signal.TypeAdmit, ID: req.Participant.ID})
	guest.expect(signal.TypeJoined)
	guest.drop()
	host.expectWhere(signal.TypeParticipantLeft, func(m signal.Message) bool { return m.ID == req.Participant.ID }) // the grace expired

	rejoin := func(expect string) *client {
		t.Helper()
		c := h.dialPath("guest again", guestPath(link.Token, "Jeanne"), nil, loopbackAPI(t))
		c.send(signal.Message{Type: signal.TypeJoin, GuestKey: key})
		c.expect(expect)
		return c
	}
	g2 := rejoin(signal.TypeJoined)
	g2.send(signal.Message{Type: signal.TypeLeave})
	g2.expectClosed(websocket.CloseNormalClosure)
	host.send(signal.Message{Type: signal.TypeLeave})
	host.expectClosed(websocket.CloseNormalClosure)
	h.waitMetrics("the meeting is over", func(m map[string]float64) bool { return m["bureau_meet_rooms"] == 0 })
	rejoin(signal.TypeLobby)
}
