package store_test

import (
	"fmt"
	"testing"

	"bureau/services/chat/internal/store"
)

func TestRelationsStore(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		thread := func(id, prev, parent, sender string) store.NewEvent {
			e := ev("!r:x", id, prev, "m.room.message", nil, `{"body":"x","m.relates_to":{"rel_type":"m.thread","event_id":"`+parent+`"}}`)
			e.Sender = sender
			return e
		}
		edit := ev("!r:x", "$edit", "$t2", "m.room.message", nil, `{"m.relates_to":{"rel_type":"m.replace","event_id":"$root"}}`)
		if _, err := s.Append(ctx, []store.NewEvent{
			ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`),
			ev("!r:x", "$root", "$c", "m.room.message", nil, `{"body":"root"}`),
			thread("$t1", "$root", "$root", "@b:x"),
			thread("$t2", "$t1", "$root", "@a:x"),
			edit,
			// Malformed relations are ignored, not stored.
			ev("!r:x", "$bad", "$edit", "m.room.message", nil, `{"m.relates_to":{"rel_type":5}}`),
		}); err != nil {
			t.Fatal(err)
		}
		max, _ := s.MaxPos(ctx)
		q := store.RelationQuery{RoomID: "!r:x", Parents: []string{"$root"}, From: -1, To: -1, UpTo: max, Backwards: true, Limit: 10}
		evs, err := s.Relations(ctx, q)
		if err != nil || len(evs) != 3 || evs[0].EventID != "$edit" {
			t.Fatalf("relations = %+v, %v", evs, err)
		}
		q.RelType, q.Backwards, q.From = "m.thread", false, evs[2].Pos
		if evs, _ = s.Relations(ctx, q); len(evs) != 1 || evs[0].EventID != "$t2" {
			t.Fatalf("threads after $t1 = %+v", evs)
		}
		cs, err := s.Children(ctx, []string{"$root", "$t1"}, max)
		if err != nil || len(cs) != 3 || cs[2].RelType != "m.replace" {
			t.Fatalf("children = %+v, %v", cs, err)
		}
		ts, err := s.Threads(ctx, "!r:x", "@b:x", true, -1, max, 10)
		if err != nil || len(ts) != 1 || ts[0].Root.EventID != "$root" || ts[0].Latest != evs[0].Pos {
			t.Fatalf("threads = %+v, %v", ts, err)
		}
		if ts, _ = s.Threads(ctx, "!r:x", "@c:x", true, -1, max, 10); len(ts) != 0 {
			t.Fatalf("threads of a non-participant = %+v", ts)
		}
		red := ev("!r:x", "$red", "$bad", "m.room.redaction", nil, `{}`)
		red.Redaction = &store.Redaction{EventID: "$t2", RedactedJSON: []byte(`{}`), Because: []byte(`{}`)}
		if _, err := s.Append(ctx, []store.NewEvent{red}); err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.ChildIDs(ctx, "!r:x", []string{"$root"}, max+1); len(ids) != 2 {
			t.Fatalf("children after redaction = %v", ids)
		}
	})
}

// StateAt is the state as of a stream position: later changes are not in
// it, and each key keeps only its latest event at that point.
func TestStateAt(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.Append(ctx, []store.NewEvent{
			ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`),
			ev("!r:x", "$n1", "$c", "m.room.name", sk(""), `{"name":"un"}`),
			ev("!r:x", "$m", "$n1", "m.room.message", nil, `{"body":"x"}`),
			ev("!r:x", "$n2", "$m", "m.room.name", sk(""), `{"name":"deux"}`),
		}); err != nil {
			t.Fatal(err)
		}
		m, _ := s.EventByID(ctx, "$m")
		for pos, want := range map[int64][]string{m.Pos: {"$c", "$n1"}, m.Pos + 1: {"$c", "$n2"}, 0: nil} {
			got, err := s.StateAt(ctx, "!r:x", pos)
			var ids []string
			for _, e := range got {
				ids = append(ids, e.EventID)
			}
			if err != nil || fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Errorf("state at %d = %v, %v; want %v", pos, ids, err, want)
			}
		}
		// Several rooms at once, each at its own position.
		if _, err := s.Append(ctx, []store.NewEvent{
			ev("!s:x", "$c2", "", "m.room.create", sk(""), `{}`),
			ev("!s:x", "$t2", "$c2", "m.room.topic", sk(""), `{"topic":"t"}`),
		}); err != nil {
			t.Fatal(err)
		}
		c2, _ := s.EventByID(ctx, "$c2")
		all, err := s.StatesAt(ctx, map[string]int64{"!r:x": m.Pos, "!s:x": c2.Pos})
		if err != nil || eventIDs(all["!r:x"]) != "$c$n1" || eventIDs(all["!s:x"]) != "$c2" {
			t.Fatalf("states at = %s / %s, %v", eventIDs(all["!r:x"]), eventIDs(all["!s:x"]), err)
		}
	})
}
