package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"bureau/services/platform/blob"
	"bureau/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type store interface {
	blob.Store
	blob.Multipart
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newS3(t *testing.T, prefix string) *blob.S3 {
	m := testenv.SharedMinIO(t)
	s, err := blob.NewS3(testCtx(t), blob.S3Config{
		Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey,
		Bucket: m.NewBucket(t), Prefix: prefix,
		PartSize: blob.MinPartSize, // several parts for the 20 MB object
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the same checks on every Store.
func TestConformance(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) store{
		"disk": func(t *testing.T) store {
			d, err := blob.NewDisk(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		"s3": func(t *testing.T) store { return newS3(t, "svc/") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			for _, c := range []struct {
				name string
				f    func(*testing.T, store)
			}{
				{"PutGetStat", testPutGetStat},
				{"Ranges", testRanges},
				{"Empty", testEmpty},
				{"NotFound", testNotFound},
				{"InvalidKeys", testInvalidKeys},
				{"SizeMismatch", testSizeMismatch},
				{"StreamUnknownSize", testStreamUnknownSize},
				{"Multipart", testMultipart},
				{"MultipartErrors", testMultipartErrors},
			} {
				t.Run(c.name, func(t *testing.T) { c.f(t, s) })
			}
		})
	}
}

func put(t *testing.T, s blob.Store, key, data, ct string) blob.Info {
	t.Helper()
	info, err := s.Put(testCtx(t), key, strings.NewReader(data), int64(len(data)), ct)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func get(t *testing.T, s blob.Store, key string, off, n int64) (string, blob.Info) {
	t.Helper()
	rc, info, err := s.Get(testCtx(t), key, off, n)
	if err != nil {
		t.Fatalf("get %s [%d,+%d]: %v", key, off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), info
}

func testPutGetStat(t *testing.T, s store) {
	ctx := testCtx(t)
	before := time.Now().Add(-time.Minute)
	info := put(t, s, "a/b/c.txt", "hello world", "text/plain; charset=utf-8")
	if info.Key != "a/b/c.txt" || info.Size != 11 || info.ContentType != "text/plain; charset=utf-8" || info.ETag == "" || info.ModTime.Before(before) {
		t.Fatalf("put info: %+v", info)
	}
	st, err := s.Stat(ctx, "a/b/c.txt")
	if err != nil || st.Size != 11 || st.ETag != info.ETag || st.ContentType != info.ContentType {
		t.Fatalf("stat: %+v, %v (put said %+v)", st, err, info)
	}
	if got, gi := get(t, s, "a/b/c.txt", 0, -1); got != "hello world" || gi.ETag != info.ETag {
		t.Fatalf("get: %q %+v", got, gi)
	}
	again := put(t, s, "a/b/c.txt", "bonjour", "")
	if again.ETag == info.ETag || again.Size != 7 || again.ContentType != "application/octet-stream" {
		t.Fatalf("overwrite: %+v", again)
	}
	if got, _ := get(t, s, "a/b/c.txt", 0, -1); got != "bonjour" {
		t.Fatalf("after overwrite: %q", got)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func testRanges(t *testing.T, s store) {
	put(t, s, "range", "0123456789", "")
	for _, c := range []struct {
		off, n int64
		want   string
	}{
		{0, -1, "0123456789"}, {0, 4, "0123"}, {6, -1, "6789"}, {6, 100, "6789"},
		{9, 1, "9"}, {10, -1, ""}, {3, 0, ""}, {10, 0, ""},
	} {
		got, info := get(t, s, "range", c.off, c.n)
		if got != c.want || info.Size != 10 {
			t.Errorf("[%d,+%d] = %q (size %d), want %q (size 10)", c.off, c.n, got, info.Size, c.want)
		}
	}
	for _, off := range []int64{11, -1} {
		if _, _, err := s.Get(testCtx(t), "range", off, -1); !errors.Is(err, blob.ErrInvalidRange) {
			t.Errorf("offset %d: want ErrInvalidRange, got %v", off, err)
		}
	}
}

func testEmpty(t *testing.T, s store) {
	put(t, s, "empty", "", "")
	if got, info := get(t, s, "empty", 0, -1); got != "" || info.Size != 0 {
		t.Fatalf("%q %+v", got, info)
	}
}

func testNotFound(t *testing.T, s store) {
	ctx := testCtx(t)
	if _, _, err := s.Get(ctx, "missing/x", 0, -1); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("get: %v", err)
	}
	if _, err := s.Stat(ctx, "missing/x"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("stat: %v", err)
	}
	if err := s.Delete(ctx, "missing/x"); err != nil {
		t.Errorf("delete of a missing key: %v", err)
	}
	put(t, s, "del/me", "x", "")
	for range 2 {
		if err := s.Delete(ctx, "del/me"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Stat(ctx, "del/me"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("stat after delete: %v", err)
	}
	// "del" is a prefix, not an object.
	put(t, s, "del/other", "x", "")
	if _, err := s.Stat(ctx, "del"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("stat of a prefix: %v", err)
	}
}

func testInvalidKeys(t *testing.T, s store) {
	ctx := testCtx(t)
	for _, key := range []string{"", "/etc/passwd", "../x", "a/../../b", "a//b", "a/", ".", "a/./b", `a\b`, "..\\x", "x\x00y", strings.Repeat("k", 1025)} {
		_, err := s.Put(ctx, key, strings.NewReader("x"), 1, "")
		if !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("put %q: want ErrInvalidKey, got %v", key, err)
		}
		if _, _, err := s.Get(ctx, key, 0, -1); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("get %q: %v", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("stat %q: %v", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("delete %q: %v", key, err)
		}
		if _, err := s.NewMultipartUpload(ctx, key, ""); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("new upload %q: %v", key, err)
		}
	}
}

func testSizeMismatch(t *testing.T, s store) {
	ctx := testCtx(t)
	for _, c := range []struct {
		data string
		size int64
	}{{"short", 10}, {"longer than said", 5}} {
		_, err := s.Put(ctx, "mismatch", strings.NewReader(c.data), c.size, "")
		if !errors.Is(err, blob.ErrSizeMismatch) {
			t.Errorf("%d bytes announced as %d: want ErrSizeMismatch, got %v", len(c.data), c.size, err)
		}
		if _, err := s.Stat(ctx, "mismatch"); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("%d bytes announced as %d: object stored anyway (%v)", len(c.data), c.size, err)
		}
	}
}

// pattern is a reproducible byte stream of n bytes, generated on the fly so
// that the test itself holds none of it in memory.
type pattern struct{ pos, n int64 }

func patternAt(i int64) byte { return byte(uint64(i^(i>>7)) * 0x9E3779B1 >> 24) }

func (p *pattern) Read(b []byte) (int, error) {
	if p.pos >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.pos)]
	for i := range b {
		b[i] = patternAt(p.pos + int64(i))
	}
	p.pos += int64(len(b))
	return len(b), nil
}

func patternSum(n int64) []byte {
	h := sha256.New()
	io.Copy(h, &pattern{n: n})
	return h.Sum(nil)
}

func testStreamUnknownSize(t *testing.T, s store) {
	ctx := testCtx(t)
	const size = 20 << 20
	info, err := s.Put(ctx, "big/stream", &pattern{n: size}, -1, "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size {
		t.Fatalf("size %d, want %d", info.Size, size)
	}
	rc, _, err := s.Get(ctx, "big/stream", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size || !bytes.Equal(h.Sum(nil), patternSum(size)) {
		t.Fatalf("read back %d bytes (%v), content differs or short", n, err)
	}
	// A range across the boundary of the first 5 MiB part.
	off := int64(blob.MinPartSize - 100)
	got, _ := get(t, s, "big/stream", off, 300)
	for i := range len(got) {
		if got[i] != patternAt(off+int64(i)) {
			t.Fatalf("range byte %d differs", i)
		}
	}
	if len(got) != 300 {
		t.Fatalf("range of %d bytes, want 300", len(got))
	}
}

func testMultipart(t *testing.T, s store) {
	ctx := testCtx(t)
	key := "uploads/doc.bin"
	id, err := s.NewMultipartUpload(ctx, key, "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	p1, err := s.PutPart(ctx, key, id, 1, &pattern{n: blob.MinPartSize}, blob.MinPartSize)
	if err != nil {
		t.Fatal(err)
	}
	// The last part, whose content continues the pattern.
	p2, err := s.PutPart(ctx, key, id, 2, &pattern{pos: blob.MinPartSize, n: blob.MinPartSize + 1000}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := s.ListParts(ctx, key, id)
	if err != nil || len(parts) != 2 || parts[0].Number != 1 || parts[0].ETag != p1.ETag || parts[1].Size != 1000 {
		t.Fatalf("list parts: %+v, %v", parts, err)
	}
	ups, err := s.ListIncompleteUploads(ctx, key)
	if err != nil || len(ups) != 1 || ups[0].UploadID != id || ups[0].Key != key || ups[0].Initiated.IsZero() {
		t.Fatalf("incomplete uploads: %+v, %v", ups, err)
	}
	if ups, _ := s.ListIncompleteUploads(ctx, "uploads/doc"); len(ups) != 0 {
		t.Fatalf("uploads of another key listed: %+v", ups)
	}
	info, err := s.CompleteMultipartUpload(ctx, key, id, []blob.Part{p1, p2})
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != blob.MinPartSize+1000 || info.ContentType != "application/pdf" {
		t.Fatalf("completed: %+v", info)
	}
	rc, _, err := s.Get(ctx, key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, rc)
	rc.Close()
	if !bytes.Equal(h.Sum(nil), patternSum(blob.MinPartSize+1000)) {
		t.Fatal("assembled object differs from its parts")
	}
	if ups, _ := s.ListIncompleteUploads(ctx, key); len(ups) != 0 {
		t.Fatalf("completed upload still listed: %+v", ups)
	}
}

func testMultipartErrors(t *testing.T, s store) {
	ctx := testCtx(t)
	key := "uploads/bad.bin"
	id, err := s.NewMultipartUpload(ctx, key, "")
	if err != nil {
		t.Fatal(err)
	}
	p1, err := s.PutPart(ctx, key, id, 1, strings.NewReader("small"), 5)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.PutPart(ctx, key, id, 2, strings.NewReader("last"), 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteMultipartUpload(ctx, key, id, []blob.Part{p1, p2}); !errors.Is(err, blob.ErrPartTooSmall) {
		t.Errorf("complete with a small first part: want ErrPartTooSmall, got %v", err)
	}
	if _, err := s.PutPart(ctx, key, id, 3, strings.NewReader("abc"), 10); !errors.Is(err, blob.ErrSizeMismatch) {
		t.Errorf("short part: want ErrSizeMismatch, got %v", err)
	}
	if err := s.AbortMultipartUpload(ctx, key, id); err != nil {
		t.Fatal(err)
	}
	if err := s.AbortMultipartUpload(ctx, key, id); err != nil {
		t.Errorf("second abort: %v", err)
	}
	if _, err := s.PutPart(ctx, key, id, 1, strings.NewReader("x"), 1); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("part of an aborted upload: want ErrNotFound, got %v", err)
	}
	if _, err := s.ListParts(ctx, key, "0123456789abcdef0123456789abcdef"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("list parts of an unknown upload: want ErrNotFound, got %v", err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("an aborted upload left an object: %v", err)
	}
}

func TestS3Bucket(t *testing.T) {
	t.Parallel()
	m := testenv.SharedMinIO(t)
	cfg := blob.S3Config{Endpoint: m.URL, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: "never-created"}
	if _, err := blob.NewS3(testCtx(t), cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing bucket: %v", err)
	}
	cfg.Bucket, cfg.CreateBucket = "created-by-store", true
	for range 2 { // the second finds it there
		if _, err := blob.NewS3(testCtx(t), cfg); err != nil {
			t.Fatal(err)
		}
	}
	cfg.SecretKey = "wrong"
	if _, err := blob.NewS3(testCtx(t), cfg); err == nil {
		t.Fatal("wrong credentials accepted")
	}
}

func TestDiskAbortStaleUploads(t *testing.T) {
	t.Parallel()
	d, err := blob.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	id, err := d.NewMultipartUpload(ctx, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.AbortStaleUploads(ctx, time.Hour); n != 0 || err != nil {
		t.Fatalf("a fresh upload aborted: %d, %v", n, err)
	}
	if n, err := d.AbortStaleUploads(ctx, -time.Second); n != 1 || err != nil {
		t.Fatalf("stale upload: %d aborted, %v", n, err)
	}
	if _, err := d.ListParts(ctx, "k", id); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("stale upload still there: %v", err)
	}
}
