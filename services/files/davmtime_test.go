package files_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A WebDAV PUT with Nextcloud's X-OC-Mtime keeps the client's
// modification time (answered "X-OC-Mtime: accepted"), and so does
// rclone with the owncloud vendor; a bad value is refused before the body.
func TestWebDAVMtime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	sp := e.personal(&alice).ID
	front := e.davFront(&alice)
	dav := front.URL + "/dav/Mon espace/"
	resp := davReq(t, &alice, "PUT", dav+"ancien.txt", strings.NewReader("vieux"), map[string]string{"X-OC-Mtime": "1262304000"})
	if resp.StatusCode != 201 || resp.Header.Get("X-OC-Mtime") != "accepted" {
		t.Fatalf("PUT with X-OC-Mtime: %d %v", resp.StatusCode, resp.Header)
	}
	if n := e.list(&alice, sp, "")["ancien.txt"]; !n.ModifiedAt.Equal(time.Unix(1262304000, 0)) {
		t.Fatalf("modified_at: %v", n.ModifiedAt)
	}
	body := readAll(t, davReq(t, &alice, "PROPFIND", dav+"ancien.txt", nil, map[string]string{"Depth": "0"}))
	if !strings.Contains(body, "Fri, 01 Jan 2010 00:00:00 GMT") {
		t.Fatalf("getlastmodified: %s", body)
	}
	if resp := davReq(t, &alice, "PUT", dav+"neuf.txt", strings.NewReader("x"), nil); resp.StatusCode != 201 || resp.Header.Get("X-OC-Mtime") != "" {
		t.Fatalf("PUT without X-OC-Mtime: %d %v", resp.StatusCode, resp.Header)
	}
	for _, bad := range []string{"0x5", "-1", "1e9", "abc", "100", "1262304000.", "99999999999999"} {
		resp := davReq(t, &alice, "PUT", dav+"mauvais.txt", strings.NewReader("x"), map[string]string{"X-OC-Mtime": bad})
		if b := readAll(t, resp); resp.StatusCode != 400 || !strings.Contains(b, "invalid_mtime") {
			t.Fatalf("X-OC-Mtime %q: %d %s", bad, resp.StatusCode, b)
		}
	}
	if _, ok := e.list(&alice, sp, "")["mauvais.txt"]; ok {
		t.Fatal("a refused PUT stored the file")
	}

	// rclone's owncloud vendor sends X-OC-Mtime: the times survive a copy.
	rclone, err := exec.LookPath("rclone")
	if err != nil {
		t.Fatal("rclone is required: ", err)
	}
	src := t.TempDir()
	old := time.Date(2019, 6, 14, 8, 30, 0, 0, time.UTC)
	p := filepath.Join(src, "photo.txt")
	if err := os.WriteFile(p, []byte("souvenir"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, old, old)
	obscured, err := exec.Command(rclone, "obscure", davPassword).Output()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, rclone, "copy", src, "bureau:Mon espace/Import", "--retries", "1", "--low-level-retries", "1")
	cmd.Env = append(os.Environ(), "RCLONE_CONFIG="+filepath.Join(t.TempDir(), "rclone.conf"),
		"RCLONE_CONFIG_BUREAU_TYPE=webdav", "RCLONE_CONFIG_BUREAU_URL="+front.URL+"/dav/", "RCLONE_CONFIG_BUREAU_VENDOR=owncloud",
		"RCLONE_CONFIG_BUREAU_USER="+alice.Email, "RCLONE_CONFIG_BUREAU_PASS="+strings.TrimSpace(string(obscured)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rclone: %v\n%s", err, out)
	}
	imp := e.list(&alice, sp, "")["Import"]
	if n := e.list(&alice, sp, imp.ID)["photo.txt"]; !n.ModifiedAt.Equal(old) {
		t.Fatalf("rclone's file: modified_at %v, want %v", n.ModifiedAt, old)
	}
}
