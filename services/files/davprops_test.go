package files_test

import (
	"strings"
	"testing"
	"time"
)

const win32 = `<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:">
  <D:set><D:prop>
    <Z:Win32CreationTime>Mon, 02 Mar 2026 09:00:00 GMT</Z:Win32CreationTime>
    <Z:Win32LastModifiedTime>Tue, 03 Mar 2026 10:30:00 GMT</Z:Win32LastModifiedTime>
    <Z:Win32FileAttributes>00000020</Z:Win32FileAttributes>
  </D:prop></D:set>
</D:propertyupdate>`

const askWin32 = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:prop><Z:Win32LastModifiedTime/><D:getcontentlength/></D:prop></D:propfind>`

// PROPPATCH stores dead properties (Windows' Win32 times) and PROPFIND
// returns them, one by one or with a listing; the content is untouched;
// readers and outsiders change nothing.
func TestWebDAVDeadProperties(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	var team space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Projet"}, 201, &team)
	e.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/members", map[string]string{"user_id": bruno.ID, "role": "reader"}, 201, nil)
	dav := e.davFront(&alice, &bruno, &chloe).URL + "/dav/"
	if resp := davReq(t, &alice, "PUT", dav+"Projet/note.txt", strings.NewReader("contenu"), nil); resp.StatusCode != 201 {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	resp := davReq(t, &alice, "PROPPATCH", dav+"Projet/note.txt", strings.NewReader(win32), map[string]string{"Content-Type": "application/xml"})
	body := readAll(t, resp)
	if resp.StatusCode != 207 || !strings.Contains(body, "200 OK") || strings.Contains(body, "403") || !strings.Contains(body, "Win32FileAttributes") {
		t.Fatalf("PROPPATCH: %d %s", resp.StatusCode, body)
	}
	// The content and its versions are as they were.
	if got := readAll(t, davReq(t, &alice, "GET", dav+"Projet/note.txt", nil, nil)); got != "contenu" {
		t.Fatalf("content after PROPPATCH: %q", got)
	}
	n := e.list(&alice, team.ID, "")["note.txt"]
	var vs struct{ Versions []struct{ ID string } }
	e.call(&alice, "GET", "/api/files/spaces/"+team.ID+"/nodes/"+n.ID+"/versions", nil, 200, &vs)
	if len(vs.Versions) != 1 || n.Size != 7 {
		t.Fatalf("PROPPATCH wrote content: %+v %+v", n, vs)
	}
	// Win32LastModifiedTime is the file's modification time in listings.
	if want := time.Date(2026, 3, 3, 10, 30, 0, 0, time.UTC); !n.ModifiedAt.Equal(want) {
		t.Fatalf("modified_at after PROPPATCH: %v, want %v", n.ModifiedAt, want)
	}
	// PROPFIND of the property, on the file and in the folder's listing.
	for _, depth := range []string{"0", "1"} {
		url := dav + "Projet/note.txt"
		if depth == "1" {
			url = dav + "Projet/"
		}
		resp := davReq(t, &bruno, "PROPFIND", url, strings.NewReader(askWin32), map[string]string{"Depth": depth})
		body := readAll(t, resp)
		if resp.StatusCode != 207 || !strings.Contains(body, "Tue, 03 Mar 2026 10:30:00 GMT") {
			t.Fatalf("PROPFIND depth %s: %d %s", depth, resp.StatusCode, body)
		}
	}
	// allprop has them too; the space's root folder holds its own.
	if body := readAll(t, davReq(t, &alice, "PROPFIND", dav+"Projet/note.txt", nil, map[string]string{"Depth": "0"})); !strings.Contains(body, "Win32CreationTime") {
		t.Fatalf("allprop: %s", body)
	}
	if body := readAll(t, davReq(t, &alice, "PROPPATCH", dav+"Projet/", strings.NewReader(win32), nil)); !strings.Contains(body, "200 OK") {
		t.Fatalf("PROPPATCH of a space's root: %s", body)
	}
	// COPY copies them along with the content.
	if resp := davReq(t, &alice, "COPY", dav+"Projet/note.txt", nil, map[string]string{"Destination": dav + "Projet/copie.txt"}); resp.StatusCode != 201 {
		t.Fatalf("COPY: %d", resp.StatusCode)
	}
	if body := readAll(t, davReq(t, &alice, "PROPFIND", dav+"Projet/copie.txt", strings.NewReader(askWin32), map[string]string{"Depth": "0"})); !strings.Contains(body, "10:30:00") {
		t.Fatalf("copied properties: %s", body)
	}
	// A reader may not change them; the root of /dav/ holds none.
	if body := readAll(t, davReq(t, &bruno, "PROPPATCH", dav+"Projet/note.txt", strings.NewReader(win32), nil)); !strings.Contains(body, "403") {
		t.Fatalf("reader's PROPPATCH: %s", body)
	}
	if body := readAll(t, davReq(t, &alice, "PROPPATCH", dav, strings.NewReader(win32), nil)); !strings.Contains(body, "403") {
		t.Fatalf("PROPPATCH of /dav/: %s", body)
	}
	// Removal.
	rm := `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:remove><D:prop><Z:Win32LastModifiedTime/></D:prop></D:remove></D:propertyupdate>`
	if body := readAll(t, davReq(t, &alice, "PROPPATCH", dav+"Projet/note.txt", strings.NewReader(rm), nil)); !strings.Contains(body, "200 OK") {
		t.Fatalf("remove: %s", body)
	}
	if body := readAll(t, davReq(t, &alice, "PROPFIND", dav+"Projet/note.txt", strings.NewReader(askWin32), map[string]string{"Depth": "0"})); strings.Contains(body, "10:30:00") {
		t.Fatalf("removed property still there: %s", body)
	}
	// Another ministry: the path does not exist.
	if resp := davReq(t, &chloe, "PROPPATCH", dav+"Projet/note.txt", strings.NewReader(win32), nil); resp.StatusCode != 404 {
		t.Fatalf("outsider's PROPPATCH: %d", resp.StatusCode)
	}
}
