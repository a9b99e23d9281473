package visibility

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// event is one position of a scripted room: a visibility change, a
// membership change of the reader, or an ordinary event ("").
type event struct{ vis, mem string }

// script builds a History from a list of events at positions 1, 2, ….
func script(evs ...event) History {
	var h History
	for i, e := range evs {
		pos := int64(i + 1)
		if e.vis != "" {
			h.Visibility = append(h.Visibility, Change{pos, e.vis})
		}
		if e.mem != "" {
			h.Membership = append(h.Membership, Change{pos, e.mem})
		}
	}
	return h
}

// positions lists the readable positions in 1..n.
func positions(rs Ranges, n int64) []int64 {
	var out []int64
	for p := int64(1); p <= n; p++ {
		if rs.Contains(p) {
			out = append(out, p)
		}
	}
	return out
}

var msg = event{}

func TestEachVisibility(t *testing.T) {
	// 1 history_visibility, 2-3 messages, 4 reader invited, 5 message,
	// 6 reader joins, 7 message, 8 reader leaves, 9 message.
	room := func(vis string) History {
		return script(event{vis: vis}, msg, msg, event{mem: "invite"}, msg, event{mem: "join"}, msg, event{mem: "leave"}, msg)
	}
	for _, c := range []struct {
		vis     string
		peeking bool
		want    []int64
	}{
		// Shared: all history up to the leave (+ the leave itself).
		{Shared, false, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
		// Invited: from the invitation on (the visibility event itself
		// is seen from its more permissive side, the default shared).
		{Invited, false, []int64{1, 4, 5, 6, 7, 8}},
		// Joined: from the join on; the own leave is always seen.
		{Joined, false, []int64{1, 6, 7, 8}},
		// World readable: everything up to the leave.
		{WorldReadable, false, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
	} {
		rs, ok := room(c.vis).For(9)
		got := positions(rs, 9)
		if !ok {
			t.Errorf("%s: former member refused", c.vis)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s (peeking %v): readable %v, want %v", c.vis, c.peeking, got, c.want)
		}
	}
}

func TestVisibilityChangeBoundaries(t *testing.T) {
	// Joined member until 3; the room goes from shared to joined at 5
	// while the reader is away, then back to shared at 7.
	h := script(event{mem: "join"}, msg, event{mem: "leave"}, msg, event{vis: Joined}, msg, event{vis: Shared}, msg, event{mem: "join"}, msg)
	got := positions(h.Readable(10, false), 10)
	// 4 shared (not peeking: a former member); 5 the change to joined is
	// seen (more permissive side: shared); 6 hidden; 7 the change back.
	if want := []int64{1, 2, 3, 4, 5, 7, 8, 9, 10}; !slices.Equal(got, want) {
		t.Fatalf("readable %v, want %v", got, want)
	}
	// A rejected invitation under "joined": only the leave (the invite
	// itself is not history one may read under "joined").
	h = script(event{vis: Joined}, msg, event{mem: "invite"}, msg, event{mem: "leave"}, msg)
	if got, want := positions(h.Readable(6, true), 6), []int64{5}; !slices.Equal(got, want) {
		t.Fatalf("rejected invite: %v, want %v", got, want)
	}
	if _, ok := h.For(6); ok {
		t.Fatal("who never joined reads a non world-readable room")
	}
}

func TestReaders(t *testing.T) {
	// Never a member: only a world_readable room can be read, as a
	// peeker (no shared history), up to now.
	h := script(event{vis: Shared}, msg, event{vis: WorldReadable}, msg)
	rs, ok := h.For(4)
	if got := positions(rs, 4); !ok || !slices.Equal(got, []int64{3, 4}) {
		t.Fatalf("peeker: %v %v", got, ok)
	}
	// Joined now, room shared: all of it.
	h = script(msg, msg, event{vis: Shared}, event{mem: "join"}, msg)
	if rs, ok := h.For(5); !ok || !rs.Covers(1, 5) {
		t.Fatalf("member: %v %v", rs, ok)
	}
	// Invited now: not yet.
	h = script(event{vis: Invited}, event{mem: "invite"}, msg)
	if _, ok := h.For(3); ok {
		t.Fatal("invitee reads")
	}
	if h.EverJoined() || h.Current() != Invited || (History{}).Current() != Shared {
		t.Fatal("EverJoined/Current")
	}
}

func TestRanges(t *testing.T) {
	rs := Ranges{}.add(1, 3).add(4, 6).add(9, 9).add(5, 2)
	if len(rs) != 2 || rs[0] != (Range{1, 6}) || rs[1] != (Range{9, 9}) {
		t.Fatalf("add: %v", rs)
	}
	if !rs.Covers(2, 6) || rs.Covers(5, 9) || !All.Covers(0, 1<<62) {
		t.Fatal("Covers")
	}
	if c := rs.Clip(3, 9); len(c) != 2 || c[0] != (Range{3, 6}) {
		t.Fatalf("Clip: %v", c)
	}
	if c := rs.Clip(7, 8); len(c) != 0 {
		t.Fatalf("Clip outside: %v", c)
	}
}

// reference decides event by event, as Synapse's filter_events_for_client
// does, from the state including each event.
func reference(evs []event, peeking bool) []int64 {
	var out []int64
	vis, mem := Shared, "leave"
	for i, e := range evs {
		ev, em := vis, mem
		if e.vis != "" {
			next := normalise(e.vis)
			ev, vis = morePermissive(vis, next), next
		}
		ok := false
		if e.mem != "" {
			next := normaliseMembership(e.mem)
			ok = (next == "leave" || next == "ban") && (mem == "join" || mem == "invite")
			em, mem = mostJoined(mem, next), next
		}
		if ok || allowed(ev, em, peeking) {
			out = append(out, int64(i+1))
		}
	}
	return out
}

func randomRoom(r *rand.Rand, n int) []event {
	vals := []string{WorldReadable, Shared, Invited, Joined, "bogus"}
	mems := []string{"join", "invite", "leave", "ban", "knock"}
	evs := make([]event, n)
	for i := range evs {
		switch r.IntN(4) {
		case 0:
			evs[i].vis = vals[r.IntN(len(vals))]
		case 1:
			evs[i].mem = mems[r.IntN(len(mems))]
		}
	}
	return evs
}

// The ranges agree with the event-by-event rule on random rooms.
func TestReadableMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		checkAgainstReference(t, randomRoom(r, 1+r.IntN(30)), r.IntN(2) == 0)
	}
}

func checkAgainstReference(t *testing.T, evs []event, peeking bool) {
	t.Helper()
	n := int64(len(evs))
	got := positions(script(evs...).Readable(n, peeking), n)
	if want := reference(evs, peeking); !slices.Equal(got, want) {
		t.Fatalf("room %+v (peeking %v): ranges give %v, reference %v", evs, peeking, got, want)
	}
}

func FuzzReadable(f *testing.F) {
	f.Add([]byte{0, 5, 9, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		r := rand.New(rand.NewPCG(uint64(b[0]), uint64(len(b))))
		checkAgainstReference(t, randomRoom(r, len(b)), b[0]%2 == 0)
	})
}
