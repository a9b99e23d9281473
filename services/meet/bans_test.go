package meet_test

import (
	"testing"

	"github.com/gorilla/websocket"

	"bureau/services/meet/internal/signal"
)

// Whom a moderator removes stays out for the meeting's lifetime, even once
// everyone left and the meeting starts again: an agent by their account,
// a guest by the key their browser was given at the first join. A guest
// in a fresh private window (no key) is a new guest and waits in the
// lobby; « remove and revoke the link » keeps everyone with that link out.
func TestRemovedStayOut(t *testing.T) {
	h := newHarness(t)
	room := h.createRoom(alice, `{}`).ID
	g := h.guestLink(alice, room, `{}`)
	host, _ := h.join(alice, room, signal.TypeJoined)

	guestJoin := func(name, key string) (*client, signal.Message) {
		t.Helper()
		c := h.dialPath(name, guestPath(g.Token, name), nil, loopbackAPI(t))
		c.send(signal.Message{Type: signal.TypeJoin, GuestKey: key})
		return c, c.expect(signal.TypeLobby)
	}
	admit := func(c *client, name string) signal.Message {
		t.Helper()
		req := host.expectWhere(signal.TypeLobbyRequest, func(m signal.Message) bool { return m.Participant.Name == name })
		host.send(signal.Message{Type: signal.TypeAdmit, ID: req.Participant.ID})
		return c.expect(signal.TypeJoined)
	}
	remove := func(c *client, id, action string) {
		t.Helper()
		host.send(signal.Message{Type: signal.TypeModerate, Action: action, ID: id})
		c.expect(signal.TypeRemoved)
		c.expectClosed(websocket.CloseNormalClosure)
		host.expectWhere(signal.TypeParticipantLeft, func(m signal.Message) bool { return m.ID == id })
	}

	// The first join issues a key; the same key is the same guest.
	jeanne, lobby := guestJoin("Jeanne", "")
	key := lobby.GuestKey
	if !signal.ValidToken(key) || !signal.ValidToken(lobby.Token) {
		t.Fatalf("lobby without a guest key or resume token: %+v", lobby)
	}
	j := admit(jeanne, "Jeanne")
	remove(jeanne, j.Self.ID, signal.ActionRemove)
	back := h.dialPath("Jeanne again", guestPath(g.Token, "Jeanne"), nil, loopbackAPI(t))
	back.send(signal.Message{Type: signal.TypeJoin, GuestKey: key})
	if e := back.expect(signal.TypeError); e.Code != signal.CodeForbidden {
		t.Fatalf("removed guest back with her key: %+v", e)
	}

	// An agent removed, then everyone leaves: still out when the meeting
	// starts again (the ban is stored, not kept in the node's memory).
	b, jb := h.join(bob, room, signal.TypeJoined)
	remove(b, jb.Self.ID, signal.ActionRemove)
	host.send(signal.Message{Type: signal.TypeModerate, Action: signal.ActionRemoveRevoke, ID: jb.Self.ID})
	if e := host.expect(signal.TypeError); e.Code != signal.CodeNotFound {
		t.Fatalf("acting on someone gone: %+v", e)
	}
	host.send(signal.Message{Type: signal.TypeLeave})
	host.expectClosed(websocket.CloseNormalClosure)
	h.waitMetrics("the meeting is over", func(m map[string]float64) bool { return m["bureau_meet_rooms"] == 0 })
	host, _ = h.join(alice, room, signal.TypeJoined)
	b2 := h.dial(bob, room)
	b2.send(signal.Message{Type: signal.TypeJoin})
	if e := b2.expect(signal.TypeError); e.Code != signal.CodeForbidden {
		t.Fatalf("removed agent back: %+v", e)
	}

	// A fresh private window: a new guest, who waits for the host. Only a
	// guest's link can be revoked.
	_, jc := h.join(carol, room, signal.TypeJoined)
	host.send(signal.Message{Type: signal.TypeModerate, Action: signal.ActionRemoveRevoke, ID: jc.Self.ID})
	if e := host.expect(signal.TypeError); e.Code != signal.CodeForbidden {
		t.Fatalf("revoking an agent's link: %+v", e)
	}
	private, _ := guestJoin("Jeanne Bis", "")
	jp := admit(private, "Jeanne Bis")
	remove(private, jp.Self.ID, signal.ActionRemoveRevoke)
	// The link is dead for everyone, any window.
	h.dialGuestRefused(guestPath(g.Token, "Jeanne Ter"), 410, "link_revoked")
}
