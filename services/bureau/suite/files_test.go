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

	chloe := signIn(t, s, "chloe.bernard@finances.gouv.fr")
	var e map[string]any
	if st := getJSON(chloe, "/api/files/spaces/"+space+"/nodes/"+nodeID, &e); st != 404 {
		t.Fatalf("another ministry's agent sees the file: %d %v", st, e)
	}
}
