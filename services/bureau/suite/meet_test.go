package suite

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// Through the gateway: an agent's meeting is stored in meet.db under
// data_dir; someone without a session opens its guest link (REST and the
// signalling websocket pass the gateway anonymously) and waits in the
// lobby; an anonymous agent path is still refused.
func TestMeetGuestThroughGateway(t *testing.T) {
	var dataDir string
	s := startSuiteWith(t, func(c *Config) { dataDir = c.DataDir })
	alice := signIn(t, s, "alice.martin@interieur.gouv.fr")
	post := func(path, body string) map[string]any {
		t.Helper()
		resp, err := alice.Post(s.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&v) != nil {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
		return v
	}
	room := post("/api/meet/rooms", `{"title":"Avec un prestataire"}`)
	id, _ := room["id"].(string)
	link := post("/api/meet/rooms/"+id+"/guest-links", `{}`)
	token, _ := link["token"].(string)
	if _, err := os.Stat(filepath.Join(dataDir, "meet.db")); err != nil {
		t.Fatalf("meet.db under data_dir: %v", err)
	}

	resp, err := http.Get(s.URL + "/api/meet/guest/" + token)
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&g)
	resp.Body.Close()
	if resp.StatusCode != 200 || g["title"] != "Avec un prestataire" {
		t.Fatalf("anonymous guest view through the gateway: %d %v", resp.StatusCode, g)
	}
	if resp, err := http.Get(s.URL + "/api/meet/rooms/" + id); err != nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous room view: %v %v", resp, err)
	}

	ws := "ws" + strings.TrimPrefix(s.URL, "http") + "/api/meet/guest/" + token + "/ws?name=" + url.QueryEscape("Jeanne Prestataire")
	conn, r, err := websocket.DefaultDialer.Dial(ws, http.Header{"Origin": {s.URL}})
	if err != nil {
		t.Fatalf("guest websocket through the gateway: %v %v", err, r)
	}
	defer conn.Close()
	if err := conn.WriteJSON(map[string]string{"type": "join"}); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := conn.ReadJSON(&m); err != nil || m["type"] != "lobby" {
		t.Fatalf("guest's first message: %v %v", m, err)
	}
}
