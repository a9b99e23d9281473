// Package dav serves WebDAV at /dav/ over the same spaces, tree and blobs
// as the JSON API (golang.org/x/net/webdav with a FileSystem over
// drive.Service): the root lists the agent's spaces as folders, personal
// space first, each named after its space (made unique). Every operation
// goes through drive, so membership, roles, names, the maximum size and
// the antivirus gate apply exactly as in the API.
//
// The gateway authenticates WebDAV clients (Basic with an app password)
// and forwards the agent's identity token, so requests arrive here like
// API requests.
package dav

import (
	"cmp"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/webdav"

	"bureau/services/files/internal/api"
	"bureau/services/files/internal/drive"
	"bureau/services/files/internal/names"
	"bureau/services/files/internal/store"
	"bureau/services/platform/httpx"
	"bureau/services/platform/identity"
)

// Prefix is where WebDAV is served.
const Prefix = "/dav"

// Handler serves WebDAV.
type Handler struct {
	svc   *drive.Service
	log   *slog.Logger
	locks *store.Store // the WebDAV locks (see spaceLocks)
}

// New returns the handler; its locks are kept in st, shared by the
// replicas and kept across restarts.
func New(svc *drive.Service, st *store.Store, log *slog.Logger) *Handler {
	return &Handler{svc: svc, log: log, locks: st}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, ok := identity.FromContext(r.Context())
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="Bureau", charset="UTF-8"`)
		httpx.WriteError(w, http.StatusUnauthorized, "unauthenticated", "Identifiez-vous avec votre adresse et un mot de passe d'application.")
		return
	}
	if err := h.svc.Arrive(r.Context(), u); err != nil {
		api.Fail(h.log, w, r, err)
		return
	}
	fsys, err := h.newFS(r.Context(), u, r)
	if err != nil {
		api.Fail(h.log, w, r, err)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if h.get(w, r, fsys, name) {
			return
		}
	case http.MethodPut:
		fsys.body = &bodyReader{r: r.Body}
		r.Body = fsys.body
		// Refusals (role, name, size, quota) before the body is read,
		// with the API's status codes and messages.
		if err := fsys.checkPut(r.Context(), name, r.ContentLength); err != nil {
			api.Fail(h.log, w, r, err)
			return
		}
		if v := r.Header.Get("X-OC-Mtime"); v != "" {
			at, err := drive.ParseOCMtime(v)
			if err != nil {
				api.Fail(h.log, w, r, err)
				return
			}
			fsys.mtime = &at
			w = &mtimeWriter{ResponseWriter: w, fs: fsys}
		}
	}
	wh := &webdav.Handler{
		Prefix:     Prefix,
		FileSystem: fsys,
		LockSystem: spaceLocks{h, fsys, r.Method},
		Logger: func(r *http.Request, err error) {
			if err != nil && !os.IsNotExist(err) && !errors.Is(err, os.ErrExist) && !errors.Is(err, os.ErrPermission) {
				h.log.Info("webdav", "method", r.Method, "path", r.URL.Path, "err", err)
			}
		},
	}
	wh.ServeHTTP(w, r)
}

// get serves a file's content as the API's download does (antivirus gate,
// Range, ETag); false for a folder, left to webdav.
func (h *Handler) get(w http.ResponseWriter, r *http.Request, fsys *davFS, name string) bool {
	sp, rest, err := fsys.split(name)
	if err != nil || sp == nil {
		return false
	}
	n, err := h.svc.Resolve(r.Context(), fsys.user, sp.ID, rest)
	if err != nil {
		api.Fail(h.log, w, r, err)
		return true
	}
	if n.Kind != store.KindFile {
		return false
	}
	c, err := h.svc.Open(r.Context(), fsys.user, sp.ID, n.ID)
	if err != nil {
		api.Fail(h.log, w, r, err)
		return true
	}
	defer c.Body.Close()
	api.ServeContent(w, r, c)
	return true
}

// davFS is the agent's view for one request: the spaces as top-level
// folders.
type davFS struct {
	svc    *drive.Service
	user   identity.User
	spaces []store.Space
	byName map[string]int // folder name key → index in spaces
	folder []string       // unique folder name of each space
	size   int64          // the PUT's Content-Length, -1 if unknown
	writes bool           // the request changes the tree: no caching
	body   *bodyReader    // the PUT's body
	// mtime is the PUT's X-OC-Mtime; mtimeSet once it is the file's.
	mtime    *time.Time
	mtimeSet bool
	// seen caches what Readdir returned, by path, for the request: a
	// PROPFIND opens every child it lists.
	seen map[string]*info
}

// mtimeWriter answers "X-OC-Mtime: accepted" when the PUT's time was
// applied, as Nextcloud does (its clients then skip setting it again).
type mtimeWriter struct {
	http.ResponseWriter
	fs *davFS
}

func (m *mtimeWriter) WriteHeader(code int) {
	if m.fs.mtimeSet {
		m.Header().Set("X-OC-Mtime", "accepted")
	}
	m.ResponseWriter.WriteHeader(code)
}

// bodyReader remembers why a request body ended early, so that a cut
// upload of unknown length is not stored as if complete.
type bodyReader struct {
	r   io.ReadCloser
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *bodyReader) Close() error { return b.r.Close() }

func (h *Handler) newFS(ctx context.Context, u identity.User, r *http.Request) (*davFS, error) {
	spaces, err := h.svc.Spaces(ctx, u)
	if err != nil {
		return nil, err
	}
	f := &davFS{svc: h.svc, user: u, spaces: spaces, byName: map[string]int{}, size: -1, seen: map[string]*info{}}
	if r.Method == http.MethodPut {
		f.size = r.ContentLength
	}
	f.writes = r.Method != "PROPFIND"
	// Names are made unique in the order the spaces were created, so that
	// a new space never takes the folder name of an older one.
	order := make([]int, len(spaces))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		sa, sb := spaces[a], spaces[b]
		if (sa.Kind == store.SpacePersonal) != (sb.Kind == store.SpacePersonal) {
			if sa.Kind == store.SpacePersonal {
				return -1
			}
			return 1
		}
		return cmp.Or(sa.CreatedAt.Compare(sb.CreatedAt), strings.Compare(sa.ID, sb.ID))
	})
	f.folder = make([]string, len(spaces))
	for _, i := range order {
		name := spaces[i].Name
		for k := 2; ; k++ {
			if _, taken := f.byName[names.Key(name)]; !taken {
				break
			}
			name = spaces[i].Name + " (" + strconv.Itoa(k) + ")"
		}
		f.byName[names.Key(name)] = i
		f.folder[i] = name
	}
	return f, nil
}

// split parses a path: nil space for the root, else the space and the
// names below it.
func (f *davFS) split(name string) (*store.Space, []string, error) {
	var parts []string
	for _, p := range strings.Split(name, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return nil, nil, nil
	}
	i, ok := f.byName[names.Key(parts[0])]
	if !ok {
		return nil, nil, notExist("open", name)
	}
	return &f.spaces[i], parts[1:], nil
}

func notExist(op, name string) error {
	return &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
}

// osErr maps drive's refusals onto what webdav understands.
func osErr(op, name string, err error) error {
	var de *drive.Error
	if errors.As(err, &de) {
		switch {
		case de.Status == http.StatusNotFound:
			return &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
		case de.Code == "name_taken":
			return &os.PathError{Op: op, Path: name, Err: os.ErrExist}
		case de.Status == http.StatusForbidden:
			return &os.PathError{Op: op, Path: name, Err: os.ErrPermission}
		}
	}
	return err
}

var errRoot = &os.PathError{Op: "write", Path: "/", Err: os.ErrPermission}

// target resolves the folder a new item named by name goes into.
func (f *davFS) target(ctx context.Context, op, name string) (*store.Space, string, string, error) {
	sp, parts, err := f.split(name)
	if err != nil {
		return nil, "", "", err
	}
	if sp == nil || len(parts) == 0 {
		return nil, "", "", errRoot // spaces are not created or replaced here
	}
	parent, err := f.svc.Resolve(ctx, f.user, sp.ID, parts[:len(parts)-1])
	if err != nil {
		return nil, "", "", osErr(op, name, err)
	}
	if parent.Kind != store.KindFolder {
		return nil, "", "", notExist(op, name)
	}
	return sp, parent.ID, parts[len(parts)-1], nil
}

func (f *davFS) checkPut(ctx context.Context, name string, size int64) error {
	sp, parts, err := f.split(name)
	if err != nil || sp == nil || len(parts) == 0 {
		return nil // webdav answers
	}
	parent, err := f.svc.Resolve(ctx, f.user, sp.ID, parts[:len(parts)-1])
	if err != nil || parent.Kind != store.KindFolder {
		return nil
	}
	return f.svc.CheckUpload(ctx, f.user, drive.Target{Space: sp.ID, Parent: parent.ID, Name: parts[len(parts)-1]}, size)
}

// Mkdir implements webdav.FileSystem.
func (f *davFS) Mkdir(ctx context.Context, name string, _ os.FileMode) error {
	sp, parent, base, err := f.target(ctx, "mkdir", name)
	if err != nil {
		return err
	}
	_, err = f.svc.CreateFolder(ctx, f.user, sp.ID, parent, base)
	return osErr("mkdir", name, err)
}

// OpenFile implements webdav.FileSystem: reading a folder or a file, or
// writing a file (a new version when it exists).
func (f *davFS) OpenFile(ctx context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	// PUT and COPY open with O_CREATE|O_TRUNC; PROPPATCH opens O_RDWR
	// only, to reach the dead properties: that must not write content.
	if flag&(os.O_CREATE|os.O_TRUNC) != 0 {
		return f.create(ctx, name)
	}
	sp, parts, err := f.split(name)
	if err == nil && sp != nil {
		if i, ok := f.seen[path.Clean(name)]; ok {
			return &file{fs: f, ctx: ctx, space: sp, info: i, path: path.Clean(name)}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if sp == nil {
		return &file{fs: f, info: f.rootInfo(), path: "/"}, nil
	}
	n, err := f.svc.Resolve(ctx, f.user, sp.ID, parts)
	if err != nil {
		return nil, osErr("open", name, err)
	}
	return &file{fs: f, ctx: ctx, space: sp, info: f.info(sp, parts, n), path: path.Clean(name)}, nil
}

func (f *davFS) create(ctx context.Context, name string) (webdav.File, error) {
	sp, parent, base, err := f.target(ctx, "open", name)
	if err != nil {
		return nil, err
	}
	t := drive.Target{Space: sp.ID, Parent: parent, Name: base}
	if err := f.svc.CheckUpload(ctx, f.user, t, f.size); err != nil {
		return nil, osErr("open", name, err)
	}
	pr, pw := io.Pipe()
	wf := &file{fs: f, ctx: ctx, space: sp, pw: pw, done: make(chan struct{})}
	size := f.size
	f.size = -1 // a COPY's files have no declared length
	go func() {
		defer close(wf.done)
		n, err := f.svc.Put(ctx, f.user, t, pr, size)
		pr.CloseWithError(err)
		if err == nil && f.mtime != nil {
			if err = f.svc.SetModTime(ctx, f.user, sp.ID, n.ID, *f.mtime); err == nil {
				n.ModifiedAt, f.mtimeSet = *f.mtime, true
			}
			f.mtime = nil // a COPY's other files keep their own
		}
		wf.werr = err
		wf.info = f.info(sp, []string{base}, n)
	}()
	return wf, nil
}

// RemoveAll implements webdav.FileSystem: to the trash.
func (f *davFS) RemoveAll(ctx context.Context, name string) error {
	sp, parts, err := f.split(name)
	if err != nil {
		return err
	}
	if sp == nil || len(parts) == 0 {
		return errRoot
	}
	n, err := f.svc.Resolve(ctx, f.user, sp.ID, parts)
	if err != nil {
		return osErr("remove", name, err)
	}
	return osErr("remove", name, f.svc.Delete(ctx, f.user, sp.ID, n.ID))
}

// Rename implements webdav.FileSystem: rename and/or move, within a space
// or to another.
func (f *davFS) Rename(ctx context.Context, oldName, newName string) error {
	sp, parts, err := f.split(oldName)
	if err != nil {
		return err
	}
	if sp == nil || len(parts) == 0 {
		return errRoot
	}
	n, err := f.svc.Resolve(ctx, f.user, sp.ID, parts)
	if err != nil {
		return osErr("rename", oldName, err)
	}
	dsp, parent, base, err := f.target(ctx, "rename", newName)
	if err != nil {
		return err
	}
	if dsp.ID != sp.ID {
		// Across spaces: the API's move (editor on both sides, the
		// target's quota, links revoked).
		_, err = f.svc.MoveToSpace(ctx, f.user, sp.ID, n.ID, dsp.ID, parent, &base)
		return osErr("rename", newName, err)
	}
	_, err = f.svc.Place(ctx, f.user, sp.ID, n.ID, &base, &parent)
	return osErr("rename", newName, err)
}

// Stat implements webdav.FileSystem.
func (f *davFS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	sp, parts, err := f.split(name)
	if err != nil {
		return nil, err
	}
	if sp == nil {
		return f.rootInfo(), nil
	}
	if i, ok := f.seen[path.Clean(name)]; ok {
		return i, nil
	}
	n, err := f.svc.Resolve(ctx, f.user, sp.ID, parts)
	if err != nil {
		return nil, osErr("stat", name, err)
	}
	return f.info(sp, parts, n), nil
}

func (f *davFS) rootInfo() *info {
	return &info{name: "/", dir: true, mod: time.Unix(0, 0).UTC()}
}

func (f *davFS) info(sp *store.Space, parts []string, n store.Node) *info {
	name := n.Name
	if len(parts) == 0 {
		for i := range f.spaces {
			if f.spaces[i].ID == sp.ID {
				name = f.folder[i]
			}
		}
	}
	return &info{name: name, node: n, dir: n.Kind == store.KindFolder, size: n.Size, mod: n.ModifiedAt}
}

// info is an os.FileInfo that also gives webdav the ETag and content type
// without reading the content (which may be awaiting its scan).
type info struct {
	name string
	node store.Node
	dir  bool
	size int64
	mod  time.Time
	// props are the dead properties, once loaded (a listing loads its
	// children's at once).
	props       []store.Prop
	propsLoaded bool
}

func (i *info) Name() string { return i.name }
func (i *info) Size() int64  { return i.size }
func (i *info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i *info) ModTime() time.Time { return i.mod }
func (i *info) IsDir() bool        { return i.dir }
func (i *info) Sys() any           { return nil }

// ETag implements webdav.ETager: the version id.
func (i *info) ETag(context.Context) (string, error) {
	if i.dir || i.node.VersionID == "" {
		return `"` + strconv.FormatInt(i.mod.UnixNano(), 36) + `"`, nil
	}
	return `"` + i.node.VersionID + `"`, nil
}

// ContentType implements webdav.ContentTyper.
func (i *info) ContentType(context.Context) (string, error) {
	if i.node.ContentType == "" {
		return "application/octet-stream", nil
	}
	return i.node.ContentType, nil
}

// file is an open folder (Readdir), file (Read, Seek: for COPY) or file
// being written (Write streams into the blob store).
type file struct {
	fs    *davFS
	ctx   context.Context
	space *store.Space
	info  *info
	path  string

	// reading
	body     io.ReadSeekCloser
	children []os.FileInfo
	listed   bool

	// writing
	pw    *io.PipeWriter
	done  chan struct{}
	werr  error
	ended bool
}

func (f *file) Readdir(count int) ([]os.FileInfo, error) {
	if !f.info.dir {
		return nil, &os.PathError{Op: "readdir", Path: f.info.name, Err: errors.New("not a folder")}
	}
	if !f.listed {
		f.listed = true
		if f.space == nil {
			for i := range f.fs.spaces {
				sp := f.fs.spaces[i]
				f.children = append(f.children, &info{name: f.fs.folder[i], dir: true, mod: sp.CreatedAt,
					node: store.Node{SpaceID: sp.ID, Kind: store.KindFolder}})
			}
		} else {
			nodes, err := f.fs.svc.ListAll(f.ctx, f.fs.user, f.space.ID, f.info.node.ID)
			if err != nil {
				return nil, err
			}
			keys := make([]string, len(nodes))
			for i, n := range nodes {
				keys[i] = n.ID
			}
			props, err := f.fs.svc.Props(f.ctx, f.fs.user, f.space.ID, keys)
			if err != nil {
				return nil, err
			}
			for _, n := range nodes {
				f.children = append(f.children, &info{name: n.Name, node: n, dir: n.Kind == store.KindFolder, size: n.Size, mod: n.ModifiedAt,
					props: props[n.ID], propsLoaded: true})
			}
		}
		if f.path != "" && !f.fs.writes {
			for _, c := range f.children {
				f.fs.seen[path.Join(f.path, c.Name())] = c.(*info)
			}
		}
	}
	if count <= 0 {
		out := f.children
		f.children = nil
		return out, nil
	}
	if len(f.children) == 0 {
		return nil, io.EOF
	}
	out := f.children[:min(count, len(f.children))]
	f.children = f.children[len(out):]
	return out, nil
}

func (f *file) open() error {
	if f.body != nil {
		return nil
	}
	if f.info.dir || f.space == nil {
		return &os.PathError{Op: "read", Path: f.info.name, Err: errors.New("is a folder")}
	}
	c, err := f.fs.svc.Open(f.ctx, f.fs.user, f.space.ID, f.info.node.ID)
	if err != nil {
		return err
	}
	f.body = c.Body
	return nil
}

func (f *file) Read(p []byte) (int, error) {
	if f.pw != nil {
		return 0, errors.New("dav: file open for writing")
	}
	if err := f.open(); err != nil {
		return 0, err
	}
	return f.body.Read(p)
}

func (f *file) Seek(offset int64, whence int) (int64, error) {
	if f.pw != nil {
		return 0, errors.New("dav: file open for writing")
	}
	if err := f.open(); err != nil {
		return 0, err
	}
	return f.body.Seek(offset, whence)
}

func (f *file) Write(p []byte) (int, error) {
	if f.pw == nil {
		return 0, errors.New("dav: file open for reading")
	}
	return f.pw.Write(p)
}

// finish ends a write: the content is stored and recorded, or not.
func (f *file) finish() error {
	if !f.ended {
		f.ended = true
		if f.fs.body != nil && f.fs.body.err != nil {
			f.pw.CloseWithError(f.fs.body.err)
		} else {
			f.pw.Close()
		}
		<-f.done
	}
	return f.werr
}

func (f *file) Stat() (os.FileInfo, error) {
	if f.pw != nil {
		// webdav's PUT asks for the ETag after copying the body, before
		// Close: the version exists once the content is stored.
		if err := f.finish(); err != nil {
			return nil, err
		}
	}
	return f.info, nil
}

func (f *file) Close() error {
	if f.pw != nil {
		return f.finish()
	}
	if f.body != nil {
		return f.body.Close()
	}
	return nil
}
