package drive

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

// Modification times set by clients: Nextcloud's X-OC-Mtime header on a
// WebDAV PUT (what its desktop client and rclone's nextcloud/owncloud
// vendors send), and the Win32LastModifiedTime property Windows' WebDAV
// client sets with PROPPATCH after each upload.

var errBadMtime = fail(http.StatusBadRequest, "invalid_mtime", "X-OC-Mtime doit être une date Unix en secondes (entier positif).")

// Bounds of a client's modification time: like Nextcloud, nothing before
// the second day of 1970 (a zero or a time zone mistake); nothing after
// year 9999 (what every client's date format can show).
var (
	minMtime = time.Unix(24*60*60, 0)
	maxMtime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// ParseOCMtime reads an X-OC-Mtime value: Unix seconds, optionally with
// a fraction ("1700000000" or "1700000000.25"); no sign, no exponent, no
// hexadecimal.
func ParseOCMtime(v string) (time.Time, error) {
	secs, frac, hasFrac := strings.Cut(strings.TrimSpace(v), ".")
	if secs == "" || len(secs) > 12 || !digits(secs) || (hasFrac && (frac == "" || len(frac) > 9 || !digits(frac))) {
		return time.Time{}, errBadMtime
	}
	s, _ := strconv.ParseInt(secs, 10, 64)
	var ns int64
	if hasFrac {
		ns, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	}
	t := time.Unix(s, ns).UTC()
	if t.Before(minMtime) || t.After(maxMtime) {
		return time.Time{}, errBadMtime
	}
	return t, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// win32Mtime reads the Win32LastModifiedTime Windows sets: an HTTP date
// ("Wed, 22 Nov 2026 10:00:00 GMT"), as the text of the property.
func win32Mtime(innerXML string) (time.Time, bool) {
	t, err := http.ParseTime(strings.TrimSpace(innerXML))
	if err != nil || t.Before(minMtime) || t.After(maxMtime) {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// SetModTime sets the modification time a listing shows for a live node
// (editor and up): what the client says the file's time is, not when it
// reached the server.
func (s *Service) SetModTime(ctx context.Context, u identity.User, space, id string, at time.Time) error {
	if _, err := s.access(ctx, u, space, store.RoleEditor); err != nil {
		return err
	}
	if _, err := s.liveNode(ctx, space, id); err != nil {
		return err
	}
	if err := s.store.SetModified(ctx, space, id, at); errors.Is(err, store.ErrNotFound) {
		return errNodeNotFound
	} else if err != nil {
		return err
	}
	return nil
}
