package offload

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// source is a body that offloads to url.
type source struct {
	*strings.Reader
	url string
}

func (s source) OffloadURL() (string, int64, bool) {
	pos, _ := s.Seek(0, io.SeekCurrent)
	return s.url, pos, s.url != ""
}

// A store that serves data with Range (as S3 does), a service that
// offloads to it, and Fetch on the service's responses: the bytes are the
// range's, the headers the service's, the offload headers gone; a store
// answering something else than the range is an error, as is an
// offloaded body nobody asked for.
func TestServeContentThenFetch(t *testing.T) {
	data := strings.Repeat("0123456789", 1000)
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("broken") != "" {
			w.Write([]byte(data)) // 200, whole object
			return
		}
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(data))
	}))
	defer store.Close()
	storeURL := store.URL + "/obj"
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", "attachment")
		ServeContent(w, r, time.Time{}, source{strings.NewReader(data), storeURL + r.URL.RawQuery})
	}))
	defer svc.Close()
	get := func(query string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", svc.URL+"?"+query, nil)
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, tc := range []struct {
		rng    string
		status int
		want   string
	}{{"", 200, data}, {"bytes=10-29", 206, data[10:30]}, {"bytes=-5", 206, data[len(data)-5:]}} {
		resp := get("", AcceptHeader, "1", "Range", tc.rng)
		if resp.ContentLength != 0 || resp.Header.Get(URLHeader) == "" {
			t.Fatalf("%q: not offloaded: %d bytes, %v", tc.rng, resp.ContentLength, resp.Header)
		}
		if err := Fetch(http.DefaultTransport, resp); err != nil {
			t.Fatalf("%q: %v", tc.rng, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(got) != tc.want || resp.ContentLength != int64(len(tc.want)) ||
			resp.Header.Get("Content-Disposition") != "attachment" || resp.Header.Get(URLHeader)+resp.Header.Get(RangeHeader)+resp.Header.Get(LengthHeader) != "" {
			t.Fatalf("%q: %d, %q, %v", tc.rng, resp.StatusCode, got, resp.Header)
		}
	}

	// Not asked, or nothing to offload: the service streams.
	for _, resp := range []*http.Response{get(""), get("", AcceptHeader, "1", "Range", "bytes=0-1,5-6")} {
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get(URLHeader) != "" || !bytes.Contains(got, []byte("01")) {
			t.Fatalf("streamed: %d %q %v", resp.StatusCode, got, resp.Header)
		}
	}

	if err := Fetch(http.DefaultTransport, get("?broken=1", AcceptHeader, "1")); err == nil || !strings.Contains(err.Error(), "want 206") {
		t.Fatalf("a store answering 200 with the whole object: %v", err)
	}
	resp := get("", AcceptHeader, "1")
	if err := Fetch(nil, resp); err == nil || resp.Header.Get(URLHeader) != "" {
		t.Fatalf("an offloaded body nobody asked for: %v, %v", err, resp.Header)
	}
}

// The writer still gives net/http's interfaces to what it wraps.
func TestWriterForwards(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &writer{ResponseWriter: rec}
	w.WriteHeader(201)
	if rec.Code != 200 || rec.Flushed {
		t.Fatal("the status went out before the body was known")
	}
	if err := http.NewResponseController(w).Flush(); err != nil || rec.Code != 201 || !rec.Flushed {
		t.Fatalf("flush: %v, %d", err, rec.Code)
	}
}
