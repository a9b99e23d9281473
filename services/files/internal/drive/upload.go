package drive

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"bureau/services/files/internal/store"
	"bureau/services/platform/blob"
	"bureau/services/platform/identity"
)

// errTooLarge refuses a declared size over the maximum.
func (s *Service) errTooLarge() error {
	return fail(http.StatusRequestEntityTooLarge, "too_large",
		fmt.Sprintf("Le fichier dépasse la taille maximale autorisée (%s).", humanSize(s.cfg.MaxUploadSize)))
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " Gio"
	case n >= 1<<20:
		return strconv.FormatInt(n>>20, 10) + " Mio"
	}
	return strconv.FormatInt(n, 10) + " octets"
}

// MaxUploadSize is the largest accepted file.
func (s *Service) MaxUploadSize() int64 { return s.cfg.MaxUploadSize }

// Target is where an upload goes: a folder ("" for the root) of a space,
// under a name; a file of that name gets a new version.
type Target struct {
	Space, Parent, Name, ContentType string
}

// checkTarget authorises an upload of size bytes to t before any byte is
// read, so that refusals reach the client before it sends data.
func (s *Service) checkTarget(ctx context.Context, u identity.User, t Target, size int64) error {
	if _, err := s.access(ctx, u, t.Space, store.RoleEditor); err != nil {
		return err
	}
	if size > s.cfg.MaxUploadSize {
		return s.errTooLarge()
	}
	if err := checkName(t.Name); err != nil {
		return err
	}
	if err := s.liveFolder(ctx, t.Space, t.Parent); err != nil {
		return err
	}
	if n, err := s.store.LiveChild(ctx, t.Space, t.Parent, t.Name); err == nil && n.Kind == store.KindFolder {
		return errNameTaken
	}
	return s.checkQuota(ctx, t.Space, u.ID, size)
}

func contentType(ct string) string {
	if ct == "" || len(ct) > 255 {
		return "application/octet-stream"
	}
	for _, r := range ct {
		if r < 0x20 || r > 0x7e {
			return "application/octet-stream"
		}
	}
	return ct
}

// CheckUpload authorises an upload of size bytes (-1: unknown) to t, as
// Put would, without reading anything: for refusals before the body.
func (s *Service) CheckUpload(ctx context.Context, u identity.User, t Target, size int64) error {
	return s.checkTarget(ctx, u, t, size)
}

// Put stores a whole file of size bytes read from r; size -1 means
// unknown (read to the end, up to the maximum size).
func (s *Service) Put(ctx context.Context, u identity.User, t Target, r io.Reader, size int64) (store.Node, error) {
	if err := s.checkTarget(ctx, u, t, size); err != nil {
		return store.Node{}, err
	}
	return s.put(ctx, u, t, r, size)
}

// put stores the content of an authorised upload by uploader.
func (s *Service) put(ctx context.Context, uploader identity.User, t Target, r io.Reader, size int64) (store.Node, error) {
	version := newID()
	key := blobKey(version)
	ct := contentType(t.ContentType)
	var limit *maxReader
	if size < 0 {
		limit = &maxReader{r: r, left: s.cfg.MaxUploadSize}
		r = limit
	}
	info, err := s.blobs.Put(ctx, key, r, size, ct)
	if err != nil {
		if limit != nil && limit.over {
			s.blobs.Delete(context.WithoutCancel(ctx), key)
			return store.Node{}, s.errTooLarge()
		}
		if errors.Is(err, blob.ErrSizeMismatch) || errors.Is(err, io.ErrUnexpectedEOF) {
			return store.Node{}, fail(http.StatusBadRequest, "incomplete_body", "Le contenu reçu ne correspond pas à la taille annoncée.")
		}
		return store.Node{}, err
	}
	if size < 0 {
		size = info.Size
	}
	return s.addVersion(ctx, uploader, t, version, key, size, ct)
}

// maxReader fails once more than left bytes are read.
type maxReader struct {
	r    io.Reader
	left int64
	over bool
}

var errOverMax = errors.New("drive: over the maximum size")

func (m *maxReader) Read(p []byte) (int, error) {
	if m.left < 0 {
		m.over = true
		return 0, errOverMax
	}
	if int64(len(p)) > m.left+1 {
		p = p[:m.left+1]
	}
	n, err := m.r.Read(p)
	m.left -= int64(n)
	if m.left < 0 {
		m.over = true
		return n, errOverMax
	}
	return n, err
}

// addVersion records a stored blob as the new version of t's file.
func (s *Service) addVersion(ctx context.Context, u identity.User, t Target, version, key string, size int64, ct string) (store.Node, error) {
	// The quota again, now that the size is certain (an upload's own
	// reservation, already deleted, is not counted twice).
	if err := s.checkQuota(ctx, t.Space, u.ID, size, version); err != nil {
		if derr := s.blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.log.Warn("orphan blob", "key", key, "err", derr)
		}
		return store.Node{}, err
	}
	state := store.ScanPending
	if !s.cfg.Scanning {
		state = store.ScanSkipped
	}
	v := store.Version{ID: version, NodeID: newID(), BlobKey: key, Size: size, ContentType: ct, UploadedBy: u.ID, CreatedAt: s.now(), Scan: state}
	n, err := s.store.AddVersion(ctx, t.Space, t.Parent, t.Name, v)
	if err != nil {
		// The bytes belong to nothing: do not keep them.
		if derr := s.blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
			s.log.Warn("orphan blob", "key", key, "err", derr)
		}
		switch {
		case errors.Is(err, store.ErrConflict):
			return n, errNameTaken
		case errors.Is(err, store.ErrNotFound):
			return n, errParent
		}
		return n, err
	}
	if state == store.ScanPending {
		s.scanned()
	}
	s.audit(ctx, t.Space, u.ID, "upload", n.ID, n.Name)
	s.prune(ctx, n.ID)
	by := displayName(u)
	if strings.HasPrefix(u.ID, "link:") {
		by = "un lien de dépôt"
	}
	s.notifyAdded(ctx, u.ID, t.Space, t.Parent, n.Name, by, false)
	return n, nil
}

// Upload is the state of a resumable upload, as the tus handlers show it.
type Upload struct {
	ID     string
	Offset int64
	Length int64
	// Node is the file, once the last byte is in.
	Node *store.Node
}

var errInterrupted = fail(http.StatusBadRequest, "incomplete_body", "Le transfert a été interrompu : reprenez depuis le décalage annoncé par HEAD.")

var errUploadNotFound = fail(http.StatusNotFound, "upload_not_found", "Ce téléversement n'existe pas ou a expiré.")

// NewUpload starts a resumable upload of length bytes to t.
func (s *Service) NewUpload(ctx context.Context, u identity.User, t Target, length int64) (Upload, error) {
	if err := s.checkTarget(ctx, u, t, length); err != nil {
		return Upload{}, err
	}
	if length == 0 {
		// Nothing will be PATCHed: the empty file exists at once.
		n, err := s.Put(ctx, u, t, bytes.NewReader(nil), 0)
		if err != nil {
			return Upload{}, err
		}
		return Upload{ID: newID(), Node: &n}, nil
	}
	version := newID()
	up := store.Upload{ID: version, UserID: u.ID, SpaceID: t.Space, ParentID: t.Parent, Name: t.Name,
		ContentType: contentType(t.ContentType), Length: length, BlobKey: blobKey(version), CreatedAt: s.now()}
	id, err := s.mp.NewMultipartUpload(ctx, up.BlobKey, up.ContentType)
	if err != nil {
		return Upload{}, err
	}
	up.MultipartID = id
	if err := s.store.CreateUpload(ctx, up); err != nil {
		s.mp.AbortMultipartUpload(context.WithoutCancel(ctx), up.BlobKey, id)
		return Upload{}, err
	}
	return Upload{ID: up.ID, Length: length}, nil
}

// upload loads u's upload id with the upload's lock held; the caller
// must call unlock.
func (s *Service) upload(ctx context.Context, u identity.User, id string) (store.Upload, func(), error) {
	if !ValidID(id) {
		return store.Upload{}, nil, errUploadNotFound
	}
	// Waiting for the lock (rather than refusing) matters after a dropped
	// connection: the client's HEAD must see what the dying PATCH saved.
	unlock, err := s.locks.lock(ctx, id)
	if err != nil {
		return store.Upload{}, nil, err
	}
	up, err := s.store.Upload(ctx, id, u.ID)
	if err != nil {
		unlock()
		if errors.Is(err, store.ErrNotFound) {
			return up, nil, errUploadNotFound
		}
		return up, nil, err
	}
	return up, unlock, nil
}

// UploadState returns the progress of an upload.
func (s *Service) UploadState(ctx context.Context, u identity.User, id string) (Upload, error) {
	up, unlock, err := s.upload(ctx, u, id)
	if err != nil {
		return Upload{}, err
	}
	unlock()
	return Upload{ID: up.ID, Offset: up.Offset(), Length: up.Length}, nil
}

// Checksum is an optional Upload-Checksum to verify a PATCH body against.
type Checksum struct {
	Algorithm string // sha1 or sha256
	Sum       []byte
}

func (c *Checksum) hash() hash.Hash {
	if c.Algorithm == "sha256" {
		return sha256.New()
	}
	return sha1.New()
}

func tailKey(up store.Upload, partsSize int64) string {
	return "tus/" + up.ID + "/tail-" + strconv.FormatInt(partsSize, 10)
}

// storageTimeout bounds each storage call made on behalf of a PATCH, which
// runs detached from the request so that a dropped connection still saves
// what it delivered.
const storageTimeout = 2 * time.Minute

// Append adds the bytes of body at offset to an upload. Full parts go to
// the multipart upload as they fill; the remainder is kept in a tail
// object, so that everything received survives a dropped connection. With
// a checksum, nothing is recorded unless the whole body matches it.
//
// declared is the body's announced length (-1 if unknown); a body longer
// than what remains of the upload is refused before it is read.
func (s *Service) Append(ctx context.Context, u identity.User, id string, offset, declared int64, body io.Reader, sum *Checksum) (Upload, error) {
	up, unlock, err := s.upload(ctx, u, id)
	if err != nil {
		return Upload{}, err
	}
	defer unlock()
	if offset != up.Offset() {
		return Upload{}, errOffset(up.Offset(), offset)
	}
	if declared > up.Length-up.Offset() {
		return Upload{}, fail(http.StatusRequestEntityTooLarge, "exceeds_upload_length", "Le morceau envoyé dépasse la taille annoncée du fichier.")
	}
	sctx := context.WithoutCancel(ctx)
	// The lease keeps other replicas out (the lock above only this
	// process's requests); taking it re-checks the offset in the database.
	token := newID()
	if err := s.lease(sctx, u, up, token); err != nil {
		return Upload{}, err
	}
	defer s.keepLease(sctx, up.ID, token)()
	bufp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bufp)
	buf := *bufp

	parts, err := s.store.Parts(ctx, up.ID)
	if err != nil {
		return Upload{}, err
	}
	n := 0 // bytes of buf in use: the tail, then what the body adds
	if up.TailSize > 0 {
		if err := s.readTail(sctx, up, buf[:up.TailSize]); err != nil {
			return Upload{}, err
		}
		n = int(up.TailSize)
	}
	var h hash.Hash
	if sum != nil {
		h = sum.hash()
	}
	partsSize := up.PartsSize
	// The current tail goes stale once a part moves past it: recorded
	// with the commit that does, deleted right after.
	stale := int64(-1)
	if up.TailSize > 0 {
		stale = up.PartsSize
	}
	var pending []blob.Part // uploaded, not yet recorded (checksum mode)
	body = io.LimitReader(body, up.Length-up.Offset())
	var readErr error
	for readErr == nil {
		var m int
		m, readErr = body.Read(buf[n:])
		if h != nil {
			h.Write(buf[n : n+m])
		}
		n += m
		if n < len(buf) || partsSize+int64(n) == up.Length {
			continue // the last part is uploaded once complete, below
		}
		p, err := s.putPart(sctx, up, len(parts)+len(pending)+1, buf[:n])
		if err != nil {
			return Upload{}, err
		}
		partsSize += int64(n)
		n = 0
		pending = append(pending, p)
		if h == nil {
			if err := s.store.Commit(sctx, up.ID, token, pending, 0, stale, s.now()); err != nil {
				return Upload{}, err
			}
			parts, pending = append(parts, pending...), nil
			s.dropStaleTail(sctx, up, &stale)
		}
	}
	if readErr == io.EOF {
		readErr = nil
	} else if readErr != nil {
		// The client went away or sent a broken body: what arrived is
		// kept below (unless a checksum cannot be verified).
		s.log.Info("upload interrupted", "upload", up.ID, "err", readErr)
		readErr = errInterrupted
	}
	if h != nil && (readErr != nil || !bytes.Equal(h.Sum(nil), sum.Sum)) {
		if readErr != nil {
			return Upload{}, readErr
		}
		return Upload{}, fail(460, "checksum_mismatch", "La somme de contrôle ne correspond pas au contenu reçu : renvoyez ce morceau.")
	}
	parts = append(parts, pending...)

	if partsSize+int64(n) == up.Length {
		return s.complete(sctx, u, up, parts, buf[:n])
	}
	// Keep the remainder (and forget the previous tail if it moved).
	if n > 0 {
		if _, err := s.blobs.Put(sctx, tailKey(up, partsSize), bytes.NewReader(buf[:n]), int64(n), "application/octet-stream"); err != nil {
			return Upload{}, err
		}
	}
	if partsSize == up.PartsSize {
		stale = -1 // the tail was rewritten in place, with a longer content
	}
	if err := s.store.Commit(sctx, up.ID, token, pending, int64(n), stale, s.now()); err != nil {
		return Upload{}, err
	}
	s.dropStaleTail(sctx, up, &stale)
	if readErr != nil {
		return Upload{}, readErr
	}
	return Upload{ID: up.ID, Offset: partsSize + int64(n), Length: up.Length}, nil
}

func errOffset(want, got int64) error {
	return fail(http.StatusConflict, "offset_mismatch",
		fmt.Sprintf("Décalage %d attendu, %d reçu : reprenez depuis le décalage annoncé par HEAD.", want, got))
}

var errBusy = fail(http.StatusConflict, "upload_busy", "Ce téléversement reçoit déjà des données par une autre connexion : réessayez après avoir relu le décalage (HEAD).")

// lease takes the upload's lease for token at its current offset.
func (s *Service) lease(ctx context.Context, u identity.User, up store.Upload, token string) error {
	now := s.now()
	err := s.store.Lease(ctx, up.ID, u.ID, up.Offset(), token, now, now.Add(s.cfg.UploadLease))
	switch {
	case errors.Is(err, store.ErrBusy):
		return errBusy
	case errors.Is(err, store.ErrOffset):
		return fail(http.StatusConflict, "offset_mismatch", "Le décalage a changé entre-temps : reprenez depuis le décalage annoncé par HEAD.")
	case errors.Is(err, store.ErrNotFound):
		return errUploadNotFound
	}
	return err
}

// keepLease renews token's lease every third of its duration until the
// returned function is called, which releases it.
func (s *Service) keepLease(ctx context.Context, id, token string) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.cfg.UploadLease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				// A lost lease shows at the next commit, which refuses.
				if err := s.store.Renew(ctx, id, token, s.now().Add(s.cfg.UploadLease)); err != nil {
					s.log.Warn("upload lease", "upload", id, "err", err)
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		if err := s.store.Release(ctx, id, token); err != nil {
			s.log.Warn("upload lease release", "upload", id, "err", err)
		}
	}
}

// dropStaleTail deletes the tail made stale by a commit, once.
func (s *Service) dropStaleTail(ctx context.Context, up store.Upload, stale *int64) {
	if *stale < 0 {
		return
	}
	if err := s.blobs.Delete(ctx, tailKey(up, *stale)); err != nil {
		s.log.Warn("stale upload tail", "upload", up.ID, "err", err) // deleted with the upload
	}
	*stale = -1
}

// dropTails deletes the tail objects of an upload that is over.
func (s *Service) dropTails(ctx context.Context, up store.Upload) error {
	for _, at := range []int64{up.StaleTail, up.PartsSize} {
		if at >= 0 && (at != up.PartsSize || up.TailSize > 0) {
			if err := s.blobs.Delete(ctx, tailKey(up, at)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Service) readTail(ctx context.Context, up store.Upload, dst []byte) error {
	ctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	rc, _, err := s.blobs.Get(ctx, tailKey(up, up.PartsSize), 0, int64(len(dst)))
	if err != nil {
		return fmt.Errorf("drive: tail of upload %s: %w", up.ID, err)
	}
	defer rc.Close()
	_, err = io.ReadFull(rc, dst)
	return err
}

func (s *Service) putPart(ctx context.Context, up store.Upload, number int, data []byte) (blob.Part, error) {
	ctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	return s.mp.PutPart(ctx, up.BlobKey, up.MultipartID, number, bytes.NewReader(data), int64(len(data)))
}

// complete uploads the last part, assembles the object and records it as
// a new version.
func (s *Service) complete(ctx context.Context, u identity.User, up store.Upload, parts []blob.Part, last []byte) (Upload, error) {
	// The folder may have moved to another space since the upload began
	// (the upload went with it): the uploader must be able to add files
	// there too.
	if _, err := s.access(ctx, u, up.SpaceID, store.RoleEditor); err != nil {
		return Upload{}, errParent
	}
	if len(last) > 0 {
		p, err := s.putPart(ctx, up, len(parts)+1, last)
		if err != nil {
			return Upload{}, err
		}
		parts = append(parts, p)
	}
	cctx, cancel := context.WithTimeout(ctx, storageTimeout)
	defer cancel()
	if _, err := s.mp.CompleteMultipartUpload(cctx, up.BlobKey, up.MultipartID, parts); err != nil {
		return Upload{}, err
	}
	if err := s.store.DeleteUpload(ctx, up.ID); err != nil {
		return Upload{}, err
	}
	if err := s.dropTails(ctx, up); err != nil {
		s.log.Warn("orphan upload tail", "upload", up.ID, "err", err)
	}
	t := Target{Space: up.SpaceID, Parent: up.ParentID, Name: up.Name}
	n, err := s.addVersion(ctx, u, t, up.ID, up.BlobKey, up.Length, up.ContentType)
	if err != nil {
		return Upload{}, err
	}
	return Upload{ID: up.ID, Offset: up.Length, Length: up.Length, Node: &n}, nil
}

// Terminate abandons an upload and frees its storage.
func (s *Service) Terminate(ctx context.Context, u identity.User, id string) error {
	up, unlock, err := s.upload(ctx, u, id)
	if err != nil {
		return err
	}
	defer unlock()
	// Not while a PATCH (maybe on another replica) is writing to it.
	token := newID()
	if err := s.lease(ctx, u, up, token); err != nil {
		return err
	}
	defer s.store.Release(context.WithoutCancel(ctx), up.ID, token)
	if err := s.mp.AbortMultipartUpload(ctx, up.BlobKey, up.MultipartID); err != nil {
		return err
	}
	if err := s.dropTails(ctx, up); err != nil {
		return err
	}
	return s.store.DeleteUpload(ctx, up.ID)
}
