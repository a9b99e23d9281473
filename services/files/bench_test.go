package files_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"bureau/services/files/internal/tus"
	"bureau/services/platform/testenv"
)

// TestBenchFiles is `make bench-files` (scripts/bench-files.sh): it runs
// only with BUREAU_BENCH=1 and prints figures; it never fails on a timing.
//
//   - a 1 GiB file uploaded (tus, one PATCH) and downloaded through the
//     files service behind a front that does the gateway's identity step,
//     against minio-go straight to the same MinIO;
//   - listing a folder of 10 000 files (API pages and WebDAV PROPFIND);
//   - metadata operations per second: create folder, rename, move.
//
// BENCH_SIZE (bytes, default 1 GiB), BENCH_FILES (10000), BENCH_OPS (2000),
// BENCH_DB=postgres for PostgreSQL instead of SQLite.
func TestBenchFiles(t *testing.T) {
	if os.Getenv("BUREAU_BENCH") != "1" {
		t.Skip("benchmark: run with BUREAU_BENCH=1 (make bench-files)")
	}
	size := envInt(t, "BENCH_SIZE", 1<<30)
	nFiles := int(envInt(t, "BENCH_FILES", 10000))
	nOps := int(envInt(t, "BENCH_OPS", 2000))
	o := envOptions{clamav: "-", partSize: 16 << 20, maxSize: 10 << 30}
	db := "SQLite"
	if os.Getenv("BENCH_DB") == "postgres" {
		o.dbURL, db = testenv.SharedPostgres(t).NewDatabase(t), "PostgreSQL"
	}
	minioSrv := testenv.SharedMinIO(t)
	o.bucket = minioSrv.NewBucket(t)
	e := newEnv(t, o)
	front := e.davFront(&alice)
	sp := e.personal(&alice).ID
	client := &http.Client{}
	mb := func(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }
	fmt.Printf("\nbench-files: %s metadata, MinIO at %s, file of %d MiB, part size 16 MiB, scanning off\n", db, minioSrv.Endpoint, size>>20)

	// Raw MinIO.
	ctx := context.Background()
	start := time.Now()
	if _, err := minioSrv.Client.PutObject(ctx, o.bucket, "raw/bench.bin", newDataReader(size), size, minio.PutObjectOptions{PartSize: 16 << 20, NumThreads: 1}); err != nil {
		t.Fatal(err)
	}
	rawUp := time.Since(start)
	start = time.Now()
	obj, err := minioSrv.Client.GetObject(ctx, o.bucket, "raw/bench.bin", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, obj); err != nil || n != size {
		t.Fatalf("raw download: %d %v", n, err)
	}
	rawDown := time.Since(start)
	obj.Close()

	// Through Bureau: tus creation + one PATCH, then GET; straight to the
	// files service, and behind the front (the gateway's identity step).
	transfer := func(base string, basic bool, name string) (up, down time.Duration) {
		auth := func(r *http.Request) {
			if basic {
				r.SetBasicAuth(alice.Email, davPassword)
			} else {
				e.sign(&alice, r.Header)
			}
		}
		start := time.Now()
		r, _ := http.NewRequest("POST", base+"/api/files/uploads", nil)
		auth(r)
		r.Header.Set(tus.HeaderResumable, tus.Version)
		r.Header.Set(tus.HeaderLength, strconv.FormatInt(size, 10))
		r.Header.Set(tus.HeaderMetadata, tus.FormatMetadata(map[string]string{"space": sp, "filename": name}))
		resp, err := client.Do(r)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("tus create: %v %v", resp, err)
		}
		resp.Body.Close()
		r, _ = http.NewRequest("PATCH", base+resp.Header.Get("Location"), newDataReader(size))
		r.ContentLength = size
		auth(r)
		r.Header.Set(tus.HeaderResumable, tus.Version)
		r.Header.Set("Content-Type", tus.ContentType)
		r.Header.Set(tus.HeaderOffset, "0")
		resp, err = client.Do(r)
		if err != nil || resp.StatusCode != 204 {
			t.Fatalf("tus patch: %v %v", resp, err)
		}
		resp.Body.Close()
		id := resp.Header.Get("Bureau-File-Id")
		up = time.Since(start)
		start = time.Now()
		r, _ = http.NewRequest("GET", base+"/api/files/spaces/"+sp+"/nodes/"+id+"/content", nil)
		auth(r)
		resp, err = client.Do(r)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("download: %v %v", resp, err)
		}
		if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != size {
			t.Fatalf("download: %d %v", n, err)
		}
		resp.Body.Close()
		return up, time.Since(start)
	}
	dUp, dDown := transfer(e.URL, false, "direct.bin")
	bUp, bDown := transfer(front.URL, true, "front.bin")
	fmt.Printf("\n%-30s %12s %14s\n", "", "upload MB/s", "download MB/s")
	fmt.Printf("%-30s %12.0f %14.0f\n", "MinIO (minio-go, direct)", mb(size, rawUp), mb(size, rawDown))
	fmt.Printf("%-30s %12.0f %14.0f\n", "files service (direct)", mb(size, dUp), mb(size, dDown))
	fmt.Printf("%-30s %12.0f %14.0f\n", "front → files service", mb(size, bUp), mb(size, bDown))
	fmt.Printf("%-30s %11.0f%% %13.0f%%\n", "ratio files / MinIO", 100*rawUp.Seconds()/dUp.Seconds(), 100*rawDown.Seconds()/dDown.Seconds())
	fmt.Printf("%-30s %11.0f%% %13.0f%%\n", "ratio front+files / MinIO", 100*rawUp.Seconds()/bUp.Seconds(), 100*rawDown.Seconds()/bDown.Seconds())

	// A folder of nFiles (empty) files.
	var folder node
	e.call(&alice, "POST", "/api/files/spaces/"+sp+"/folders", map[string]string{"name": "Grand dossier"}, 201, &folder)
	start = time.Now()
	parallel(t, nFiles, 16, func(i int) error {
		r := e.req(&alice, "PUT", fmt.Sprintf("/api/files/spaces/%s/content?parent=%s&name=fichier-%05d.txt", sp, folder.ID, i), nil)
		resp, err := client.Do(r)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			return fmt.Errorf("PUT: %d", resp.StatusCode)
		}
		return nil
	})
	fmt.Printf("\ncreated %d files in one folder (PUT, 16 in parallel): %.0f files/s\n", nFiles, float64(nFiles)/time.Since(start).Seconds())
	start = time.Now()
	total := 0
	for off := 0; ; off += 1000 {
		var page struct {
			Items []node
			Total int
		}
		e.call(&alice, "GET", fmt.Sprintf("/api/files/spaces/%s/nodes?parent=%s&limit=1000&offset=%d", sp, folder.ID, off), nil, 200, &page)
		total += len(page.Items)
		if len(page.Items) < 1000 {
			break
		}
	}
	fmt.Printf("list %d files, API (pages of 1000): %v\n", total, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	r, _ := http.NewRequest("PROPFIND", front.URL+"/dav/Mon%20espace/"+url.PathEscape("Grand dossier")+"/", nil)
	r.SetBasicAuth(alice.Email, davPassword)
	r.Header.Set("Depth", "1")
	resp, err := client.Do(r)
	if err != nil || resp.StatusCode != 207 {
		t.Fatalf("PROPFIND: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("list %d files, WebDAV PROPFIND depth 1: %v (%d KB)\n", strings.Count(string(body), "<D:response>")-1, time.Since(start).Round(time.Millisecond), len(body)>>10)

	// Metadata operations per second, 8 clients.
	var ops struct {
		sync.Mutex
		ids []string
	}
	var dest node
	e.call(&alice, "POST", "/api/files/spaces/"+sp+"/folders", map[string]string{"name": "Destination"}, 201, &dest)
	metaOp := func(label string, f func(i int) error) {
		start := time.Now()
		parallel(t, nOps, 8, f)
		fmt.Printf("%-16s %6.0f ops/s\n", label, float64(nOps)/time.Since(start).Seconds())
	}
	jsonCall := func(method, path, body string) (*http.Response, error) {
		r := e.req(&alice, method, path, strings.NewReader(body))
		return client.Do(r)
	}
	fmt.Println()
	metaOp("create folder", func(i int) error {
		resp, err := jsonCall("POST", "/api/files/spaces/"+sp+"/folders", fmt.Sprintf(`{"name":"d%05d"}`, i))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var n node
		if err := jsonDecode(resp, 201, &n); err != nil {
			return err
		}
		ops.Lock()
		ops.ids = append(ops.ids, n.ID)
		ops.Unlock()
		return nil
	})
	metaOp("rename", func(i int) error {
		resp, err := jsonCall("PATCH", "/api/files/spaces/"+sp+"/nodes/"+ops.ids[i], fmt.Sprintf(`{"name":"r%05d"}`, i))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return jsonDecode(resp, 200, nil)
	})
	metaOp("move", func(i int) error {
		resp, err := jsonCall("PATCH", "/api/files/spaces/"+sp+"/nodes/"+ops.ids[i], `{"parent":"`+dest.ID+`"}`)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return jsonDecode(resp, 200, nil)
	})
}

func jsonDecode(resp *http.Response, want int, out any) error {
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	return decodeJSON(resp.Body, out)
}

func envInt(t *testing.T, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: a positive integer please", name, v)
	}
	return n
}

// parallel runs f(0..n-1) on workers goroutines, failing on the first error.
func parallel(t *testing.T, n, workers int, f func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
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
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

// dataReader streams n pseudo-random bytes without holding them.
type dataReader struct {
	r    *rand.ChaCha8
	left int64
}

func newDataReader(n int64) *dataReader { return &dataReader{r: rand.NewChaCha8([32]byte{7}), left: n} }

func (d *dataReader) Read(p []byte) (int, error) {
	if d.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > d.left {
		p = p[:d.left]
	}
	n, _ := d.r.Read(p)
	d.left -= int64(n)
	return n, nil
}

func decodeJSON(r io.Reader, out any) error { return json.NewDecoder(r).Decode(out) }
