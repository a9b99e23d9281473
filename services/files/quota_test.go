package files_test

import (
	"io"
	"strings"
	"testing"
)

type agentQuota struct{ Quota, Used, Reserved int64 }

// The per-agent quota counts what an agent uploaded in every space and
// their uploads in progress; refused before data at the start, and at
// completion for a body of unknown length.
func TestAgentQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-", agentQ: 1 << 20})
	mine := e.personal(&alice).ID
	var team space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Équipe"}, 201, &team)
	e.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/members", map[string]string{"user_id": bruno.ID, "role": "editor"}, 201, nil)

	e.putFile(&alice, mine, "", "a.bin", randomBytes(600<<10))
	var q agentQuota
	e.call(&alice, "GET", "/api/files/me/quota", nil, 200, &q)
	if q != (agentQuota{Quota: 1 << 20, Used: 600 << 10}) {
		t.Fatalf("alice's quota: %+v", q)
	}
	// Another space, same agent: over her quota before any data.
	resp, _ := e.tusCreate(&alice, 500<<10, map[string]string{"space": team.ID, "filename": "b.bin"})
	if code, body := status(resp); code != 507 || !strings.Contains(body, "agent_quota_exceeded") {
		t.Fatalf("tus over the agent quota: %d %s", code, body)
	}
	if code, c := e.errCode(&alice, "PUT", "/api/files/spaces/"+team.ID+"/content?name=b.bin", strings.Repeat("x", 500<<10)); code != 507 || c != "agent_quota_exceeded" {
		t.Fatalf("PUT over the agent quota: %d %s", code, c)
	}
	// Her upload in progress is reserved.
	resp, _ = e.tusCreate(&alice, 300<<10, map[string]string{"space": team.ID, "filename": "c.bin"})
	if resp.StatusCode != 201 {
		t.Fatalf("tus within quota: %d", resp.StatusCode)
	}
	e.call(&alice, "GET", "/api/files/me/quota", nil, 200, &q)
	if q.Used != 600<<10 || q.Reserved != 300<<10 {
		t.Fatalf("with a reservation: %+v", q)
	}
	// Bruno has his own quota in the same space.
	e.putFile(&bruno, team.ID, "", "d.bin", randomBytes(600<<10))

	// WebDAV PUT without a length: only the completion can refuse it, and
	// nothing is kept.
	dav := e.davFront(&alice).URL + "/dav/%C3%89quipe/e.bin"
	body := io.MultiReader(strings.NewReader(strings.Repeat("y", 200<<10)))
	if resp := davReq(t, &alice, "PUT", dav, body, nil); resp.StatusCode < 400 {
		t.Fatalf("chunked WebDAV PUT over the agent quota: %d", resp.StatusCode)
	}
	e.call(&alice, "GET", "/api/files/me/quota", nil, 200, &q)
	if q.Used != 600<<10 {
		t.Fatalf("after a refused completion: %+v", q)
	}
	var page struct{ Items []node }
	e.call(&alice, "GET", "/api/files/spaces/"+team.ID+"/nodes", nil, 200, &page)
	for _, n := range page.Items {
		if n.Name == "e.bin" {
			t.Fatalf("refused file kept: %+v", n)
		}
	}
}
