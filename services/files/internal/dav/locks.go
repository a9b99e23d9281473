package dav

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"golang.org/x/net/webdav"

	"bureau/services/files/internal/names"
	"bureau/services/files/internal/store"
)

// spaceLocks is webdav's LockSystem over the files_dav_locks table, so
// that locks are shared by every replica and survive restarts (they
// expire as their timeout says). Paths are translated from the agent's
// folder names to space ids, so that two members of a team space (who
// may see it under different names) lock the same resources.
//
// webdav takes a temporary lock on what a request without an If header
// touches, to check that no client holds a lock on it; here it is only
// that check, not a lock: concurrent requests on the same path (rclone
// creates a folder from several transfers at once) are ordered by the
// database, not refused with 423.
type spaceLocks struct {
	h      *Handler
	fs     *davFS
	method string
}

const probeToken = "bureau:probe"

// lockTimeout bounds each lock query (webdav's LockSystem has no context).
const lockTimeout = 10 * time.Second

func (l spaceLocks) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), lockTimeout)
}

func (l spaceLocks) abs(name string) string {
	if name == "" {
		return ""
	}
	first, rest, _ := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	if i, ok := l.fs.byName[names.Key(first)]; ok {
		return path.Join("/"+l.fs.spaces[i].ID, rest)
	}
	return path.Join("/~", name) // not a space of the agent's: fails later anyway
}

func (l spaceLocks) rel(name string) string {
	first, rest, _ := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	for i := range l.fs.spaces {
		if l.fs.spaces[i].ID == first {
			return path.Join("/"+l.fs.folder[i], rest)
		}
	}
	return name
}

// covers reports whether lock lk applies to name (both absolute).
func covers(lk store.DavLock, name string) bool {
	root, key := names.Key(path.Clean(lk.Root)), names.Key(path.Clean(name))
	return root == key || (!lk.ZeroDepth && strings.HasPrefix(key, strings.TrimSuffix(root, "/")+"/"))
}

// Confirm implements webdav.LockSystem: each named resource must be
// covered by the lock of one of the conditions' tokens.
func (l spaceLocks) Confirm(now time.Time, name0, name1 string, conditions ...webdav.Condition) (func(), error) {
	ctx, cancel := l.ctx()
	defer cancel()
	for _, name := range []string{name0, name1} {
		if name == "" {
			continue
		}
		name = l.abs(name)
		ok := false
		for _, c := range conditions {
			if c.Token == "" || c.Not {
				continue
			}
			lk, err := l.h.locks.Lock(ctx, c.Token, now)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
			if covers(lk, name) {
				ok = true
				break
			}
		}
		if !ok {
			return nil, webdav.ErrConfirmationFailed
		}
	}
	return func() {}, nil
}

// Create implements webdav.LockSystem: a LOCK records a lock; any other
// method only probes whether one is in the way.
func (l spaceLocks) Create(now time.Time, details webdav.LockDetails) (string, error) {
	ctx, cancel := l.ctx()
	defer cancel()
	lk := store.DavLock{Root: l.abs(details.Root), ZeroDepth: details.ZeroDepth, OwnerXML: details.OwnerXML,
		Duration: details.Duration, CreatedBy: l.fs.user.ID}
	if details.Duration >= 0 {
		lk.ExpiresAt = now.Add(details.Duration)
	}
	insert := l.method == "LOCK"
	if insert {
		lk.Token = newToken()
	}
	err := l.h.locks.CreateLock(ctx, lk, now, insert)
	switch {
	case errors.Is(err, store.ErrConflict):
		return "", webdav.ErrLocked
	case err != nil:
		return "", err
	case !insert:
		return probeToken, nil
	}
	return lk.Token, nil
}

// newToken returns an opaquelocktoken URI (RFC 4918) with a random UUID.
func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("opaquelocktoken:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func details(l spaceLocks, lk store.DavLock) webdav.LockDetails {
	return webdav.LockDetails{Root: l.rel(lk.Root), Duration: lk.Duration, OwnerXML: lk.OwnerXML, ZeroDepth: lk.ZeroDepth}
}

// Refresh implements webdav.LockSystem.
func (l spaceLocks) Refresh(now time.Time, token string, duration time.Duration) (webdav.LockDetails, error) {
	ctx, cancel := l.ctx()
	defer cancel()
	lk, err := l.h.locks.RefreshLock(ctx, token, duration, now)
	if errors.Is(err, store.ErrNotFound) {
		return webdav.LockDetails{}, webdav.ErrNoSuchLock
	}
	return details(l, lk), err
}

// Unlock implements webdav.LockSystem: only the agent who took a lock
// releases it (403 for anyone else).
func (l spaceLocks) Unlock(now time.Time, token string) error {
	if token == probeToken {
		return nil
	}
	ctx, cancel := l.ctx()
	defer cancel()
	err := l.h.locks.DeleteLock(ctx, token, l.fs.user.ID, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return webdav.ErrNoSuchLock
	case errors.Is(err, store.ErrForbidden):
		return webdav.ErrForbidden
	}
	return err
}
