package drive

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

// MaxCopyItems bounds the items a folder copy creates.
const MaxCopyItems = 10000

// Copy copies a file, or a folder with the live items below it, into
// folder parent ("" for the root) of space to ("" for the same space),
// under name (nil: the same name). A file's copy starts with its current
// version, sharing its blob and antivirus verdict (a blob is deleted only
// once no version uses it); infected files are not copied. Reading the
// source is enough; the target needs an editor.
func (s *Service) Copy(ctx context.Context, u identity.User, space, id, to, parent string, name *string) (store.Node, error) {
	if to == "" {
		to = space
	}
	n, newName, err := s.transfer(ctx, u, space, id, store.RoleReader, to, parent, name)
	if err != nil {
		return n, err
	}
	if n.Kind == store.KindFile && n.Scan == store.ScanInfected {
		return n, fail(http.StatusConflict, "file_infected", "Ce fichier contient un virus : il ne peut pas être copié.")
	}
	if _, err := s.store.LiveChild(ctx, to, parent, newName); err == nil {
		return n, errNameTaken // before the quota: the likelier mistake
	}
	if to == space && n.Kind == store.KindFolder {
		chain, err := s.ancestors(ctx, to, parent)
		if err != nil {
			return n, err
		}
		if slices.Contains(chain, n.ID) {
			return n, fail(http.StatusBadRequest, "copy_into_itself", "Un dossier ne peut pas être copié dans lui-même.")
		}
	}
	src := []store.Node{n}
	if n.Kind == store.KindFolder {
		below, err := s.store.LiveTree(ctx, space, n.ID, MaxCopyItems)
		if err != nil {
			return n, err
		}
		if len(below) >= MaxCopyItems {
			return n, fail(http.StatusRequestEntityTooLarge, "too_many_items", "Ce dossier contient trop d'éléments pour être copié en une fois (10 000 au plus).")
		}
		src = append(src, below...)
	}
	now := s.now()
	newIDs := map[string]string{n.ParentID: parent}
	var items []store.CopyItem
	var total int64
	pending := false
	for i, c := range src {
		if c.Kind == store.KindFile && c.Scan == store.ScanInfected {
			continue
		}
		p, ok := newIDs[c.ParentID]
		if !ok {
			continue // below a skipped item
		}
		newIDs[c.ID] = newID()
		it := store.CopyItem{Node: store.Node{ID: newIDs[c.ID], SpaceID: to, ParentID: p, Kind: c.Kind, Name: c.Name, CreatedBy: u.ID, CreatedAt: now, ModifiedAt: now}}
		if i == 0 {
			it.Node.Name = newName
		}
		if c.Kind == store.KindFile {
			v, err := s.store.Version(ctx, c.VersionID)
			if err != nil {
				return n, err
			}
			v.ID, v.UploadedBy, v.CreatedAt = newID(), u.ID, now
			it.Version = &v
			total += v.Size
			pending = pending || v.Scan == store.ScanPending
		}
		items = append(items, it)
	}
	if err := s.checkQuota(ctx, to, u.ID, total); err != nil {
		return n, err
	}
	if err := s.store.InsertCopies(ctx, items); errors.Is(err, store.ErrConflict) {
		return n, errNameTaken
	} else if err != nil {
		return n, err
	}
	if pending {
		s.scanned()
	}
	s.audit(ctx, to, u.ID, "copy", items[0].Node.ID, n.Name+" → "+newName)
	s.notifyAdded(ctx, u.ID, to, parent, newName, displayName(u), n.Kind == store.KindFolder)
	return s.store.Node(ctx, to, items[0].Node.ID)
}

// MoveToSpace moves a file or folder — with everything below it, its
// versions and its trashed descendants — into folder parent of another
// space, under name (nil: the same). Editor on both sides; the target's
// quota must hold every version moved (the uploaders' own quotas do not
// change). The share links on the moved items go along when u may manage
// links in the target space (else they are revoked), and so do the
// resumable uploads in progress into the moved folders: they complete in
// the new place.
func (s *Service) MoveToSpace(ctx context.Context, u identity.User, space, id, to, parent string, name *string) (store.Node, error) {
	n, newName, err := s.transfer(ctx, u, space, id, store.RoleEditor, to, parent, name)
	if err != nil {
		return n, err
	}
	target, err := s.access(ctx, u, to, store.RoleEditor)
	if err != nil {
		return n, err
	}
	ids, err := s.store.Subtree(ctx, space, n.ID)
	if err != nil {
		return n, err
	}
	size, err := s.store.VersionsSize(ctx, ids)
	if err != nil {
		return n, err
	}
	if err := s.checkQuota(ctx, to, "", size); err != nil {
		return n, err
	}
	keepLinks := store.RoleRank(target.Role) >= store.RoleRank(linkRole)
	if err := s.store.MoveToSpace(ctx, space, n.ID, to, parent, newName, ids, keepLinks, s.now()); errors.Is(err, store.ErrConflict) {
		return n, errNameTaken
	} else if errors.Is(err, store.ErrNotFound) {
		return n, errNodeNotFound
	} else if err != nil {
		return n, err
	}
	s.audit(ctx, space, u.ID, "move_out", n.ID, n.Name+" → "+to)
	s.audit(ctx, to, u.ID, "move_in", n.ID, space+" → "+newName)
	s.notifyAdded(ctx, u.ID, to, parent, newName, displayName(u), n.Kind == store.KindFolder)
	return s.store.Node(ctx, to, n.ID)
}

// transfer checks a copy or move of node id of space (where u needs role
// min) into folder parent of space to (editor) under name (nil: the
// same), and returns the node and its new name.
func (s *Service) transfer(ctx context.Context, u identity.User, space, id, min, to, parent string, name *string) (store.Node, string, error) {
	if _, err := s.access(ctx, u, space, min); err != nil {
		return store.Node{}, "", err
	}
	n, err := s.liveNode(ctx, space, id)
	if err != nil {
		return n, "", err
	}
	if _, err := s.access(ctx, u, to, store.RoleEditor); err != nil {
		return n, "", err
	}
	newName := n.Name
	if name != nil {
		newName = *name
	}
	if err := checkName(newName); err != nil {
		return n, "", err
	}
	return n, newName, s.liveFolder(ctx, to, parent)
}
