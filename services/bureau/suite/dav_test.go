package suite

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A WebDAV client reaches the agent's personal space through the real
// gateway with an app password created in the agent's browser session.
func TestWebDAVWithAppPassword(t *testing.T) {
	s := startSuite(t)
	alice := signIn(t, s, "alice.martin@interieur.gouv.fr")
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/app-passwords", strings.NewReader(`{"label":"rclone"}`))
	req.Header.Set("Origin", s.URL)
	resp, err := alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Password string }
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 || created.Password == "" {
		t.Fatalf("app password: %d", resp.StatusCode)
	}
	dav := func(method, path string, body []byte, password string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
		req.SetBasicAuth("alice.martin@interieur.gouv.fr", password)
		if method == "PROPFIND" {
			req.Header.Set("Depth", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := dav("PROPFIND", "/dav/", nil, created.Password)
	if resp.StatusCode != 207 {
		t.Fatalf("PROPFIND /dav/: %d %s", resp.StatusCode, body)
	}
	// The personal space is the first folder of the root listing.
	var space string
	for _, part := range strings.Split(string(body), "<D:href>")[1:] {
		href := part[:strings.Index(part, "<")]
		if href != "/dav/" {
			space = href
			break
		}
	}
	if space == "" {
		t.Fatalf("no space in %s", body)
	}
	content := []byte("Compte rendu de réunion\n")
	if resp, body := dav("PUT", space+"compte-rendu.txt", content, created.Password); resp.StatusCode/100 != 2 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	resp, got := dav("GET", space+"compte-rendu.txt", nil, created.Password)
	if resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Fatalf("GET: %d %q", resp.StatusCode, got)
	}
	if resp, _ := dav("PROPFIND", "/dav/", nil, "wrong-password"); resp.StatusCode != 401 {
		t.Fatalf("wrong app password: %d", resp.StatusCode)
	}
}
