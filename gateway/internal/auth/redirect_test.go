package auth

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafeRedirect(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "/",
		"/":                     "/",
		"/fichiers/a?b=c":       "/fichiers/a?b=c",
		"//evil.example":        "/",
		"/\\evil.example":       "/",
		"https://evil.example/": "/",
		"javascript:alert(1)":   "/",
		"/a\r\nSet-Cookie: x":   "/",
		"/auth/logout":          "/",
		"fichiers":              "/",
	} {
		if got := SafeRedirect(in); got != want {
			t.Errorf("SafeRedirect(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSafeRedirect: whatever comes in, the result is a path on this site.
func FuzzSafeRedirect(f *testing.F) {
	for _, s := range []string{"/", "//x", "/\\x", "/%2F%2Fx", "http://x", "/a?b#c", "/\t/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SafeRedirect(in)
		u, err := url.Parse(out)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(out, "/") ||
			strings.HasPrefix(out, "//") || strings.HasPrefix(out, "/\\") {
			t.Fatalf("SafeRedirect(%q) = %q leaves the site", in, out)
		}
		// A browser resolves the Location against the site: it must stay there.
		base, _ := url.Parse("https://bureau.example/")
		if r := base.ResolveReference(u); r.Host != "bureau.example" {
			t.Fatalf("SafeRedirect(%q) = %q resolves to %s", in, out, r)
		}
	})
}
