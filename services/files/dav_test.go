package files_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bureau/services/platform/identity"
	"bureau/services/platform/testenv"
)

const davPassword = "mot-de-passe-d-application"

// davFront mimics the gateway's WebDAV step: Basic auth with an agent's
// email and app password, replaced by the agent's signed identity token.
func (e *env) davFront(users ...*identity.User) *httptest.Server {
	e.t.Helper()
	target, _ := url.Parse(e.URL)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = pr.In.Host },
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		email, pass, ok := r.BasicAuth()
		for _, u := range users {
			if ok && email == u.Email && pass == davPassword {
				r.Header.Del("Authorization")
				e.sign(u, r.Header)
				proxy.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="Bureau"`)
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
	}))
	e.t.Cleanup(srv.Close)
	return srv
}

func davReq(t *testing.T, u *identity.User, method, url string, body io.Reader, hdr map[string]string) *http.Response {
	t.Helper()
	r, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if u != nil {
		r.SetBasicAuth(u.Email, davPassword)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitTree waits until no file under folder is awaiting its scan.
func (e *env) waitTree(u *identity.User, sp, folder string) {
	e.t.Helper()
	var page struct{ Items []node }
	e.call(u, "GET", "/api/files/spaces/"+sp+"/nodes?limit=1000&parent="+folder, nil, 200, &page)
	for _, n := range page.Items {
		if n.Kind == "folder" {
			e.waitTree(u, sp, n.ID)
		} else if n.Scan == "pending" {
			e.waitScan(u, sp, n.ID)
		}
	}
}

// rclone copies a folder tree in through WebDAV, copies it back out, and
// finds no difference.
func TestWebDAVRclone(t *testing.T) {
	t.Parallel()
	rclone, err := exec.LookPath("rclone")
	if err != nil {
		t.Fatal("rclone is required (apt-get install rclone): ", err)
	}
	e := newEnv(t, envOptions{})
	sp := e.personal(&alice)
	front := e.davFront(&alice)

	src := t.TempDir()
	files := map[string][]byte{
		"notes.txt":                          []byte("bonjour\n"),
		"vide.txt":                           nil,
		"Été 2024/rapport final.odt":         randomBytes(100 << 10),
		"Été 2024/annexes/données (1).csv":   []byte("a;b\n1;2\n"),
		"Été 2024/annexes/grand fichier.bin": randomBytes(7 << 20), // over a part
		"archives/2023/#1 & 50%.txt":         []byte("caractères spéciaux"),
	}
	for name, data := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	obscured, err := exec.Command(rclone, "obscure", davPassword).Output()
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, rclone, append(args, "--retries", "1", "--low-level-retries", "1")...)
		cmd.Env = append(os.Environ(),
			"RCLONE_CONFIG="+filepath.Join(t.TempDir(), "rclone.conf"),
			"RCLONE_CONFIG_BUREAU_TYPE=webdav",
			"RCLONE_CONFIG_BUREAU_URL="+front.URL+"/dav/",
			"RCLONE_CONFIG_BUREAU_VENDOR=other",
			"RCLONE_CONFIG_BUREAU_USER="+alice.Email,
			"RCLONE_CONFIG_BUREAU_PASS="+strings.TrimSpace(string(obscured)),
		)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rclone %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	remote := "bureau:Mon espace/Import"
	run("copy", src, remote)

	// The tree is in the same metadata and blobs as the API's.
	var page struct{ Items []node }
	e.call(&alice, "GET", "/api/files/spaces/"+sp.ID+"/nodes", nil, 200, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "Import" || page.Items[0].Kind != "folder" {
		t.Fatalf("root after rclone copy: %+v", page.Items)
	}
	e.waitTree(&alice, sp.ID, page.Items[0].ID)

	out := t.TempDir()
	run("copy", remote, out)
	n := 0
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		got, _ := os.ReadFile(p)
		if want, ok := files[filepath.ToSlash(rel)]; !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, differs or unexpected", rel, len(got))
		}
		n++
		return nil
	})
	if n != len(files) {
		t.Errorf("copied out %d files, want %d", n, len(files))
	}
	run("check", src, remote)
	run("check", "--download", src, remote)
}

// WebDAV methods over the API's spaces: the root, PROPFIND, PUT (new
// version, antivirus), GET with Range, MKCOL, MOVE, COPY, DELETE to the
// trash, LOCK/UNLOCK, and nothing of anyone else's.
func TestWebDAVMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	sp := e.personal(&alice)
	var t1, t2 space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Projet"}, 201, &t1)
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "projet"}, 201, &t2)
	front := e.davFront(&alice, &chloe)
	dav := front.URL + "/dav/"

	// Without credentials: 401 (from the front, as the gateway does).
	if resp := davReq(t, nil, "PROPFIND", dav, nil, map[string]string{"Depth": "1"}); resp.StatusCode != 401 {
		t.Fatalf("anonymous PROPFIND: %d", resp.StatusCode)
	}
	// The root: spaces as folders, personal first, names made unique.
	resp := davReq(t, &alice, "PROPFIND", dav, nil, map[string]string{"Depth": "1"})
	body := readAll(t, resp)
	if resp.StatusCode != 207 {
		t.Fatalf("PROPFIND /dav/: %d %s", resp.StatusCode, body)
	}
	// The older of the two keeps the plain name (created_at, then id).
	var all struct {
		Spaces []struct {
			ID        string
			CreatedAt time.Time `json:"created_at"`
		}
	}
	e.call(&alice, "GET", "/api/files/spaces", nil, 200, &all)
	var c1, c2 time.Time
	for _, s := range all.Spaces {
		if s.ID == t1.ID {
			c1 = s.CreatedAt
		} else if s.ID == t2.ID {
			c2 = s.CreatedAt
		}
	}
	plain, suffixed := "/dav/Projet/", "/dav/projet%20%282%29/"
	if c2.Before(c1) || (c2.Equal(c1) && t2.ID < t1.ID) {
		t1, t2 = t2, t1
		plain, suffixed = "/dav/projet/", "/dav/Projet%20%282%29/"
	}
	iMon, iP1, iP2 := strings.Index(body, "/dav/Mon%20espace/"), strings.Index(body, plain), strings.Index(body, suffixed)
	if iMon < 0 || iP1 < 0 || iP2 < 0 || iMon > iP1 || iMon > iP2 {
		t.Fatalf("root listing (want %s and %s):\n%s", plain, suffixed, body)
	}

	// PUT, GET, Range.
	data := randomBytes(1 << 20)
	if resp := davReq(t, &alice, "MKCOL", dav+"Projet/Dossier", nil, nil); resp.StatusCode != 201 {
		t.Fatalf("MKCOL: %d", resp.StatusCode)
	}
	if resp := davReq(t, &alice, "MKCOL", dav+"Nouvel%20espace", nil, nil); resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Fatalf("MKCOL at the root: %d", resp.StatusCode)
	}
	resp = davReq(t, &alice, "PUT", dav+"Projet/Dossier/a.bin", bytes.NewReader(data), nil)
	if resp.StatusCode != 201 || resp.Header.Get("ETag") == "" {
		t.Fatalf("PUT: %d %s", resp.StatusCode, readAll(t, resp))
	}
	v1 := resp.Header.Get("ETag")
	var page struct{ Items []node }
	e.call(&alice, "GET", "/api/files/spaces/"+t1.ID+"/nodes", nil, 200, &page)
	folder := page.Items[0]
	e.call(&alice, "GET", "/api/files/spaces/"+t1.ID+"/nodes?parent="+folder.ID, nil, 200, &page)
	file := page.Items[0]
	if file.Name != "a.bin" || file.Size != int64(len(data)) || `"`+file.VersionID+`"` != v1 {
		t.Fatalf("file through the API: %+v (etag %s)", file, v1)
	}
	e.waitScan(&alice, t1.ID, file.ID)
	resp = davReq(t, &alice, "GET", dav+"Projet/Dossier/a.bin", nil, map[string]string{"Range": "bytes=10-19"})
	if got := readAll(t, resp); resp.StatusCode != 206 || got != string(data[10:20]) {
		t.Fatalf("GET Range: %d", resp.StatusCode)
	}
	// Overwriting makes a new version of the same file.
	resp = davReq(t, &alice, "PUT", dav+"Projet/Dossier/A.BIN", strings.NewReader("v2"), nil)
	if resp.StatusCode != 201 && resp.StatusCode != 204 {
		t.Fatalf("PUT over: %d", resp.StatusCode)
	}
	var again node
	e.call(&alice, "GET", "/api/files/spaces/"+t1.ID+"/nodes/"+file.ID, nil, 200, &again)
	if again.VersionID == file.VersionID || again.Size != 2 || again.Name != "a.bin" {
		t.Fatalf("after overwrite: %+v", again)
	}

	// EICAR is quarantined: never served through WebDAV either.
	resp = davReq(t, &alice, "PUT", dav+"Mon%20espace/eicar.com", strings.NewReader(testenv.EICAR), nil)
	if resp.StatusCode != 201 {
		t.Fatalf("PUT eicar: %d", resp.StatusCode)
	}
	e.call(&alice, "GET", "/api/files/spaces/"+sp.ID+"/nodes", nil, 200, &page)
	if n := e.waitScan(&alice, sp.ID, page.Items[0].ID); n.Scan != "infected" {
		t.Fatalf("eicar: %+v", n)
	}
	if resp := davReq(t, &alice, "GET", dav+"Mon%20espace/eicar.com", nil, nil); resp.StatusCode != 409 || !strings.Contains(readAll(t, resp), "file_infected") {
		t.Fatalf("GET eicar: %d", resp.StatusCode)
	}

	// COPY, MOVE (rename + move), DELETE to the trash.
	if resp := davReq(t, &alice, "COPY", dav+"Projet/Dossier/a.bin", nil, map[string]string{"Destination": dav + "Projet/copie.bin"}); resp.StatusCode != 201 {
		t.Fatalf("COPY: %d", resp.StatusCode)
	}
	if resp := davReq(t, &alice, "MOVE", dav+"Projet/copie.bin", nil, map[string]string{"Destination": dav + "Projet/Dossier/déplacé.bin"}); resp.StatusCode != 201 {
		t.Fatalf("MOVE: %d", resp.StatusCode)
	}
	if resp := davReq(t, &alice, "MOVE", dav+"Projet/Dossier/déplacé.bin", nil, map[string]string{"Destination": dav + "Mon%20espace/x.bin"}); resp.StatusCode != 201 {
		t.Fatalf("MOVE across spaces: %d", resp.StatusCode)
	}
	if resp := davReq(t, &alice, "MOVE", dav+"Mon%20espace/x.bin", nil, map[string]string{"Destination": dav + "Projet/Dossier/déplacé.bin"}); resp.StatusCode != 201 {
		t.Fatalf("MOVE back: %d", resp.StatusCode)
	}
	e.waitTree(&alice, t1.ID, folder.ID)
	if got := readAll(t, davReq(t, &alice, "GET", dav+"Projet/Dossier/d%C3%A9plac%C3%A9.bin", nil, nil)); got != "v2" {
		t.Fatalf("moved copy: %q", got)
	}
	if resp := davReq(t, &alice, "DELETE", dav+"Projet/Dossier/déplacé.bin", nil, nil); resp.StatusCode != 204 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	var trash struct{ Items []node }
	e.call(&alice, "GET", "/api/files/spaces/"+t1.ID+"/trash", nil, 200, &trash)
	if len(trash.Items) != 1 || trash.Items[0].Name != "déplacé.bin" {
		t.Fatalf("trash: %+v", trash.Items)
	}

	// LOCK: a PUT without the token is refused, with it accepted; UNLOCK.
	lockBody := `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>`
	resp = davReq(t, &alice, "LOCK", dav+"Projet/Dossier/a.bin", strings.NewReader(lockBody), map[string]string{"Timeout": "Second-60"})
	token := resp.Header.Get("Lock-Token")
	if resp.StatusCode != 200 || token == "" || !strings.Contains(readAll(t, resp), "/Projet/Dossier/a.bin") {
		t.Fatalf("LOCK: %d %q", resp.StatusCode, token)
	}
	if resp := davReq(t, &alice, "PUT", dav+"Projet/Dossier/a.bin", strings.NewReader("v3"), nil); resp.StatusCode != 423 {
		t.Fatalf("PUT on a locked file: %d", resp.StatusCode)
	}
	if resp := davReq(t, &alice, "PUT", dav+"Projet/Dossier/a.bin", strings.NewReader("v3"), map[string]string{"If": "(" + token + ")"}); resp.StatusCode != 201 && resp.StatusCode != 204 {
		t.Fatalf("PUT with the lock token: %d", resp.StatusCode)
	}
	if resp := davReq(t, &alice, "UNLOCK", dav+"Projet/Dossier/a.bin", nil, map[string]string{"Lock-Token": token}); resp.StatusCode != 204 {
		t.Fatalf("UNLOCK: %d", resp.StatusCode)
	}

	// Another ministry sees only its own spaces and nothing of these.
	body = readAll(t, davReq(t, &chloe, "PROPFIND", dav, nil, map[string]string{"Depth": "1"}))
	if strings.Contains(body, "Projet") || !strings.Contains(body, "Mon%20espace") {
		t.Fatalf("chloe's root:\n%s", body)
	}
	for _, m := range []string{"GET", "PROPFIND", "DELETE"} {
		if resp := davReq(t, &chloe, m, dav+"Projet/Dossier/a.bin", nil, nil); resp.StatusCode != 404 {
			t.Fatalf("chloe %s: %d", m, resp.StatusCode)
		}
	}
	if resp := davReq(t, &chloe, "PUT", dav+"Projet/x.txt", strings.NewReader("x"), nil); resp.StatusCode != 404 && resp.StatusCode != 409 {
		t.Fatalf("chloe PUT: %d", resp.StatusCode)
	}
}
