package drive

import (
	"context"
	"errors"
	"net/http"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

// Limits on WebDAV dead properties.
const (
	MaxProps     = 64      // per node
	MaxPropValue = 8 << 10 // bytes of inner XML
	MaxPropName  = 512     // bytes of namespace + name
)

var errTooManyProps = fail(http.StatusInsufficientStorage, "too_many_properties", "Trop de propriétés sur cet élément.")

// propKey checks that key names a live node of space, or is the space
// itself (its root folder).
func (s *Service) propKey(ctx context.Context, space, key string) error {
	if key == space {
		return nil
	}
	_, err := s.liveNode(ctx, space, key)
	return err
}

// Props returns the WebDAV dead properties of the given keys (nodes of
// space, or space for its root), which u can read.
func (s *Service) Props(ctx context.Context, u identity.User, space string, keys []string) (map[string][]store.Prop, error) {
	if _, err := s.access(ctx, u, space, store.RoleReader); err != nil {
		return nil, err
	}
	return s.store.Props(ctx, keys)
}

// PatchProps sets and removes dead properties of key (editor), all or
// nothing.
func (s *Service) PatchProps(ctx context.Context, u identity.User, space, key string, set, remove []store.Prop) error {
	if _, err := s.access(ctx, u, space, store.RoleEditor); err != nil {
		return err
	}
	if err := s.propKey(ctx, space, key); err != nil {
		return err
	}
	for _, p := range set {
		if len(p.XML) > MaxPropValue || len(p.NS)+len(p.Name) > MaxPropName || len(p.Lang) > 64 {
			return errTooManyProps
		}
	}
	ok, err := s.store.PatchProps(ctx, key, set, remove, MaxProps)
	if err == nil && !ok {
		err = errTooManyProps
	}
	if err != nil {
		return err
	}
	// Windows says the file's own time this way: listings show it, as
	// they show X-OC-Mtime's. (DAV:getlastmodified is a live property
	// webdav refuses to patch.)
	for _, p := range set {
		if p.NS == "urn:schemas-microsoft-com:" && p.Name == "Win32LastModifiedTime" && key != space {
			if at, ok := win32Mtime(p.XML); ok {
				return s.store.SetModified(ctx, space, key, at)
			}
		}
	}
	return nil
}

// IsForbidden reports whether err is a refusal for the caller's role.
func IsForbidden(err error) bool {
	var de *Error
	return errors.As(err, &de) && de.Status == http.StatusForbidden
}
