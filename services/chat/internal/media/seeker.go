package media

import (
	"context"
	"errors"
	"io"
)

// Open returns the object key (size bytes) as a ReadSeeker, so that
// http.ServeContent answers Range requests: each seek reopens the object
// at the new offset, lazily, on the next Read.
func (s *Service) Open(ctx context.Context, key string, size int64) io.ReadSeekCloser {
	return &seeker{ctx: ctx, s: s, key: key, size: size}
}

type seeker struct {
	ctx       context.Context
	s         *Service
	key       string
	size, off int64
	rc        io.ReadCloser
}

func (r *seeker) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.rc == nil {
		rc, _, err := r.s.blobs.Get(r.ctx, r.key, r.off, -1)
		if err != nil {
			return 0, err
		}
		r.rc = rc
	}
	n, err := r.rc.Read(p)
	r.off += int64(n)
	return n, err
}

func (r *seeker) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return 0, errors.New("media: seek before the start")
	}
	if offset != r.off {
		r.Close()
		r.off = offset
	}
	return offset, nil
}

func (r *seeker) Close() error {
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.rc = nil
	return err
}
