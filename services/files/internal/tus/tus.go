// Package tus parses and formats the headers of the tus 1.0 resumable
// upload protocol (https://tus.io/protocols/resumable-upload). The upload
// engine itself lives in drive; this package only guards its inputs, which
// come straight from the network.
package tus

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Version is the only protocol version spoken.
const Version = "1.0.0"

// Headers of the protocol.
const (
	HeaderResumable = "Tus-Resumable"
	HeaderVersion   = "Tus-Version"
	HeaderExtension = "Tus-Extension"
	HeaderMaxSize   = "Tus-Max-Size"
	HeaderChecksums = "Tus-Checksum-Algorithm"
	HeaderOffset    = "Upload-Offset"
	HeaderLength    = "Upload-Length"
	HeaderMetadata  = "Upload-Metadata"
	HeaderChecksum  = "Upload-Checksum"
	HeaderDefer     = "Upload-Defer-Length"
	// ContentType is the only content type a PATCH may carry.
	ContentType = "application/offset+octet-stream"
)

// MaxMetadataLen bounds Upload-Metadata: it carries a name and a few ids,
// not documents.
const MaxMetadataLen = 4096

// ErrInvalid wraps every parse failure.
var ErrInvalid = errors.New("tus: invalid header")

// ParseSize parses Upload-Offset and Upload-Length: a non-negative decimal
// integer without sign, spaces or leading zeros, that fits in an int64.
func ParseSize(s string) (int64, error) {
	if s == "" || len(s) > 19 || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("%w: size %q", ErrInvalid, s)
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: size %q", ErrInvalid, s)
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, fmt.Errorf("%w: size %q overflows", ErrInvalid, s)
		}
		n = n*10 + d
	}
	return n, nil
}

// ParseMetadata parses Upload-Metadata: comma-separated pairs of a key and
// an optional base64 value ("filename ZG9jLnBkZg==,is_confidential").
// Keys are unique, non-empty, printable ASCII without space or comma.
func ParseMetadata(s string) (map[string]string, error) {
	md := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return md, nil
	}
	if len(s) > MaxMetadataLen {
		return nil, fmt.Errorf("%w: Upload-Metadata longer than %d bytes", ErrInvalid, MaxMetadataLen)
	}
	for pair := range strings.SplitSeq(s, ",") {
		pair = strings.Trim(pair, " ")
		key, value, _ := strings.Cut(pair, " ")
		if !validKey(key) {
			return nil, fmt.Errorf("%w: metadata key %q", ErrInvalid, key)
		}
		if _, dup := md[key]; dup {
			return nil, fmt.Errorf("%w: metadata key %q repeated", ErrInvalid, key)
		}
		v, err := base64.StdEncoding.Strict().DecodeString(strings.Trim(value, " "))
		if err != nil {
			return nil, fmt.Errorf("%w: metadata %q is not base64", ErrInvalid, key)
		}
		md[key] = string(v)
	}
	return md, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' || k[i] == ',' {
			return false
		}
	}
	return true
}

// FormatMetadata is the inverse of ParseMetadata, keys in sorted order.
func FormatMetadata(md map[string]string) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k
		if md[k] != "" {
			parts[i] += " " + base64.StdEncoding.EncodeToString([]byte(md[k]))
		}
	}
	return strings.Join(parts, ",")
}

// Checksum algorithms accepted in Upload-Checksum; sha1 is the one the
// checksum extension requires.
var Checksums = []string{"sha1", "sha256"}

// ParseChecksum parses Upload-Checksum: "<algorithm> <base64 digest>".
func ParseChecksum(s string) (alg string, sum []byte, err error) {
	alg, b64, ok := strings.Cut(s, " ")
	if !ok {
		return "", nil, fmt.Errorf("%w: Upload-Checksum %q", ErrInvalid, s)
	}
	if !slices.Contains(Checksums, alg) {
		return alg, nil, fmt.Errorf("%w: checksum algorithm %q not supported", ErrInvalid, alg)
	}
	sum, err = base64.StdEncoding.Strict().DecodeString(b64)
	want := map[string]int{"sha1": 20, "sha256": 32}[alg]
	if err != nil || len(sum) != want {
		return alg, nil, fmt.Errorf("%w: %s digest is not %d bytes of base64", ErrInvalid, alg, want)
	}
	return alg, sum, nil
}
