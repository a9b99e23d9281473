package drive

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

// Page is one page of a folder listing.
type Page struct {
	Items  []store.Node `json:"items"`
	Total  int          `json:"total"`
	Offset int          `json:"offset"`
	Limit  int          `json:"limit"`
}

// MaxPage bounds a listing page.
const MaxPage = 1000

// List lists a folder ("" for the root of the space).
func (s *Service) List(ctx context.Context, u identity.User, space, folder, sortBy string, desc bool, limit, offset int) (Page, error) {
	if _, err := s.access(ctx, u, space, store.RoleReader); err != nil {
		return Page{}, err
	}
	if sortBy == "" {
		sortBy = "name"
	}
	if !store.ValidSort(sortBy) {
		return Page{}, fail(http.StatusBadRequest, "invalid_sort", "Tri inconnu : name, size ou modified.")
	}
	if limit <= 0 || limit > MaxPage {
		limit = 200
	}
	offset = max(offset, 0)
	if err := s.liveFolder(ctx, space, folder); err != nil {
		return Page{}, err
	}
	items, total, err := s.store.Children(ctx, space, folder, sortBy, desc, limit, offset)
	return Page{Items: items, Total: total, Offset: offset, Limit: limit}, err
}

// Node returns a live file or folder.
func (s *Service) Node(ctx context.Context, u identity.User, space, id string) (store.Node, error) {
	if _, err := s.access(ctx, u, space, store.RoleReader); err != nil {
		return store.Node{}, err
	}
	return s.liveNode(ctx, space, id)
}

// CreateFolder creates a folder in parent ("" for the root).
func (s *Service) CreateFolder(ctx context.Context, u identity.User, space, parent, name string) (store.Node, error) {
	if _, err := s.access(ctx, u, space, store.RoleEditor); err != nil {
		return store.Node{}, err
	}
	if err := checkName(name); err != nil {
		return store.Node{}, err
	}
	if err := s.liveFolder(ctx, space, parent); err != nil {
		return store.Node{}, err
	}
	now := s.now()
	n := store.Node{ID: newID(), SpaceID: space, ParentID: parent, Kind: store.KindFolder, Name: name, CreatedBy: u.ID, CreatedAt: now, ModifiedAt: now}
	if err := s.store.CreateFolder(ctx, n); errors.Is(err, store.ErrConflict) {
		return n, errNameTaken
	} else if err != nil {
		return n, err
	}
	s.audit(ctx, space, u.ID, "folder_created", n.ID, name)
	s.notifyAdded(ctx, u.ID, space, parent, name, displayName(u), true)
	return s.store.Node(ctx, space, n.ID)
}

// Place renames (name non-nil) and/or moves (parent non-nil, "" for the
// root) a node within its space.
func (s *Service) Place(ctx context.Context, u identity.User, space, id string, name, parent *string) (store.Node, error) {
	if _, err := s.access(ctx, u, space, store.RoleEditor); err != nil {
		return store.Node{}, err
	}
	n, err := s.liveNode(ctx, space, id)
	if err != nil {
		return n, err
	}
	newName, newParent := n.Name, n.ParentID
	if name != nil {
		if err := checkName(*name); err != nil {
			return n, err
		}
		newName = *name
	}
	if parent != nil {
		newParent = *parent
		if err := s.liveFolder(ctx, space, newParent); err != nil {
			return n, err
		}
		// A folder cannot go inside itself or its own descendants.
		chain, err := s.ancestors(ctx, space, newParent)
		if err != nil {
			return n, err
		}
		if slices.Contains(chain, n.ID) {
			return n, fail(http.StatusBadRequest, "move_into_itself", "Un dossier ne peut pas être déplacé dans lui-même.")
		}
	}
	if err := s.store.Place(ctx, space, id, newParent, newName, s.now()); errors.Is(err, store.ErrConflict) {
		return n, errNameTaken
	} else if errors.Is(err, store.ErrNotFound) {
		return n, errNodeNotFound
	} else if err != nil {
		return n, err
	}
	s.audit(ctx, space, u.ID, "move", id, n.Name+" → "+newName)
	return s.store.Node(ctx, space, id)
}

// Delete puts a node (and, with it, its descendants) in the trash.
func (s *Service) Delete(ctx context.Context, u identity.User, space, id string) error {
	if _, err := s.access(ctx, u, space, store.RoleEditor); err != nil {
		return err
	}
	n, err := s.liveNode(ctx, space, id)
	if err != nil {
		return err
	}
	if err := s.store.Trash(ctx, space, id, u.ID, s.now()); errors.Is(err, store.ErrNotFound) {
		return errNodeNotFound
	} else if err != nil {
		return err
	}
	s.audit(ctx, space, u.ID, "delete", id, n.Name)
	return nil
}

// Trash lists the items of a space in its trash.
func (s *Service) Trash(ctx context.Context, u identity.User, space string) ([]store.Node, error) {
	if _, err := s.access(ctx, u, space, store.RoleReader); err != nil {
		return nil, err
	}
	return s.store.Trashed(ctx, space)
}

// Restore takes an item out of the trash, back to its folder.
func (s *Service) Restore(ctx context.Context, u identity.User, space, id string) (store.Node, error) {
	if _, err := s.access(ctx, u, space, store.RoleEditor); err != nil {
		return store.Node{}, err
	}
	if !ValidID(id) {
		return store.Node{}, errNodeNotFound
	}
	n, err := s.store.Node(ctx, space, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && n.TrashedAt == nil) {
		return n, errNodeNotFound
	} else if err != nil {
		return n, err
	}
	if err := s.liveFolder(ctx, space, n.ParentID); err != nil {
		return n, fail(http.StatusConflict, "parent_trashed", "Le dossier d'origine est lui-même dans la corbeille : restaurez-le d'abord.")
	}
	if err := s.store.Restore(ctx, space, id); errors.Is(err, store.ErrConflict) {
		return n, errNameTaken
	} else if err != nil {
		return n, err
	}
	s.audit(ctx, space, u.ID, "restore", id, n.Name)
	return s.store.Node(ctx, space, id)
}

// Resolve walks path (names from the root of space) and returns the live
// node it names; the root itself is a folder node with an empty id.
func (s *Service) Resolve(ctx context.Context, u identity.User, space string, path []string) (store.Node, error) {
	sp, err := s.access(ctx, u, space, store.RoleReader)
	if err != nil {
		return store.Node{}, err
	}
	n := store.Node{SpaceID: space, Kind: store.KindFolder, Name: sp.Name, CreatedAt: sp.CreatedAt, ModifiedAt: sp.CreatedAt}
	if len(path) > maxDepth {
		return n, errNodeNotFound
	}
	for _, name := range path {
		if n.Kind != store.KindFolder {
			return n, errNodeNotFound
		}
		c, err := s.store.LiveChild(ctx, space, n.ID, name)
		if errors.Is(err, store.ErrNotFound) {
			return n, errNodeNotFound
		} else if err != nil {
			return n, err
		}
		n = c
	}
	return n, nil
}

// ListAll lists every live item of a folder ("" for the root), folders
// first, then by name.
func (s *Service) ListAll(ctx context.Context, u identity.User, space, folder string) ([]store.Node, error) {
	var all []store.Node
	for {
		p, err := s.List(ctx, u, space, folder, "name", false, MaxPage, len(all))
		if err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if len(p.Items) < MaxPage || len(all) >= p.Total {
			return all, nil
		}
	}
}
