package drive

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// NormalizeEmail accepts only plain addresses, lower-cased, and never
// returns something with a display name, spaces or angle brackets.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@b.fr", "Emma.Durand@Culture.gouv.fr", "Bob <b@x.fr>", "a@b", "@b.fr", "a@.fr", "a b@c.fr", "\"a\"@b.fr", "a@b.fr\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := NormalizeEmail(s)
		if got == "" {
			return
		}
		if got != strings.ToLower(s) || strings.ContainsAny(got, " <>\"\r\n\t") || strings.Count(got, "@") < 1 || len(got) > 254 {
			t.Fatalf("NormalizeEmail(%q) = %q", s, got)
		}
	})
}

// zipName never yields a separator, a control character, "." or "..".
func FuzzZipName(f *testing.F) {
	for _, s := range []string{"a.txt", "..", ".", "a/b", "a\\b", "c:x", "\x00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := zipName(s)
		if got == "" || got == "." || got == ".." || strings.ContainsAny(got, "/\\:") {
			t.Fatalf("zipName(%q) = %q", s, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("zipName(%q) = %q: control character", s, got)
			}
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("zipName(%q) = %q: invalid UTF-8", s, got)
		}
	})
}

// ParseOCMtime accepts only plain Unix seconds (with an optional
// fraction) between 1970-01-02 and year 9999, and reads them exactly.
func FuzzParseOCMtime(f *testing.F) {
	for _, s := range []string{"1700000000", "1700000000.5", "0x10", "-1", "1e9", "", ".", "86400", "253402300799", " 1700000000 ", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at, err := ParseOCMtime(s)
		if err != nil {
			return
		}
		if at.Before(minMtime) || at.After(maxMtime) || strings.ContainsAny(s, "+-eExX") {
			t.Fatalf("ParseOCMtime(%q) = %v", s, at)
		}
		secs, _, _ := strings.Cut(strings.TrimSpace(s), ".")
		if got := strconv.FormatInt(at.Unix(), 10); strings.TrimLeft(secs, "0") != got {
			t.Fatalf("ParseOCMtime(%q) = %d s", s, at.Unix())
		}
	})
}
