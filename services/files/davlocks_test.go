package files_test

import (
	"strings"
	"testing"
	"time"
)

const lockBody = `<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>`

// WebDAV locks live in the database: taken on one replica they hold on
// another and after a restart; only their owner releases them; they
// expire.
func TestWebDAVLocksSharedAndPersistent(t *testing.T) {
	t.Parallel()
	a, b, start := replicas(t)
	var team space
	a.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Projet"}, 201, &team)
	a.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/members", map[string]string{"user_id": bruno.ID, "role": "editor"}, 201, nil)
	davA, davB := a.davFront(&alice, &bruno).URL+"/dav/Projet/", b.davFront(&alice, &bruno).URL+"/dav/Projet/"
	if resp := davReq(t, &alice, "PUT", davA+"doc.txt", strings.NewReader("v1"), nil); resp.StatusCode != 201 {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	resp := davReq(t, &alice, "LOCK", davA+"doc.txt", strings.NewReader(lockBody), map[string]string{"Timeout": "Second-3600"})
	token := strings.Trim(resp.Header.Get("Lock-Token"), "<>")
	if resp.StatusCode != 200 || !strings.HasPrefix(token, "opaquelocktoken:") {
		t.Fatalf("LOCK: %d %q %s", resp.StatusCode, token, readAll(t, resp))
	}
	// Replica B: locked for Bruno, writable with the token.
	if resp := davReq(t, &bruno, "PUT", davB+"doc.txt", strings.NewReader("v2"), nil); resp.StatusCode != 423 {
		t.Fatalf("PUT on B without the token: %d", resp.StatusCode)
	}
	if resp := davReq(t, &bruno, "LOCK", davB+"doc.txt", strings.NewReader(lockBody), nil); resp.StatusCode != 423 {
		t.Fatalf("second LOCK on B: %d", resp.StatusCode)
	}
	if resp := davReq(t, &alice, "PUT", davB+"doc.txt", strings.NewReader("v2"), map[string]string{"If": "(<" + token + ">)"}); resp.StatusCode != 201 {
		t.Fatalf("PUT on B with the token: %d", resp.StatusCode)
	}
	// A restart (a new instance on the same database) keeps it.
	a.stop()
	c := start()
	davC := c.davFront(&alice, &bruno).URL + "/dav/Projet/"
	if resp := davReq(t, &bruno, "DELETE", davC+"doc.txt", nil, nil); resp.StatusCode != 423 {
		t.Fatalf("DELETE after a restart: %d", resp.StatusCode)
	}
	// Only its owner unlocks it.
	if resp := davReq(t, &bruno, "UNLOCK", davC+"doc.txt", nil, map[string]string{"Lock-Token": "<" + token + ">"}); resp.StatusCode != 403 {
		t.Fatalf("UNLOCK by another agent: %d", resp.StatusCode)
	}
	if resp := davReq(t, &alice, "UNLOCK", davC+"doc.txt", nil, map[string]string{"Lock-Token": "<" + token + ">"}); resp.StatusCode != 204 {
		t.Fatalf("UNLOCK: %d", resp.StatusCode)
	}
	if resp := davReq(t, &bruno, "PUT", davB+"doc.txt", strings.NewReader("v3"), nil); resp.StatusCode != 201 {
		t.Fatalf("PUT after UNLOCK: %d", resp.StatusCode)
	}
	// A folder locked for 1 s: its content is locked, then free again.
	if resp := davReq(t, &alice, "MKCOL", davC+"Dossier", nil, nil); resp.StatusCode != 201 {
		t.Fatalf("MKCOL: %d", resp.StatusCode)
	}
	if resp := davReq(t, &alice, "LOCK", davC+"Dossier", strings.NewReader(lockBody), map[string]string{"Timeout": "Second-1", "Depth": "infinity"}); resp.StatusCode != 200 {
		t.Fatalf("LOCK of a folder: %d", resp.StatusCode)
	}
	if resp := davReq(t, &bruno, "PUT", davB+"Dossier/x.txt", strings.NewReader("x"), nil); resp.StatusCode != 423 {
		t.Fatalf("PUT into a locked folder: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp := davReq(t, &bruno, "PUT", davB+"Dossier/x.txt", strings.NewReader("x"), nil)
		if resp.StatusCode == 201 {
			break
		}
		if resp.StatusCode != 423 || time.Now().After(deadline) {
			t.Fatalf("PUT once the lock expired: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond) // polling interval: the lock expires
	}
}
