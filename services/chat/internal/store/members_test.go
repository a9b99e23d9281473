package store_test

import (
	"testing"

	"bureau/services/chat/internal/store"
)

func TestMemberEventsAndSummaries(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		prev := "$c"
		evs := []store.NewEvent{ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`)}
		for i, m := range []struct{ user, membership string }{
			{"@a:x", "join"}, {"@b:x", "join"}, {"@c:x", "invite"}, {"@d:x", "leave"},
		} {
			id := "$m" + string(rune('0'+i))
			evs = append(evs, ev("!r:x", id, prev, "m.room.member", sk(m.user), `{"membership":"`+m.membership+`"}`))
			prev = id
		}
		if _, err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		got, err := s.MemberEvents(ctx, []string{"!r:x"}, []string{"@b:x", "@zz:x"})
		if err != nil || len(got["!r:x"]) != 1 || *got["!r:x"][0].StateKey != "@b:x" {
			t.Fatalf("member events = %+v, %v", got, err)
		}
		sums, err := s.Summaries(ctx, "@a:x", []string{"!r:x", "!empty:x"})
		if err != nil {
			t.Fatal(err)
		}
		if r := sums["!r:x"]; r.Joined != 2 || r.Invited != 1 || len(r.Heroes) != 2 || r.Heroes[0] != "@b:x" || r.Heroes[1] != "@c:x" {
			t.Fatalf("summary = %+v", r)
		}
		if e := sums["!empty:x"]; e.Joined != 0 || len(e.Heroes) != 0 {
			t.Fatalf("empty summary = %+v", e)
		}
	})
}
