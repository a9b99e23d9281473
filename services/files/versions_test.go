package files_test

import (
	"testing"
)

// Versions: listed newest first, each downloadable, an old one restored
// as a new current version; only the configured number is kept.
func TestVersions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-", keep: 3})
	sp := e.personal(&alice).ID
	var ids []string
	var f node
	for _, c := range []string{"v1", "v2", "v3", "v4"} {
		f = e.putFile(&alice, sp, "", "note.txt", []byte(c))
		ids = append(ids, f.VersionID)
	}
	base := "/api/files/spaces/" + sp + "/nodes/" + f.ID
	type version struct{ ID string }
	var list struct{ Versions []version }
	e.call(&alice, "GET", base+"/versions", nil, 200, &list)
	if len(list.Versions) != 3 || list.Versions[0].ID != ids[3] || list.Versions[2].ID != ids[1] {
		t.Fatalf("versions (3 kept): %+v, uploaded %v", list.Versions, ids)
	}
	if code, body := status(e.do(e.req(&alice, "GET", base+"/versions/"+ids[1]+"/content", nil))); code != 200 || body != "v2" {
		t.Fatalf("old version: %d %q", code, body)
	}
	if code, _ := status(e.do(e.req(&alice, "GET", base+"/versions/"+ids[0]+"/content", nil))); code != 404 {
		t.Fatalf("pruned version: %d", code)
	}
	var restored node
	e.call(&alice, "POST", base+"/versions/"+ids[1]+"/restore", nil, 200, &restored)
	if restored.VersionID == ids[1] || restored.Size != 2 {
		t.Fatalf("restored: %+v", restored)
	}
	if code, body := status(e.download(&alice, sp, f.ID, nil)); code != 200 || body != "v2" {
		t.Fatalf("current after restore: %d %q", code, body)
	}
	e.call(&alice, "GET", base+"/versions", nil, 200, &list)
	if len(list.Versions) != 3 || list.Versions[0].ID != restored.VersionID {
		t.Fatalf("versions after restore: %+v", list.Versions)
	}
	// The restored version shares its blob with v2, which retention may
	// drop later without losing the content: restore v3, then v4 twice.
	e.call(&alice, "POST", base+"/versions/"+ids[3]+"/restore", nil, 200, nil)
	e.call(&alice, "POST", base+"/versions/"+ids[3]+"/restore", nil, 200, nil)
	if code, body := status(e.download(&alice, sp, f.ID, nil)); code != 200 || body != "v4" {
		t.Fatalf("current: %d %q", code, body)
	}
	// Not for readers of other ministries; bad ids are 404.
	if code, errc := e.errCode(&chloe, "GET", base+"/versions", nil); code != 404 || errc != "space_not_found" {
		t.Fatalf("chloe: %d %s", code, errc)
	}
	if code, _ := e.errCode(&alice, "GET", base+"/versions/..%2Fx/content", nil); code != 404 {
		t.Fatalf("bad version id: %d", code)
	}
}
