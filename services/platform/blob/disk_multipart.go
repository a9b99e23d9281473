package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var uploadIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

type uploadInfo struct {
	Key         string    `json:"key"`
	ContentType string    `json:"type"`
	Initiated   time.Time `json:"initiated"`
}

// uploadDir checks that uploadID names an upload of key and returns its
// directory.
func (d *Disk) uploadDir(key, uploadID string) (string, uploadInfo, error) {
	if err := ValidateKey(key); err != nil {
		return "", uploadInfo{}, err
	}
	if !uploadIDPattern.MatchString(uploadID) {
		return "", uploadInfo{}, fmt.Errorf("upload %q: %w", uploadID, ErrNotFound)
	}
	dir := filepath.Join(d.root, "uploads", uploadID)
	info, err := readUploadInfo(dir)
	if err != nil {
		return "", uploadInfo{}, err
	}
	if info.Key != key {
		return "", uploadInfo{}, fmt.Errorf("upload %s is not one of key %q: %w", uploadID, key, ErrNotFound)
	}
	return dir, info, nil
}

func readUploadInfo(dir string) (uploadInfo, error) {
	var info uploadInfo
	b, err := os.ReadFile(filepath.Join(dir, "info.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return info, fmt.Errorf("upload %s: %w", filepath.Base(dir), ErrNotFound)
	}
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("upload %s: bad info.json: %w", filepath.Base(dir), err)
	}
	return info, nil
}

// NewMultipartUpload implements Multipart.
func (d *Disk) NewMultipartUpload(ctx context.Context, key, contentType string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	ct, err := checkContentType(contentType)
	if err != nil {
		return "", err
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	js, _ := json.Marshal(uploadInfo{Key: key, ContentType: ct, Initiated: time.Now().UTC()})
	// Written in tmp and renamed: an upload directory always has its info.
	tmp, err := os.MkdirTemp(filepath.Join(d.root, "tmp"), "upload-")
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "info.json"), js, 0o640)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(d.root, "uploads", id))
	}
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("blob: new multipart upload %s: %w", key, err)
	}
	return id, nil
}

func partName(n int) string { return fmt.Sprintf("%05d.part", n) }

// PutPart implements Multipart.
func (d *Disk) PutPart(ctx context.Context, key, uploadID string, number int, r io.Reader, size int64) (Part, error) {
	dir, _, err := d.uploadDir(key, uploadID)
	if err != nil {
		return Part{}, fmt.Errorf("blob: put part: %w", err)
	}
	if number < 1 || number > 10000 || size < 0 {
		return Part{}, fmt.Errorf("blob: put part %d of %d bytes: want part 1 to 10000 and a known size", number, size)
	}
	etag, err := d.writeAtomic(ctx, filepath.Join(dir, partName(number)), "",
		func(w io.Writer) (int64, error) { return copySized(ctx, w, r, size) })
	if err != nil {
		return Part{}, fmt.Errorf("blob: put part %d of %s: %w", number, key, err)
	}
	return Part{Number: number, ETag: etag, Size: size}, nil
}

// ListParts implements Multipart.
func (d *Disk) ListParts(ctx context.Context, key, uploadID string) ([]Part, error) {
	dir, _, err := d.uploadDir(key, uploadID)
	if err != nil {
		return nil, fmt.Errorf("blob: list parts: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: list parts: %w", err)
	}
	var parts []Part
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), ".part")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		f, hdr, st, err := openBlob(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("blob: list parts: %w", err)
		}
		f.Close()
		parts = append(parts, Part{Number: n, ETag: hdr.ETag, Size: st.Size() - headerSize})
	}
	return parts, nil // ReadDir sorts by name, hence by number
}

// CompleteMultipartUpload implements Multipart.
func (d *Disk) CompleteMultipartUpload(ctx context.Context, key, uploadID string, parts []Part) (Info, error) {
	fail := func(err error) (Info, error) {
		return Info{}, fmt.Errorf("blob: complete upload %s of %s: %w", uploadID, key, err)
	}
	dir, info, err := d.uploadDir(key, uploadID)
	if err != nil {
		return fail(err)
	}
	if len(parts) == 0 {
		return fail(errors.New("no parts"))
	}
	if !slices.IsSortedFunc(parts, func(a, b Part) int { return a.Number - b.Number }) {
		return fail(errors.New("parts not in increasing order"))
	}
	// Check everything S3 would before writing anything.
	files := make([]*os.File, 0, len(parts))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i, p := range parts {
		f, hdr, st, err := openBlob(filepath.Join(dir, partName(p.Number)))
		if err != nil {
			return fail(fmt.Errorf("part %d: %w", p.Number, err))
		}
		files = append(files, f)
		if hdr.ETag != strings.Trim(p.ETag, `"`) {
			return fail(fmt.Errorf("part %d: ETag %s, not %s", p.Number, hdr.ETag, p.ETag))
		}
		if i < len(parts)-1 && st.Size()-headerSize < MinPartSize {
			return fail(fmt.Errorf("part %d: %w", p.Number, ErrPartTooSmall))
		}
	}
	dst, _ := d.path(key)
	_, err = d.writeAtomic(ctx, dst, info.ContentType, func(w io.Writer) (int64, error) {
		var total int64
		for _, f := range files {
			n, err := io.Copy(w, ctxReader{ctx, io.NewSectionReader(f, headerSize, 1<<62)})
			total += n
			if err != nil {
				return total, err
			}
		}
		return total, nil
	})
	if err != nil {
		return fail(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fail(err)
	}
	return d.Stat(ctx, key)
}

// AbortMultipartUpload implements Multipart.
func (d *Disk) AbortMultipartUpload(ctx context.Context, key, uploadID string) error {
	dir, _, err := d.uploadDir(key, uploadID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blob: abort upload: %w", err)
	}
	// Renamed away first so that the upload disappears at once, whole.
	gone := filepath.Join(d.root, "tmp", "aborted-"+uploadID)
	if err := os.Rename(dir, gone); err != nil {
		return fmt.Errorf("blob: abort upload %s: %w", uploadID, err)
	}
	return os.RemoveAll(gone)
}

// ListIncompleteUploads implements Multipart.
func (d *Disk) ListIncompleteUploads(ctx context.Context, key string) ([]Upload, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	var ups []Upload
	err := d.eachUpload(func(id string, info uploadInfo) error {
		if info.Key == key {
			ups = append(ups, Upload{Key: info.Key, UploadID: id, Initiated: info.Initiated})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob: list uploads of %s: %w", key, err)
	}
	return ups, nil
}

// AbortStaleUploads aborts the uploads begun more than maxAge ago and
// returns how many; it is the Disk counterpart of the expiry of abandoned
// uploads that S3 servers do themselves.
func (d *Disk) AbortStaleUploads(ctx context.Context, maxAge time.Duration) (int, error) {
	n := 0
	err := d.eachUpload(func(id string, info uploadInfo) error {
		if time.Since(info.Initiated) <= maxAge {
			return nil
		}
		if err := d.AbortMultipartUpload(ctx, info.Key, id); err != nil {
			return err
		}
		n++
		return ctx.Err()
	})
	if err != nil {
		return n, fmt.Errorf("blob: abort stale uploads: %w", err)
	}
	return n, nil
}

func (d *Disk) eachUpload(f func(id string, info uploadInfo) error) error {
	entries, err := os.ReadDir(filepath.Join(d.root, "uploads"))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !uploadIDPattern.MatchString(e.Name()) {
			continue
		}
		info, err := readUploadInfo(filepath.Join(d.root, "uploads", e.Name()))
		if errors.Is(err, ErrNotFound) {
			continue // completed or aborted meanwhile
		}
		if err != nil {
			return err
		}
		if err := f(e.Name(), info); err != nil {
			return err
		}
	}
	return nil
}
