package store_test

import (
	"testing"

	"bureau/services/chat/internal/store"
)

func TestRedactionAppend(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		if _, err := s.Append(ctx, []store.NewEvent{
			ev("!r:x", "$c", "", "m.room.create", sk(""), `{}`),
			ev("!r:x", "$m", "$c", "m.room.message", nil, `{"body":"secret"}`),
		}); err != nil {
			t.Fatal(err)
		}
		red := ev("!r:x", "$red", "$m", "m.room.redaction", nil, `{}`)
		red.Redaction = &store.Redaction{EventID: "$m", RedactedJSON: []byte(`{"type":"m.room.message","content":{}}`), Because: []byte(`{"event_id":"$red"}`)}
		if _, err := s.Append(ctx, []store.NewEvent{red}); err != nil {
			t.Fatal(err)
		}
		got, err := s.EventByID(ctx, "$m")
		if err != nil || string(got.JSON) != `{"type":"m.room.message","content":{}}` || string(got.RedactedBecause) != `{"event_id":"$red"}` {
			t.Fatalf("redacted = %s / %s, %v", got.JSON, got.RedactedBecause, err)
		}
		if other, _ := s.EventByID(ctx, "$c"); other.RedactedBecause != nil {
			t.Fatal("unrelated event marked redacted")
		}
	})
}
