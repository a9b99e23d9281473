package clientapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// FuzzParseToken: any input parses to a position that formats back to the
// same token, or is refused; never a panic or a negative position.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"s0", "s42", "s9223372036854775807", "s-1", "s", "", "s+1", "s00", "t5", "s1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pos, err := ParseToken(s)
		if err != nil {
			return
		}
		if pos < 0 {
			t.Fatalf("%q parsed to %d", s, pos)
		}
		if again, err := ParseToken(FormatToken(pos)); err != nil || again != pos {
			t.Fatalf("%q: %d does not round-trip: %d, %v", s, pos, again, err)
		}
	})
}

// FuzzParseFilter: a filter is accepted with a limit in [0, max], or
// refused with a Matrix error; never a panic.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{`{}`, `{"room":{"timeline":{"limit":5}}}`, `{"room":{"timeline":{"limit":-1}}}`,
		`{"room":{"timeline":{"limit":1e99}}}`, `{"room":[]}`, `[]`, `{"room":{"state":{"lazy_load_members":true}}}`, `nul`,
		`{"room":{"rooms":["!a:x"],"not_rooms":[],"timeline":{"types":["m.*"],"not_types":[1],"senders":null}}}`,
		`{"event_fields":["type","content.body","content.a\\.b","x\\\\y"],"event_format":"federation"}`, `{"event_fields":["a..b"]}`,
		`{"event_fields":["a\\"]}`, `{"event_format":"xml"}`, `{"room":{"timeline":{"contains_url":true,"unread_thread_notifications":true}}}`,
		`{"account_data":{"types":["m.*"],"limit":0},"room":{"ephemeral":{"limit":-1},"state":{"not_rooms":["!a:x"]},"include_leave":true}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		flt, err := ParseFilter(b)
		if err != nil {
			if _, ok := err.(*matrixError); !ok {
				t.Fatalf("%q: non-Matrix error %v", b, err)
			}
			return
		}
		if l := flt.TimelineLimit(); l < 0 || l > maxTimelineLimit {
			t.Fatalf("%q: limit %d", b, l)
		}
		if _, err := json.Marshal(flt); err != nil {
			t.Fatal(err)
		}
		// Whatever paths were accepted, projecting an event works and
		// keeps only fields the paths name.
		ev := map[string]any{"type": "m.room.message", "content": map[string]any{"body": "x", "a.b": 1, "n": map[string]any{"m": 2}}, "sender": "@a:x"}
		if flt.fields != nil {
			for k := range flt.fields.project(ev) {
				if _, ok := flt.fields[k]; !ok {
					t.Fatalf("%q: projected field %q not asked", b, k)
				}
			}
		}
	})
}

func TestEventFields(t *testing.T) {
	ev := map[string]any{
		"type": "m.room.message", "sender": "@a:x",
		"content": map[string]any{"body": "x", "m.relates_to": map[string]any{"rel_type": "m.thread", "event_id": "$r"}, `a\b`: 1},
	}
	for paths, want := range map[string]string{
		`["type"]`:                                 `map[type:m.room.message]`,
		`["content.body","type"]`:                  `map[content:map[body:x] type:m.room.message]`,
		`["content.m\\.relates_to.rel_type"]`:      `map[content:map[m.relates_to:map[rel_type:m.thread]]]`,
		`["content","content.body"]`:               `map[content:map[a\b:1 body:x m.relates_to:map[event_id:$r rel_type:m.thread]]]`,
		`["content.body.deeper","content.a\\\\b"]`: `map[content:map[a\b:1]]`,
		`["nope"]`: `map[]`,
	} {
		var list []string
		if err := json.Unmarshal([]byte(paths), &list); err != nil {
			t.Fatal(err)
		}
		tr, err := parseEventFields(list)
		if err != nil {
			t.Fatalf("%s: %v", paths, err)
		}
		if got := fmt.Sprint(tr.project(ev)); got != want {
			t.Errorf("%s: %s, want %s", paths, got, want)
		}
	}
	for _, bad := range []string{"", "a.", ".a", `a\`, `a\x`} {
		if _, err := parseEventFields([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLocalpart(t *testing.T) {
	for in, want := range map[string]string{
		"Alice.Martin@interieur.gouv.fr": "alice.martin-interieur.gouv.fr",
		"jean+test@x.fr":                 "jean+test-x.fr",
		"émile@x.fr":                     "_mile-x.fr",
		"":                               "fallback",
	} {
		if got := Localpart(in, "FALLBACK"); got != want {
			t.Errorf("Localpart(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzLazyFilter: the RoomEventFilter of /messages and /context is
// accepted or refused with a Matrix error; never a panic.
func FuzzLazyFilter(f *testing.F) {
	for _, s := range []string{"", `{"lazy_load_members":true}`, `{"lazy_load_members":"yes"}`, `[]`, `{`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := parseRoomEventFilter(s); err != nil {
			var me *matrixError
			if !errors.As(err, &me) || me.status != 400 {
				t.Fatalf("%q: %v", s, err)
			}
		}
	})
}

// FuzzReceiptThread: a receipt's thread_id is accepted as "main" or an
// event id (or null: unthreaded), or refused with 400 M_INVALID_PARAM; never a
// panic.
func FuzzReceiptThread(f *testing.F) {
	for _, s := range []string{`"main"`, `"$root:x"`, `""`, `5`, `null`, `"racine"`, `["main"]`, `"$"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		thread, err := receiptThread(json.RawMessage(b))
		if err != nil {
			var me *matrixError
			if !errors.As(err, &me) || me.status != 400 || me.code != "M_INVALID_PARAM" {
				t.Fatalf("%q: %v", b, err)
			}
			return
		}
		if thread != "main" && !validEventID(thread) && !(thread == "" && string(b) == "null") {
			t.Fatalf("%q accepted as %q", b, thread)
		}
	})
}
