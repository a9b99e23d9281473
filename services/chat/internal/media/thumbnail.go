package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // GIF sources (first frame)
	"image/jpeg"
	"image/png"
	"io"
	"strconv"

	"golang.org/x/image/draw"

	"bureau/services/chat/internal/store"
)

// Size is a thumbnail size and method.
type Size struct {
	Width, Height int
	Method        string // crop (fills the box) or scale (fits in it)
}

// sizes are the thumbnails generated (Synapse's defaults and two larger
// crops): any request maps onto one of them, so that storage per media is
// bounded whatever clients ask.
var sizes = []Size{
	{32, 32, "crop"}, {96, 96, "crop"}, {320, 320, "crop"}, {640, 640, "crop"},
	{320, 240, "scale"}, {640, 480, "scale"}, {800, 600, "scale"},
}

// PickSize returns the smallest standard size of method at least as large
// as the request, or the largest one.
func PickSize(width, height int, method string) Size {
	var best, largest Size
	for _, s := range sizes {
		if s.Method != method {
			continue
		}
		largest = s
		if best.Width == 0 && s.Width >= width && s.Height >= height {
			best = s
		}
	}
	if best.Width == 0 {
		return largest
	}
	return best
}

const (
	// maxThumbnailSource bounds the bytes read to thumbnail; maxPixels the
	// decoded image (a few-KB PNG can declare 100 000 × 100 000 pixels).
	maxThumbnailSource = 32 << 20
	maxPixels          = 32 << 20
)

// Thumbnail returns the thumbnail of m closest to the request, generating
// and storing it on first use.
func (s *Service) Thumbnail(ctx context.Context, m store.Media, width, height int, method string) (store.Thumbnail, error) {
	size := PickSize(width, height, method)
	t, err := s.store.Thumbnail(ctx, m.MediaID, size.Width, size.Height, size.Method)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return t, err
	}
	if m.Size > maxThumbnailSource {
		return t, ErrThumbnailSource
	}
	select {
	case s.thumbs <- struct{}{}:
		defer func() { <-s.thumbs }()
	case <-ctx.Done():
		return t, ctx.Err()
	}
	rc, _, err := s.blobs.Get(ctx, m.BlobKey, 0, -1)
	if err != nil {
		return t, err
	}
	src, err := io.ReadAll(io.LimitReader(rc, maxThumbnailSource))
	rc.Close()
	if err != nil {
		return t, err
	}
	out, ct, err := Render(src, size)
	if err != nil {
		return t, err
	}
	t = store.Thumbnail{MediaID: m.MediaID, Width: size.Width, Height: size.Height, Method: size.Method, ContentType: ct, Size: int64(len(out)),
		BlobKey: "thumbnails/" + m.MediaID + "/" + strconv.Itoa(size.Width) + "x" + strconv.Itoa(size.Height) + "-" + size.Method}
	if _, err := s.blobs.Put(ctx, t.BlobKey, bytes.NewReader(out), t.Size, ct); err != nil {
		return t, err
	}
	if err := s.store.AddThumbnail(ctx, t); err != nil {
		return t, err
	}
	return t, nil
}

// Render decodes a JPEG, PNG or GIF (first frame) and returns its
// thumbnail at size: JPEG for JPEG sources, PNG otherwise.
func Render(src []byte, size Size) ([]byte, string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(src))
	if err != nil || (format != "jpeg" && format != "png" && format != "gif") {
		return nil, "", ErrCannotThumbnail
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, "", ErrThumbnailSource
	}
	img, _, err := image.Decode(bytes.NewReader(src))
	if err != nil {
		return nil, "", ErrCannotThumbnail
	}
	dst := resize(img, size)
	var buf bytes.Buffer
	if format == "jpeg" {
		err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 80})
		return buf.Bytes(), "image/jpeg", err
	}
	if err := png.Encode(&buf, dst); err != nil {
		return nil, "", fmt.Errorf("media: encoding a thumbnail: %w", err)
	}
	return buf.Bytes(), "image/png", nil
}

// resize scales src to fit in size (scale: aspect kept, never enlarged) or
// to fill it exactly, cutting the overflow evenly (crop).
func resize(src image.Image, size Size) image.Image {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if size.Method == "scale" {
		w, h := sw, sh
		if w > size.Width || h > size.Height {
			if w*size.Height > h*size.Width { // wider than the box
				w, h = size.Width, max(1, sh*size.Width/sw)
			} else {
				w, h = max(1, sw*size.Height/sh), size.Height
			}
		}
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		return dst
	}
	// The largest centred part of src with the box's aspect ratio.
	cw, ch := sw, sh
	if sw*size.Height > sh*size.Width {
		cw = max(1, sh*size.Width/size.Height)
	} else {
		ch = max(1, sw*size.Height/size.Width)
	}
	x0, y0 := b.Min.X+(sw-cw)/2, b.Min.Y+(sh-ch)/2
	dst := image.NewRGBA(image.Rect(0, 0, size.Width, size.Height))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, image.Rect(x0, y0, x0+cw, y0+ch), draw.Src, nil)
	return dst
}
