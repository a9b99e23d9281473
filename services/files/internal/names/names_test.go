package names

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	for _, ok := range []string{"a", "Rapport 2025.pdf", "été", ".bashrc", "a..b", strings.Repeat("é", 127)} {
		if err := Validate(ok); err != nil {
			t.Errorf("Validate(%q) = %v", ok, err)
		}
	}
	for name, want := range map[string]error{
		"":                       ErrEmpty,
		".":                      ErrDots,
		"..":                     ErrDots,
		"../etc":                 ErrSlash,
		"a/b":                    ErrSlash,
		`..\x`:                   ErrSlash,
		"a\x00b":                 ErrControl,
		"a\nb":                   ErrControl,
		"a\u0085b":               ErrControl,
		"\xff":                   ErrEncoding,
		" a":                     ErrWhitespace,
		"a ":                     ErrWhitespace,
		strings.Repeat("a", 256): ErrTooLong,
		strings.Repeat("é", 128): ErrTooLong,
	} {
		if err := Validate(name); err != want {
			t.Errorf("Validate(%q) = %v, want %v", name, err, want)
		}
	}
}

func TestKey(t *testing.T) {
	if Key("Rapport.PDF") != Key("rapport.pdf") {
		t.Fatal("case-insensitive names differ")
	}
}
