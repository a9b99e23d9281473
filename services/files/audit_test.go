package files_test

import (
	"fmt"
	"testing"
)

type auditEntry struct {
	ID, Actor, Action, Detail string
	ActorEmail                string `json:"actor_email"`
	NodeID                    string `json:"node_id"`
}

type auditPage struct {
	Entries []auditEntry
	Next    string
}

// The journal pages through the whole log newest first, without repeats
// or gaps, filters by action, names actors by email, and is for managers
// of the space only.
func TestAuditLogPagesAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	var team space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Journal"}, 201, &team)
	e.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/members", map[string]string{"user_id": bruno.ID, "role": "editor"}, 201, nil)
	base := "/api/files/spaces/" + team.ID
	for i := range 7 {
		e.putFile(&bruno, team.ID, "", fmt.Sprintf("f%d.txt", i), []byte("x"))
	}
	gone := e.putFile(&alice, team.ID, "", "jeté.txt", []byte("y"))
	e.call(&alice, "DELETE", base+"/nodes/"+gone.ID, nil, 204, nil)

	// All of it, 3 at a time: 1 member_added + 8 uploads + 1 delete.
	seen := map[string]bool{}
	var all []auditEntry
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the cursor never ends")
		}
		var p auditPage
		e.call(&alice, "GET", base+"/audit?limit=3&cursor="+cursor, nil, 200, &p)
		for _, en := range p.Entries {
			if seen[en.ID] {
				t.Fatalf("entry %s twice", en.ID)
			}
			seen[en.ID] = true
		}
		all = append(all, p.Entries...)
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if len(all) != 10 || all[0].Action != "delete" || all[0].Detail != "jeté.txt" || all[len(all)-1].Action != "member_added" {
		t.Fatalf("the whole log, newest first: %+v", all)
	}
	if last := all[len(all)-1]; last.Detail != bruno.ID+" (éditeur)" {
		t.Fatalf("member_added names the member and the role: %+v", last)
	}
	if all[1].ActorEmail != alice.Email || all[1].Action != "upload" {
		t.Fatalf("the actor's email: %+v", all[1])
	}
	var p auditPage
	e.call(&alice, "GET", base+"/audit?action=delete,member_added", nil, 200, &p)
	if len(p.Entries) != 2 || p.Entries[0].Action != "delete" || p.Entries[1].Action != "member_added" || p.Next != "" {
		t.Fatalf("filtered: %+v", p)
	}
	p = auditPage{}
	e.call(&alice, "GET", base+"/audit?action=upload&limit=5", nil, 200, &p)
	if len(p.Entries) != 5 || p.Next == "" {
		t.Fatalf("first page of uploads: %+v", p)
	}
	next := p.Next
	p = auditPage{}
	e.call(&alice, "GET", base+"/audit?action=upload&limit=5&cursor="+next, nil, 200, &p)
	if len(p.Entries) != 3 || p.Next != "" {
		t.Fatalf("second page of uploads: %+v", p)
	}
	expectCode(t, e, &alice, "GET", base+"/audit?action=hack", nil, 400, "invalid_action")
	for _, c := range []string{"xyz", "AAAA", "%00", "YWJjAGFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh"} {
		expectCode(t, e, &alice, "GET", base+"/audit?cursor="+c, nil, 400, "invalid_cursor")
	}
	// An editor is refused; another ministry does not see the space.
	expectCode(t, e, &bruno, "GET", base+"/audit", nil, 403, "forbidden")
	expectCode(t, e, &chloe, "GET", base+"/audit", nil, 404, "space_not_found")
}

// Search pages with a cursor past the first results, in name order,
// skipping what is below a trashed folder.
func TestSearchPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	mine := e.personal(&alice).ID
	var old node
	e.call(&alice, "POST", "/api/files/spaces/"+mine+"/folders", map[string]string{"name": "vieux"}, 201, &old)
	for i := range 5 {
		e.putFile(&alice, mine, old.ID, fmt.Sprintf("note-a%d.txt", i), []byte("x"))
		e.putFile(&alice, mine, "", fmt.Sprintf("note-b%d.txt", i), []byte("x"))
	}
	e.call(&alice, "DELETE", "/api/files/spaces/"+mine+"/nodes/"+old.ID, nil, 204, nil)
	var got []string
	cursor := ""
	for range 5 {
		var p struct {
			Items []hit
			Next  string
		}
		e.call(&alice, "GET", "/api/files/search?q=note&limit=2&cursor="+cursor, nil, 200, &p)
		for _, h := range p.Items {
			got = append(got, h.Name)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if fmt.Sprint(got) != "[note-b0.txt note-b1.txt note-b2.txt note-b3.txt note-b4.txt]" {
		t.Fatalf("pages: %v", got)
	}
	expectCode(t, e, &alice, "GET", "/api/files/search?q=note&cursor=!!", nil, 400, "invalid_cursor")
	// Chloé's cursor over Alice's names finds nothing of Alice's.
	var p struct{ Items []hit }
	e.call(&chloe, "GET", "/api/files/search?q=note&cursor="+cursor, nil, 200, &p)
	if len(p.Items) != 0 {
		t.Fatalf("chloe: %+v", p.Items)
	}
}
