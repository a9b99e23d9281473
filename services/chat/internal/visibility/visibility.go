// Package visibility decides which events of a room's history a user may
// read, following m.room.history_visibility as the spec (and Synapse)
// define it: the visibility and the user's membership in the room state at
// each event.
//
// Instead of deciding event by event, it turns a user's history of a room —
// the room's history_visibility changes and the user's own membership
// changes, a handful of events — into ranges of stream positions, which the
// store applies inside its queries: pages and timeline limits then count
// only readable events, with no query per event.
//
// Stream positions are the room's order: for local rooms the state at an
// event is the state after the last state event at or below its position.
package visibility

import "math"

// The history_visibility values, most permissive first.
const (
	WorldReadable = "world_readable"
	Shared        = "shared"
	Invited       = "invited"
	Joined        = "joined"
)

// Change is a state change at a stream position: a history_visibility
// value, or one membership of the user.
type Change struct {
	Pos   int64
	Value string
}

// History is what decides one user's view of one room: the room's
// history_visibility events and the user's member events, each in
// position order.
type History struct {
	Visibility []Change
	Membership []Change
}

// EverJoined reports whether the user was joined at some point.
func (h History) EverJoined() bool {
	for _, c := range h.Membership {
		if c.Value == "join" {
			return true
		}
	}
	return false
}

// Current is the visibility after the last change (shared when none).
func (h History) Current() string {
	if len(h.Visibility) == 0 {
		return Shared
	}
	return normalise(h.Visibility[len(h.Visibility)-1].Value)
}

// Range is an inclusive interval of stream positions.
type Range struct{ From, To int64 }

// Ranges is a sorted set of disjoint, non-adjacent ranges.
type Ranges []Range

// All is every position.
var All = Ranges{{0, math.MaxInt64}}

// Contains reports whether pos is in the set.
func (rs Ranges) Contains(pos int64) bool {
	for _, r := range rs {
		if pos >= r.From && pos <= r.To {
			return true
		}
	}
	return false
}

// Covers reports whether every position in [from, to] is in the set.
func (rs Ranges) Covers(from, to int64) bool {
	for _, r := range rs {
		if r.From <= from && r.To >= to {
			return true
		}
	}
	return false
}

// Last is the highest readable position (-1 when none).
func (rs Ranges) Last() int64 {
	if len(rs) == 0 {
		return -1
	}
	return rs[len(rs)-1].To
}

// Clip keeps the part of the set within [from, to].
func (rs Ranges) Clip(from, to int64) Ranges {
	out := Ranges{}
	for _, r := range rs {
		r.From, r.To = max(r.From, from), min(r.To, to)
		if r.From <= r.To {
			out = append(out, r)
		}
	}
	return out
}

func (rs Ranges) add(from, to int64) Ranges {
	if from > to {
		return rs
	}
	if n := len(rs); n > 0 && rs[n-1].To+1 >= from {
		rs[n-1].To = max(rs[n-1].To, to)
		return rs
	}
	return append(rs, Range{from, to})
}

// Readable returns the positions of the room's history the user may read,
// up to upTo. peeking is a reader who has never been joined to the room
// (a world_readable preview, or the leave section of a rejected invite):
// shared history is not theirs.
func (h History) Readable(upTo int64, peeking bool) Ranges {
	out := Ranges{}
	vis, mem := Shared, "leave"
	cursor := int64(0)
	v, m := h.Visibility, h.Membership
	for len(v) > 0 || len(m) > 0 {
		// The next change point; a position holds one event, so one
		// change at most.
		var p int64
		isVis := len(m) == 0 || (len(v) > 0 && v[0].Pos < m[0].Pos)
		if isVis {
			p = v[0].Pos
		} else {
			p = m[0].Pos
		}
		if p > upTo {
			break
		}
		if allowed(vis, mem, peeking) {
			out = out.add(cursor, p-1)
		}
		var ok bool
		if isVis {
			// A visibility change is seen by whoever could see either
			// side of it (the more permissive of the two).
			next := normalise(v[0].Value)
			ok = allowed(morePermissive(vis, next), mem, peeking)
			vis, v = next, v[1:]
		} else {
			// Own member events: the "most joined" of before and after;
			// one always sees oneself leaving a room one was joined or
			// invited to (the room must disappear from the client).
			next := normaliseMembership(m[0].Value)
			ok = (next == "leave" || next == "ban") && (mem == "join" || mem == "invite") ||
				allowed(vis, mostJoined(mem, next), peeking)
			mem, m = next, m[1:]
		}
		if ok {
			out = out.add(p, p)
		}
		cursor = p + 1
	}
	if allowed(vis, mem, peeking) {
		out = out.add(cursor, upTo)
	}
	return out
}

// allowed is the spec's rule for an event with this state.
func allowed(vis, mem string, peeking bool) bool {
	if mem == "join" {
		return true
	}
	switch vis {
	case Joined:
		return false
	case Invited:
		return mem == "invite"
	case Shared:
		return !peeking
	}
	return true // world_readable
}

var visibilityRank = map[string]int{WorldReadable: 0, Shared: 1, Invited: 2, Joined: 3}

// normalise maps an unknown or malformed value to shared, the spec's
// default.
func normalise(v string) string {
	if _, ok := visibilityRank[v]; ok {
		return v
	}
	return Shared
}

func morePermissive(a, b string) string {
	if visibilityRank[a] <= visibilityRank[b] {
		return a
	}
	return b
}

var membershipRank = map[string]int{"join": 0, "invite": 1, "knock": 2, "leave": 3, "ban": 4}

func normaliseMembership(m string) string {
	if _, ok := membershipRank[m]; ok {
		return m
	}
	return "leave"
}

func mostJoined(a, b string) string {
	if membershipRank[a] <= membershipRank[b] {
		return a
	}
	return b
}

// For is what a reader may read of the room up to upTo, and whether they
// may read it at all (the gate of /messages, /event and /context): a
// member reads their ranges; a former member reads up to their leaving;
// anyone else only a world_readable room, as a peeker.
func (h History) For(upTo int64) (Ranges, bool) {
	if n := len(h.Membership); n > 0 {
		last := h.Membership[n-1]
		switch {
		case last.Value == "join":
			return h.Readable(upTo, false), true
		case (last.Value == "leave" || last.Value == "ban") && h.EverJoined():
			return h.Readable(min(upTo, last.Pos), false), true
		}
	}
	if h.Current() == WorldReadable {
		return h.Readable(upTo, true), true
	}
	return nil, false
}
