package store_test

import (
	"testing"

	"bureau/services/chat/internal/store"
)

// A redacted event no longer counts as unread, and the room's latest
// redaction tells the unread caches what they may have counted.
func TestRedactionsAndUnread(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		m := ev("!r:x", "$m", "$c", "m.room.message", nil, `{"body":"x"}`)
		m.Sender = "@b:x"
		if _, err := s.Append(ctx, []store.NewEvent{ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`), m}); err != nil {
			t.Fatal(err)
		}
		unread := func() int {
			t.Helper()
			max, _ := s.MaxPos(ctx)
			got, err := s.EventsFrom(ctx, "@a:x", []store.Range{{RoomID: "!r:x", UpTo: max}}, 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(got["!r:x"])
		}
		if n := unread(); n != 1 {
			t.Fatalf("unread before = %d", n)
		}
		if got, err := s.LastRedactions(ctx, []string{"!r:x"}); err != nil || len(got) != 0 {
			t.Fatalf("redactions before = %v, %v", got, err)
		}
		r := ev("!r:x", "$red", "$m", "m.room.redaction", nil, `{}`)
		r.Redaction = &store.Redaction{EventID: "$m", RedactedJSON: []byte(`{"type":"m.room.message","content":{}}`), Because: []byte(`{"event_id":"$red"}`)}
		if _, err := s.Append(ctx, []store.NewEvent{r}); err != nil {
			t.Fatal(err)
		}
		red, _ := s.EventByID(ctx, "$red")
		if got, err := s.LastRedactions(ctx, []string{"!r:x", "!none:x"}); err != nil || len(got) != 1 || got["!r:x"] != red.Pos {
			t.Fatalf("redactions = %v, %v (want %d)", got, err, red.Pos)
		}
		// The redaction itself is from @a:x here: nothing left unread.
		if n := unread(); n != 0 {
			t.Fatalf("unread after the redaction = %d", n)
		}
	})
}
