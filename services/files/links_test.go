package files_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"bureau/services/files/internal/tus"
	"bureau/services/platform/identity"
)

// pub sends an anonymous request to a link route.
func (e *env) pub(method, path string, body io.Reader, hdr map[string]string) *http.Response {
	e.t.Helper()
	r := e.req(nil, method, path, body)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return e.do(r)
}

func status(resp *http.Response) (int, string) {
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A link sees exactly what it names; passwords are rate-limited; links
// are revocable; dépôt links only deposit; everything is in the audit log.
func TestShareLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	sp := e.personal(&alice).ID
	base := "/api/files/spaces/" + sp
	var shared, sub node
	e.call(&alice, "POST", base+"/folders", map[string]string{"name": "Partage"}, 201, &shared)
	e.call(&alice, "POST", base+"/folders", map[string]string{"name": "sous", "parent": shared.ID}, 201, &sub)
	a := e.putFile(&alice, sp, shared.ID, "a.txt", []byte("contenu a"))
	b := e.putFile(&alice, sp, sub.ID, "b.txt", []byte("contenu b"))
	secret := e.putFile(&alice, sp, "", "secret.txt", []byte("secret"))
	other := e.putFile(&bruno, e.personal(&bruno).ID, "", "bruno.txt", []byte("bruno"))

	type created struct {
		Link  struct{ ID string }
		Token string
		Path  string
	}
	var rl created
	e.call(&alice, "POST", base+"/links", map[string]any{"node": shared.ID, "kind": "read"}, 201, &rl)
	p := rl.Path
	if code, body := status(e.pub("GET", p, nil, nil)); code != 200 || !strings.Contains(body, `"Partage"`) || strings.Contains(body, "ualice") {
		t.Fatalf("link info: %d %s", code, body)
	}
	if code, body := status(e.pub("GET", p+"/nodes", nil, nil)); code != 200 || !strings.Contains(body, "a.txt") || !strings.Contains(body, "sous") || strings.Contains(body, "secret") {
		t.Fatalf("link list: %d %s", code, body)
	}
	if code, body := status(e.pub("GET", p+"/nodes?parent="+sub.ID, nil, nil)); code != 200 || !strings.Contains(body, "b.txt") {
		t.Fatalf("link list sub: %d %s", code, body)
	}
	if code, body := status(e.pub("GET", p+"/content?node="+b.ID, nil, nil)); code != 200 || body != "contenu b" {
		t.Fatalf("link download: %d %s", code, body)
	}
	// Nothing outside what the link names.
	for _, q := range []string{"/content?node=" + secret.ID, "/content?node=" + other.ID, "/nodes?parent=" + a.ID + "x", "/content?node=..%2F" + secret.ID} {
		if code, _ := status(e.pub("GET", p+q, nil, nil)); code != 404 {
			t.Fatalf("outside the link %s: %d", q, code)
		}
	}
	if code, _ := status(e.pub("PUT", p+"/content?name=x.txt", strings.NewReader("x"), nil)); code != 403 {
		t.Fatalf("upload through a read link: %d", code)
	}
	if code, _ := status(e.pub("GET", "/api/files/links/"+strings.Repeat("a", 43), nil, nil)); code != 404 {
		t.Fatalf("unknown token: %d", code)
	}

	// Another ministry can neither create nor see nor revoke this space's links.
	if code, errc := e.errCode(&chloe, "POST", base+"/links", map[string]any{"node": shared.ID, "kind": "read"}); code != 404 || errc != "space_not_found" {
		t.Fatalf("chloe creates a link: %d %s", code, errc)
	}
	if code, _ := e.errCode(&chloe, "GET", base+"/links", nil); code != 404 {
		t.Fatalf("chloe lists links: %d", code)
	}
	if code, _ := e.errCode(&chloe, "DELETE", base+"/links/"+rl.Link.ID, nil); code != 404 {
		t.Fatalf("chloe revokes: %d", code)
	}
	if code, errc := e.errCode(&alice, "POST", base+"/links", map[string]any{"node": shared.ID, "kind": "read", "expires_at": time.Now().Add(-time.Hour)}); code != 400 || errc != "invalid_expiry" {
		t.Fatalf("expiry in the past: %d %s", code, errc)
	}

	// Password: required, wrong ones rate-limited per link and address.
	var pl created
	e.call(&alice, "POST", base+"/links", map[string]any{"node": a.ID, "kind": "read", "password": "motdepasse-123",
		"expires_at": time.Now().Add(time.Hour)}, 201, &pl)
	// A browser opening the link gets Basic (its own prompt); the web app's
	// fetch does not (it asks in the page, no browser dialog).
	resp := e.pub("GET", pl.Path+"/content", nil, nil)
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no password: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp = e.pub("GET", pl.Path, nil, map[string]string{"Sec-Fetch-Mode": "cors"})
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("no password, from fetch: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if code, body := status(e.pub("GET", pl.Path+"/content", nil, map[string]string{"Link-Password": "motdepasse-123"})); code != 200 || body != "contenu a" {
		t.Fatalf("right password: %d %s", code, body)
	}
	for i := range 5 {
		if code, _ := status(e.pub("GET", pl.Path+"/content", nil, map[string]string{"Link-Password": fmt.Sprint("faux", i)})); code != 401 {
			t.Fatalf("wrong password %d: %d", i, code)
		}
	}
	if code, errc := status(e.pub("GET", pl.Path+"/content", nil, map[string]string{"Link-Password": "motdepasse-123"})); code != 429 || !strings.Contains(errc, "too_many_attempts") {
		t.Fatalf("after 5 failures: %d %s", code, errc)
	}
	if code, _ := status(e.pub("GET", pl.Path+"/content", nil, map[string]string{"Link-Password": "motdepasse-123", "X-Forwarded-For": "192.0.2.7"})); code != 200 {
		t.Fatalf("another address: %d", code)
	}

	// Revoked: gone at once.
	e.call(&alice, "DELETE", base+"/links/"+rl.Link.ID, nil, 204, nil)
	if code, _ := status(e.pub("GET", p+"/nodes", nil, nil)); code != 404 {
		t.Fatalf("revoked link: %d", code)
	}

	// Dépôt: deposit only, never overwrite, nothing to see.
	var ul created
	e.call(&alice, "POST", base+"/links", map[string]any{"node": shared.ID, "kind": "upload"}, 201, &ul)
	if code, body := status(e.pub("PUT", ul.Path+"/content?name=depot.txt", strings.NewReader("déposé"), nil)); code != 201 {
		t.Fatalf("deposit: %d %s", code, body)
	}
	if code, _ := status(e.pub("PUT", ul.Path+"/content?name=A.TXT", strings.NewReader("écrase"), nil)); code != 409 {
		t.Fatalf("deposit over an existing file: %d", code)
	}
	for _, q := range []string{"/nodes", "/content?node=" + a.ID} {
		if code, _ := status(e.pub("GET", ul.Path+q, nil, nil)); code != 403 {
			t.Fatalf("dépôt link %s: %d", q, code)
		}
	}
	if code, errc := e.errCode(&alice, "POST", base+"/links", map[string]any{"node": a.ID, "kind": "upload"}); code != 400 || errc != "not_a_folder" {
		t.Fatalf("dépôt on a file: %d %s", code, errc)
	}
	var page struct{ Items []node }
	e.call(&alice, "GET", base+"/nodes?parent="+shared.ID, nil, 200, &page)
	if len(page.Items) != 3 {
		t.Fatalf("after deposit: %+v", page.Items)
	}

	// The audit log, for managers of the space only.
	var log struct {
		Entries []struct{ Actor, Action, Detail string }
	}
	e.call(&alice, "GET", base+"/audit", nil, 200, &log)
	seen := map[string]bool{}
	for _, en := range log.Entries {
		seen[en.Action] = true
		if en.Action == "upload" && en.Detail == "depot.txt" && !strings.HasPrefix(en.Actor, "link:") {
			t.Errorf("deposit by %q", en.Actor)
		}
	}
	for _, want := range []string{"upload", "link_created", "link_revoked", "link_download"} {
		if !seen[want] {
			t.Errorf("audit lacks %s: %+v", want, log.Entries)
		}
	}
	if code, _ := e.errCode(&chloe, "GET", base+"/audit", nil); code != 404 {
		t.Fatalf("chloe reads the audit log: %d", code)
	}
}

// Quotas: refused with 507 before any data (tus and PUT, counting uploads
// in progress), usage in the space JSON.
func TestQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-", quota: 1 << 20})
	sp := e.personal(&alice).ID
	e.putFile(&alice, sp, "", "a.bin", randomBytes(600<<10))
	var s struct{ Quota, Used int64 }
	e.call(&alice, "GET", "/api/files/spaces/"+sp, nil, 200, &s)
	if s.Quota != 1<<20 || s.Used != 600<<10 {
		t.Fatalf("space usage: %+v", s)
	}
	resp, _ := e.tusCreate(&alice, 600<<10, map[string]string{"space": sp, "filename": "b.bin"})
	if code, body := status(resp); code != 507 || !strings.Contains(body, "quota_exceeded") {
		t.Fatalf("tus over quota: %d %s", code, body)
	}
	resp, _ = e.tusCreate(&alice, 300<<10, map[string]string{"space": sp, "filename": "c.bin"})
	if resp.StatusCode != 201 {
		t.Fatalf("tus within quota: %d", resp.StatusCode)
	}
	// The upload in progress counts: 600 + 300 + 200 KiB > 1 MiB, refused
	// while the client has sent only headers.
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := http.Header{}
	e.sign(&alice, h)
	fmt.Fprintf(conn, "PUT /api/files/spaces/%s/content?name=d.bin HTTP/1.1\r\nHost: files\r\n%s: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		sp, identity.Header, h.Get(identity.Header), 200<<10)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusCode != 507 {
		t.Fatalf("PUT over quota: %d", got.StatusCode)
	}
	_ = tus.Version
}
