package suite

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// An agent uploads and downloads a file through the gateway of the
// all-in-one; an agent of another ministry cannot see the space.
func TestFilesThroughGateway(t *testing.T) {
	s := startSuite(t)
	alice := signIn(t, s, "alice.martin@interieur.gouv.fr")
	getJSON := func(c *http.Client, path string, v any) int {
		resp, err := c.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(v)
		return resp.StatusCode
	}
	var spaces struct {
		Spaces []struct{ ID, Kind string } `json:"spaces"`
	}
	if st := getJSON(alice, "/api/files/spaces", &spaces); st != 200 || len(spaces.Spaces) == 0 {
		t.Fatalf("spaces: %d %+v", st, spaces)
	}
	space := spaces.Spaces[0].ID
	content := bytes.Repeat([]byte("Note de service. "), 4096)
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/api/files/spaces/"+space+"/content?name="+url.QueryEscape("note.txt"), bytes.NewReader(content))
	req.Header.Set("Origin", s.URL)
	resp, err := alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var node map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&node)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || node["id"] == nil {
		t.Fatalf("upload: %d %v", resp.StatusCode, node)
	}
	nodeID := node["id"].(string)

	resp, err = alice.Get(s.URL + "/api/files/spaces/" + space + "/nodes/" + nodeID + "/content")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(got))
	}

	// A password-protected share link opened through the gateway: the
	// password header must reach the files service (the gateway drops
	// client headers of its own Bureau-* prefix).
	body, _ := json.Marshal(map[string]any{"node": nodeID, "kind": "read", "password": "motdepasse-123"})
	req, _ = http.NewRequest(http.MethodPost, s.URL+"/api/files/spaces/"+space+"/links", bytes.NewReader(body))
	req.Header.Set("Origin", s.URL)
	req.Header.Set("Content-Type", "application/json")
	if resp, err = alice.Do(req); err != nil {
		t.Fatal(err)
	}
	var link struct{ Path string }
	_ = json.NewDecoder(resp.Body).Decode(&link)
	resp.Body.Close()
	if resp.StatusCode != 201 || link.Path == "" {
		t.Fatalf("create link: %d %+v", resp.StatusCode, link)
	}
	for _, tc := range []struct {
		password string
		want     int
	}{{"", 401}, {"motdepasse-123", 200}} {
		req, _ = http.NewRequest(http.MethodGet, s.URL+link.Path+"/content", nil)
		if tc.password != "" {
			req.Header.Set("Link-Password", tc.password)
		}
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == 200 && !bytes.Equal(got, content)) {
			t.Fatalf("link with password %q through the gateway: %d, %d bytes", tc.password, resp.StatusCode, len(got))
		}
	}

	chloe := signIn(t, s, "chloe.bernard@finances.gouv.fr")
	var e map[string]any
	if st := getJSON(chloe, "/api/files/spaces/"+space+"/nodes/"+nodeID, &e); st != 404 {
		t.Fatalf("another ministry's agent sees the file: %d %v", st, e)
	}
}
