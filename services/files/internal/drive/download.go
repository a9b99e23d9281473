package drive

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"bureau/services/files/internal/store"
	"bureau/services/platform/blob"
	"bureau/services/platform/identity"
	"bureau/services/platform/offload"
)

// Content is a file's current version, ready to be served.
type Content struct {
	Node    store.Node
	Size    int64
	ModTime time.Time
	// Body reads the content from any offset (for Range requests).
	Body io.ReadSeekCloser
}

// Open returns the content of a file, if the antivirus has cleared it.
func (s *Service) Open(ctx context.Context, u identity.User, space, id string) (Content, error) {
	if _, err := s.access(ctx, u, space, store.RoleReader); err != nil {
		return Content{}, err
	}
	n, err := s.liveNode(ctx, space, id)
	if err != nil {
		return Content{}, err
	}
	c, err := s.open(ctx, n)
	if err == nil {
		s.audit(ctx, space, u.ID, "download", n.ID, n.Name)
	}
	return c, err
}

// open returns the content of file n if the antivirus has cleared it.
func (s *Service) open(ctx context.Context, n store.Node) (Content, error) {
	if n.Kind != store.KindFile {
		return Content{}, fail(http.StatusBadRequest, "not_a_file", "Un dossier ne se télécharge pas (pas encore).")
	}
	switch n.Scan {
	case store.ScanClean, store.ScanSkipped:
	case store.ScanPending:
		return Content{}, fail(http.StatusLocked, "scan_pending", "Ce fichier est en cours d'analyse antivirus : réessayez dans un instant.")
	case store.ScanInfected:
		return Content{}, fail(http.StatusConflict, "file_infected", "Ce fichier contient un virus : il est en quarantaine et ne peut pas être téléchargé.")
	default:
		return Content{}, fail(http.StatusConflict, "file_unscannable", "Ce fichier n'a pas pu être analysé par l'antivirus : il ne peut pas être téléchargé.")
	}
	body := &seeker{ctx: ctx, blobs: s.blobs, key: n.BlobKey, size: n.Size}
	if s.cfg.Offload {
		body.presign, _ = s.blobs.(blob.Presigner)
	}
	return Content{Node: n, Size: n.Size, ModTime: n.ModifiedAt, Body: body}, nil
}

// seeker is an io.ReadSeeker over a blob that opens a ranged read where
// the first Read after a Seek lands, as http.ServeContent needs.
type seeker struct {
	ctx     context.Context
	blobs   blob.Store
	presign blob.Presigner // nil: no offload
	key     string
	size    int64
	pos     int64
	rc      io.ReadCloser
}

// OffloadURL implements offload.Source: the gateway fetches the bytes
// from the object store itself. When presigning fails, the service
// streams them.
func (s *seeker) OffloadURL() (string, int64, bool) {
	if s.presign == nil {
		return "", 0, false
	}
	u, err := s.presign.PresignGet(s.ctx, s.key, offload.Expiry)
	if err != nil {
		return "", 0, false
	}
	if s.rc != nil {
		s.rc.Close()
		s.rc = nil
	}
	return u, s.pos, true
}

func (s *seeker) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if s.rc == nil {
		rc, _, err := s.blobs.Get(s.ctx, s.key, s.pos, -1)
		if err != nil {
			return 0, err
		}
		s.rc = rc
	}
	n, err := s.rc.Read(p)
	s.pos += int64(n)
	return n, err
}

func (s *seeker) Seek(offset int64, whence int) (int64, error) {
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = s.pos + offset
	case io.SeekEnd:
		pos = s.size + offset
	}
	if pos < 0 {
		return 0, errors.New("drive: seek before the start")
	}
	if pos != s.pos && s.rc != nil {
		s.rc.Close()
		s.rc = nil
	}
	s.pos = pos
	return pos, nil
}

func (s *seeker) Close() error {
	if s.rc != nil {
		return s.rc.Close()
	}
	return nil
}
