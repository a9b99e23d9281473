package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// A request in flight when shutdown starts completes; readiness fails at
// once so the load balancer stops sending new ones.
func TestServeDrainsInFlightRequests(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	health := &Health{}
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = w.Write([]byte("fini"))
	})
	mux.HandleFunc("/readyz", health.Ready)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, &http.Server{Handler: mux}, l, health, 10*time.Second, quiet) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{body: string(b)}
	}()
	<-started
	cancel()
	// Readiness flips before the drain completes.
	for deadline := time.Now().Add(5 * time.Second); ; {
		rec := httptest.NewRecorder()
		health.Ready(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readiness did not fail during shutdown")
		}
		runtime.Gosched()
	}
	close(release)
	r := <-res
	if r.err != nil || r.body != "fini" {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

func TestReadyReportsFailingChecks(t *testing.T) {
	h := &Health{}
	h.Add("database", func(context.Context) error { return nil })
	h.Add("redis", func(context.Context) error { return errors.New("connection refused") })
	rec := httptest.NewRecorder()
	h.Ready(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"redis":"connection refused"`) || strings.Contains(rec.Body.String(), "database") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestRecoverAnswers500JSON(t *testing.T) {
	h := Stack(quiet, false, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"error":"internal"`) || rec.Header().Get(RequestIDHeader) == "" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestRequestIDTrust(t *testing.T) {
	var got string
	h := func(trust bool) http.Handler {
		return RequestID(trust, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get(RequestIDHeader) }))
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(RequestIDHeader, "abc-123")
	h(true).ServeHTTP(httptest.NewRecorder(), req)
	if got != "abc-123" {
		t.Fatalf("trusted id not kept: %q", got)
	}
	h(false).ServeHTTP(httptest.NewRecorder(), req)
	if got == "abc-123" || len(got) != 16 {
		t.Fatalf("untrusted id kept: %q", got)
	}
	req.Header.Set(RequestIDHeader, "bad\nid")
	h(true).ServeHTTP(httptest.NewRecorder(), req)
	if strings.Contains(got, "\n") {
		t.Fatalf("unsafe id kept: %q", got)
	}
}

func TestMetricsCountByRouteAndClass(t *testing.T) {
	m := NewMetrics("test")
	h := m.Instrument("thing", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `test_http_requests_total{code="4xx",route="thing"} 1`) {
		t.Fatalf("metrics:\n%s", rec.Body)
	}
}

// Bodies copied into the middleware's writer (http.ServeContent, io.Copy)
// go through its ReadFrom: whole and ranged, the bytes arrive intact and
// the access log counts them.
func TestCopiedBodiesAreCountedAndIntact(t *testing.T) {
	body := make([]byte, 3<<20+17) // several copy buffers
	for i := range body {
		body[i] = byte(i * 7)
	}
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))
	m := NewMetrics("test")
	var isReaderFrom bool
	srv := httptest.NewServer(Stack(log, false, m.Instrument("get", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, isReaderFrom = w.(io.ReaderFrom)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))))
	defer srv.Close()
	for _, tc := range []struct {
		rng    string
		status int
		want   []byte
	}{
		{"", 200, body},
		{"bytes=1000-2099999", 206, body[1000:2100000]},
	} {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.status || !bytes.Equal(got, tc.want) {
			t.Fatalf("range %q: %d, %d bytes, %v", tc.rng, resp.StatusCode, len(got), err)
		}
		wantLog := fmt.Sprintf(`"status":%d,"bytes":%d`, tc.status, len(tc.want))
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			ok := strings.Contains(logs.String(), wantLog)
			mu.Unlock()
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("access log lacks %s:\n%s", wantLog, logs.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !isReaderFrom {
		t.Fatal("the handler's ResponseWriter is no io.ReaderFrom")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// The pool never holds more than its large buffers: past them a copy gets
// a small buffer, and the large ones come back for the next copies.
func TestBufferPoolIsBounded(t *testing.T) {
	p := newBufferPool(2)
	a, b, c := p.Get(), p.Get(), p.Get()
	if len(a) != copyBufferSize || len(b) != copyBufferSize || len(c) != smallBufferSize {
		t.Fatalf("sizes %d, %d, %d", len(a), len(b), len(c))
	}
	p.Put(a)
	p.Put(c)
	if d := p.Get(); &d[0] != &a[0] {
		t.Fatal("a returned large buffer is not reused")
	}
	if e := p.Get(); len(e) != smallBufferSize {
		t.Fatalf("a third large buffer was made: %d bytes", len(e))
	}
	p.Put(b)
	if f := p.Get(); &f[0] != &b[0] {
		t.Fatal("a returned large buffer is not reused")
	}
}
