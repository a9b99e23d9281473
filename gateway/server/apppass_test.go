package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"bureau/gateway/config"
)

func (b *browser) do(method, u, body string, origin string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

func davGet(t *testing.T, x *gw, email, password string) (*http.Response, string) {
	req, _ := http.NewRequest("PROPFIND", x.url+"/dav/", nil)
	if email != "" {
		req.SetBasicAuth(email, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// WebDAV clients reach /dav/ with email + app password; the files service
// gets the identity token and never the password; revocation is immediate.
func TestAppPasswordsForWebDAV(t *testing.T) {
	x, _ := gatewayWithUpstream(t)
	a := newBrowser(t)
	a.login(x, alice.Email)

	resp, body := a.do("POST", x.url+"/api/app-passwords", `{"label":"rclone portable"}`, x.url)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct{ ID, Label, Password string }
	_ = json.Unmarshal([]byte(body), &created)
	if created.ID == "" || len(created.Password) < 32 || created.Label != "rclone portable" {
		t.Fatalf("created: %s", body)
	}
	_, list := a.get(x.url + "/api/app-passwords")
	if !strings.Contains(list, created.ID) || strings.Contains(list, created.Password) {
		t.Fatalf("list must show the password's id, never its secret: %s", list)
	}

	resp, body = davGet(t, x, "Alice.Martin@interieur.gouv.fr", created.Password)
	s := decodeSeen(t, body)
	if resp.StatusCode != 200 || s.User == nil || s.User.Email != alice.Email || s.User.Ministry != "interieur" {
		t.Fatalf("dav with app password: %d %s", resp.StatusCode, body)
	}

	for name, c := range map[string][2]string{
		"no credentials": {"", ""},
		"wrong password": {alice.Email, "aaaa-bbbb-cccc"},
		"someone else's": {chloe.Email, created.Password},
	} {
		resp, _ := davGet(t, x, c[0], c[1])
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: %d %q", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// An app password opens /dav/ only, never the rest of the API.
	req, _ := http.NewRequest("GET", x.url+"/api/files/whoami", nil)
	req.SetBasicAuth(alice.Email, created.Password)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if decodeSeen(t, string(b2)).User != nil {
		t.Fatal("app password accepted outside /dav/")
	}

	// Another agent cannot revoke it; its owner can, and it stops working at once.
	c := newBrowser(t)
	c.login(x, chloe.Email)
	if resp, _ := c.do("DELETE", x.url+"/api/app-passwords/"+created.ID, "", x.url); resp.StatusCode != 404 {
		t.Fatalf("revoke by another agent: %d", resp.StatusCode)
	}
	if resp, _ := a.do("DELETE", x.url+"/api/app-passwords/"+created.ID, "", x.url); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp, _ := davGet(t, x, alice.Email, created.Password); resp.StatusCode != 401 {
		t.Fatalf("revoked password still works: %d", resp.StatusCode)
	}

	// Bad input and cross-site creation.
	if resp, _ := a.do("POST", x.url+"/api/app-passwords", `{"label":""}`, x.url); resp.StatusCode != 400 {
		t.Fatalf("empty label: %d", resp.StatusCode)
	}
	if resp, _ := a.do("POST", x.url+"/api/app-passwords", `not json`, x.url); resp.StatusCode != 400 {
		t.Fatalf("bad json: %d", resp.StatusCode)
	}
	if resp, _ := a.do("POST", x.url+"/api/app-passwords", `{"label":"x"}`, "https://evil.example"); resp.StatusCode != 403 {
		t.Fatalf("cross-site creation: %d", resp.StatusCode)
	}
	if resp, _ := newBrowser(t).do("GET", x.url+"/api/app-passwords", "", ""); resp.StatusCode != 401 {
		t.Fatalf("anonymous list: %d", resp.StatusCode)
	}
}

func TestWebDAVGuessingIsRateLimited(t *testing.T) {
	x, _ := startGateway(t, gwOpts{mutate: func(c *config.Config) { c.RateLimit.AuthPerMinute = 3 }})
	var codes []int
	for i := 0; i < 5; i++ {
		resp, _ := davGet(t, x, alice.Email, "guess")
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 401 || codes[4] != 429 {
		t.Fatalf("statuses %v: want 401 then 429 after 3 failed guesses", codes)
	}
}
