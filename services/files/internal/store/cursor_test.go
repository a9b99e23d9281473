package store

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A cursor that parses re-encodes to one that parses to the same value;
// nothing else parses.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"", EncodeCursor(Cursor{Key: "rapport.pdf", ID: strings.Repeat("a", 26)}),
		EncodeCursor(Cursor{Key: "1700000000000", ID: "abcdefghijklmnopqrstuvwxyz"}), "AAAA", "%%%", strings.Repeat("A", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		if s == "" {
			if c != (Cursor{}) {
				t.Fatalf("empty cursor parsed as %+v", c)
			}
			return
		}
		if !utf8.ValidString(c.Key) || !validCursorID(c.ID) || strings.Contains(c.Key, "\x00") {
			t.Fatalf("ParseCursor(%q) = %+v", s, c)
		}
		again, err := ParseCursor(EncodeCursor(c))
		if err != nil || again != c {
			t.Fatalf("round trip of %+v: %+v, %v", c, again, err)
		}
	})
}
