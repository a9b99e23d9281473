package files_test

import (
	"strings"
	"testing"
)

// A folder moved to another space keeps its share links (the mover may
// manage links there), and a resumable upload in progress into it
// completes in its new place; an uploader who cannot add files in the
// new space is refused at completion.
func TestMoveAcrossSpacesKeepsLinksAndUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	mine := e.personal(&alice).ID
	var team, other space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Arrivée"}, 201, &team)
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Autre"}, 201, &other)
	e.call(&alice, "POST", "/api/files/spaces/"+other.ID+"/members", map[string]string{"user_id": bruno.ID, "role": "editor"}, 201, nil)
	var dossier, second node
	e.call(&alice, "POST", "/api/files/spaces/"+mine+"/folders", map[string]string{"name": "Dossier"}, 201, &dossier)
	e.call(&alice, "POST", "/api/files/spaces/"+other.ID+"/folders", map[string]string{"name": "Bruno"}, 201, &second)
	e.putFile(&alice, mine, dossier.ID, "a.txt", []byte("contenu a"))
	var rl struct{ Path string }
	e.call(&alice, "POST", "/api/files/spaces/"+mine+"/links", map[string]any{"node": dossier.ID, "kind": "read"}, 201, &rl)

	// Alice's upload into the folder, half sent.
	data := randomBytes(1000)
	resp, loc := e.tusCreate(&alice, int64(len(data)), map[string]string{"space": mine, "parent": dossier.ID, "filename": "envoi.bin"})
	if resp.StatusCode != 201 {
		t.Fatalf("tus create: %d", resp.StatusCode)
	}
	if resp := e.tusPatch(&alice, loc, 0, data[:500]); resp.StatusCode != 204 {
		t.Fatalf("first half: %d", resp.StatusCode)
	}

	e.call(&alice, "PATCH", "/api/files/spaces/"+mine+"/nodes/"+dossier.ID, map[string]any{"space": team.ID}, 200, nil)

	// The link still opens the folder, now in the team space.
	if code, body := status(e.pub("GET", rl.Path+"/nodes", nil, nil)); code != 200 || !strings.Contains(body, "a.txt") {
		t.Fatalf("link after the move: %d %s", code, body)
	}
	var links struct{ Links []struct{ ID, NodeID string } }
	e.call(&alice, "GET", "/api/files/spaces/"+team.ID+"/links", nil, 200, &links)
	if len(links.Links) != 1 {
		t.Fatalf("the target space's links: %+v", links)
	}
	// The upload completes in the folder's new place.
	resp = e.tusPatch(&alice, loc, 500, data[500:])
	if resp.StatusCode != 204 || resp.Header.Get("Bureau-File-Id") == "" {
		b := readBody(resp)
		t.Fatalf("second half after the move: %d %s", resp.StatusCode, b)
	}
	if got := e.content(&alice, team.ID, e.list(&alice, team.ID, dossier.ID)["envoi.bin"].ID); got != string(data) {
		t.Fatal("the completed upload's content differs")
	}

	// Bruno uploads into a folder Alice then moves to a space he is not
	// a member of: his upload cannot complete there.
	resp, loc = e.tusCreate(&bruno, 10, map[string]string{"space": other.ID, "parent": second.ID, "filename": "b.bin"})
	if resp.StatusCode != 201 {
		t.Fatalf("bruno's tus create: %d", resp.StatusCode)
	}
	e.call(&alice, "PATCH", "/api/files/spaces/"+other.ID+"/nodes/"+second.ID, map[string]any{"space": team.ID}, 200, nil)
	resp = e.tusPatch(&bruno, loc, 0, []byte("0123456789"))
	if code, body := status(resp); code != 404 || !strings.Contains(body, "parent_not_found") {
		t.Fatalf("bruno's upload into a folder moved out of his reach: %d %s", code, body)
	}
	if _, ok := e.list(&alice, team.ID, second.ID)["b.bin"]; ok {
		t.Fatal("bruno's file landed in a space he is not a member of")
	}
}
