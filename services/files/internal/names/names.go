// Package names validates the names of files and folders and gives the key
// under which two names conflict.
package names

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLen is the longest name, in bytes: what every common file system and
// WebDAV client accepts.
const MaxLen = 255

// Errors name the rule a name breaks; callers show them to the agent.
var (
	ErrEmpty      = errors.New("le nom est vide")
	ErrTooLong    = errors.New("le nom dépasse 255 octets")
	ErrDots       = errors.New(`« . » et « .. » ne sont pas des noms valides`)
	ErrSlash      = errors.New("le nom ne peut pas contenir / ni \\")
	ErrControl    = errors.New("le nom contient des caractères de contrôle")
	ErrEncoding   = errors.New("le nom n'est pas de l'UTF-8 valide")
	ErrWhitespace = errors.New("le nom ne peut pas commencer ni finir par un espace")
)

// Validate checks a file or folder name. Backslashes are refused with
// slashes: Windows and WebDAV clients treat them as separators.
func Validate(name string) error {
	switch {
	case name == "":
		return ErrEmpty
	case len(name) > MaxLen:
		return ErrTooLong
	case !utf8.ValidString(name):
		return ErrEncoding
	case name == "." || name == "..":
		return ErrDots
	case strings.ContainsAny(name, `/\`):
		return ErrSlash
	case strings.ContainsFunc(name, unicode.IsControl):
		return ErrControl
	case strings.TrimSpace(name) != name:
		return ErrWhitespace
	}
	return nil
}

// Key is the form under which names conflict in a folder: "Rapport.pdf"
// and "rapport.PDF" cannot live side by side, as on the big clouds and on
// the Windows and macOS file systems that sync with them.
func Key(name string) string { return strings.ToLower(name) }
