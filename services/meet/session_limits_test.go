package meet_test

import (
	"fmt"
	"testing"
	"time"

	"bureau/services/meet"
	"bureau/services/meet/internal/signal"
	"bureau/services/platform/identity"
)

// Reactions reach the room; past a participant's rate limit, chat,
// reactions, questions and hand changes are refused with rate_limited to
// that participant only, who stays connected; nobody else receives them.
func TestReactionsAndRateLimits(t *testing.T) {
	slow := func(burst int) meet.Rate { return meet.Rate{PerSecond: 0.001, Burst: burst} }
	h := newHarnessWith(t, func(c *meet.Config) {
		c.Limits = meet.Limits{Chat: slow(2), Question: slow(1), Reaction: slow(3), Hand: slow(2)}
	})
	room := h.createRoom(alice, `{}`).ID
	a, ja := h.join(alice, room, signal.TypeJoined)
	b, _ := h.join(bob, room, signal.TypeJoined)
	limited := func(c *client, what string) {
		t.Helper()
		if e := c.expect(signal.TypeError); e.Code != signal.CodeRateLimited {
			t.Fatalf("%s over the limit: %+v", what, e)
		}
	}
	yes := true
	for i, e := range []string{"👍", "🎉", "❤️"} {
		a.send(signal.Message{Type: signal.TypeReaction, Emoji: e})
		m := b.expect(signal.TypeReaction)
		if m.ID != ja.Self.ID || m.Emoji != e || m.Time == 0 {
			t.Fatalf("reaction %d: %+v", i, m)
		}
	}
	a.send(signal.Message{Type: signal.TypeReaction, Emoji: "👏"})
	limited(a, "reaction")
	for range 2 {
		a.send(signal.Message{Type: signal.TypeChat, Text: "bonjour"})
		a.send(signal.Message{Type: signal.TypeHand, Raised: &yes})
	}
	a.send(signal.Message{Type: signal.TypeChat, Text: "de trop"})
	limited(a, "chat")
	a.send(signal.Message{Type: signal.TypeHand, Raised: &yes})
	limited(a, "hand")
	// Bob received exactly what was allowed, and both are still there.
	b.send(signal.Message{Type: signal.TypeChat, Text: "marqueur"})
	a.expectWhere(signal.TypeChat, func(m signal.Message) bool { return m.Text == "marqueur" })
	got := map[string]int{}
	for {
		m := b.next()
		if m.Type == signal.TypeChat && m.Text == "marqueur" {
			break
		}
		if m.Type == signal.TypeChat && m.Text == "de trop" || m.Type == signal.TypeReaction || m.Type == signal.TypeQuestion && m.Text == "Et une autre ?" {
			t.Fatalf("bob received what was over the limit: %+v", m)
		}
		got[m.Type]++
	}
	if got[signal.TypeChat] != 2 || got[signal.TypeHand] != 2 {
		t.Fatalf("bob received %v, want 2 chats and 2 hands", got)
	}
	b.send(signal.Message{Type: signal.TypeQuestion, Text: "Une question ?"})
	a.expect(signal.TypeQuestion)
	b.send(signal.Message{Type: signal.TypeQuestion, Text: "Et une autre ?"})
	limited(b, "question")
	b.send(signal.Message{Type: signal.TypeChat, Text: "fin"})
	a.expectBefore(signal.TypeChat, func(m signal.Message) bool { return m.Text == "fin" }, signal.TypeQuestion)
	if m := h.metrics(); m["bureau_meet_rate_limited_total"] != 4 {
		t.Fatalf("metrics: %v", meetMetrics(m))
	}
}

// In a webinar, an attendee is not told of every other attendee: they
// receive the stage (hosts, moderators, presenters, speakers) and a count
// sent at most every second, so the messages an attendee receives while N
// others join are bounded by the time it takes, not by N. Moderators still
// see everyone, with their hands.
func TestWebinarScale(t *testing.T) {
	h := newHarness(t)
	r := h.createRoom(alice, `{"kind":"webinar","access":"agents","moderators":["bob@interieur.gouv.fr"]}`)
	host, _ := h.join(alice, r.ID, signal.TypeJoined)
	mod, _ := h.join(bob, r.ID, signal.TypeJoined)
	const n = 20
	att := func(i int) identity.User {
		return identity.User{ID: fmt.Sprintf("uatt%d", i), Email: fmt.Sprintf("att%d@armees.gouv.fr", i), GivenName: "Agent", UsualName: fmt.Sprint(i), Ministry: "armees"}
	}
	first, jf := h.join(att(0), r.ID, signal.TypeJoined)
	if len(jf.Participants) != 2 || jf.Count != 3 {
		t.Fatalf("attendee joined with %d participants, count %d; want the 2 on stage and 3", len(jf.Participants), jf.Count)
	}
	start := time.Now()
	ids := map[string]bool{jf.Self.ID: true}
	for i := 1; i < n; i++ {
		c, j := h.join(att(i), r.ID, signal.TypeJoined)
		ids[j.Self.ID] = true
		for _, p := range j.Participants {
			if p.Role == "attendee" {
				t.Fatalf("attendee %d told of attendee %+v", i, p)
			}
		}
		if i == n-1 {
			// The last one raises a hand: the stage sees it, attendees do not.
			yes := true
			c.send(signal.Message{Type: signal.TypeHand, Raised: &yes})
			c.send(signal.Message{Type: signal.TypeReaction, Emoji: "👏"})
			host.expectWhere(signal.TypeHand, func(m signal.Message) bool { return m.ID == j.Self.ID && *m.Raised })
			host.expectWhere(signal.TypeReaction, func(m signal.Message) bool { return m.ID == j.Self.ID })
		}
	}
	// Everyone hears the stage's chat: the marker ends the count.
	host.send(signal.Message{Type: signal.TypeChat, Text: "fin des arrivées"})
	elapsed := time.Since(start)
	counts, total, last := 0, 0, 0
	for {
		m := first.next()
		total++
		if m.Type == signal.TypeChat && m.Text == "fin des arrivées" {
			break
		}
		if m.Type != signal.TypeCount {
			t.Fatalf("attendee received %+v while others joined", m)
		}
		counts++
		last = m.Count
	}
	// At most one count a second (plus the tick in progress at each end).
	bound := int(elapsed/time.Second) + 2
	t.Logf("%d attendees joined in %s: the first attendee received %d messages (%d counts)", n, elapsed.Round(time.Millisecond), total, counts)
	if counts > bound || total > bound+1 || total >= n {
		t.Fatalf("first attendee received %d messages (%d counts) during %d joins over %s, want at most %d", total, counts, n, elapsed, bound+1)
	}
	// The count reaches the final number.
	if last != n+2 {
		first.expectWhere(signal.TypeCount, func(m signal.Message) bool { return m.Count == n+2 })
	}
	// The moderator saw every attendee arrive.
	for len(ids) > 0 {
		m := mod.expect(signal.TypeParticipantJoined)
		delete(ids, m.Participant.ID)
	}
}
