package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is a running single-drive MinIO server.
type MinIO struct {
	Endpoint  string // 127.0.0.1:port, as minio-go wants it
	URL       string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Client    *minio.Client // root credentials

	dir  string
	proc *proc
}

// StartMinIO starts a MinIO server for this test alone. Tests that only
// need a bucket should prefer SharedMinIO(t).NewBucket(t).
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	m, err := startMinIO()
	if err != nil {
		t.Fatalf("testenv: minio: %v", err)
	}
	t.Cleanup(m.close)
	return m
}

func startMinIO() (_ *MinIO, err error) {
	bin, err := findBinary("minio", filepath.Join(CacheDir(), "bin", "minio"))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bureau-minio-")
	if err != nil {
		return nil, err
	}
	m := &MinIO{dir: dir, AccessKey: "bureau-test", SecretKey: randomName("secret-")}
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	console, err := freePort()
	if err != nil {
		return nil, err
	}
	m.Endpoint = fmt.Sprintf("127.0.0.1:%d", port)
	m.URL = "http://" + m.Endpoint
	// Nothing may leave 127.0.0.1: no console, no update check.
	env := []string{
		"MINIO_ROOT_USER=" + m.AccessKey, "MINIO_ROOT_PASSWORD=" + m.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CALLHOME_ENABLE=off",
	}
	m.proc, err = startProc(filepath.Join(dir, "minio.log"), nil, dir, env, bin,
		"server", filepath.Join(dir, "data"), "--address", m.Endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console), "--quiet")
	if err != nil {
		return nil, err
	}
	if err := m.proc.waitReady(m.live); err != nil {
		return nil, err
	}
	m.Client, err = minio.New(m.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""),
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (m *MinIO) live(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+"/minio/health/live", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s", resp.Status)
	}
	return nil
}

// NewBucket creates an empty bucket, removed with its objects when the test
// ends, and returns its name.
func (m *MinIO) NewBucket(t testing.TB) string {
	t.Helper()
	name := randomName("t-")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Client.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("testenv: minio: make bucket: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// ForceDelete (a MinIO extension) also drops objects and uploads.
		err := m.Client.RemoveBucketWithOptions(ctx, name, minio.RemoveBucketOptions{ForceDelete: true})
		if err != nil {
			t.Errorf("testenv: minio: remove bucket %s: %v", name, err)
		}
	})
	return name
}

func (m *MinIO) close() {
	if m.proc != nil {
		m.proc.stop()
	}
	os.RemoveAll(m.dir)
}
