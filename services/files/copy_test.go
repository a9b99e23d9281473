package files_test

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"

	"bureau/services/platform/identity"
)

// unzip downloads a folder as a zip and returns its entries: name →
// content ("" for folders).
func (e *env) unzip(u *identity.User, sp, folder string) map[string]string {
	e.t.Helper()
	return e.unzipURL(u, "/api/files/spaces/"+sp+"/nodes/"+folder+"/zip")
}

// unzipURL downloads a zip as u (nil: anonymous) and returns its entries.
func (e *env) unzipURL(u *identity.User, path string) map[string]string {
	e.t.Helper()
	resp := e.do(e.req(u, "GET", path, nil))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		e.t.Fatalf("zip: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			e.t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			e.t.Fatalf("%s: %v", f.Name, err)
		}
		out[f.Name] = string(b)
		if strings.HasSuffix(f.Name, ".jpg") && f.Method != zip.Store {
			e.t.Fatalf("%s deflated again", f.Name)
		}
	}
	return out
}

func (e *env) list(u *identity.User, sp, parent string) map[string]node {
	e.t.Helper()
	var page struct{ Items []node }
	e.call(u, "GET", "/api/files/spaces/"+sp+"/nodes?parent="+parent, nil, 200, &page)
	out := map[string]node{}
	for _, n := range page.Items {
		out[n.Name] = n
	}
	return out
}

func (e *env) content(u *identity.User, sp, id string) string {
	e.t.Helper()
	resp := e.download(u, sp, id, nil)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("download %s: %d %s", id, resp.StatusCode, b)
	}
	return string(b)
}

// Copies of files and folders, in a space and across spaces; moves across
// spaces with both sides' rights and the target's quota; folders as zip
// streams; outsiders get 404 on all of it.
func TestCopyMoveZip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-", quota: 1 << 20, maxZip: 900 << 10})
	mine := e.personal(&alice).ID
	var team space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Équipe"}, 201, &team)
	e.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/members", map[string]string{"user_id": bruno.ID, "role": "reader"}, 201, nil)
	nodes := "/api/files/spaces/" + mine + "/nodes/"
	var proj, sub node
	e.call(&alice, "POST", "/api/files/spaces/"+mine+"/folders", map[string]string{"name": "Projet"}, 201, &proj)
	e.call(&alice, "POST", "/api/files/spaces/"+mine+"/folders", map[string]string{"parent": proj.ID, "name": "sous"}, 201, &sub)
	e.call(&alice, "POST", "/api/files/spaces/"+mine+"/folders", map[string]string{"parent": proj.ID, "name": "vide"}, 201, nil)
	a := e.putFile(&alice, mine, proj.ID, "a.txt", []byte("bonjour"))
	e.putFile(&alice, mine, sub.ID, "photo.jpg", bytes.Repeat([]byte("j"), 1000))

	// A file, in its folder under another name; the same name is taken.
	var cp node
	e.call(&alice, "POST", nodes+a.ID+"/copy", map[string]any{"parent": proj.ID, "name": "a (copie).txt"}, 201, &cp)
	if cp.ID == a.ID || cp.Name != "a (copie).txt" || e.content(&alice, mine, cp.ID) != "bonjour" {
		t.Fatalf("file copy: %+v", cp)
	}
	expectCode(t, e, &alice, "POST", nodes+a.ID+"/copy", map[string]any{"parent": proj.ID}, 409, "name_taken")
	expectCode(t, e, &alice, "POST", nodes+proj.ID+"/copy", map[string]any{"parent": sub.ID}, 400, "copy_into_itself")
	expectCode(t, e, &alice, "POST", nodes+a.ID+"/copy", map[string]any{"parent": proj.ID, "name": "../x"}, 400, "invalid_name")
	// Overwriting the original leaves the copy as it was.
	e.putFile(&alice, mine, proj.ID, "a.txt", []byte("modifié"))
	if e.content(&alice, mine, cp.ID) != "bonjour" {
		t.Fatal("the copy changed with its original")
	}

	// A folder into another space: the whole live tree.
	var pc node
	e.call(&alice, "POST", nodes+proj.ID+"/copy", map[string]any{"space": team.ID}, 201, &pc)
	top := e.list(&alice, team.ID, pc.ID)
	if len(top) != 4 || top["a.txt"].Kind != "file" || top["sous"].Kind != "folder" || top["vide"].Kind != "folder" {
		t.Fatalf("copied tree: %+v", top)
	}
	if got := e.content(&bruno, team.ID, top["a.txt"].ID); got != "modifié" {
		t.Fatalf("copied content %q", got)
	}
	// A reader copies out of the team space, not into it.
	e.call(&bruno, "POST", "/api/files/spaces/"+team.ID+"/nodes/"+top["a.txt"].ID+"/copy", map[string]any{"space": e.personal(&bruno).ID}, 201, nil)
	expectCode(t, e, &bruno, "POST", "/api/files/spaces/"+team.ID+"/nodes/"+top["a.txt"].ID+"/copy", map[string]any{"name": "b.txt"}, 403, "forbidden")

	// Zip of a folder: tree, empty folder, content; .jpg stored as is.
	files := e.unzip(&alice, mine, proj.ID)
	want := map[string]string{"Projet/": "", "Projet/sous/": "", "Projet/vide/": "", "Projet/a.txt": "modifié",
		"Projet/a (copie).txt": "bonjour", "Projet/sous/photo.jpg": strings.Repeat("j", 1000)}
	if len(files) != len(want) {
		t.Fatalf("zip entries: %v", files)
	}
	for k, v := range want {
		if files[k] != v {
			t.Fatalf("zip entry %q: %q", k, files[k])
		}
	}
	expectCode(t, e, &alice, "GET", nodes+a.ID+"/zip", nil, 400, "not_a_folder")

	// Across spaces, a move needs editor on both sides.
	expectCode(t, e, &bruno, "PATCH", "/api/files/spaces/"+team.ID+"/nodes/"+pc.ID, map[string]any{"space": e.personal(&bruno).ID}, 403, "forbidden")
	var moved node
	e.call(&alice, "PATCH", nodes+sub.ID, map[string]any{"space": team.ID, "parent": "", "name": "Sous-dossier"}, 200, &moved)
	if moved.ID != sub.ID || moved.Name != "Sous-dossier" || moved.ParentID != "" {
		t.Fatalf("moved: %+v", moved)
	}
	if _, ok := e.list(&alice, mine, proj.ID)["sous"]; ok {
		t.Fatal("still in the source space")
	}
	expectCode(t, e, &alice, "GET", nodes+sub.ID, nil, 404, "not_found")
	in := e.list(&bruno, team.ID, sub.ID)
	if e.content(&bruno, team.ID, in["photo.jpg"].ID) != strings.Repeat("j", 1000) {
		t.Fatal("moved content")
	}
	// The target's quota holds the moved bytes, or the move is refused.
	big := e.putFile(&alice, mine, "", "gros.bin", randomBytes(760<<10))
	e.putFile(&alice, team.ID, "", "occupe.bin", randomBytes(300<<10))
	expectCode(t, e, &alice, "PATCH", nodes+big.ID, map[string]any{"space": team.ID}, 507, "quota_exceeded")
	expectCode(t, e, &alice, "POST", nodes+big.ID+"/copy", map[string]any{"space": team.ID}, 507, "quota_exceeded")
	// The zip size limit (900 KiB here) is checked before anything is sent.
	e.putFile(&alice, mine, proj.ID, "gros2.bin", randomBytes(250<<10))
	expectCode(t, e, &alice, "POST", nodes+big.ID+"/copy", map[string]any{}, 409, "name_taken") // same folder, same name
	e.call(&alice, "PATCH", nodes+big.ID, map[string]any{"parent": proj.ID}, 200, nil)
	expectCode(t, e, &alice, "GET", nodes+proj.ID+"/zip", nil, 413, "zip_too_large")

	// Another ministry: 404 on copy, move and zip of Alice's items, and
	// cannot copy or move into her spaces.
	theirs := e.personal(&chloe).ID
	c := e.putFile(&chloe, theirs, "", "c.txt", []byte("c"))
	expectCode(t, e, &chloe, "POST", nodes+a.ID+"/copy", map[string]any{"space": theirs}, 404, "space_not_found")
	expectCode(t, e, &chloe, "PATCH", nodes+a.ID, map[string]any{"space": theirs}, 404, "space_not_found")
	expectCode(t, e, &chloe, "GET", nodes+proj.ID+"/zip", nil, 404, "space_not_found")
	expectCode(t, e, &chloe, "POST", "/api/files/spaces/"+theirs+"/nodes/"+c.ID+"/copy", map[string]any{"space": mine}, 404, "space_not_found")
	expectCode(t, e, &alice, "PATCH", nodes+a.ID, map[string]any{"space": theirs}, 404, "space_not_found")
}
