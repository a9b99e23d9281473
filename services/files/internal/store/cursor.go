package store

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"
)

// Cursor is where a keyset page ends: the sort key of the last item
// returned and its id (the tie-breaker). Clients get it opaque
// (EncodeCursor) and send it back unchanged; offsets would skip or repeat
// items when the list changes between pages, and cost a scan of all the
// skipped rows.
type Cursor struct {
	Key string
	ID  string
}

// ErrBadCursor: the cursor was not made by EncodeCursor.
var ErrBadCursor = errors.New("store: invalid cursor")

// maxCursor bounds an encoded cursor: a name key (255 bytes) and an id.
const maxCursor = 512

// EncodeCursor returns c as URL-safe text.
func EncodeCursor(c Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.Key + "\x00" + c.ID))
}

// ParseCursor reads a cursor from EncodeCursor; "" is the first page (the
// zero Cursor).
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	if len(s) > maxCursor {
		return Cursor{}, ErrBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	key, id, ok := strings.Cut(string(raw), "\x00")
	if !ok || !utf8.ValidString(key) || !validCursorID(id) {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{Key: key, ID: id}, nil
}

// validCursorID: ids are 26 lowercase base32 characters.
func validCursorID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			return false
		}
	}
	return true
}
