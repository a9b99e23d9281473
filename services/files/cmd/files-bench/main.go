// Command files-bench is `make bench-files` (scripts/bench-files.sh starts
// MinIO, the files service and the gateway as separate processes, as in
// production, then runs it). It prints figures; it never fails on a timing,
// only when a measurement is invalid (wrong size, refused request).
//
//   - a file of -size bytes uploaded and downloaded (a) with minio-go
//     straight to MinIO and (b) through Bureau: gateway → files → MinIO,
//     as a signed-in agent (session cookie from the development IdP's
//     login_hint flow), tus creation + one PATCH, then GET; MB/s and ratio;
//   - a folder of -files files: creation (PUT), listing through the API
//     (pages of 1000) and WebDAV PROPFIND depth 1 (app password);
//   - metadata operations per second through the gateway: create folder,
//     rename, move (8 clients).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"bureau/services/files/internal/tus"
	"bureau/services/platform/identity"
)

var (
	gw       = flag.String("url", "", "gateway URL (http://127.0.0.1:PORT)")
	email    = flag.String("email", "alice.martin@interieur.gouv.fr", "agent signing in through the development IdP")
	endpoint = flag.String("minio", "", "MinIO endpoint host:port")
	access   = flag.String("access-key", "", "MinIO access key")
	secret   = flag.String("secret-key", "", "MinIO secret key")
	bucket   = flag.String("bucket", "", "bucket for the raw MinIO transfer (created if missing)")
	size     = flag.Int64("size", 1<<30, "bytes of the big file")
	partSize = flag.Uint64("part-size", 16<<20, "minio-go part size (use the files service's upload_part_size)")
	rounds   = flag.Int("rounds", 1, "transfer rounds (MinIO then Bureau, alternated)")
	nFiles   = flag.Int("files", 10000, "files in the big folder (0: skip)")
	nOps     = flag.Int("ops", 2000, "metadata operations of each kind (0: skip)")
	filesURL = flag.String("files-url", "", "files service URL, to also measure it directly (with -identity-key)")
	idKey    = flag.String("identity-key", "", "gateway identity private key (base64 seed), to sign the direct requests")
	pids     = flag.String("pids", "", "processes whose CPU time per GB to print: name=pid,… (from /proc)")
	mkBucket = flag.String("make-bucket", "", "only create this bucket on -minio and exit (for the files service, which does not create its own)")
	dlOnly   = flag.Bool("downloads-only", false, "upload once, then measure only downloads (-rounds of them); skips the folder and metadata figures")
)

// jar-backed client: the session cookie, no redirects followed except the
// sign-in (done with its own client).
var client *http.Client

func main() {
	flag.Parse()
	parsePids()
	if *mkBucket != "" {
		makeBucket(newMinio(), *mkBucket)
		return
	}
	if *gw == "" || *endpoint == "" || *bucket == "" {
		fail("-url, -minio and -bucket are required")
	}
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 64, WriteBufferSize: 256 << 10, ReadBufferSize: 256 << 10, DisableCompression: true}
	client = &http.Client{Jar: jar, Transport: tr}
	signIn()
	space := personalSpace()

	mc := newMinio()
	makeBucket(mc, *bucket)
	fmt.Printf("bench-files: gateway %s → files → MinIO %s; file of %d MiB; minio-go part size %d MiB, one stream\n",
		*gw, *endpoint, *size>>20, *partSize>>20)
	gateway := target{name: "Bureau (gateway → files → MinIO)", base: *gw}
	direct := directTarget()
	if *dlOnly {
		downloadsOnly(mc, gateway, direct, space)
		return
	}
	fmt.Printf("\n%-8s %-36s %12s %14s\n", "round", "", "upload MB/s", "download MB/s")
	var raws, bures, dirs [][2]float64
	row := func(r, label string, up, down float64) { fmt.Printf("%-8s %-36s %12.0f %14.0f\n", r, label, up, down) }
	ratio := func(r string, b, m [2]float64) {
		fmt.Printf("%-8s %-36s %11.0f%% %13.0f%%\n", r, "ratio Bureau / MinIO", 100*b[0]/m[0], 100*b[1]/m[1])
	}
	for r := 1; r <= *rounds; r++ {
		// Alternated so that drift of the shared machine spreads over both.
		raw := rawTransfer(mc, r)
		bur := bureauTransfer(gateway, space, r)
		raws, bures = append(raws, raw), append(bures, bur)
		rs := strconv.Itoa(r)
		row(rs, "MinIO (minio-go, direct)", raw[0], raw[1])
		row(rs, gateway.name, bur[0], bur[1])
		if direct != nil {
			d := bureauTransfer(*direct, space, r)
			dirs = append(dirs, d)
			row(rs, direct.name, d[0], d[1])
		}
		ratio(rs, bur, raw)
	}
	if *rounds > 1 {
		raw, bur := [2]float64{median(raws, 0), median(raws, 1)}, [2]float64{median(bures, 0), median(bures, 1)}
		row("median", "MinIO (minio-go, direct)", raw[0], raw[1])
		row("median", gateway.name, bur[0], bur[1])
		if direct != nil {
			row("median", direct.name, median(dirs, 0), median(dirs, 1))
		}
		ratio("median", bur, raw)
	}
	if *nFiles > 0 {
		bigFolder(space)
	}
	if *nOps > 0 {
		metadata(space)
	}
}

func newMinio() *minio.Client {
	mc, err := minio.New(*endpoint, &minio.Options{Creds: credentials.NewStaticV4(*access, *secret, "")})
	if err != nil {
		fail("minio: %v", err)
	}
	return mc
}

func makeBucket(mc *minio.Client, name string) {
	if ok, err := mc.BucketExists(context.Background(), name); err == nil && ok {
		return
	}
	if err := mc.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		fail("minio: make bucket %s: %v", name, err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "files-bench: "+format+"\n", args...)
	os.Exit(1)
}

// signIn follows the development IdP's login_hint flow (no click): the jar
// ends up with the gateway's session cookie.
func signIn() {
	c := &http.Client{Jar: client.Jar, Timeout: 20 * time.Second}
	resp, err := c.Get(*gw + "/auth/login?redirect=/&login_hint=" + url.QueryEscape(*email))
	if err != nil {
		fail("sign-in: %v", err)
	}
	resp.Body.Close()
	var me struct{ Email string }
	call("GET", "/api/me", nil, 200, &me)
	if me.Email != *email {
		fail("sign-in: /api/me says %q", me.Email)
	}
}

func personalSpace() string {
	var out struct {
		Spaces []struct{ ID, Kind string }
	}
	call("GET", "/api/files/spaces", nil, 200, &out)
	for _, s := range out.Spaces {
		if s.Kind == "personal" {
			return s.ID
		}
	}
	fail("no personal space")
	return ""
}

// call does a JSON request through the gateway and checks the status.
func call(method, path string, body any, want int, out any) {
	resp, err := do(method, path, body)
	if err != nil {
		fail("%s %s: %v", method, path, err)
	}
	if err := check(resp, want, out); err != nil {
		fail("%s %s: %v", method, path, err)
	}
}

func do(method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, *gw+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return client.Do(req)
}

func check(resp *http.Response, want int, out any) error {
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("HTTP %d, want %d: %s", resp.StatusCode, want, b)
	}
	if out == nil {
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

func median(xs [][2]float64, i int) float64 {
	v := make([]float64, len(xs))
	for k, x := range xs {
		v[k] = x[i]
	}
	for a := range v {
		for b := a + 1; b < len(v); b++ {
			if v[b] < v[a] {
				v[a], v[b] = v[b], v[a]
			}
		}
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// procs are the server processes watched (-pids), in order.
var procs []struct {
	name string
	pid  int
}

func parsePids() {
	if *pids == "" {
		return
	}
	for _, kv := range strings.Split(*pids, ",") {
		name, v, ok := strings.Cut(kv, "=")
		pid, err := strconv.Atoi(v)
		if !ok || err != nil {
			fail("-pids: %q is not name=pid", kv)
		}
		procs = append(procs, struct {
			name string
			pid  int
		}{name, pid})
	}
}

// cpuSample is the CPU time of each watched process, of this bench, and
// of the whole machine (busy time over all cores), at one instant.
type cpuSample struct {
	at          time.Time
	procs       []time.Duration
	self, total time.Duration
}

func procCPU(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces): utime is the 14th, stime the 15th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func cpuTimes() cpuSample {
	c := cpuSample{at: time.Now(), procs: make([]time.Duration, len(procs)), self: procCPU("/proc/self/stat")}
	for i, p := range procs {
		c.procs[i] = procCPU(fmt.Sprintf("/proc/%d/stat", p.pid))
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		// cpu  user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
		line, _, _ := strings.Cut(string(b), "\n")
		for i, v := range strings.Fields(line)[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			if i != 3 && i != 4 && i < 8 {
				c.total += time.Duration(n) * time.Second / 100
			}
		}
	}
	return c
}

// cpuPerGB formats the CPU seconds per GB each process spent since
// before, and how many cores everything else on the machine kept busy
// meanwhile (other sessions' builds and tests disturb the figures).
func cpuPerGB(before cpuSample) string {
	if len(procs) == 0 {
		return ""
	}
	after := cpuTimes()
	parts := make([]string, len(procs))
	others := after.total - before.total - (after.self - before.self)
	for i, p := range procs {
		d := after.procs[i] - before.procs[i]
		others -= d
		parts[i] = fmt.Sprintf("%s %.2f", p.name, d.Seconds()/(float64(*size)/1e9))
	}
	return fmt.Sprintf("CPU s/GB %s (bench %.2f; other work %.1f cores)", strings.Join(parts, ", "),
		(after.self-before.self).Seconds()/(float64(*size)/1e9), max(0, others.Seconds()/after.at.Sub(before.at).Seconds()))
}

// target is where the Bureau transfer goes: the gateway (session cookie)
// or, for comparison, the files service itself (identity token signed here,
// as the gateway would).
type target struct {
	name, base string
	sign       func(http.Header)
}

func directTarget() *target {
	if *filesURL == "" || *idKey == "" {
		return nil
	}
	key, err := identity.DecodePrivateKey(*idKey)
	if err != nil {
		fail("identity key: %v", err)
	}
	// The agent as /api/me shows it, as the identity the gateway signs.
	var me struct {
		identity.User
		Ministry *struct{ ID string } `json:"ministry"`
	}
	call("GET", "/api/me", nil, 200, &me)
	u := me.User
	if me.Ministry != nil {
		u.Ministry = me.Ministry.ID
	}
	signer := identity.NewSigner(key, 10*time.Minute)
	return &target{name: "files service direct (no gateway)", base: *filesURL, sign: func(h http.Header) {
		tok, _, err := signer.Sign(u, "files")
		if err != nil {
			fail("sign: %v", err)
		}
		h.Set(identity.Header, tok)
	}}
}

// rawTransfer: minio-go PutObject (one stream, parts of -part-size) and
// GetObject of the same bytes; MB/s up and down.
func rawTransfer(mc *minio.Client, round int) [2]float64 {
	ctx := context.Background()
	key := fmt.Sprintf("raw/bench-%d.bin", round)
	src := newDataReader(*size)
	cpu := cpuTimes()
	start := time.Now()
	if _, err := mc.PutObject(ctx, *bucket, key, src, *size, minio.PutObjectOptions{PartSize: *partSize, NumThreads: 1}); err != nil {
		fail("minio put: %v", err)
	}
	up := mbps(*size, time.Since(start))
	upCPU := cpuPerGB(cpu)
	down, downCPU := rawDownload(mc, key, src.sum.Sum32())
	if upCPU != "" {
		fmt.Printf("         MinIO direct  upload %s; download %s\n", upCPU, downCPU)
	}
	_ = mc.RemoveObject(ctx, *bucket, key, minio.RemoveObjectOptions{})
	return [2]float64{up, down}
}

// rawDownload: minio-go GetObject of key, whose CRC-32C is sum; MB/s and
// CPU per GB.
func rawDownload(mc *minio.Client, key string, sum uint32) (float64, string) {
	cpu := cpuTimes()
	start := time.Now()
	obj, err := mc.GetObject(context.Background(), *bucket, key, minio.GetObjectOptions{})
	if err != nil {
		fail("minio get: %v", err)
	}
	got := crc32.New(crcTable)
	n, err := io.Copy(got, obj)
	obj.Close()
	if err != nil || n != *size || got.Sum32() != sum {
		fail("minio get: %d bytes, %v, checksum match %v", n, err, got.Sum32() == sum)
	}
	return mbps(*size, time.Since(start)), cpuPerGB(cpu)
}

// bureauTransfer: tus creation and one PATCH with the whole file through
// the gateway (what a client on a good link does), then a plain GET.
func bureauTransfer(t target, space string, round int) [2]float64 {
	name := fmt.Sprintf("bench-%d-%d.bin", time.Now().UnixNano(), round)
	src := newDataReader(*size)
	cpu := cpuTimes()
	start := time.Now()
	id := t.upload(space, name, src)
	up := mbps(*size, time.Since(start))
	upCPU := cpuPerGB(cpu)
	down, downCPU := t.download(space, id, src.sum.Sum32())
	if upCPU != "" {
		fmt.Printf("         %s  upload %s; download %s\n", t.name, upCPU, downCPU)
	}
	call("DELETE", "/api/files/spaces/"+space+"/nodes/"+id, nil, 204, nil)
	return [2]float64{up, down}
}

func (t target) send(req *http.Request) (*http.Response, error) {
	if t.sign != nil {
		t.sign(req.Header)
	}
	return client.Do(req)
}

// upload sends src as a new file of the space with tus (creation and one
// PATCH) and returns its node id.
func (t target) upload(space, name string, src io.Reader) string {
	req, _ := http.NewRequest("POST", t.base+"/api/files/uploads", nil)
	req.Header.Set(tus.HeaderResumable, tus.Version)
	req.Header.Set(tus.HeaderLength, strconv.FormatInt(*size, 10))
	req.Header.Set(tus.HeaderMetadata, tus.FormatMetadata(map[string]string{"space": space, "filename": name}))
	resp, err := t.send(req)
	if err != nil {
		fail("tus create: %v", err)
	}
	if err := check(resp, 201, nil); err != nil {
		fail("tus create: %v", err)
	}
	req, _ = http.NewRequest("PATCH", t.base+resp.Header.Get("Location"), src)
	req.ContentLength = *size
	req.Header.Set(tus.HeaderResumable, tus.Version)
	req.Header.Set("Content-Type", tus.ContentType)
	req.Header.Set(tus.HeaderOffset, "0")
	resp, err = t.send(req)
	if err != nil {
		fail("tus patch: %v", err)
	}
	if err := check(resp, 204, nil); err != nil {
		fail("tus patch: %v", err)
	}
	return resp.Header.Get("Bureau-File-Id")
}

// download GETs file id, whose CRC-32C is sum; MB/s and CPU per GB.
func (t target) download(space, id string, sum uint32) (float64, string) {
	cpu := cpuTimes()
	start := time.Now()
	req, _ := http.NewRequest("GET", t.base+"/api/files/spaces/"+space+"/nodes/"+id+"/content", nil)
	resp, err := t.send(req)
	if err != nil {
		fail("download: %v", err)
	}
	got := crc32.New(crcTable)
	n, err := io.Copy(got, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || n != *size || got.Sum32() != sum {
		fail("download: HTTP %d, %d bytes, %v, checksum match %v", resp.StatusCode, n, err, got.Sum32() == sum)
	}
	return mbps(*size, time.Since(start)), cpuPerGB(cpu)
}

// downloadsOnly uploads the file once each way, then only downloads it,
// -rounds times alternated: quicker A/B runs when working on downloads.
func downloadsOnly(mc *minio.Client, gateway target, direct *target, space string) {
	key := "raw/bench-downloads.bin"
	src := newDataReader(*size)
	if _, err := mc.PutObject(context.Background(), *bucket, key, src, *size, minio.PutObjectOptions{PartSize: *partSize, NumThreads: 1}); err != nil {
		fail("minio put: %v", err)
	}
	sum := src.sum.Sum32()
	id := gateway.upload(space, fmt.Sprintf("bench-downloads-%d.bin", time.Now().UnixNano()), newDataReader(*size))
	fmt.Printf("\n%-8s %-36s %14s\n", "round", "", "download MB/s")
	var raws, bures [][2]float64
	for r := 1; r <= *rounds; r++ {
		rs := strconv.Itoa(r)
		raw, cpu := rawDownload(mc, key, sum)
		fmt.Printf("%-8s %-36s %14.0f  %s\n", rs, "MinIO (minio-go, direct)", raw, cpu)
		bur, cpu := gateway.download(space, id, sum)
		fmt.Printf("%-8s %-36s %14.0f  %s\n", rs, gateway.name, bur, cpu)
		if direct != nil {
			d, cpu := direct.download(space, id, sum)
			fmt.Printf("%-8s %-36s %14.0f  %s\n", rs, direct.name, d, cpu)
		}
		fmt.Printf("%-8s %-36s %13.0f%%\n", rs, "ratio Bureau / MinIO", 100*bur/raw)
		raws, bures = append(raws, [2]float64{0, raw}), append(bures, [2]float64{0, bur})
	}
	if *rounds > 1 {
		fmt.Printf("%-8s %-36s %13.0f%%\n", "median", "ratio Bureau / MinIO", 100*median(bures, 1)/median(raws, 1))
	}
	call("DELETE", "/api/files/spaces/"+space+"/nodes/"+id, nil, 204, nil)
	_ = mc.RemoveObject(context.Background(), *bucket, key, minio.RemoveObjectOptions{})
}

type node struct {
	ID string `json:"id"`
}

func bigFolder(space string) {
	var folder node
	call("POST", "/api/files/spaces/"+space+"/folders", map[string]string{"name": fmt.Sprintf("Grand dossier %d", time.Now().UnixNano())}, 201, &folder)
	start := time.Now()
	parallel(*nFiles, 16, func(i int) error {
		req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/files/spaces/%s/content?parent=%s&name=fichier-%05d.txt", *gw, space, folder.ID, i), strings.NewReader("x"))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		return check(resp, 201, nil)
	})
	fmt.Printf("\ncreated %d files in one folder (PUT, 16 clients): %.0f files/s\n", *nFiles, float64(*nFiles)/time.Since(start).Seconds())

	start = time.Now()
	total := 0
	for off := 0; ; off += 1000 {
		var page struct{ Items []node }
		call("GET", fmt.Sprintf("/api/files/spaces/%s/nodes?parent=%s&limit=1000&offset=%d", space, folder.ID, off), nil, 200, &page)
		total += len(page.Items)
		if len(page.Items) < 1000 {
			break
		}
	}
	if total != *nFiles {
		fail("listing: %d items, want %d", total, *nFiles)
	}
	fmt.Printf("list %d files, API (pages of 1000): %v\n", total, time.Since(start).Round(time.Millisecond))

	// WebDAV: an app password, then PROPFIND of the folder (the personal
	// space is "Mon espace" at the root of /dav/).
	var ap struct{ ID, Password string }
	call("POST", "/api/app-passwords", map[string]string{"label": "bench-files"}, 201, &ap)
	defer call("DELETE", "/api/app-passwords/"+ap.ID, nil, 204, nil)
	var info struct{ Name string }
	call("GET", "/api/files/spaces/"+space+"/nodes/"+folder.ID, nil, 200, &info)
	start = time.Now()
	req, _ := http.NewRequest("PROPFIND", *gw+"/dav/"+url.PathEscape("Mon espace")+"/"+url.PathEscape(info.Name)+"/", nil)
	req.SetBasicAuth(*email, ap.Password)
	req.Header.Set("Depth", "1")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		fail("PROPFIND: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 207 {
		fail("PROPFIND: HTTP %d: %.300s", resp.StatusCode, body)
	}
	fmt.Printf("list %d files, WebDAV PROPFIND depth 1: %v (%d KB)\n", strings.Count(string(body), "<D:response>")-1, time.Since(start).Round(time.Millisecond), len(body)>>10)
}

func metadata(space string) {
	var dest node
	call("POST", "/api/files/spaces/"+space+"/folders", map[string]string{"name": fmt.Sprintf("Destination %d", time.Now().UnixNano())}, 201, &dest)
	run := time.Now().UnixNano()
	ids := make([]string, *nOps)
	op := func(label string, f func(i int) error) {
		start := time.Now()
		parallel(*nOps, 8, f)
		fmt.Printf("%-16s %6.0f ops/s\n", label, float64(*nOps)/time.Since(start).Seconds())
	}
	fmt.Println()
	op("create folder", func(i int) error {
		resp, err := do("POST", "/api/files/spaces/"+space+"/folders", map[string]string{"name": fmt.Sprintf("d%d-%05d", run, i)})
		if err != nil {
			return err
		}
		var n node
		err = check(resp, 201, &n)
		ids[i] = n.ID
		return err
	})
	op("rename", func(i int) error {
		resp, err := do("PATCH", "/api/files/spaces/"+space+"/nodes/"+ids[i], map[string]string{"name": fmt.Sprintf("r%d-%05d", run, i)})
		if err != nil {
			return err
		}
		return check(resp, 200, nil)
	})
	op("move", func(i int) error {
		resp, err := do("PATCH", "/api/files/spaces/"+space+"/nodes/"+ids[i], map[string]string{"parent": dest.ID})
		if err != nil {
			return err
		}
		return check(resp, 200, nil)
	})
}

// parallel runs f(0..n-1) on workers goroutines; the first error ends the
// bench.
func parallel(n, workers int, f func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		fail("%v", first)
	}
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// dataReader streams n pseudo-random bytes without holding them, keeping
// their CRC-32C to check what comes back.
type dataReader struct {
	r    *rand.ChaCha8
	left int64
	sum  interface {
		io.Writer
		Sum32() uint32
	}
}

func newDataReader(n int64) *dataReader {
	return &dataReader{r: rand.NewChaCha8([32]byte{7}), left: n, sum: crc32.New(crcTable)}
}

func (d *dataReader) Read(p []byte) (int, error) {
	if d.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, _ := d.r.Read(p)
	d.sum.Write(p[:n])
	d.left -= int64(n)
	return n, nil
}
