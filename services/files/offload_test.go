package files_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"bureau/services/platform/offload"
)

// Asked by the gateway (offload.AcceptHeader), a download answers with the
// headers of the download and a presigned URL of the object instead of
// the bytes; the object store gives exactly the bytes of the range. HEAD,
// 304 and refusals carry no URL; without the header the service streams.
func TestDownloadOffloadedToTheGateway(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{clamav: "-"})
	sp := e.personal(&alice)
	data := randomBytes(3<<20 + 5)
	id := e.putFile(&alice, sp.ID, "", "rapport.pdf", data).ID
	accept := map[string]string{offload.AcceptHeader: "1"}

	fetch := func(resp *http.Response) []byte {
		t.Helper()
		if err := offload.Fetch(http.DefaultTransport, resp); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, tc := range []struct {
		rng        string
		status     int
		first, end int
	}{
		{"", 200, 0, len(data)},
		{"bytes=1000-2099999", 206, 1000, 2100000},
		{"bytes=-10", 206, len(data) - 10, len(data)},
	} {
		hdr := map[string]string{offload.AcceptHeader: "1"}
		if tc.rng != "" {
			hdr["Range"] = tc.rng
		}
		resp := e.download(&alice, sp.ID, id, hdr)
		h := resp.Header
		if resp.StatusCode != tc.status || resp.ContentLength != 0 || h.Get(offload.URLHeader) == "" ||
			h.Get(offload.RangeHeader) != fmt.Sprintf("bytes=%d-%d", tc.first, tc.end-1) ||
			h.Get(offload.LengthHeader) != strconv.Itoa(tc.end-tc.first) {
			t.Fatalf("range %q: %d, Content-Length %d, %v", tc.rng, resp.StatusCode, resp.ContentLength, h)
		}
		if h.Get("ETag") == "" || h.Get("Content-Disposition") != "attachment; filename=rapport.pdf" || h.Get("Content-Security-Policy") == "" {
			t.Fatalf("range %q: download headers missing: %v", tc.rng, h)
		}
		if got := fetch(resp); !bytes.Equal(got, data[tc.first:tc.end]) || resp.Header.Get(offload.URLHeader) != "" {
			t.Fatalf("range %q: the object store gave %d bytes, not the range", tc.rng, len(got))
		}
	}

	etag := e.download(&alice, sp.ID, id, nil).Header.Get("ETag")
	r := e.req(&alice, "HEAD", "/api/files/spaces/"+sp.ID+"/nodes/"+id+"/content", nil)
	r.Header.Set(offload.AcceptHeader, "1")
	for _, resp := range []*http.Response{
		e.do(r),
		e.download(&alice, sp.ID, id, map[string]string{offload.AcceptHeader: "1", "If-None-Match": etag}),
		e.download(&chloe, sp.ID, id, accept),
	} {
		if resp.Header.Get(offload.URLHeader) != "" || resp.StatusCode == 200 && resp.Request.Method != "HEAD" {
			t.Fatalf("%s %v: %d with an offload URL %q", resp.Request.Method, resp.Request.Header, resp.StatusCode, resp.Header.Get(offload.URLHeader))
		}
	}
	resp := e.download(&alice, sp.ID, id, nil)
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get(offload.URLHeader) != "" || !bytes.Equal(got, data) {
		t.Fatalf("not asked: %d, %d bytes", resp.StatusCode, len(got))
	}
}
