package clientapi

import (
	"mime"
	"net/url"
	"strings"
	"testing"
)

// FuzzThumbnailParams: any query gives bounded positive dimensions and a
// known method, or a 400; never a panic.
func FuzzThumbnailParams(f *testing.F) {
	for _, s := range []string{"width=96&height=96&method=crop", "width=0&height=1", "width=-1", "width=1e3&height=2", "width=10001&height=1&method=scale", "method=zoom&width=1&height=1", "width=%zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, _ := url.ParseQuery(s)
		w, h, m, err := ThumbnailParams(q)
		if err != nil {
			if me, ok := err.(*matrixError); !ok || me.status != 400 {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if w < 1 || h < 1 || w > 10000 || h > 10000 || (m != "crop" && m != "scale") {
			t.Fatalf("%q: %d×%d %q", s, w, h, m)
		}
	})
}

// FuzzContentDisposition: the header is always inline or attachment, with
// no line break, and a browser can parse back the file name given.
func FuzzContentDisposition(f *testing.F) {
	f.Add("image/png", "photo.png")
	f.Add("text/html", "rapport été.html")
	f.Add("image/svg+xml", `a"b;c.svg`)
	f.Add("", "")
	f.Fuzz(func(t *testing.T, ct, name string) {
		d := ContentDisposition(ct, name)
		if strings.ContainsAny(d, "\r\n") {
			t.Fatalf("line break in %q", d)
		}
		kind, params, err := mime.ParseMediaType(d)
		if err != nil || (kind != "inline" && kind != "attachment") {
			t.Fatalf("%q: %q %v", d, kind, err)
		}
		if strings.HasPrefix(strings.ToLower(ct), "text/html") && kind == "inline" {
			t.Fatalf("html inline: %q", d)
		}
		if name != "" && d != kind && params["filename"] != name {
			t.Fatalf("%q: filename %q, want %q", d, params["filename"], name)
		}
	})
}
