package files_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"bureau/services/files"
	"bureau/services/platform/bus"
	"bureau/services/platform/identity"
	"bureau/services/platform/service"
	"bureau/services/platform/testenv"
)

// childEnv makes the test binary run the service itself (files.Main, as
// cmd/files does), for the tests that kill it.
const childEnv = "BUREAU_FILES_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		files.Main()
		return
	}
	testenv.Main(m)
}

// Agents of two ministries and an external.
var (
	alice   = identity.User{ID: "ualice", Email: "alice.martin@interieur.gouv.fr", GivenName: "Alice", UsualName: "Martin", Ministry: "interieur"}
	bruno   = identity.User{ID: "ubruno", Email: "bruno.leroy@interieur.gouv.fr", Ministry: "interieur"}
	chloe   = identity.User{ID: "uchloe", Email: "chloe.bernard@finances.gouv.fr", Ministry: "finances"}
	outside = identity.User{ID: "udavid", Email: "david.petit@partenaire.example", External: true}
)

// env is a running files service behind a simulated gateway: requests are
// signed with a test key, exactly as the gateway signs them.
type env struct {
	t      *testing.T
	URL    string
	Bus    bus.Bus
	signer *identity.Signer
	stop   func()
}

type envOptions struct {
	dbURL     string // default: a SQLite file of the test
	bucket    string // default: a new bucket on the shared MinIO
	clamav    string // default: a clamd of the test; "-" for none
	partSize  int64
	maxSize   int64
	quota     int64
	agentQ    int64 // per-agent quota
	agentQs   map[string]int64
	maxSpQ    int64 // max_space_quota
	inviteTTL time.Duration
	maxZip    int64
	keep      int // versions kept
	bus       bus.Bus
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	pub, priv, err := identity.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return startEnv(t, o, pub, priv)
}

func startEnv(t *testing.T, o envOptions, pub ed25519.PublicKey, priv ed25519.PrivateKey) *env {
	t.Helper()
	minio := testenv.SharedMinIO(t)
	if o.dbURL == "" {
		o.dbURL = "sqlite://" + filepath.Join(t.TempDir(), "files.db")
	}
	if o.bucket == "" {
		o.bucket = minio.NewBucket(t)
	}
	if o.clamav == "" {
		o.clamav = testenv.StartClamAV(t).Addr
	}
	if o.bus == nil {
		o.bus = bus.NewMemory(bus.MemoryOptions{})
	}
	c := files.Default()
	c.Database.URL = o.dbURL
	c.Storage.Kind = "s3"
	c.Storage.S3.Endpoint = minio.Endpoint
	c.Storage.S3.AccessKey, c.Storage.S3.SecretKey = minio.AccessKey, minio.SecretKey
	c.Storage.S3.Bucket = o.bucket
	if o.clamav != "-" {
		c.ClamAV.Address = o.clamav
	}
	c.ClamAV.Timeout = 5 * time.Second
	c.UploadPartSize = 5 << 20
	if o.partSize != 0 {
		c.UploadPartSize = o.partSize
	}
	c.DefaultQuota = o.quota
	c.AgentQuota = o.agentQ
	c.AgentQuotas = o.agentQs
	c.MaxSpaceQuota = o.maxSpQ
	if o.inviteTTL != 0 {
		c.InvitationTTL = o.inviteTTL
	}
	if o.maxZip != 0 {
		c.MaxZipSize = o.maxZip
	}
	if o.keep != 0 {
		c.KeepVersions = o.keep
	}
	if o.maxSize != 0 {
		c.MaxUploadSize = o.maxSize
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := service.NewWithKey("files", log, pub, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := files.NewWith(ctx, c, base, files.Options{Bus: o.bus})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); base.Serve(ctx, l, r.Handler()) }()
	e := &env{t: t, URL: "http://" + l.Addr().String(), Bus: o.bus, signer: identity.NewSigner(priv, 30*time.Second)}
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		r.Close()
	}
	t.Cleanup(e.stop)
	return e
}

// req builds a request as u (nil: anonymous).
func (e *env) req(u *identity.User, method, path string, body io.Reader) *http.Request {
	e.t.Helper()
	r, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if u != nil {
		e.sign(u, r.Header)
	}
	return r
}

func (e *env) sign(u *identity.User, h http.Header) {
	tok, _, err := e.signer.Sign(*u, "files")
	if err != nil {
		e.t.Fatal(err)
	}
	h.Set(identity.Header, tok)
}

func (e *env) do(r *http.Request) *http.Response {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// call sends JSON in (if any) as u, expects status and decodes into out.
func (e *env) call(u *identity.User, method, path string, in any, status int, out any) *http.Response {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	resp := e.do(e.req(u, method, path, body))
	if resp.StatusCode != status {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp
}

// errCode sends a request and returns status and error code.
func (e *env) errCode(u *identity.User, method, path string, in any) (int, string) {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	resp := e.do(e.req(u, method, path, body))
	var eb struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&eb)
	return resp.StatusCode, eb.Error
}

type space struct {
	ID, Kind, Name, Role string
}

type node struct {
	ID, Kind, Name, Scan string
	ParentID             string `json:"parent_id"`
	VersionID            string `json:"version_id"`
	Size                 int64
	ModifiedAt           time.Time `json:"modified_at"`
}

func (e *env) personal(u *identity.User) space {
	e.t.Helper()
	var out struct{ Spaces []space }
	e.call(u, "GET", "/api/files/spaces", nil, 200, &out)
	if len(out.Spaces) == 0 || out.Spaces[0].Kind != "personal" {
		e.t.Fatalf("no personal space first: %+v", out.Spaces)
	}
	return out.Spaces[0]
}

func (e *env) putFile(u *identity.User, sp, parent, name string, data []byte) node {
	e.t.Helper()
	resp := e.do(e.req(u, "PUT", "/api/files/spaces/"+sp+"/content?parent="+parent+"&name="+url.QueryEscape(name), bytes.NewReader(data)))
	if resp.StatusCode != 201 {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("PUT %s: %d %s", name, resp.StatusCode, b)
	}
	var n node
	if err := json.NewDecoder(resp.Body).Decode(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// waitScan polls the node until its scan state leaves pending.
func (e *env) waitScan(u *identity.User, sp, id string) node {
	e.t.Helper()
	// clamd takes tens of seconds for the 50 MiB file of the resume test
	// when the machine is loaded (CI runs many packages at once).
	deadline := time.Now().Add(120 * time.Second)
	for {
		var n node
		e.call(u, "GET", "/api/files/spaces/"+sp+"/nodes/"+id, nil, 200, &n)
		if n.Scan != "pending" {
			return n
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("node %s still pending after 120s", id)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func urlEscape(s string) string { return url.QueryEscape(s) }
