package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Disk is a Store (and Multipart) in a local directory:
//
//	ROOT/objects/KEY     the objects
//	ROOT/uploads/ID/     multipart uploads: info.json and one file per part
//	ROOT/tmp/            files being written, renamed into place when whole
//
// Each object file starts with a fixed headerSize-byte JSON header (content
// type, ETag) followed by the content: a single file, so that one rename
// replaces content and metadata together.
//
// Unlike S3, a key cannot be both an object and a "directory" of other
// objects ("a" and "a/b"); the second Put fails.
type Disk struct {
	root string
}

const headerSize = 512

type header struct {
	V           int    `json:"v"`
	ContentType string `json:"type,omitempty"`
	ETag        string `json:"etag"`
}

// NewDisk opens (creating it if needed) a Disk store rooted at root.
func NewDisk(root string) (*Disk, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("blob: disk root: %w", err)
	}
	for _, sub := range []string{"objects", "uploads", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o750); err != nil {
			return nil, fmt.Errorf("blob: disk root: %w", err)
		}
	}
	return &Disk{root: root}, nil
}

func (d *Disk) path(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.root, "objects", filepath.FromSlash(key)), nil
}

func checkContentType(ct string) (string, error) {
	if ct == "" {
		return "application/octet-stream", nil
	}
	if len(ct) > 255 || strings.ContainsFunc(ct, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
		return "", fmt.Errorf("blob: content type %q: want at most 255 printable ASCII characters", ct)
	}
	return ct, nil
}

// Put implements Store.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Info, error) {
	dst, err := d.path(key)
	if err != nil {
		return Info{}, err
	}
	ct, err := checkContentType(contentType)
	if err != nil {
		return Info{}, err
	}
	_, err = d.writeAtomic(ctx, dst, ct, func(w io.Writer) (int64, error) { return copySized(ctx, w, r, size) })
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %s: %w", key, err)
	}
	return d.Stat(ctx, key)
}

// copySized copies r to w, checking the byte count when size >= 0.
func copySized(ctx context.Context, w io.Writer, r io.Reader, size int64) (int64, error) {
	r = ctxReader{ctx, r}
	if size >= 0 {
		r = &exactReader{r: r, remaining: size}
	}
	return io.Copy(w, r)
}

// writeAtomic writes header and content (from fill) to a temporary file,
// syncs it and renames it to dst, so that dst is always whole.
func (d *Disk) writeAtomic(ctx context.Context, dst, contentType string, fill func(io.Writer) (int64, error)) (etag string, err error) {
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "put-")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Seek(headerSize, io.SeekStart); err != nil {
		return "", err
	}
	h := md5.New()
	if _, err := fill(io.MultiWriter(f, h)); err != nil {
		return "", err
	}
	etag = hex.EncodeToString(h.Sum(nil))
	hdr, err := json.Marshal(header{V: 1, ContentType: contentType, ETag: etag})
	if err != nil {
		return "", err
	}
	hdr = append(hdr, bytes.Repeat([]byte{' '}, headerSize-len(hdr))...)
	hdr[headerSize-1] = '\n'
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	// Retry once: a concurrent Delete may remove the parent directory,
	// emptied, between MkdirAll and Rename.
	for attempt := 0; ; attempt++ {
		if err = os.MkdirAll(filepath.Dir(dst), 0o750); err == nil {
			err = os.Rename(f.Name(), dst)
		}
		if err == nil || attempt == 1 || !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) {
			err = fmt.Errorf("%w (on disk, a key cannot be both an object and a prefix of another key)", err)
		}
		return "", err
	}
	// The rename is durable only once the directory is synced.
	if dir, err := os.Open(filepath.Dir(dst)); err == nil {
		err = dir.Sync()
		dir.Close()
		if err != nil {
			return "", err
		}
	}
	return etag, nil
}

// open opens an object or part file and reads its header.
func openBlob(path string) (*os.File, header, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, header{}, nil, ErrNotFound
		}
		return nil, header{}, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, header{}, nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, header{}, nil, ErrNotFound // a prefix of other keys
	}
	buf := make([]byte, headerSize)
	var hdr header
	if _, err := f.ReadAt(buf, 0); err != nil {
		f.Close()
		return nil, header{}, nil, fmt.Errorf("%s: short header: %w", path, err)
	}
	if err := json.Unmarshal(bytes.TrimRight(buf, " \n"), &hdr); err != nil || hdr.V != 1 {
		f.Close()
		return nil, header{}, nil, fmt.Errorf("%s: not a blob file (bad header): %v", path, err)
	}
	return f, hdr, st, nil
}

func (d *Disk) info(key string, hdr header, st fs.FileInfo) Info {
	return Info{Key: key, Size: st.Size() - headerSize, ContentType: hdr.ContentType, ETag: hdr.ETag, ModTime: st.ModTime()}
}

// Get implements Store.
func (d *Disk) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, Info, error) {
	path, err := d.path(key)
	if err != nil {
		return nil, Info{}, err
	}
	f, hdr, st, err := openBlob(path)
	if err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	info := d.info(key, hdr, st)
	n, err := checkRange(offset, length, info.Size)
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	return readCloser{io.NewSectionReader(f, headerSize+offset, n), f}, info, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Stat implements Store.
func (d *Disk) Stat(ctx context.Context, key string) (Info, error) {
	path, err := d.path(key)
	if err != nil {
		return Info{}, err
	}
	f, hdr, st, err := openBlob(path)
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	f.Close()
	return d.info(key, hdr, st), nil
}

// Delete implements Store.
func (d *Disk) Delete(ctx context.Context, key string) error {
	path, err := d.path(key)
	if err != nil {
		return err
	}
	if st, err := os.Lstat(path); err == nil && st.IsDir() {
		return nil // a prefix of other keys, not an object
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	// Remove the directories left empty, so that they do not pile up;
	// Remove fails, harmlessly, on the first one that is not empty.
	top := filepath.Join(d.root, "objects")
	for dir := filepath.Dir(path); dir != top && strings.HasPrefix(dir, top); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// Ping implements Store: it checks that a file can be created in the root.
func (d *Disk) Ping(ctx context.Context) error {
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "ping-")
	if err != nil {
		return fmt.Errorf("blob: disk %s not writable: %w", d.root, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// ctxReader stops a copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
