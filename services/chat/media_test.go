package chat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"bureau/services/chat"
	"bureau/services/platform/testenv"
)

// media is what one GET answered.
type media struct {
	status  int
	header  http.Header
	body    []byte
	errcode string
}

// fetch GETs path with token (none if empty) and extra headers.
func fetch(t *testing.T, base, token, path string, hdr ...string) media {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := media{status: resp.StatusCode, header: resp.Header, body: body}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var e struct {
			Errcode string `json:"errcode"`
		}
		_ = json.Unmarshal(body, &e)
		m.errcode = e.Errcode
	}
	return m
}

func pngImage(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func upload(t *testing.T, cli *mautrix.Client, data []byte, ct, name string) id.ContentURI {
	t.Helper()
	resp, err := cli.UploadBytesWithName(t.Context(), data, ct, name)
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return resp.ContentURI
}

func dl(u id.ContentURI) string {
	return "/_matrix/client/v1/media/download/" + u.Homeserver + "/" + u.FileID
}

// TestMedia: uploads go through a real clamd before anyone can download
// them; downloads carry the safety headers; thumbnails have the requested
// bounds; the limits and errors are the spec's.
func TestMedia(t *testing.T) {
	t.Parallel()
	clam := testenv.StartClamAV(t)
	e := newEnvWith(t, func(c *chat.Config) {
		c.Media.ClamAV.Address = clam.Addr
		c.Media.MaxUploadSize = 1 << 20
		c.Media.Storage.Kind, c.Media.Storage.Dir = "disk", filepath.Join(t.TempDir(), "blobs")
	})
	a, b := e.login(alice), e.login(bob)
	ctx := t.Context()
	base := e.srv.URL

	cfg, err := b.GetMediaConfig(ctx)
	if err != nil || cfg.UploadSize != 1<<20 {
		t.Fatalf("config: %+v %v", cfg, err)
	}

	// Upload, then another agent downloads the same bytes, with the
	// headers that keep a browser from running anything.
	pic := pngImage(t, 1000, 500)
	u := upload(t, a, pic, "image/png", "photo.png")
	if u.Homeserver != "bureau.test" {
		t.Fatalf("content uri %s", u)
	}
	got, err := b.DownloadBytes(ctx, u)
	if err != nil || !bytes.Equal(got, pic) {
		t.Fatalf("download: %d bytes, %v", len(got), err)
	}
	r := fetch(t, base, b.AccessToken, dl(u))
	want := map[string]string{
		"Content-Type":                 "image/png",
		"Content-Disposition":          `inline; filename=photo.png`,
		"X-Content-Type-Options":       "nosniff",
		"Cross-Origin-Resource-Policy": "cross-origin",
	}
	for k, v := range want {
		if r.header.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, r.header.Get(k), v)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox;") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	// Range requests (video seeking, resumed downloads).
	if r := fetch(t, base, b.AccessToken, dl(u), "Range", "bytes=100-199"); r.status != http.StatusPartialContent || !bytes.Equal(r.body, pic[100:200]) {
		t.Errorf("range: %d, %d bytes", r.status, len(r.body))
	}
	// The file name in the path overrides the upload's.
	if r := fetch(t, base, b.AccessToken, dl(u)+"/autre.png"); r.header.Get("Content-Disposition") != "inline; filename=autre.png" {
		t.Errorf("named download: %q", r.header.Get("Content-Disposition"))
	}

	// HTML is never shown inline; a non-ASCII name is encoded (RFC 6266).
	page := upload(t, a, []byte("<script>alert(1)</script>"), "text/html", "rapport été.html")
	r = fetch(t, base, b.AccessToken, dl(page))
	if d := r.header.Get("Content-Disposition"); d != `attachment; filename*=utf-8''rapport%20%C3%A9t%C3%A9.html` {
		t.Errorf("html disposition %q", d)
	}

	// Thumbnails: scale keeps the aspect ratio within the bounds, crop
	// fills them; the second request is served from the stored one.
	for _, c := range []struct {
		q    string
		w, h int
	}{{"width=320&height=240&method=scale", 320, 160}, {"width=96&height=96&method=crop", 96, 96}, {"width=320&height=240&method=scale", 320, 160}} {
		r := fetch(t, base, b.AccessToken, "/_matrix/client/v1/media/thumbnail/bureau.test/"+u.FileID+"?"+c.q)
		if r.status != http.StatusOK {
			t.Fatalf("thumbnail %s: %d %s", c.q, r.status, r.body)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(r.body))
		if err != nil || format != "png" || cfg.Width != c.w || cfg.Height != c.h {
			t.Errorf("thumbnail %s: %s %dx%d %v, want %dx%d", c.q, format, cfg.Width, cfg.Height, err, c.w, c.h)
		}
	}
	if r := fetch(t, base, b.AccessToken, "/_matrix/client/v1/media/thumbnail/bureau.test/"+page.FileID+"?width=96&height=96"); r.status != 400 {
		t.Errorf("thumbnail of html: %d", r.status)
	}
	if r := fetch(t, base, b.AccessToken, "/_matrix/client/v1/media/thumbnail/bureau.test/"+u.FileID+"?width=-3&height=x"); r.status != 400 || r.errcode != "M_INVALID_PARAM" {
		t.Errorf("bad thumbnail params: %d %s", r.status, r.errcode)
	}

	// EICAR: never downloadable, its bytes deleted.
	virus := upload(t, a, []byte(testenv.EICAR), "text/plain", "eicar.txt")
	for _, p := range []string{dl(virus), "/_matrix/client/v1/media/thumbnail/bureau.test/" + virus.FileID + "?width=32&height=32"} {
		if r := fetch(t, base, b.AccessToken, p); r.status != http.StatusForbidden || r.errcode != "MCS_MEDIA_NOT_CLEAN" {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
	if r := fetch(t, base, "", "/_matrix/media/v3/download/bureau.test/"+virus.FileID); r.status != http.StatusForbidden {
		t.Errorf("legacy download of EICAR: %d", r.status)
	}
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if strings.Contains(p, virus.FileID) {
			t.Errorf("infected blob still stored: %s", p)
		}
		return nil
	})

	// Limits and errors.
	_, err = a.UploadBytes(ctx, make([]byte, 1<<20+1), "application/octet-stream")
	if errcode(err) != "M_TOO_LARGE" {
		t.Errorf("oversize upload: %v", err)
	}
	// Without Content-Length too (chunked): cut at the limit.
	req, _ := http.NewRequest("POST", base+"/_matrix/media/v3/upload", io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), strings.NewReader("x")))
	req.Header.Set("Authorization", "Bearer "+a.AccessToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 413 {
		t.Errorf("chunked oversize upload: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, c := range []struct {
		token, path, code string
		status            int
	}{
		{"", dl(u), "M_MISSING_TOKEN", 401},
		{"nope", dl(u), "M_UNKNOWN_TOKEN", 401},
		{b.AccessToken, "/_matrix/client/v1/media/download/bureau.test/AAAAunknown", "M_NOT_FOUND", 404},
		{b.AccessToken, "/_matrix/client/v1/media/download/matrix.org/" + u.FileID, "M_NOT_FOUND", 404},
		{b.AccessToken, "/_matrix/client/v1/media/download/bureau.test/bad%21id", "M_INVALID_PARAM", 400},
		{b.AccessToken, "/_matrix/client/v1/media/preview_url?url=https://example.org", "M_UNRECOGNIZED", 404},
	} {
		if r := fetch(t, base, c.token, c.path); r.status != c.status || r.errcode != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.path, r.status, r.errcode, c.status, c.code)
		}
	}
	// Old clients: the unauthenticated download still works (config).
	if r := fetch(t, base, "", "/_matrix/media/v3/download/bureau.test/"+u.FileID); r.status != 200 || !bytes.Equal(r.body, pic) {
		t.Errorf("legacy download: %d", r.status)
	}

	// Asynchronous upload: create, then PUT once, by the creator only.
	created, err := a.CreateMXC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := fetch(t, base, b.AccessToken, dl(created.ContentURI)+"?timeout_ms=0"); r.status != 504 || r.errcode != "M_NOT_YET_UPLOADED" {
		t.Errorf("download before upload: %d %s", r.status, r.errcode)
	}
	put := func(cli *mautrix.Client, body string) (int, string) {
		return raw(t, cli, "PUT", "/_matrix/media/v3/upload/bureau.test/"+created.ContentURI.FileID+"?filename=note.txt", body)
	}
	if st, code := put(b, "intrus"); st != 403 || code != "M_FORBIDDEN" {
		t.Errorf("PUT by another user: %d %s", st, code)
	}
	if st, _ := put(a, "bonjour"); st != 200 {
		t.Fatalf("PUT: %d", st)
	}
	if st, code := put(a, "encore"); st != 409 || code != "M_CANNOT_OVERWRITE_MEDIA" {
		t.Errorf("second PUT: %d %s", st, code)
	}
	if got, err := b.DownloadBytes(ctx, created.ContentURI); err != nil || string(got) != "bonjour" {
		t.Errorf("async download: %q %v", got, err)
	}
}

// TestMediaScanPending: with clamd unreachable, uploads stay pending and
// cannot be downloaded; once clamd is back (after a restart), the queue
// left in the database is scanned and the file is served.
func TestMediaScanPending(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nobody listens
	blobs := filepath.Join(t.TempDir(), "blobs")
	e := newEnvWith(t, func(c *chat.Config) {
		c.Media.ClamAV.Address = addr
		c.Media.Storage.Kind, c.Media.Storage.Dir = "disk", blobs
	})
	a := e.login(alice)
	u := upload(t, a, []byte("rapport"), "text/plain", "r.txt")
	if r := fetch(t, e.srv.URL, a.AccessToken, dl(u)+"?timeout_ms=100"); r.status != 504 || r.errcode != "M_NOT_YET_UPLOADED" {
		t.Fatalf("pending download: %d %s", r.status, r.body)
	}
	addr = testenv.StartClamAV(t).Addr
	e.restart()
	e.retarget(a)
	if r := fetch(t, e.srv.URL, a.AccessToken, dl(u)); r.status != 200 || string(r.body) != "rapport" {
		t.Fatalf("download after scan: %d %s", r.status, r.body)
	}
}

// TestMediaS3: the same content round trip on a real MinIO bucket.
func TestMediaS3(t *testing.T) {
	t.Parallel()
	m := testenv.SharedMinIO(t)
	bucket := m.NewBucket(t)
	e := newEnvWith(t, func(c *chat.Config) {
		s := &c.Media.Storage
		s.Kind, s.S3.Endpoint, s.S3.Bucket, s.S3.AccessKey, s.S3.SecretKey, s.S3.Prefix = "s3", m.Endpoint, bucket, m.AccessKey, m.SecretKey, "chat"
	})
	a := e.login(alice)
	pic := pngImage(t, 64, 64)
	u := upload(t, a, pic, "image/png", "p.png")
	if got, err := a.DownloadBytes(t.Context(), u); err != nil || !bytes.Equal(got, pic) {
		t.Fatalf("download: %d bytes %v", len(got), err)
	}
	if r := fetch(t, e.srv.URL, a.AccessToken, dl(u), "Range", "bytes=-10"); r.status != 206 || !bytes.Equal(r.body, pic[len(pic)-10:]) {
		t.Errorf("range: %d", r.status)
	}
	r := fetch(t, e.srv.URL, a.AccessToken, "/_matrix/client/v1/media/thumbnail/bureau.test/"+u.FileID+"?width=32&height=32&method=crop")
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(r.body)); err != nil || cfg.Width != 32 || cfg.Height != 32 {
		t.Errorf("thumbnail: %d %v", r.status, err)
	}
}
