package meet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"bureau/services/meet/internal/signal"
	"bureau/services/platform/identity"
)

var frank = identity.User{ID: "ufrank", Email: "frank@interieur.gouv.fr", GivenName: "Frank", UsualName: "Roux", Ministry: "interieur"}

// expectBefore waits for a message of type typ matching ok and fails if a
// message of type never arrives first: messages to one socket are ordered,
// so a marker sent after an event proves the event was not delivered.
func (c *client) expectBefore(typ string, ok func(signal.Message) bool, never string) signal.Message {
	c.t.Helper()
	for {
		m := c.next()
		if m.Type == never {
			c.t.Fatalf("%s: got %s %+v", c.name, never, m)
		}
		if m.Type == typ && ok(m) {
			return m
		}
	}
}

// A webinar: the host presents; attendees only watch, cannot publish, ask
// questions only presenters and moderators see; a moderator promotes an
// attendee to speaker and back, mutes, locks, removes; the host ends it.
func TestWebinarModeration(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{"title":"Webinaire RH","kind":"webinar","access":"agents","moderators":["bob@interieur.gouv.fr"]}`)
	host, jh := h.join(alice, r.ID, signal.TypeJoined)
	if jh.Self.Role != "host" || jh.Room.Kind != "webinar" {
		t.Fatalf("host joined: %+v %+v", jh.Self, jh.Room)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	host.publish(ctx)
	host.expect(signal.TypeTrackPublished)
	mod, jm := h.join(bob, r.ID, signal.TypeJoined)
	if jm.Self.Role != "moderator" {
		t.Fatalf("bob: %+v", jm.Self)
	}
	att, ja := h.join(carol, r.ID, signal.TypeJoined)
	carolID := ja.Self.ID
	other, jd := h.join(dave, r.ID, signal.TypeJoined) // another ministry: access "agents"
	daveID := jd.Self.ID
	if ja.Self.Role != "attendee" || jd.Self.Role != "attendee" {
		t.Fatalf("attendees: %+v %+v", ja.Self, jd.Self)
	}
	att.waitTracks(2)
	other.waitTracks(2)

	// An attendee cannot publish: refused, and no receive m-line offered.
	att.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "audio", Source: "microphone"}}})
	if m := att.expect(signal.TypeError); m.Code != signal.CodeForbidden {
		t.Fatalf("attendee publish: %+v", m)
	}
	att.mu.Lock()
	for _, o := range att.offers {
		if strings.Contains(o, "a=recvonly") || strings.Contains(o, "a=sendrecv") {
			t.Fatalf("attendee offered an upstream m-line:\n%s", o)
		}
	}
	att.mu.Unlock()

	// Hand and Q&A: the question reaches the host and the moderator, and
	// the asker, never another attendee.
	yes, no := true, false
	att.send(signal.Message{Type: signal.TypeHand, Raised: &yes})
	host.expectWhere(signal.TypeHand, func(m signal.Message) bool { return m.ID == carolID && *m.Raised })
	att.send(signal.Message{Type: signal.TypeQuestion, Text: "Quand sort la circulaire ?"})
	for _, c := range []*client{host, mod, att} {
		if m := c.expect(signal.TypeQuestion); m.ID != carolID || m.Name != "Carol Petit" || m.Text != "Quand sort la circulaire ?" || m.Time == 0 {
			t.Fatalf("%s: question %+v", c.name, m)
		}
	}
	host.send(signal.Message{Type: signal.TypeChat, Text: "marqueur"})
	other.expectBefore(signal.TypeChat, func(m signal.Message) bool { return m.Text == "marqueur" }, signal.TypeQuestion)

	// Attendees have no power over others.
	for _, m := range []signal.Message{
		{Type: signal.TypePromote, ID: carolID},
		{Type: signal.TypeModerate, Action: signal.ActionMute, ID: jh.Self.ID},
		{Type: signal.TypeLock, Locked: &yes},
		{Type: signal.TypeEnd},
	} {
		other.send(m)
		if e := other.expect(signal.TypeError); e.Code != signal.CodeForbidden {
			t.Fatalf("attendee %s: %+v", m.Type, e)
		}
	}

	// The moderator promotes carol: she publishes, dave receives her.
	mod.send(signal.Message{Type: signal.TypePromote, ID: carolID})
	for _, c := range []*client{host, mod, att, other} {
		c.expectWhere(signal.TypeRole, func(m signal.Message) bool { return m.ID == carolID && m.Role == "speaker" })
	}
	att.expectWhere(signal.TypeHand, func(m signal.Message) bool { return m.ID == carolID && !*m.Raised })
	att.publish(ctx)
	var carolAudio, carolVideo *counter
	for _, k := range other.waitTracks(2) {
		if k.track.StreamID() != carolID {
			t.Fatalf("dave: unexpected track of %s", k.track.StreamID())
		}
		if k.track.Kind().String() == "audio" {
			carolAudio = k
		} else {
			carolVideo = k
		}
	}
	if carolAudio == nil || carolVideo == nil {
		t.Fatal("dave did not receive carol's tracks")
	}

	// A participant cannot mute others; a moderator can: carol is told,
	// everyone sees her muted, and the server stops forwarding her audio.
	att.send(signal.Message{Type: signal.TypeModerate, Action: signal.ActionMute, ID: daveID})
	if e := att.expect(signal.TypeError); e.Code != signal.CodeForbidden {
		t.Fatalf("speaker muting: %+v", e)
	}
	st := &h.svc.SFU().Stats
	mod.send(signal.Message{Type: signal.TypeModerate, Action: signal.ActionMute, ID: carolID})
	if m := att.expect(signal.TypeModerated); m.Action != signal.ActionMute || m.By != jm.Self.ID {
		t.Fatalf("moderated: %+v", m)
	}
	other.expectWhere(signal.TypeMute, func(m signal.Message) bool { return m.ID == carolID && m.Kind == "audio" && *m.Muted })
	muted0, audio0 := st.PacketsMuted.Load(), carolAudio.packets.Load()
	for st.PacketsMuted.Load() < muted0+25 {
		carolVideo.next(t)
	}
	if d := carolAudio.packets.Load() - audio0; d > 5 {
		t.Fatalf("%d audio packets forwarded while muted", d)
	}
	// She may unmute herself: forwarding resumes.
	att.send(signal.Message{Type: signal.TypeMute, Kind: "audio", Muted: &no})
	other.expectWhere(signal.TypeMute, func(m signal.Message) bool { return m.ID == carolID && !*m.Muted })
	for a := carolAudio.packets.Load(); carolAudio.packets.Load() < a+10; {
		carolVideo.next(t)
	}

	// Back to the audience: her tracks end.
	mod.send(signal.Message{Type: signal.TypeDemote, ID: carolID})
	att.expectWhere(signal.TypeRole, func(m signal.Message) bool { return m.ID == carolID && m.Role == "attendee" })
	for range 2 {
		other.expectWhere(signal.TypeTrackUnpublished, func(m signal.Message) bool { return m.ID == carolID })
	}
	att.send(signal.Message{Type: signal.TypePublish, Tracks: []signal.TrackSpec{{Kind: "audio", Source: "microphone"}}})
	if m := att.expect(signal.TypeError); m.Code != signal.CodeForbidden {
		t.Fatalf("demoted publish: %+v", m)
	}

	// Lock: a new arrival who would enter directly waits in the lobby.
	mod.send(signal.Message{Type: signal.TypeLock, Locked: &yes})
	other.expectWhere(signal.TypeLock, func(m signal.Message) bool { return *m.Locked })
	late, lobby := h.join(frank, r.ID, signal.TypeLobby)
	if !lobby.Room.Locked {
		t.Fatalf("lobby: %+v", lobby.Room)
	}
	mod.expectWhere(signal.TypeLobbyRequest, func(m signal.Message) bool { return m.Participant.UserID == frank.ID })

	// Remove: dave is told, disconnected, and cannot come back.
	host.send(signal.Message{Type: signal.TypeModerate, Action: signal.ActionRemove, ID: daveID})
	if m := other.expect(signal.TypeRemoved); m.By != jh.Self.ID {
		t.Fatalf("removed: %+v", m)
	}
	other.expectClosed(websocket.CloseNormalClosure)
	mod.expectWhere(signal.TypeParticipantLeft, func(m signal.Message) bool { return m.ID == daveID })
	again := h.dial(dave, r.ID)
	again.send(signal.Message{Type: signal.TypeJoin})
	if m := again.expect(signal.TypeError); m.Code != signal.CodeForbidden {
		t.Fatalf("removed rejoining: %+v", m)
	}
	again.expectClosed(websocket.ClosePolicyViolation)

	// A moderator cannot remove the host; the host ends for everyone.
	mod.send(signal.Message{Type: signal.TypeModerate, Action: signal.ActionRemove, ID: jh.Self.ID})
	if e := mod.expect(signal.TypeError); e.Code != signal.CodeForbidden {
		t.Fatalf("moderator removing the host: %+v", e)
	}
	host.send(signal.Message{Type: signal.TypeEnd})
	for _, c := range []*client{host, mod, att, late} {
		c.expect(signal.TypeEnded)
		c.expectClosed(websocket.CloseNormalClosure)
	}
}

// In a meeting, a participant cannot mute, remove or lock; the host locks
// and the lobby fills; unlocking lets the next arrivals in directly.
func TestMeetingLock(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{}`)
	host, _ := h.join(alice, r.ID, signal.TypeJoined)
	p, jp := h.join(bob, r.ID, signal.TypeJoined)
	if jp.Self.Role != "participant" || jp.Room.Kind != "meeting" {
		t.Fatalf("bob: %+v %+v", jp.Self, jp.Room)
	}
	hostID := host.expect(signal.TypeParticipantJoined).Participant.ID
	_ = hostID
	yes, no := true, false
	for _, m := range []signal.Message{
		{Type: signal.TypeModerate, Action: signal.ActionMute, ID: jp.Self.ID},
		{Type: signal.TypeLock, Locked: &yes},
	} {
		p.send(m)
		if e := p.expect(signal.TypeError); e.Code != signal.CodeForbidden {
			t.Fatalf("participant %s: %+v", m.Type, e)
		}
	}
	host.send(signal.Message{Type: signal.TypeLock, Locked: &yes})
	p.expectWhere(signal.TypeLock, func(m signal.Message) bool { return *m.Locked })
	c, _ := h.join(carol, r.ID, signal.TypeLobby)
	req := host.expect(signal.TypeLobbyRequest)
	host.send(signal.Message{Type: signal.TypeLock, Locked: &no})
	p.expectWhere(signal.TypeLock, func(m signal.Message) bool { return !*m.Locked })
	h.join(frank, r.ID, signal.TypeJoined)
	host.send(signal.Message{Type: signal.TypeAdmit, ID: req.Participant.ID})
	c.expect(signal.TypeJoined)
}

// Webinar chat: created « stage », an attendee's message reaches the stage
// and its sender only, the stage's messages reach everyone; switched live
// to « off » by a moderator (everyone is told), attendees are refused
// with chat_disabled and stay; an attendee cannot change it; a PATCH by
// the host applies live too.
func TestWebinarChatScope(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{"kind":"webinar","access":"agents","moderators":["bob@interieur.gouv.fr"],"webinar_chat":"stage"}`)
	if code, b := h.do(&carol, "GET", "/api/meet/rooms/"+r.ID, ""); code != 200 || !strings.Contains(string(b), `"webinar_chat":"stage"`) {
		t.Fatalf("room view: %d %s", code, b)
	}
	if code, b := h.do(&alice, "PATCH", "/api/meet/rooms/"+r.ID, `{"webinar_chat":"attendees"}`); code != 400 {
		t.Fatalf("bad webinar_chat: %d %s", code, b)
	}
	host, _ := h.join(alice, r.ID, signal.TypeJoined)
	mod, _ := h.join(bob, r.ID, signal.TypeJoined)
	att, ja := h.join(carol, r.ID, signal.TypeJoined)
	other, _ := h.join(dave, r.ID, signal.TypeJoined)
	if ja.Room.WebinarChat != "stage" {
		t.Fatalf("attendee not told the chat scope: %+v", ja.Room)
	}

	fromCarol := func(m signal.Message) bool { return m.ID == ja.Self.ID }
	att.send(signal.Message{Type: signal.TypeChat, Text: "pour la tribune"})
	for _, c := range []*client{host, mod, att} {
		c.expectWhere(signal.TypeChat, func(m signal.Message) bool { return fromCarol(m) && m.Text == "pour la tribune" })
	}
	host.send(signal.Message{Type: signal.TypeChat, Text: "à tous"})
	if m := other.expect(signal.TypeChat); m.Text != "à tous" { // the attendee's message never reached dave
		t.Fatalf("dave got %+v first", m)
	}
	att.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "à tous" })

	// An attendee cannot change it; a moderator can, and everyone is told.
	att.send(signal.Message{Type: signal.TypeWebinarChat, WebinarChat: "everyone"})
	if e := att.expect(signal.TypeError); e.Code != signal.CodeForbidden {
		t.Fatalf("attendee changing the chat: %+v", e)
	}
	mod.send(signal.Message{Type: signal.TypeWebinarChat, WebinarChat: "off"})
	for _, c := range []*client{host, mod, att, other} {
		c.expectWhere(signal.TypeWebinarChat, func(m signal.Message) bool { return m.WebinarChat == "off" })
	}
	att.send(signal.Message{Type: signal.TypeChat, Text: "refusé"})
	if e := att.expect(signal.TypeError); e.Code != signal.CodeChatDisabled {
		t.Fatalf("attendee chat with the chat off: %+v", e)
	}
	mod.send(signal.Message{Type: signal.TypeChat, Text: "la tribune parle"})
	other.expectBefore(signal.TypeChat, func(m signal.Message) bool { return m.Text == "la tribune parle" }, signal.TypeError)
	att.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "la tribune parle" }) // the socket stayed
	if code, b := h.do(&carol, "GET", "/api/meet/rooms/"+r.ID, ""); code != 200 || !strings.Contains(string(b), `"webinar_chat":"off"`) {
		t.Fatalf("stored setting: %d %s", code, b)
	}

	// The host opens it again through the REST API: applied live.
	if code, b := h.do(&alice, "PATCH", "/api/meet/rooms/"+r.ID, `{"webinar_chat":"everyone"}`); code != 200 {
		t.Fatalf("patch: %d %s", code, b)
	}
	att.expectWhere(signal.TypeWebinarChat, func(m signal.Message) bool { return m.WebinarChat == "everyone" })
	att.send(signal.Message{Type: signal.TypeChat, Text: "enfin"})
	other.expectWhere(signal.TypeChat, func(m signal.Message) bool { return fromCarol(m) && m.Text == "enfin" })
}
