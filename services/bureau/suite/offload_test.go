package suite

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"bureau/services/platform/testenv"
)

// With S3 storage, downloads through the real gateway → files → MinIO
// (the gateway fetching the bytes from MinIO, package offload) give the
// uploaded bytes, whole and ranged, with the files service's headers and
// none of the offload ones; a client leaving mid-download leaves no
// connection to MinIO behind.
func TestFilesDownloadsThroughGatewayFromS3(t *testing.T) {
	minio := testenv.SharedMinIO(t)
	bucket := minio.NewBucket(t)
	s := startSuiteWith(t, func(c *Config) {
		st := &c.Files.Storage
		st.Kind = "s3"
		st.S3.Endpoint, st.S3.Bucket = minio.Endpoint, bucket
		st.S3.AccessKey, st.S3.SecretKey = minio.AccessKey, minio.SecretKey
	})
	alice := signIn(t, s, "alice.martin@interieur.gouv.fr")
	alice.Timeout = 0 // the cancelled download below reads slowly
	var spaces struct {
		Spaces []struct{ ID string } `json:"spaces"`
	}
	resp, err := alice.Get(s.URL + "/api/files/spaces")
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(resp, &spaces); err != nil || len(spaces.Spaces) == 0 {
		t.Fatalf("spaces: %v %+v", err, spaces)
	}
	space := spaces.Spaces[0].ID
	data := make([]byte, 24<<20+3) // more than the socket buffers: the copy blocks on the client
	rand.Read(data)
	req, _ := http.NewRequest(http.MethodPut, s.URL+"/api/files/spaces/"+space+"/content?name=donnees.bin", bytes.NewReader(data))
	req.Header.Set("Origin", s.URL)
	if resp, err = alice.Do(req); err != nil {
		t.Fatal(err)
	}
	var node struct{ ID string }
	if err := decode(resp, &node); err != nil || resp.StatusCode != 201 {
		t.Fatalf("upload: %d %v", resp.StatusCode, err)
	}
	content := s.URL + "/api/files/spaces/" + space + "/nodes/" + node.ID + "/content"

	get := func(hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, content, nil)
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := alice.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		for k := range resp.Header {
			if strings.HasPrefix(strings.ToLower(k), "bureau-offload") {
				t.Fatalf("the client got %s", k)
			}
		}
		return resp, b
	}
	resp, got := get()
	if resp.StatusCode != 200 || sha256.Sum256(got) != sha256.Sum256(data) || resp.ContentLength != int64(len(data)) {
		t.Fatalf("download: %d, %d bytes, Content-Length %d", resp.StatusCode, len(got), resp.ContentLength)
	}
	if resp.Header.Get("Content-Disposition") != "attachment; filename=donnees.bin" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("headers: %v", resp.Header)
	}
	etag := resp.Header.Get("ETag")
	resp, got = get("Range", "bytes=5000000-9000000")
	if resp.StatusCode != 206 || !bytes.Equal(got, data[5000000:9000001]) || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 5000000-9000000/%d", len(data)) {
		t.Fatalf("range: %d, %d bytes, %q", resp.StatusCode, len(got), resp.Header.Get("Content-Range"))
	}
	if resp, _ = get("If-None-Match", etag); resp.StatusCode != 304 || etag == "" {
		t.Fatalf("If-None-Match %q: %d", etag, resp.StatusCode)
	}

	// A client that leaves after 1 MiB: the gateway closes its connection
	// to MinIO (none of this process's is left with unread data).
	req, _ = http.NewRequest(http.MethodGet, content, nil)
	if resp, err = alice.Do(req); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	// The gateway's copy blocks on the client, MinIO's bytes wait.
	waitFor(t, "a connection to MinIO with unread data mid-download (the bytes come from MinIO)", func() bool { return unreadFrom(t, minio.Endpoint) > 0 })
	resp.Body.Close()
	waitFor(t, "no connection to MinIO left with unread data after the client left", func() bool { return unreadFrom(t, minio.Endpoint) == 0 })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, still not: %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func decode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// unreadFrom counts the connections of this process to addr (host:port)
// whose receive queue holds data not yet read (Linux /proc).
func unreadFrom(t *testing.T, addr string) int {
	t.Helper()
	u, _ := url.Parse("tcp://" + addr)
	port, _ := strconv.Atoi(u.Port())
	mine := map[string]bool{} // socket inodes of this process
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
			mine[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Skip("no /proc/net/tcp")
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 || !mine[fs[9]] {
			continue
		}
		_, rport, _ := strings.Cut(fs[2], ":")
		_, rx, _ := strings.Cut(fs[4], ":")
		if p, _ := strconv.ParseInt(rport, 16, 32); int(p) == port && rx != "00000000" {
			n++
		}
	}
	return n
}
