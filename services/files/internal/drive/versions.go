package drive

import (
	"context"
	"errors"
	"net/http"

	"bureau/services/files/internal/store"
	"bureau/services/platform/identity"
)

var errVersionNotFound = fail(http.StatusNotFound, "version_not_found", "Cette version n'existe pas.")

// liveFile returns a live file of space u may read (min role).
func (s *Service) liveFile(ctx context.Context, u identity.User, space, id, min string) (store.Node, error) {
	if _, err := s.access(ctx, u, space, min); err != nil {
		return store.Node{}, err
	}
	n, err := s.liveNode(ctx, space, id)
	if err != nil {
		return n, err
	}
	if n.Kind != store.KindFile {
		return n, fail(http.StatusBadRequest, "not_a_file", "Un dossier n'a pas de versions.")
	}
	return n, nil
}

// Versions lists the versions of a file, newest (current) first.
func (s *Service) Versions(ctx context.Context, u identity.User, space, id string) ([]store.Version, error) {
	n, err := s.liveFile(ctx, u, space, id, store.RoleReader)
	if err != nil {
		return nil, err
	}
	return s.store.Versions(ctx, n.ID)
}

func (s *Service) version(ctx context.Context, n store.Node, version string) (store.Version, error) {
	if !ValidID(version) {
		return store.Version{}, errVersionNotFound
	}
	v, err := s.store.Version(ctx, version)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.NodeID != n.ID) {
		return v, errVersionNotFound
	}
	return v, err
}

// OpenVersion returns the content of one version of a file, if the
// antivirus has cleared it.
func (s *Service) OpenVersion(ctx context.Context, u identity.User, space, id, version string) (Content, error) {
	n, err := s.liveFile(ctx, u, space, id, store.RoleReader)
	if err != nil {
		return Content{}, err
	}
	v, err := s.version(ctx, n, version)
	if err != nil {
		return Content{}, err
	}
	n.VersionID, n.BlobKey, n.Size, n.Scan, n.ContentType, n.ModifiedAt = v.ID, v.BlobKey, v.Size, v.Scan, v.ContentType, v.CreatedAt
	c, err := s.open(ctx, n)
	if err == nil {
		s.audit(ctx, space, u.ID, "download", n.ID, n.Name+" (version "+v.ID+")")
	}
	return c, err
}

// RestoreVersion makes an old version current again, as a new version
// sharing its content (and its antivirus verdict).
func (s *Service) RestoreVersion(ctx context.Context, u identity.User, space, id, version string) (store.Node, error) {
	n, err := s.liveFile(ctx, u, space, id, store.RoleEditor)
	if err != nil {
		return n, err
	}
	v, err := s.version(ctx, n, version)
	if err != nil {
		return n, err
	}
	if v.Scan == store.ScanInfected {
		return n, fail(http.StatusConflict, "file_infected", "Cette version contient un virus : elle ne peut pas être restaurée.")
	}
	if err := s.checkQuota(ctx, space, u.ID, v.Size); err != nil {
		return n, err
	}
	v.ID, v.UploadedBy, v.CreatedAt = newID(), u.ID, s.now()
	if err := s.store.SetCurrent(ctx, space, n.ID, v); errors.Is(err, store.ErrNotFound) {
		return n, errNodeNotFound
	} else if err != nil {
		return n, err
	}
	if v.Scan == store.ScanPending {
		s.scanned()
	}
	s.audit(ctx, space, u.ID, "restore_version", n.ID, version)
	s.prune(ctx, n.ID)
	return s.store.Node(ctx, space, n.ID)
}

// prune applies the version retention to a file, deleting the blobs no
// version uses any more.
func (s *Service) prune(ctx context.Context, node string) {
	if s.cfg.KeepVersions <= 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	keys, err := s.store.PruneVersions(ctx, node, s.cfg.KeepVersions)
	if err != nil {
		s.log.Error("version retention", "node", node, "err", err)
		return
	}
	for _, k := range keys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			s.log.Warn("orphan blob", "key", k, "err", err)
		}
	}
}
