package clientapi

import (
	"encoding/json"
	"errors"
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
		`{"room":{"rooms":["!a:x"],"not_rooms":[],"timeline":{"types":["m.*"],"not_types":[1],"senders":null}}}`} {
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
	})
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
