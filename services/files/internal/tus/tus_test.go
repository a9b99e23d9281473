package tus

import (
	"encoding/base64"
	"maps"
	"strconv"
	"testing"
)

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "1": 1, "52428800": 52428800, "9223372036854775807": 1<<63 - 1} {
		if n, err := ParseSize(s); err != nil || n != want {
			t.Errorf("ParseSize(%q) = %d, %v", s, n, err)
		}
	}
	for _, s := range []string{"", "-1", "+1", " 1", "1 ", "01", "1e3", "0x10", "9223372036854775808", "99999999999999999999"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) accepted", s)
		}
	}
}

func TestParseMetadata(t *testing.T) {
	md, err := ParseMetadata("filename ZG9jLnBkZg==,is_confidential, space YWJj")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"filename": "doc.pdf", "is_confidential": "", "space": "abc"}
	if !maps.Equal(md, want) {
		t.Fatalf("got %v", md)
	}
	for _, s := range []string{"a YQ==,a YQ==", "a !!", ",", "a b c", "é YQ==", "a YQ"} {
		if _, err := ParseMetadata(s); err == nil {
			t.Errorf("ParseMetadata(%q) accepted", s)
		}
	}
}

func TestParseChecksum(t *testing.T) {
	sum := make([]byte, 20)
	if alg, got, err := ParseChecksum("sha1 " + base64.StdEncoding.EncodeToString(sum)); err != nil || alg != "sha1" || len(got) != 20 {
		t.Fatalf("%s %x %v", alg, got, err)
	}
	for _, s := range []string{"sha1", "md5 AAAA", "sha1 AAAA", "sha256 " + base64.StdEncoding.EncodeToString(sum)} {
		if _, _, err := ParseChecksum(s); err == nil {
			t.Errorf("ParseChecksum(%q) accepted", s)
		}
	}
}

// FuzzHeaders feeds arbitrary Upload-Offset, Upload-Length and
// Upload-Metadata values: parsing never panics, accepted sizes print back
// to the same text, accepted metadata survives a format/parse round trip.
func FuzzHeaders(f *testing.F) {
	f.Add("0", "52428800", "filename ZG9jLnBkZg==,space YWJj")
	f.Add("01", "-1", "a,a")
	f.Add("9223372036854775808", "", "k  ,x Zg")
	f.Fuzz(func(t *testing.T, offset, length, metadata string) {
		for _, s := range []string{offset, length} {
			if n, err := ParseSize(s); err == nil {
				if n < 0 || strconv.FormatInt(n, 10) != s {
					t.Fatalf("ParseSize(%q) = %d", s, n)
				}
			}
		}
		md, err := ParseMetadata(metadata)
		if err != nil {
			return
		}
		again, err := ParseMetadata(FormatMetadata(md))
		if err != nil || !maps.Equal(md, again) {
			t.Fatalf("round trip of %q: %v, %v != %v", metadata, err, again, md)
		}
		ParseChecksum(metadata)
	})
}
