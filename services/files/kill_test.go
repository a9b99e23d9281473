package files_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	_ "modernc.org/sqlite"

	"bureau/services/files/internal/tus"
	"bureau/services/platform/identity"
	"bureau/services/platform/testenv"
)

// proc is the files service running in a child process (this test binary
// in child mode, i.e. files.Main as cmd/files runs it).
type proc struct {
	t    *testing.T
	env  []string
	cmd  *exec.Cmd
	logs bytes.Buffer
}

func (p *proc) start(e *env, extra ...string) {
	p.t.Helper()
	p.cmd = exec.Command(os.Args[0])
	p.cmd.Env = append(append(os.Environ(), p.env...), extra...)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second) // a loaded CI machine
	for {
		resp, err := http.Get(e.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the files service did not start:\n%s", p.logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// kill9 kills the process without warning.
func (p *proc) kill9() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd.Wait()
}

// patchOpen starts a PATCH of length bytes at offset, sends body and
// leaves the connection open (the rest never comes).
func (e *env) patchOpen(u *identity.User, loc string, offset, length int64, body []byte) net.Conn {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	h := http.Header{}
	e.sign(u, h)
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: files\r\n%s: %s\r\nTus-Resumable: 1.0.0\r\nContent-Type: %s\r\nUpload-Offset: %d\r\nContent-Length: %d\r\n\r\n",
		loc, identity.Header, h.Get(identity.Header), tus.ContentType, offset, length)
	if _, err := conn.Write(body); err != nil {
		e.t.Fatal(err)
	}
	return conn
}

// committed polls the database file until upload id has want bytes
// recorded (HEAD would wait for the PATCH in progress).
func committed(t *testing.T, dbPath, id string, want int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int64
		err := db.QueryRow(`SELECT parts_size + tail_size FROM files_uploads WHERE id = ?`, id).Scan(&got)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload %s: %d bytes committed (%v), want %d", id, got, err, want)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// resume PATCHes the rest of data from offset, retrying while the dead
// process's lease lapses, and returns the completed file's id.
func (e *env) resume(u *identity.User, loc string, offset int64, data []byte) string {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp := e.tusPatch(u, loc, offset, data[offset:])
		body := readBody(resp)
		if resp.StatusCode == 204 {
			return resp.Header.Get("Bureau-File-Id")
		}
		if resp.StatusCode != 409 || !bytes.Contains(body, []byte("upload_busy")) || time.Now().After(deadline) {
			e.t.Fatalf("resume: %d %s", resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond) // polling interval: the lease lapses
	}
}

// kill -9 of the service in the middle of a PATCH: after a restart HEAD
// reports what was acknowledged (committed), the upload resumes and the
// file is intact; an upload abandoned by a second kill leaves nothing in
// storage once the cleanup job has run — neither the multipart upload nor
// its tail objects.
func TestKill9DuringUpload(t *testing.T) {
	t.Parallel()
	for _, storage := range []string{"disk", "minio"} {
		t.Run(storage, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			pub, priv, err := identity.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			e := &env{t: t, URL: "http://" + addr, signer: identity.NewSigner(priv, 30*time.Second)}
			dbPath := filepath.Join(dir, "files.db")
			p := &proc{t: t, env: []string{childEnv + "=1", "BUREAU_FILES_LISTEN=" + addr, "BUREAU_FILES_PUBLIC_URL=http://" + addr,
				"BUREAU_FILES_GATEWAY_PUBLIC_KEY=" + identity.EncodePublicKey(pub), "BUREAU_FILES_DATABASE_URL=sqlite://" + dbPath,
				"BUREAU_FILES_UPLOAD_PART_SIZE=5242880", "BUREAU_FILES_UPLOAD_LEASE=1s", "BUREAU_FILES_LOG_LEVEL=warn"}}
			var leftovers func(key, id string)
			if storage == "disk" {
				blobs := filepath.Join(dir, "blobs")
				p.env = append(p.env, "BUREAU_FILES_STORAGE_KIND=disk", "BUREAU_FILES_STORAGE_DIR="+blobs)
				leftovers = func(string, string) {
					var left []string
					for _, sub := range []string{"uploads", "objects/tus"} {
						filepath.WalkDir(filepath.Join(blobs, sub), func(path string, d os.DirEntry, err error) error {
							if err == nil && !d.IsDir() {
								left = append(left, path)
							}
							return nil
						})
					}
					if len(left) > 0 {
						t.Fatalf("left in storage: %v", left)
					}
				}
			} else {
				m := testenv.SharedMinIO(t)
				bucket := m.NewBucket(t)
				p.env = append(p.env, "BUREAU_FILES_STORAGE_KIND=s3", "BUREAU_FILES_STORAGE_S3_ENDPOINT="+m.Endpoint,
					"BUREAU_FILES_STORAGE_S3_ACCESS_KEY="+m.AccessKey, "BUREAU_FILES_STORAGE_S3_SECRET_KEY="+m.SecretKey,
					"BUREAU_FILES_STORAGE_S3_BUCKET="+bucket)
				leftovers = func(key, id string) {
					ctx := context.Background()
					for up := range m.Client.ListIncompleteUploads(ctx, bucket, key, true) {
						t.Fatalf("incomplete multipart upload left: %+v", up)
					}
					for obj := range m.Client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "tus/", Recursive: true}) {
						t.Fatalf("object left: %s %v", obj.Key, obj.Err)
					}
				}
			}
			defer func() {
				if t.Failed() {
					t.Logf("service logs:\n%s", p.logs.String())
				}
			}()

			p.start(e)
			sp := e.personal(&alice).ID
			data := randomBytes(11 << 20)
			resp, loc := e.tusCreate(&alice, int64(len(data)), map[string]string{"space": sp, "filename": "gros.bin"})
			if resp.StatusCode != 201 {
				t.Fatalf("create: %d", resp.StatusCode)
			}
			id := strings.TrimPrefix(loc, "/api/files/uploads/")
			// 10.5 MiB of 11 sent: two parts committed, the rest in memory.
			e.patchOpen(&alice, loc, 0, int64(len(data)), data[:21<<19])
			committed(t, dbPath, id, 10<<20)
			p.kill9()

			p.start(e)
			if off := e.tusHead(&alice, loc); off != 10<<20 {
				t.Fatalf("offset after kill -9: %d, want %d", off, 10<<20)
			}
			file := e.resume(&alice, loc, 10<<20, data)
			if got := readBody(e.download(&alice, sp, file, nil)); sha256.Sum256(got) != sha256.Sum256(data) {
				t.Fatalf("downloaded %d bytes, not the uploaded ones", len(got))
			}

			// Abandoned: a PATCH that leaves a part and a tail, then a kill
			// in the middle of the next one (whose part commit makes that
			// tail stale).
			_, loc2 := e.tusCreate(&alice, int64(len(data)), map[string]string{"space": sp, "filename": "abandon.bin"})
			id2 := strings.TrimPrefix(loc2, "/api/files/uploads/")
			if resp := e.tusPatch(&alice, loc2, 0, data[:7<<20]); resp.StatusCode != 204 {
				t.Fatalf("first PATCH: %d", resp.StatusCode)
			}
			e.patchOpen(&alice, loc2, 7<<20, 4<<20, data[7<<20:21<<19])
			committed(t, dbPath, id2, 10<<20)
			p.kill9()

			// The cleanup job runs at start and every 200 ms; expiry 1 ms.
			p.start(e, "BUREAU_FILES_UPLOAD_EXPIRY=1ms", "BUREAU_FILES_JOBS_INTERVAL=200ms")
			deadline := time.Now().Add(20 * time.Second)
			for {
				r := e.req(&alice, "HEAD", loc2, nil)
				r.Header.Set(tus.HeaderResumable, tus.Version)
				if resp := e.do(r); resp.StatusCode == 404 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the abandoned upload was never cleaned up")
				}
				time.Sleep(50 * time.Millisecond) // polling interval
			}
			leftovers("v/"+id2[:2]+"/"+id2, id2)
			// The completed file is still there.
			var n node
			e.call(&alice, "GET", "/api/files/spaces/"+sp+"/nodes/"+file, nil, 200, &n)
			if n.Size != int64(len(data)) {
				t.Fatalf("completed file after cleanup: %+v", n)
			}
			p.kill9()
		})
	}
}
