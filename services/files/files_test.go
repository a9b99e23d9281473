package files_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"bureau/services/files"
	"bureau/services/files/internal/tus"
	"bureau/services/platform/bus"
	"bureau/services/platform/identity"
	"bureau/services/platform/notify"
	"bureau/services/platform/service"
	"bureau/services/platform/testenv"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(b)
	return b
}

// tusCreate starts an upload and returns its path.
func (e *env) tusCreate(u *identity.User, length int64, md map[string]string) (*http.Response, string) {
	e.t.Helper()
	r := e.req(u, "POST", "/api/files/uploads", nil)
	r.Header.Set(tus.HeaderResumable, tus.Version)
	r.Header.Set(tus.HeaderLength, strconv.FormatInt(length, 10))
	r.Header.Set(tus.HeaderMetadata, tus.FormatMetadata(md))
	resp := e.do(r)
	return resp, resp.Header.Get("Location")
}

func (e *env) tusHead(u *identity.User, path string) int64 {
	e.t.Helper()
	r := e.req(u, "HEAD", path, nil)
	r.Header.Set(tus.HeaderResumable, tus.Version)
	resp := e.do(r)
	if resp.StatusCode != 200 {
		e.t.Fatalf("HEAD %s: %d", path, resp.StatusCode)
	}
	off, err := tus.ParseSize(resp.Header.Get(tus.HeaderOffset))
	if err != nil {
		e.t.Fatal(err)
	}
	return off
}

func (e *env) tusPatch(u *identity.User, path string, offset int64, data []byte) *http.Response {
	e.t.Helper()
	r := e.req(u, "PATCH", path, bytes.NewReader(data))
	r.Header.Set(tus.HeaderResumable, tus.Version)
	r.Header.Set("Content-Type", tus.ContentType)
	r.Header.Set(tus.HeaderOffset, strconv.FormatInt(offset, 10))
	return e.do(r)
}

func (e *env) download(u *identity.User, sp, id string, hdr map[string]string) *http.Response {
	e.t.Helper()
	r := e.req(u, "GET", "/api/files/spaces/"+sp+"/nodes/"+id+"/content", nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return e.do(r)
}

// A 50 MB tus upload whose connection drops half-way resumes from the
// offset HEAD reports, and downloads back identical.
func TestTusUploadResumesAfterDroppedConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sp := e.personal(&alice)
	data := randomBytes(50 << 20)
	resp, loc := e.tusCreate(&alice, int64(len(data)), map[string]string{"space": sp.ID, "filename": "archive.bin", "filetype": "application/octet-stream"})
	if resp.StatusCode != 201 || !strings.HasPrefix(loc, "/api/files/uploads/") || resp.Header.Get(tus.HeaderResumable) != tus.Version {
		t.Fatalf("create: %d %q", resp.StatusCode, loc)
	}

	// Send half (not on a part boundary), then close the connection.
	half := len(data)/2 + 12345
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	e.sign(&alice, h)
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: files\r\n%s: %s\r\nTus-Resumable: 1.0.0\r\nContent-Type: %s\r\nUpload-Offset: 0\r\nContent-Length: %d\r\n\r\n",
		loc, identity.Header, h.Get(identity.Header), tus.ContentType, len(data))
	if _, err := conn.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	// Everything that reached the server is kept: the offset climbs to
	// exactly what was sent (HEAD waits for the interrupted PATCH).
	deadline := time.Now().Add(30 * time.Second)
	var off int64
	for off = e.tusHead(&alice, loc); off != int64(half); off = e.tusHead(&alice, loc) {
		if off > int64(half) || time.Now().After(deadline) {
			t.Fatalf("offset %d after sending %d", off, half)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}

	// A wrong offset is refused, the right one completes the file.
	if resp := e.tusPatch(&alice, loc, 0, data[:10]); resp.StatusCode != 409 {
		t.Fatalf("PATCH at a stale offset: %d", resp.StatusCode)
	}
	resp = e.tusPatch(&alice, loc, off, data[off:])
	if resp.StatusCode != 204 || resp.Header.Get(tus.HeaderOffset) != strconv.Itoa(len(data)) {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("resume: %d %s offset %s", resp.StatusCode, b, resp.Header.Get(tus.HeaderOffset))
	}
	id := resp.Header.Get("Bureau-File-Id")
	if n := e.waitScan(&alice, sp.ID, id); n.Scan != "clean" || n.Size != int64(len(data)) || n.Name != "archive.bin" {
		t.Fatalf("file: %+v", n)
	}
	// The finished upload is gone.
	r := e.req(&alice, "HEAD", loc, nil)
	r.Header.Set(tus.HeaderResumable, tus.Version)
	if resp := e.do(r); resp.StatusCode != 404 {
		t.Fatalf("HEAD of a finished upload: %d", resp.StatusCode)
	}

	resp = e.download(&alice, sp.ID, id, nil)
	hash := sha256.New()
	if _, err := io.Copy(hash, resp.Body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %d %v", resp.StatusCode, err)
	}
	if want := sha256.Sum256(data); !bytes.Equal(hash.Sum(nil), want[:]) {
		t.Fatal("downloaded bytes differ from the uploaded ones")
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename=archive.bin` {
		t.Errorf("Content-Disposition %q", cd)
	}
	etag := resp.Header.Get("ETag")

	// Range and conditional requests.
	resp = e.download(&alice, sp.ID, id, map[string]string{"Range": "bytes=1000-1999"})
	part, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 206 || !bytes.Equal(part, data[1000:2000]) {
		t.Fatalf("range: %d, %d bytes", resp.StatusCode, len(part))
	}
	resp = e.download(&alice, sp.ID, id, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(data)-10)})
	part, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 206 || !bytes.Equal(part, data[len(data)-10:]) {
		t.Fatalf("suffix range: %d, %d bytes", resp.StatusCode, len(part))
	}
	if resp := e.download(&alice, sp.ID, id, map[string]string{"If-None-Match": etag}); resp.StatusCode != 304 || etag == "" {
		t.Fatalf("If-None-Match %s: %d", etag, resp.StatusCode)
	}
}

// tus details: OPTIONS, version check, checksums, termination, the
// empty file, someone else's upload.
func TestTusProtocol(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	sp := e.personal(&alice)

	resp := e.do(e.req(nil, "OPTIONS", "/api/files/uploads", nil))
	if resp.StatusCode != 204 || resp.Header.Get(tus.HeaderVersion) != "1.0.0" || !strings.Contains(resp.Header.Get(tus.HeaderExtension), "termination") {
		t.Fatalf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
	r := e.req(&alice, "POST", "/api/files/uploads", nil)
	r.Header.Set(tus.HeaderLength, "10")
	if resp := e.do(r); resp.StatusCode != 412 {
		t.Fatalf("no Tus-Resumable: %d", resp.StatusCode)
	}

	data := randomBytes(7 << 20)
	_, loc := e.tusCreate(&alice, int64(len(data)), map[string]string{"space": sp.ID, "filename": "c.bin"})
	if resp := e.tusPatch(&bruno, loc, 0, data[:10]); resp.StatusCode != 404 {
		t.Fatalf("someone else's upload: %d", resp.StatusCode)
	}
	patchSum := func(off int64, chunk []byte, sum [32]byte) *http.Response {
		r := e.req(&alice, "PATCH", loc, bytes.NewReader(chunk))
		r.Header.Set(tus.HeaderResumable, tus.Version)
		r.Header.Set("Content-Type", tus.ContentType)
		r.Header.Set(tus.HeaderOffset, strconv.FormatInt(off, 10))
		r.Header.Set(tus.HeaderChecksum, "sha256 "+b64(sum[:]))
		return e.do(r)
	}
	first := data[:6<<20] // more than a part: one part goes to S3 before the check
	if resp := patchSum(0, first, sha256.Sum256([]byte("other"))); resp.StatusCode != 460 {
		t.Fatalf("bad checksum: %d", resp.StatusCode)
	}
	if off := e.tusHead(&alice, loc); off != 0 {
		t.Fatalf("a chunk with a bad checksum was kept: offset %d", off)
	}
	if resp := patchSum(0, first, sha256.Sum256(first)); resp.StatusCode != 204 {
		t.Fatalf("good checksum: %d", resp.StatusCode)
	}
	if resp := e.tusPatch(&alice, loc, int64(len(first)), data); resp.StatusCode != 413 {
		t.Fatalf("chunk past the end: %d", resp.StatusCode)
	}
	resp = e.tusPatch(&alice, loc, int64(len(first)), data[len(first):])
	if resp.StatusCode != 204 {
		t.Fatalf("last chunk: %d", resp.StatusCode)
	}
	got, _ := io.ReadAll(e.download(&alice, sp.ID, resp.Header.Get("Bureau-File-Id"), nil).Body)
	if !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}

	// Termination.
	_, loc = e.tusCreate(&alice, 100, map[string]string{"space": sp.ID, "filename": "t.bin"})
	e.tusPatch(&alice, loc, 0, data[:50])
	r = e.req(&alice, "DELETE", loc, nil)
	r.Header.Set(tus.HeaderResumable, tus.Version)
	if resp := e.do(r); resp.StatusCode != 204 {
		t.Fatalf("terminate: %d", resp.StatusCode)
	}
	r = e.req(&alice, "HEAD", loc, nil)
	r.Header.Set(tus.HeaderResumable, tus.Version)
	if resp := e.do(r); resp.StatusCode != 404 {
		t.Fatalf("HEAD after termination: %d", resp.StatusCode)
	}

	// An empty file exists as soon as it is created.
	resp, _ = e.tusCreate(&alice, 0, map[string]string{"space": sp.ID, "filename": "vide.txt"})
	if resp.StatusCode != 201 || resp.Header.Get("Bureau-File-Id") == "" {
		t.Fatalf("empty upload: %d", resp.StatusCode)
	}
}

// EICAR is quarantined, never downloadable, and its uploader told so.
func TestEICARIsQuarantined(t *testing.T) {
	t.Parallel()
	b := bus.NewMemory(bus.MemoryOptions{})
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	events, err := b.Subscribe(ctx, notify.Topic)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{bus: b})
	sp := e.personal(&alice)
	var dir node
	e.call(&alice, "POST", "/api/files/spaces/"+sp.ID+"/folders", map[string]string{"name": "Pièces"}, 201, &dir)
	n := e.putFile(&alice, sp.ID, dir.ID, "eicar.com", []byte(testenv.EICAR))
	if n.Scan != "pending" {
		t.Fatalf("new file scan state %q", n.Scan)
	}
	if n = e.waitScan(&alice, sp.ID, n.ID); n.Scan != "infected" {
		t.Fatalf("EICAR scanned %q", n.Scan)
	}
	// Quarantined everywhere: not in a zip (listed as left out), not
	// found by search, not copied.
	clean := e.putFile(&alice, sp.ID, dir.ID, "propre.txt", []byte("propre"))
	e.waitScan(&alice, sp.ID, clean.ID)
	files := e.unzip(&alice, sp.ID, dir.ID)
	if len(files) != 3 || files["Pièces/propre.txt"] != "propre" || !strings.Contains(files["Pièces/LISEZ-MOI - fichiers non inclus.txt"], "Pièces/eicar.com — infecté") {
		t.Fatalf("zip with a quarantined file: %v", files)
	}
	if hits := e.search(&alice, "eicar"); len(hits) != 0 {
		t.Fatalf("search finds a quarantined file: %+v", hits)
	}
	expectCode(t, e, &alice, "POST", "/api/files/spaces/"+sp.ID+"/nodes/"+n.ID+"/copy", map[string]string{"name": "copie.com"}, 409, "file_infected")
	for _, hdr := range []map[string]string{nil, {"Range": "bytes=0-10"}} {
		resp := e.download(&alice, sp.ID, n.ID, hdr)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 409 || !strings.Contains(string(body), "file_infected") || strings.Contains(string(body), "EICAR") {
			t.Fatalf("download of EICAR: %d %s", resp.StatusCode, body)
		}
	}
	select {
	case msg := <-events:
		ev, err := notify.Decode(msg)
		if err != nil {
			t.Fatal(err)
		}
		note, err := ev.Notification()
		if err != nil || ev.User != alice.ID || !strings.Contains(note.Title, "infecté") || !strings.Contains(note.Body, "eicar.com") {
			t.Fatalf("notification %+v %+v %v", ev, note, err)
		}
	case <-ctx.Done():
		t.Fatal("no notification of the scan result")
	}
}

// A scan that could not run (clamd down) stays pending, the file cannot
// be downloaded, and the next start of the service scans it.
func TestPendingScansResumeAfterRestart(t *testing.T) {
	t.Parallel()
	pub, priv, _ := identity.GenerateKey()
	o := envOptions{
		dbURL:  "sqlite://" + t.TempDir() + "/files.db",
		bucket: testenv.SharedMinIO(t).NewBucket(t),
		clamav: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), // nobody listens
	}
	e := startEnv(t, o, pub, priv)
	sp := e.personal(&alice)
	n := e.putFile(&alice, sp.ID, "", "note.txt", []byte("bonjour"))
	if code, errc := e.errCode(&alice, "GET", "/api/files/spaces/"+sp.ID+"/nodes/"+n.ID+"/content", nil); code != 423 || errc != "scan_pending" {
		t.Fatalf("download while pending: %d %s", code, errc)
	}
	e.stop()

	o.clamav = testenv.StartClamAV(t).Addr
	e = startEnv(t, o, pub, priv)
	if n = e.waitScan(&alice, sp.ID, n.ID); n.Scan != "clean" {
		t.Fatalf("after restart: %q", n.Scan)
	}
	body, _ := io.ReadAll(e.download(&alice, sp.ID, n.ID, nil).Body)
	if string(body) != "bonjour" {
		t.Fatalf("content %q", body)
	}
}

// Non-members — of another ministry or not — get 404 on a private space
// and everything in it, exactly as for a space that does not exist.
func TestOutsidersGet404(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	var team space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Projet Marianne"}, 201, &team)
	f := e.putFile(&alice, team.ID, "", "budget.ods", []byte("secret"))
	var folder node
	e.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/folders", map[string]string{"name": "Dossier"}, 201, &folder)
	e.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/members", map[string]string{"user_id": bruno.ID, "role": "reader"}, 201, nil)
	mine := e.personal(&alice)
	other := e.putFile(&alice, mine.ID, "", "perso.txt", []byte("x"))

	type call struct {
		method, path string
		body         any
	}
	calls := func(sp, file string) []call {
		return []call{
			{"GET", "/api/files/spaces/" + sp, nil},
			{"GET", "/api/files/spaces/" + sp + "/members", nil},
			{"POST", "/api/files/spaces/" + sp + "/members", map[string]string{"user_id": chloe.ID, "role": "owner"}},
			{"GET", "/api/files/spaces/" + sp + "/nodes", nil},
			{"GET", "/api/files/spaces/" + sp + "/nodes/" + file, nil},
			{"GET", "/api/files/spaces/" + sp + "/nodes/" + file + "/content", nil},
			{"PATCH", "/api/files/spaces/" + sp + "/nodes/" + file, map[string]string{"name": "x"}},
			{"DELETE", "/api/files/spaces/" + sp + "/nodes/" + file, nil},
			{"GET", "/api/files/spaces/" + sp + "/trash", nil},
			{"POST", "/api/files/spaces/" + sp + "/trash/" + file + "/restore", nil},
			{"POST", "/api/files/spaces/" + sp + "/folders", map[string]string{"name": "x"}},
		}
	}
	for _, u := range []*identity.User{&chloe, &outside} {
		for _, target := range [][2]string{{team.ID, f.ID}, {mine.ID, other.ID}, {"aaaaaaaaaaaaaaaaaaaaaaaaaa", f.ID}} {
			for _, p := range calls(target[0], target[1]) {
				if code, errc := e.errCode(u, p.method, p.path, p.body); code != 404 || errc != "space_not_found" {
					t.Errorf("%s %s %s: %d %s, want 404 space_not_found", u.Email, p.method, p.path, code, errc)
				}
			}
		}
		resp := e.do(e.req(u, "PUT", "/api/files/spaces/"+team.ID+"/content?name=x", strings.NewReader("x")))
		if resp.StatusCode != 404 {
			t.Errorf("PUT by %s: %d", u.Email, resp.StatusCode)
		}
		if resp, _ := e.tusCreate(u, 10, map[string]string{"space": team.ID, "filename": "x"}); resp.StatusCode != 404 {
			t.Errorf("tus create by %s: %d", u.Email, resp.StatusCode)
		}
	}
	// Anonymous requests are refused outright.
	if code, _ := e.errCode(nil, "GET", "/api/files/spaces", nil); code != 401 {
		t.Errorf("anonymous: %d", code)
	}
	// A reader reads but does not write; he knows the space, so 403.
	if resp := e.download(&bruno, team.ID, f.ID, nil); resp.StatusCode != 200 {
		t.Errorf("reader download: %d", resp.StatusCode)
	}
	if code, errc := e.errCode(&bruno, "DELETE", "/api/files/spaces/"+team.ID+"/nodes/"+f.ID, nil); code != 403 || errc != "forbidden" {
		t.Errorf("reader delete: %d %s", code, errc)
	}
	// Externals are invited, they do not create spaces, nor have their own.
	if code, errc := e.errCode(&outside, "POST", "/api/files/spaces", map[string]string{"name": "x"}); code != 403 || errc != "externals_cannot_create_spaces" {
		t.Errorf("external creates a space: %d %s", code, errc)
	}
	var list struct{ Spaces []space }
	e.call(&outside, "GET", "/api/files/spaces", nil, 200, &list)
	if len(list.Spaces) != 0 {
		t.Errorf("external's spaces: %+v", list.Spaces)
	}
	e.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/members", map[string]string{"user_id": outside.ID, "role": "editor"}, 201, nil)
	e.call(&outside, "GET", "/api/files/spaces", nil, 200, &list)
	if len(list.Spaces) != 1 || list.Spaces[0].ID != team.ID || list.Spaces[0].Role != "editor" {
		t.Errorf("invited external's spaces: %+v", list.Spaces)
	}
}

// Bad names and traversal attempts are refused with 400 or 404, never
// stored and never a 500.
func TestBadNamesAndTraversal(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	sp := e.personal(&alice).ID
	var folder node
	e.call(&alice, "POST", "/api/files/spaces/"+sp+"/folders", map[string]string{"name": "Dossier"}, 201, &folder)
	for _, name := range []string{"", ".", "..", "../etc/passwd", "a/b", `a\b`, "a\x00b", "a\nb", " x", strings.Repeat("a", 256)} {
		if code, errc := e.errCode(&alice, "POST", "/api/files/spaces/"+sp+"/folders", map[string]string{"name": name}); code != 400 || errc != "invalid_name" {
			t.Errorf("folder %q: %d %s", name, code, errc)
		}
		resp := e.do(e.req(&alice, "PUT", "/api/files/spaces/"+sp+"/content?name="+urlEscape(name), strings.NewReader("x")))
		if resp.StatusCode != 400 {
			t.Errorf("PUT %q: %d", name, resp.StatusCode)
		}
		if resp, _ := e.tusCreate(&alice, 1, map[string]string{"space": sp, "filename": name}); resp.StatusCode != 400 {
			t.Errorf("tus %q: %d", name, resp.StatusCode)
		}
		if code, _ := e.errCode(&alice, "PATCH", "/api/files/spaces/"+sp+"/nodes/"+folder.ID, map[string]string{"name": name}); code != 400 {
			t.Errorf("rename to %q: %d", name, code)
		}
	}
	for _, p := range []string{
		"/api/files/spaces/" + sp + "/nodes/..%2F..%2Fetc",
		"/api/files/spaces/" + sp + "/nodes/%2e%2e",
		"/api/files/spaces/" + sp + "/nodes/" + folder.ID + "%2F..",
		"/api/files/spaces/..%2F" + sp + "/nodes",
		"/api/files/spaces/" + sp + "/nodes?parent=..%2F",
	} {
		if code, _ := e.errCode(&alice, "GET", p, nil); code != 404 {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	if resp := e.do(e.req(&alice, "PUT", "/api/files/spaces/"+sp+"/content?parent=..&name=x", strings.NewReader("x"))); resp.StatusCode != 404 {
		t.Errorf("PUT into parent ..: %d", resp.StatusCode)
	}
}

// Sizes over the maximum are refused before any data is sent.
func TestTooLargeRefusedBeforeData(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-", maxSize: 1 << 20})
	sp := e.personal(&alice).ID
	resp, _ := e.tusCreate(&alice, 1<<20+1, map[string]string{"space": sp, "filename": "gros.bin"})
	if resp.StatusCode != 413 {
		t.Fatalf("tus create over the maximum: %d", resp.StatusCode)
	}
	resp = e.do(e.req(&alice, "OPTIONS", "/api/files/uploads", nil))
	if resp.Header.Get(tus.HeaderMaxSize) != strconv.Itoa(1<<20) {
		t.Fatalf("Tus-Max-Size %q", resp.Header.Get(tus.HeaderMaxSize))
	}
	// A PUT announcing too much, with Expect: 100-continue, is answered
	// 413 while the client has sent only headers.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := http.Header{}
	e.sign(&alice, h)
	fmt.Fprintf(conn, "PUT /api/files/spaces/%s/content?name=gros.bin HTTP/1.1\r\nHost: files\r\n%s: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		sp, identity.Header, h.Get(identity.Header), 2<<20)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusCode != 413 {
		t.Fatalf("PUT over the maximum: %d", got.StatusCode)
	}
}

// Folders and files: create, conflicts, rename, move, trash, restore,
// listing order and pagination.
func TestTree(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	sp := e.personal(&alice).ID
	base := "/api/files/spaces/" + sp
	var a, b node
	e.call(&alice, "POST", base+"/folders", map[string]string{"name": "Archives"}, 201, &a)
	e.call(&alice, "POST", base+"/folders", map[string]string{"name": "Budget", "parent": a.ID}, 201, &b)
	if code, errc := e.errCode(&alice, "POST", base+"/folders", map[string]string{"name": "ARCHIVES"}); code != 409 || errc != "name_taken" {
		t.Fatalf("case-insensitive conflict: %d %s", code, errc)
	}
	f := e.putFile(&alice, sp, b.ID, "Note.txt", []byte("v1"))
	if g := e.putFile(&alice, sp, b.ID, "note.TXT", []byte("version 2")); g.ID != f.ID || g.Size != 9 || g.VersionID == f.VersionID {
		t.Fatalf("overwrite is a new version of the same file: %+v vs %+v", g, f)
	}
	if code, errc := e.errCode(&alice, "PATCH", base+"/nodes/"+a.ID, map[string]string{"parent": b.ID}); code != 400 || errc != "move_into_itself" {
		t.Fatalf("move into a descendant: %d %s", code, errc)
	}
	var moved node
	e.call(&alice, "PATCH", base+"/nodes/"+f.ID, map[string]string{"parent": "", "name": "Compte rendu.txt"}, 200, &moved)
	if moved.ParentID != "" || moved.Name != "Compte rendu.txt" {
		t.Fatalf("moved: %+v", moved)
	}
	// Trash a folder: its content disappears with it, and comes back.
	e.call(&alice, "PATCH", base+"/nodes/"+f.ID, map[string]string{"parent": b.ID}, 200, nil)
	e.call(&alice, "DELETE", base+"/nodes/"+a.ID, nil, 204, nil)
	if code, _ := e.errCode(&alice, "GET", base+"/nodes/"+f.ID+"/content", nil); code != 404 {
		t.Fatalf("file in a trashed folder: %d", code)
	}
	var trash struct{ Items []node }
	e.call(&alice, "GET", base+"/trash", nil, 200, &trash)
	if len(trash.Items) != 1 || trash.Items[0].ID != a.ID {
		t.Fatalf("trash: %+v", trash.Items)
	}
	e.call(&alice, "POST", base+"/folders", map[string]string{"name": "archives"}, 201, nil)
	if code, errc := e.errCode(&alice, "POST", base+"/trash/"+a.ID+"/restore", nil); code != 409 || errc != "name_taken" {
		t.Fatalf("restore onto a taken name: %d %s", code, errc)
	}
	// Once the new "archives" is itself in the trash, the old one returns.
	var page struct {
		Items []node
		Total int
	}
	e.call(&alice, "GET", base+"/nodes", nil, 200, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "archives" {
		t.Fatalf("root: %+v", page.Items)
	}
	e.call(&alice, "DELETE", base+"/nodes/"+page.Items[0].ID, nil, 204, nil)
	e.call(&alice, "POST", base+"/trash/"+a.ID+"/restore", nil, 200, nil)
	if resp := e.download(&alice, sp, f.ID, nil); resp.StatusCode != 200 {
		t.Fatalf("restored file: %d", resp.StatusCode)
	}

	// Listing: folders first, sorted, paginated.
	for i := range 25 {
		e.putFile(&alice, sp, "", fmt.Sprintf("f%02d.txt", i), bytes.Repeat([]byte("x"), i))
	}
	e.call(&alice, "GET", base+"/nodes?sort=size&order=desc&limit=10&offset=1", nil, 200, &page)
	if page.Total != 26 || len(page.Items) != 10 || page.Items[0].Name != "f24.txt" || page.Items[9].Name != "f15.txt" {
		t.Fatalf("page: %d %+v", page.Total, page.Items)
	}
	if code, _ := e.errCode(&alice, "GET", base+"/nodes?sort=color", nil); code != 400 {
		t.Fatalf("unknown sort: %d", code)
	}
}

func TestConfig(t *testing.T) {
	c := files.Default()
	c.Common.PublicURL = "http://localhost:8080"
	pub, _, _ := identity.GenerateKey()
	c.Common.GatewayPublicKey = identity.EncodePublicKey(pub)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	c.Storage.Kind = "s3"
	c.Database.URL = "mysql://x"
	c.UploadPartSize = 1 << 20
	c.ClamAV.Address = "nohost"
	err := c.Validate()
	for _, field := range []string{"storage.s3.endpoint", "storage.s3.bucket", "database.url", "upload_part_size", "clamav.address"} {
		if err == nil || !strings.Contains(err.Error(), field+":") {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
}

// With an empty configuration (the all-in-one today), the service runs on
// an in-memory database and a temporary directory, without antivirus.
func TestEmbeddedFallbacks(t *testing.T) {
	t.Parallel()
	pub, priv, _ := identity.GenerateKey()
	c := files.Default()
	base := service.NewWithKey("files", slog.New(slog.NewTextHandler(io.Discard, nil)), pub, time.Second)
	r, err := files.New(t.Context(), c, base)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	srv := httptest.NewServer(base.Identity.Middleware(r.Handler()))
	defer srv.Close()
	e := &env{t: t, URL: srv.URL, signer: identity.NewSigner(priv, 30*time.Second)}
	sp := e.personal(&alice)
	n := e.putFile(&alice, sp.ID, "", "a.txt", []byte("salut"))
	if n.Scan != "skipped" {
		t.Fatalf("scan state without antivirus: %q", n.Scan)
	}
	if body, _ := io.ReadAll(e.download(&alice, sp.ID, n.ID, nil).Body); string(body) != "salut" {
		t.Fatalf("content %q", body)
	}
}
