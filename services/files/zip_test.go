package files_test

import (
	"fmt"
	"strings"
	"testing"
)

// Several items of a space download as one zip; a folder's read link
// downloads its folder (or a subfolder) as a zip and nothing else: not a
// sibling, not its parent.
func TestZipSelectionAndLinkZip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	sp := e.personal(&alice).ID
	base := "/api/files/spaces/" + sp
	var shared, sub, sibling node
	e.call(&alice, "POST", base+"/folders", map[string]string{"name": "Partagé"}, 201, &shared)
	e.call(&alice, "POST", base+"/folders", map[string]string{"name": "sous", "parent": shared.ID}, 201, &sub)
	e.call(&alice, "POST", base+"/folders", map[string]string{"name": "Voisin"}, 201, &sibling)
	e.putFile(&alice, sp, shared.ID, "a.txt", []byte("contenu a"))
	e.putFile(&alice, sp, sub.ID, "b.txt", []byte("contenu b"))
	e.putFile(&alice, sp, sibling.ID, "voisin.txt", []byte("voisin"))
	top := e.putFile(&alice, sp, "", "racine.txt", []byte("racine"))

	got := e.unzipURL(&alice, base+"/zip?nodes="+top.ID+","+shared.ID)
	if fmt.Sprint(got) != "map[Partagé/: Partagé/a.txt:contenu a Partagé/sous/: Partagé/sous/b.txt:contenu b racine.txt:racine]" {
		t.Fatalf("selection: %v", got)
	}
	expectCode(t, e, &alice, "GET", base+"/zip", nil, 400, "invalid_selection")
	expectCode(t, e, &alice, "GET", base+"/zip?nodes=zzzz", nil, 404, "not_found")
	expectCode(t, e, &chloe, "GET", base+"/zip?nodes="+top.ID, nil, 404, "space_not_found")

	// A password protects the zip like the rest of the link (bcrypt is
	// slow under -race: one link with it, the other checks without).
	var pl struct{ Path string }
	e.call(&alice, "POST", base+"/links", map[string]any{"node": shared.ID, "kind": "read", "password": "motdepasse"}, 201, &pl)
	if code, _ := status(e.pub("GET", pl.Path+"/zip", nil, nil)); code != 401 {
		t.Fatalf("zip without the password: %d", code)
	}
	if code, body := status(e.pub("GET", pl.Path+"/zip", nil, map[string]string{"Link-Password": "motdepasse"})); code != 200 || !strings.HasPrefix(body, "PK") {
		t.Fatalf("zip with the password: %d", code)
	}
	var rl struct{ Path string }
	e.call(&alice, "POST", base+"/links", map[string]any{"node": shared.ID, "kind": "read"}, 201, &rl)
	var pw map[string]string
	resp := e.pub("GET", rl.Path+"/zip", nil, pw)
	if code, body := status(resp); code != 200 || !strings.HasPrefix(body, "PK") || strings.Contains(body, "voisin") || strings.Contains(body, "racine") {
		t.Fatalf("link zip: %d", code)
	}
	if resp.Header.Get("Content-Disposition") != `attachment; filename*=utf-8''Partag%C3%A9.zip` {
		t.Fatalf("name: %q", resp.Header.Get("Content-Disposition"))
	}
	resp = e.pub("GET", rl.Path+"/zip?node="+sub.ID, nil, pw)
	if code, body := status(resp); code != 200 || !strings.Contains(body, "sous/b.txt") || strings.Contains(body, "a.txt") {
		t.Fatalf("link zip of a subfolder: %d", code)
	}
	// A sibling, the parent (the root) and a file are not reachable.
	for _, id := range []string{sibling.ID, top.ID} {
		if code, body := status(e.pub("GET", rl.Path+"/zip?node="+id, nil, pw)); code != 404 {
			t.Fatalf("link zip of %s: %d %s", id, code, body)
		}
	}
	var dl struct{ Path string }
	e.call(&alice, "POST", base+"/links", map[string]any{"node": shared.ID, "kind": "upload"}, 201, &dl)
	if code, body := status(e.pub("GET", dl.Path+"/zip", nil, nil)); code != 403 || !strings.Contains(body, "upload_only") {
		t.Fatalf("dépôt link zip: %d %s", code, body)
	}
	var fl struct{ Path string }
	e.call(&alice, "POST", base+"/links", map[string]any{"node": top.ID, "kind": "read"}, 201, &fl)
	if code, body := status(e.pub("GET", fl.Path+"/zip", nil, nil)); code != 400 || !strings.Contains(body, "not_a_folder") {
		t.Fatalf("file link zip: %d %s", code, body)
	}
	var log auditPage
	e.call(&alice, "GET", base+"/audit?action=link_zip,download_zip", nil, 200, &log)
	if len(log.Entries) != 4 || log.Entries[0].Detail != "sous" || !strings.HasPrefix(log.Entries[0].Actor, "link:") || log.Entries[3].Detail != "2 éléments" {
		t.Fatalf("audit: %+v", log.Entries)
	}
}
