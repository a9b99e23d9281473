package files_test

import (
	"testing"

	"bureau/services/platform/identity"
)

type hit struct {
	node
	SpaceID   string `json:"space_id"`
	SpaceName string `json:"space_name"`
	Path      string
}

func (e *env) search(u *identity.User, q string) []hit {
	e.t.Helper()
	var out struct{ Items []hit }
	e.call(u, "GET", "/api/files/search?q="+urlEscape(q), nil, 200, &out)
	return out.Items
}

// Search covers the agent's spaces only — never another agent's files —
// with each hit's space and folder path, and leaves out the trash.
func TestSearchByName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	mine := e.personal(&alice).ID
	var team space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Équipe"}, 201, &team)
	e.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/members", map[string]string{"user_id": bruno.ID, "role": "editor"}, 201, nil)
	var budget, sub, old node
	e.call(&alice, "POST", "/api/files/spaces/"+mine+"/folders", map[string]string{"name": "Budget"}, 201, &budget)
	e.call(&alice, "POST", "/api/files/spaces/"+mine+"/folders", map[string]string{"parent": budget.ID, "name": "2025"}, 201, &sub)
	e.call(&alice, "POST", "/api/files/spaces/"+mine+"/folders", map[string]string{"name": "Ancien"}, 201, &old)
	e.putFile(&alice, mine, sub.ID, "Rapport annuel.pdf", []byte("a"))
	e.putFile(&bruno, team.ID, "", "rapport-équipe.txt", []byte("b"))
	gone := e.putFile(&alice, mine, "", "rapport jeté.txt", []byte("c"))
	e.putFile(&alice, mine, old.ID, "rapport ancien.txt", []byte("d"))
	e.putFile(&chloe, e.personal(&chloe).ID, "", "rapport confidentiel.txt", []byte("e"))
	e.call(&alice, "DELETE", "/api/files/spaces/"+mine+"/nodes/"+gone.ID, nil, 204, nil)
	e.call(&alice, "DELETE", "/api/files/spaces/"+mine+"/nodes/"+old.ID, nil, 204, nil)

	hits := e.search(&alice, "RAPPORT")
	if len(hits) != 2 || hits[0].Name != "Rapport annuel.pdf" || hits[0].Path != "/Budget/2025" || hits[0].SpaceName != "Mon espace" ||
		hits[1].Name != "rapport-équipe.txt" || hits[1].Path != "/" || hits[1].SpaceID != team.ID {
		t.Fatalf("alice's hits: %+v", hits)
	}
	if hits := e.search(&alice, "2025"); len(hits) != 1 || hits[0].Kind != "folder" || hits[0].Path != "/Budget" {
		t.Fatalf("folders are found too: %+v", hits)
	}
	// Bruno sees the team space only; Chloé her own file only.
	if hits := e.search(&bruno, "rapport"); len(hits) != 1 || hits[0].Name != "rapport-équipe.txt" {
		t.Fatalf("bruno's hits: %+v", hits)
	}
	if hits := e.search(&chloe, "rapport"); len(hits) != 1 || hits[0].Name != "rapport confidentiel.txt" {
		t.Fatalf("chloe's hits: %+v", hits)
	}
	if hits := e.search(&outside, "rapport"); len(hits) != 0 {
		t.Fatalf("an external's hits: %+v", hits)
	}
	var out struct{ Items []hit }
	e.call(&alice, "GET", "/api/files/search?q=r&limit=1", nil, 200, &out)
	if len(out.Items) != 1 {
		t.Fatalf("limit: %+v", out.Items)
	}
	for _, q := range []string{"", "%20", "a%00b", "x&limit=abc"} {
		expectCode(t, e, &alice, "GET", "/api/files/search?q="+q, nil, 400, "invalid_query")
	}
	expectCode(t, e, nil, "GET", "/api/files/search?q=rapport", nil, 401, "unauthenticated")
}
