package files_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"bureau/services/files/internal/tus"
	"bureau/services/platform/identity"
	"bureau/services/platform/testenv"
)

// Two replicas on one PostgreSQL and one bucket: while a PATCH streams
// into an upload on one, a PATCH on the other is refused (409
// upload_busy), and one from a stale offset too (409 offset_mismatch);
// the upload completes intact.
func TestTusTwoReplicas(t *testing.T) {
	t.Parallel()
	a, b, _ := replicas(t)
	sp := a.personal(&alice)
	data := randomBytes(12 << 20)
	resp, loc := a.tusCreate(&alice, int64(len(data)), map[string]string{"space": sp.ID, "filename": "partagé.bin"})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}

	// A PATCH on replica A, its body still coming.
	pr, pw := io.Pipe()
	req := a.req(&alice, "PATCH", loc, pr)
	req.Header.Set(tus.HeaderResumable, tus.Version)
	req.Header.Set("Content-Type", tus.ContentType)
	req.Header.Set(tus.HeaderOffset, "0")
	req.ContentLength = int64(len(data))
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(done)
			return
		}
		done <- resp
	}()
	if _, err := pw.Write(data[:6<<20]); err != nil {
		t.Fatal(err)
	}
	// Once a part is committed, A is surely inside its PATCH.
	deadline := time.Now().Add(20 * time.Second)
	for b.tusHead(&alice, loc) != 5<<20 {
		if time.Now().After(deadline) {
			t.Fatal("the first part was never committed")
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	if resp := b.tusPatch(&alice, loc, 5<<20, data[5<<20:6<<20]); resp.StatusCode != 409 || !bytes.Contains(readBody(resp), []byte("upload_busy")) {
		t.Fatalf("concurrent PATCH on replica B: %d", resp.StatusCode)
	}
	if resp := b.tusPatch(&alice, loc, 0, data[:10]); resp.StatusCode != 409 || !bytes.Contains(readBody(resp), []byte("offset_mismatch")) {
		t.Fatalf("stale PATCH on replica B: %d", resp.StatusCode)
	}
	if _, err := pw.Write(data[6<<20:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	resp = <-done
	if resp == nil || resp.StatusCode != 204 {
		t.Fatalf("PATCH on A: %v", resp)
	}
	resp.Body.Close()
	id := resp.Header.Get("Bureau-File-Id")
	if off, _ := strconv.Atoi(resp.Header.Get(tus.HeaderOffset)); off != len(data) || id == "" {
		t.Fatalf("completed at %d, file %q", off, id)
	}
	got := readBody(b.download(&alice, sp.ID, id, nil))
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("content differs (%d bytes)", len(got))
	}
}

// replicas starts two instances of the service on one PostgreSQL
// database and one bucket; start starts another one.
func replicas(t *testing.T) (a, b *env, start func() *env) {
	pub, priv, err := identity.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	o := envOptions{dbURL: testenv.SharedPostgres(t).NewDatabase(t), bucket: testenv.SharedMinIO(t).NewBucket(t), clamav: "-"}
	start = func() *env { return startEnv(t, o, pub, priv) }
	return start(), start(), start
}

func readBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(resp.Body)
	return b
}
