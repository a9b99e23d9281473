package files_test

import (
	"testing"
)

// A team space's owner sets its quota up to the configured ceiling (0:
// back to the default); the quota applies at once; nobody else may; an
// agent's own quota can be overridden in the configuration by email.
func TestSpaceQuotaAndAgentOverride(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-", quota: 1 << 20, maxSpQ: 4 << 20, agentQ: 1 << 20,
		agentQs: map[string]int64{"Bruno.Leroy@interieur.gouv.fr": 8 << 20}})
	var team space
	e.call(&alice, "POST", "/api/files/spaces", map[string]string{"name": "Quota"}, 201, &team)
	e.call(&alice, "POST", "/api/files/spaces/"+team.ID+"/members", map[string]string{"user_id": bruno.ID, "role": "manager"}, 201, nil)
	base := "/api/files/spaces/" + team.ID
	var sp struct{ Quota, Used int64 }
	e.call(&alice, "GET", base, nil, 200, &sp)
	if sp.Quota != 1<<20 {
		t.Fatalf("default quota: %+v", sp)
	}
	e.call(&alice, "PUT", base+"/quota", map[string]int64{"quota": 3 << 20}, 200, &sp)
	if sp.Quota != 3<<20 {
		t.Fatalf("after PUT: %+v", sp)
	}
	// Bruno's own quota is 8 MiB (override by email, any case): 2 MiB fit
	// in the space's 3 MiB, not in the default 1 MiB.
	e.putFile(&bruno, team.ID, "", "deux.bin", randomBytes(2<<20))
	expectCode(t, e, &bruno, "PUT", base+"/content?name=encore.bin", randomBytes(2<<20), 507, "quota_exceeded")
	var q agentQuota
	e.call(&bruno, "GET", "/api/files/me/quota", nil, 200, &q)
	if q.Quota != 8<<20 || q.Used != 2<<20 {
		t.Fatalf("bruno's own quota: %+v", q)
	}
	e.call(&alice, "GET", "/api/files/me/quota", nil, 200, &q)
	if q.Quota != 1<<20 {
		t.Fatalf("alice's own quota: %+v", q)
	}
	expectCode(t, e, &alice, "PUT", base+"/quota", map[string]int64{"quota": 5 << 20}, 400, "quota_too_high")
	expectCode(t, e, &alice, "PUT", base+"/quota", map[string]int64{"quota": -1}, 400, "invalid_quota")
	expectCode(t, e, &alice, "PUT", base+"/quota", map[string]string{}, 400, "invalid_quota")
	expectCode(t, e, &bruno, "PUT", base+"/quota", map[string]int64{"quota": 1}, 403, "owner_only")
	expectCode(t, e, &chloe, "PUT", base+"/quota", map[string]int64{"quota": 1}, 404, "space_not_found")
	expectCode(t, e, &alice, "PUT", "/api/files/spaces/"+e.personal(&alice).ID+"/quota", map[string]int64{"quota": 1}, 400, "personal_space")
	e.call(&alice, "PUT", base+"/quota", map[string]int64{"quota": 0}, 200, &sp)
	if sp.Quota != 1<<20 || sp.Used != 2<<20 {
		t.Fatalf("back to the default: %+v", sp)
	}
	var log auditPage
	e.call(&alice, "GET", base+"/audit?action=quota_set", nil, 200, &log)
	if len(log.Entries) != 2 {
		t.Fatalf("audit: %+v", log)
	}
}
