// Package blob stores the files' bytes: on a local disk for a single-node
// deployment, in an S3-compatible object store (MinIO, Scaleway, OVH…)
// otherwise. Objects are streamed in and out, never held whole in memory.
//
// Keys are slash-separated relative paths ("ab/cd/0123…"); both stores
// reject the same malformed keys, so code tested on one runs on the other.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

var (
	// ErrNotFound: no object (or multipart upload) under that key or ID.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalidKey: see ValidateKey.
	ErrInvalidKey = errors.New("blob: invalid key")
	// ErrInvalidRange: a read starts after the end of the object.
	ErrInvalidRange = errors.New("blob: offset beyond the end of the object")
	// ErrSizeMismatch: a reader gave more or fewer bytes than announced.
	ErrSizeMismatch = errors.New("blob: size differs from the announced size")
	// ErrPartTooSmall: a multipart upload has a part, other than the last,
	// below MinPartSize.
	ErrPartTooSmall = errors.New("blob: multipart part smaller than 5 MiB (only the last may be)")
)

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ContentType string
	ETag        string // opaque; changes when the content does
	ModTime     time.Time
}

// Store is an object store.
type Store interface {
	// Put stores the size bytes of r under key, replacing any object there;
	// size -1 means unknown (read r to EOF). Readers see either the old or
	// the new object, never a partial one.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Info, error)
	// Get reads length bytes from offset (length -1: to the end; a range
	// past the end is cut short). Info describes the whole object.
	// 0 <= offset <= size, else ErrInvalidRange.
	Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Info, error)
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// Ping checks that the store is reachable and usable.
	Ping(ctx context.Context) error
}

// Presigner is a store whose objects can be read without credentials
// through a short-lived URL (S3 does; Disk does not).
type Presigner interface {
	// PresignGet returns a URL that GETs the object key until expiry;
	// a Range header selects part of it.
	PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error)
}

// MinPartSize is the S3 minimum for every multipart part but the last.
const MinPartSize = 5 << 20

// Part is an uploaded part of a multipart upload.
type Part struct {
	Number int // 1 to 10000
	ETag   string
	Size   int64
}

// Upload is a multipart upload begun and neither completed nor aborted.
type Upload struct {
	Key       string
	UploadID  string
	Initiated time.Time
}

// Multipart is the S3 multipart upload protocol, on which resumable uploads
// (tus) are built: parts are uploaded independently, then assembled.
// Except in AbortMultipartUpload, unknown or finished upload IDs give
// ErrNotFound.
type Multipart interface {
	NewMultipartUpload(ctx context.Context, key, contentType string) (uploadID string, err error)
	// PutPart stores part number (1-10000) of size bytes (size must be
	// known). Uploading a number again replaces that part.
	PutPart(ctx context.Context, key, uploadID string, number int, r io.Reader, size int64) (Part, error)
	// ListParts returns the parts uploaded so far, by number.
	ListParts(ctx context.Context, key, uploadID string) ([]Part, error)
	// CompleteMultipartUpload assembles parts (in increasing number, each
	// with the ETag PutPart returned) into the object key.
	CompleteMultipartUpload(ctx context.Context, key, uploadID string, parts []Part) (Info, error)
	// AbortMultipartUpload discards the upload and its parts; aborting an
	// unknown or finished upload is not an error.
	AbortMultipartUpload(ctx context.Context, key, uploadID string) error
	// ListIncompleteUploads lists the unfinished uploads of key. Only by
	// exact key: MinIO cannot list by prefix. Callers keep track of their
	// uploads; abandoned ones expire on the server (MinIO's
	// api.stale_uploads_expiry, an S3 lifecycle rule, Disk.AbortStaleUploads).
	ListIncompleteUploads(ctx context.Context, key string) ([]Upload, error)
}

// ValidateKey accepts keys made of non-empty slash-separated segments, none
// of them "." or "..", without a leading slash, backslash or NUL, at most
// 1024 bytes: keys that are safe as file paths and portable across S3
// implementations.
func ValidateKey(key string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why) }
	switch {
	case key == "":
		return bad("empty")
	case len(key) > 1024:
		return bad("longer than 1024 bytes")
	case strings.HasPrefix(key, "/"):
		return bad("absolute")
	case strings.ContainsAny(key, "\\\x00"):
		return bad("contains a backslash or NUL")
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return bad("empty path segment")
		case ".", "..":
			return bad("dot segment")
		}
	}
	return nil
}

// checkRange validates a Get range against an object of size bytes and
// returns the number of bytes to read.
func checkRange(offset, length, size int64) (int64, error) {
	if offset < 0 || offset > size || length < -1 {
		return 0, fmt.Errorf("%w: offset %d, length %d, object size %d", ErrInvalidRange, offset, length, size)
	}
	if length == -1 || offset+length > size {
		return size - offset, nil
	}
	return length, nil
}

// exactReader yields the size bytes announced for r, failing with
// ErrSizeMismatch — before its consumer sees the end of the data, so that
// nothing is committed — if r is shorter or longer.
type exactReader struct {
	r         io.Reader
	remaining int64
	err       error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.remaining == 0 {
		return 0, e.checkEnd()
	}
	if int64(len(p)) > e.remaining {
		p = p[:e.remaining]
	}
	n, err := e.r.Read(p)
	e.remaining -= int64(n)
	switch {
	case e.remaining == 0:
		// Check the end now, along with the last bytes.
		if err := e.checkEnd(); err != io.EOF {
			return n, err
		}
		return n, nil
	case err == io.EOF:
		e.err = fmt.Errorf("%w: %d bytes missing", ErrSizeMismatch, e.remaining)
		return n, e.err
	}
	return n, err
}

func (e *exactReader) checkEnd() error {
	var b [1]byte
	n, err := io.ReadFull(e.r, b[:])
	switch {
	case n > 0:
		e.err = fmt.Errorf("%w: more bytes than announced", ErrSizeMismatch)
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		e.err = err
	default:
		return io.EOF
	}
	return e.err
}

var (
	_ Store     = (*Disk)(nil)
	_ Multipart = (*Disk)(nil)
	_ Store     = (*S3)(nil)
	_ Multipart = (*S3)(nil)
	_ Presigner = (*S3)(nil)
)
