package meet_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"bureau/services/meet"
	"bureau/services/meet/internal/signal"
)

// A participant's websocket drops (network change) and comes back within
// the grace with the resume token: the others never see them leave, their
// media keeps flowing, what was said meanwhile reaches them once, and an
// ICE restart works on the kept PeerConnection. A stolen token presented
// by someone else is refused and changes nothing.
func TestResume(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	room, pub, sub, j, ks := h.pubSub(ctx)
	bobID := j.Self.ID
	if !signal.ValidToken(j.Token) {
		t.Fatalf("joined without a resume token: %+v", j)
	}
	// Bob publishes too: alice must keep receiving him.
	sub.publish(ctx)
	fromBob := pub.waitTracks(2)

	path := "/api/meet/rooms/" + room + "/ws"
	sub.drop()
	pub.send(signal.Message{Type: signal.TypeChat, Text: "pendant la coupure"})

	// Carol got hold of bob's token: refused, bob is untouched.
	thief := h.dial(carol, room)
	thief.send(signal.Message{Type: signal.TypeResume, Token: j.Token, Seq: 1})
	if e := thief.expect(signal.TypeError); e.Code != signal.CodeResumeFailed {
		t.Fatalf("stolen token: %+v", e)
	}
	thief.expectClosed(websocket.ClosePolicyViolation)

	sub.reopen(h, path, h.header(bob))
	sub.send(signal.Message{Type: signal.TypeResume, Token: j.Token, Seq: sub.lastSeq.Load()})
	if m := sub.expect(signal.TypeResumed); m.ID != bobID {
		t.Fatalf("resumed as %q, want %q", m.ID, bobID)
	}
	sub.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "pendant la coupure" })

	// Alice saw nothing: no departure before bob speaks again.
	sub.send(signal.Message{Type: signal.TypeChat, Text: "de retour"})
	pub.expectBefore(signal.TypeChat, func(m signal.Message) bool { return m.Text == "de retour" }, signal.TypeParticipantLeft)
	// Media flows both ways on the kept connection.
	flowing(t, append(ks, fromBob...))
	// The resumed socket carries the renegotiation of an ICE restart.
	for len(sub.offered) > 0 {
		<-sub.offered
	}
	sub.send(signal.Message{Type: signal.TypeRestartICE})
	select {
	case <-sub.offered:
	case <-time.After(wait):
		t.Fatal("no ICE restart offer after the resume")
	}
	flowing(t, ks)
	// Nothing was delivered twice to the application; the chat once only.
	pub.send(signal.Message{Type: signal.TypeChat, Text: "marqueur"})
	sub.expectBefore(signal.TypeChat, func(m signal.Message) bool {
		if m.Text == "pendant la coupure" {
			t.Fatal("the chat sent during the drop was delivered twice")
		}
		return m.Text == "marqueur"
	}, signal.TypeParticipantLeft)
	if m := h.metrics(); m["bureau_meet_participants"] != 2 || m["bureau_meet_resumes_total"] != 1 || m["bureau_meet_resumes_refused_total"] != 1 {
		t.Fatalf("metrics after a resume and a stolen token: %v", meetMetrics(m))
	}
	// A token is not reusable by a second socket of the same person once
	// they leave.
	sub.send(signal.Message{Type: signal.TypeLeave})
	pub.expectWhere(signal.TypeParticipantLeft, func(m signal.Message) bool { return m.ID == bobID })
	// A tab closing sends 1001: that is leaving, not a drop (no grace).
	tab, jt := h.join(carol, room, signal.TypeJoined)
	if err := tab.writeRaw(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	pub.expectWhere(signal.TypeParticipantLeft, func(m signal.Message) bool { return m.ID == jt.Self.ID })
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a closed tab left after %s", d)
	}
	again := h.dial(bob, room)
	again.send(signal.Message{Type: signal.TypeResume, Token: j.Token})
	if e := again.expect(signal.TypeError); e.Code != signal.CodeResumeFailed {
		t.Fatalf("resume after leave: %+v", e)
	}
}

// After the grace, a participant whose socket dropped is gone: the others
// see them leave, and their token no longer resumes.
func TestResumeGraceExpires(t *testing.T) {
	h := newHarnessWith(t, func(c *meet.Config) { c.Rooms.ResumeGrace = 200 * time.Millisecond })
	room := h.createRoom(alice, `{}`).ID
	a, _ := h.join(alice, room, signal.TypeJoined)
	b, j := h.join(bob, room, signal.TypeJoined)
	b.drop()
	start := time.Now()
	a.expectWhere(signal.TypeParticipantLeft, func(m signal.Message) bool { return m.ID == j.Self.ID })
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("left after %s, before the grace", d)
	}
	b.reopen(h, "/api/meet/rooms/"+room+"/ws", h.header(bob))
	b.send(signal.Message{Type: signal.TypeResume, Token: j.Token, Seq: b.lastSeq.Load()})
	if e := b.expect(signal.TypeError); e.Code != signal.CodeResumeFailed {
		t.Fatalf("resume after the grace: %+v", e)
	}
	if m := h.metrics(); m["bureau_meet_resume_grace_expired_total"] != 1 {
		t.Fatalf("metrics: %v", meetMetrics(m))
	}
}

// A client that missed more than the server keeps (256 messages) cannot
// resume: it is told to join again, and its old participant leaves at once
// rather than at the grace's end.
func TestResumeTooFarBehind(t *testing.T) {
	h := newHarnessWith(t, func(c *meet.Config) { c.Limits.Chat = meet.Rate{PerSecond: 1000, Burst: 1000} })
	room := h.createRoom(alice, `{}`).ID
	a, _ := h.join(alice, room, signal.TypeJoined)
	b, j := h.join(bob, room, signal.TypeJoined)
	b.drop()
	for i := range 300 {
		a.send(signal.Message{Type: signal.TypeChat, Text: "message " + strconv.Itoa(i)})
	}
	a.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "message 299" })
	b.reopen(h, "/api/meet/rooms/"+room+"/ws", h.header(bob))
	b.send(signal.Message{Type: signal.TypeResume, Token: j.Token, Seq: b.lastSeq.Load()})
	if e := b.expect(signal.TypeError); e.Code != signal.CodeResumeFailed {
		t.Fatalf("resume 300 messages behind: %+v", e)
	}
	a.expectWhere(signal.TypeParticipantLeft, func(m signal.Message) bool { return m.ID == j.Self.ID })
}

// A guest resumes through the same link with the same key; the token with
// another key (another browser) is refused.
func TestGuestResume(t *testing.T) {
	h := newHarness(t)
	room := h.createRoom(alice, `{}`).ID
	g := h.guestLink(alice, room, `{}`)
	host, _ := h.join(alice, room, signal.TypeJoined)
	guest := h.dialPath("guest", guestPath(g.Token, "Jeanne"), nil, loopbackAPI(t))
	guest.send(signal.Message{Type: signal.TypeJoin})
	lobby := guest.expect(signal.TypeLobby)
	req := host.expect(signal.TypeLobbyRequest)
	host.send(signal.Message{Type: signal.TypeAdmit, ID: req.Participant.ID})
	j := guest.expect(signal.TypeJoined)

	guest.drop()
	other := h.dialPath("other browser", guestPath(g.Token, "Jeanne"), nil, loopbackAPI(t))
	other.send(signal.Message{Type: signal.TypeResume, Token: j.Token, Seq: 1, GuestKey: strings.Repeat("B", 43)})
	if e := other.expect(signal.TypeError); e.Code != signal.CodeResumeFailed {
		t.Fatalf("resume with another guest key: %+v", e)
	}
	guest.reopen(h, guestPath(g.Token, "Jeanne"), nil)
	guest.send(signal.Message{Type: signal.TypeResume, Token: j.Token, Seq: guest.lastSeq.Load(), GuestKey: lobby.GuestKey})
	if m := guest.expect(signal.TypeResumed); m.ID != j.Self.ID {
		t.Fatalf("guest resumed as %q, want %q", m.ID, j.Self.ID)
	}
	guest.send(signal.Message{Type: signal.TypeChat, Text: "revenue"})
	host.expectBefore(signal.TypeChat, func(m signal.Message) bool { return m.Text == "revenue" }, signal.TypeParticipantLeft)
}
