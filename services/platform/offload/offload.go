// Package offload lets a service leave the bytes of a download to the
// gateway, like nginx's X-Accel-Redirect. The service still decides and
// answers everything (authorization, antivirus state, audit, status, ETag,
// Range, Content-Disposition, CSP); only the body is replaced by a
// short-lived presigned URL of the object, which the gateway fetches from
// the object store and streams to the client.
//
// A download then crosses one process and one loopback TCP hop fewer
// (object store → gateway instead of object store → service → gateway):
// on the 2-core machine of `make bench-files` that is the service's 0.55
// CPU s/GB and the hop's kernel work, about a third of the whole path.
//
// The gateway asks for it per request (AcceptHeader; clients cannot set
// Bureau-* headers through it), so a service called directly streams as
// before; the URL never reaches the client.
package offload

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

const (
	// AcceptHeader, on a request, says the caller fetches offloaded bodies.
	AcceptHeader = "Bureau-Offload"
	// URLHeader, RangeHeader and LengthHeader, on a response, replace its
	// body: GET URLHeader with Range: RangeHeader ("bytes=first-last")
	// gives the LengthHeader bytes of the body.
	URLHeader    = "Bureau-Offload-Url"
	RangeHeader  = "Bureau-Offload-Range"
	LengthHeader = "Bureau-Offload-Length"
)

// Expiry is the life of the presigned URLs: the gateway uses them at once,
// and a GET started before expiry runs to its end.
const Expiry = time.Minute

// Source is a body that can be offloaded: URL returns a presigned GET URL
// of the whole object and the offset the body is at, or ok false to stream
// it as usual.
type Source interface {
	OffloadURL() (url string, offset int64, ok bool)
}

// ServeContent is http.ServeContent, except that when the gateway accepts
// offloaded bodies and content is a Source that can be offloaded, the
// response carries the URL instead of the bytes.
func ServeContent(w http.ResponseWriter, r *http.Request, modtime time.Time, content io.ReadSeeker) {
	if r.Method != http.MethodGet || r.Header.Get(AcceptHeader) == "" {
		http.ServeContent(w, r, "", modtime, content)
		return
	}
	ow := &writer{ResponseWriter: w}
	http.ServeContent(ow, r, "", modtime, content)
	ow.commit()
}

// writer holds back the status until the body is known, since offloading
// changes the headers; http.ServeContent copies the body with io.CopyN,
// which lands in ReadFrom with an *io.LimitedReader around the content.
type writer struct {
	http.ResponseWriter
	status    int
	committed bool
}

func (w *writer) WriteHeader(code int) {
	if w.committed || code < 200 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if w.status == 0 {
		w.status = code
	}
}

func (w *writer) commit() {
	if !w.committed {
		w.committed = true
		if w.status != 0 {
			w.ResponseWriter.WriteHeader(w.status)
		}
	}
}

func (w *writer) Write(p []byte) (int, error) {
	w.commit()
	return w.ResponseWriter.Write(p)
}

func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	if lr, ok := src.(*io.LimitedReader); ok && !w.committed && lr.N > 0 {
		if s, ok := lr.R.(Source); ok {
			if u, off, ok := s.OffloadURL(); ok {
				h := w.Header()
				h.Set(URLHeader, u)
				h.Set(RangeHeader, fmt.Sprintf("bytes=%d-%d", off, off+lr.N-1))
				h.Set(LengthHeader, strconv.FormatInt(lr.N, 10))
				h.Del("Content-Length") // the body is empty
				w.commit()
				n := lr.N
				lr.N = 0
				return n, nil
			}
		}
	}
	w.commit()
	return io.Copy(w.ResponseWriter, src) // the ResponseWriter's own ReadFrom, if any
}

func (w *writer) Flush() {
	w.commit()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Fetch is the gateway's side, for an upstream response: when it carries
// an offload URL, the body becomes the object store's answer (checked:
// 206 and the announced length), fetched with rt under the request's
// context; rt nil refuses offloaded bodies. The offload headers are
// removed in any case, so that they never reach a client.
func Fetch(rt http.RoundTripper, resp *http.Response) error {
	h := resp.Header
	u, rng, length := h.Get(URLHeader), h.Get(RangeHeader), h.Get(LengthHeader)
	h.Del(URLHeader)
	h.Del(RangeHeader)
	h.Del(LengthHeader)
	if u == "" {
		return nil
	}
	if rt == nil {
		return errors.New("offload: an offloaded body where none was asked for")
	}
	n, err := strconv.ParseInt(length, 10, 64)
	if err != nil || n <= 0 || rng == "" {
		return fmt.Errorf("offload: bad range %q or length %q", rng, length)
	}
	req, err := http.NewRequestWithContext(resp.Request.Context(), http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("offload: %w", err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return errors.New("offload: the URL is not http(s)")
	}
	req.Header.Set("Range", rng)
	br, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("offload: %w", err)
	}
	if br.StatusCode != http.StatusPartialContent || br.ContentLength != n {
		br.Body.Close()
		return fmt.Errorf("offload: the object store answered %s with %d bytes, want 206 with %d", br.Status, br.ContentLength, n)
	}
	resp.Body.Close()
	resp.Body = br.Body
	resp.ContentLength = n
	h.Set("Content-Length", length)
	return nil
}
