package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"strings"
	"testing"
	"unicode/utf8"
)

// bombPNG is a valid PNG header declaring w×h pixels, with no data: what
// a decompression bomb looks like before it is decoded.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestRenderRefusesBombs(t *testing.T) {
	if _, _, err := Render(bombPNG(100000, 100000), Size{96, 96, "crop"}); !errors.Is(err, ErrThumbnailSource) {
		t.Fatalf("bomb: %v", err)
	}
	if _, _, err := Render([]byte("%PDF-1.4"), Size{96, 96, "crop"}); !errors.Is(err, ErrCannotThumbnail) {
		t.Fatalf("pdf: %v", err)
	}
}

func TestPickSize(t *testing.T) {
	for _, c := range []struct {
		w, h   int
		method string
		want   Size
	}{
		{10, 10, "crop", Size{32, 32, "crop"}},
		{100, 100, "crop", Size{320, 320, "crop"}},
		{5000, 5000, "crop", Size{640, 640, "crop"}},
		{320, 240, "scale", Size{320, 240, "scale"}},
		{700, 100, "scale", Size{800, 600, "scale"}},
	} {
		if got := PickSize(c.w, c.h, c.method); got != c.want {
			t.Errorf("%d×%d %s: %v, want %v", c.w, c.h, c.method, got, c.want)
		}
	}
}

// FuzzRender: whatever the bytes, a thumbnail within the box or an error;
// never a panic.
func FuzzRender(f *testing.F) {
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 7, 3)))
	f.Add(buf.Bytes(), true)
	f.Add(bombPNG(1, 70000), false)
	f.Fuzz(func(t *testing.T, src []byte, crop bool) {
		size := Size{32, 32, "scale"}
		if crop {
			size.Method = "crop"
		}
		out, _, err := Render(src, size)
		if err != nil {
			return
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(out))
		if err != nil || cfg.Width > 32 || cfg.Height > 32 || cfg.Width < 1 || cfg.Height < 1 {
			t.Fatalf("thumbnail %dx%d %v", cfg.Width, cfg.Height, err)
		}
	})
}

// FuzzCleanFilename: a single path element, no control character, valid
// UTF-8, at most 255 bytes.
func FuzzCleanFilename(f *testing.F) {
	for _, s := range []string{"a.png", "../../etc/passwd", "a\r\nb", `C:\x\y.doc`, strings.Repeat("é", 300), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := CleanFilename(s)
		if len(n) > 255 || strings.ContainsAny(n, "/\\\r\n\x00") || !utf8.ValidString(n) || n == ".." {
			t.Fatalf("%q → %q", s, n)
		}
	})
}
