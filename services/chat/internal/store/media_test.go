package store_test

import (
	"errors"
	"testing"

	"bureau/services/chat/internal/store"
)

// TestMediaRows: the media lifecycle on both engines — reservation filled
// once by its owner, the scan queue, the verdict set once, thumbnails.
func TestMediaRows(t *testing.T) {
	bothEngines(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		up := store.Media{MediaID: "m1", Uploader: "@a:x", ContentType: "image/png", Filename: "a.png", Size: 3, SHA256: "aa", BlobKey: "media/m1/k", State: store.MediaPending, CreatedTS: 1}
		res := store.Media{MediaID: "m2", Uploader: "@a:x", ContentType: "application/octet-stream", State: store.MediaReserved, CreatedTS: 2, ExpiresTS: 100}
		for _, m := range []store.Media{up, res} {
			if err := s.AddMedia(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddMedia(ctx, up); err == nil {
			t.Fatal("duplicate media id accepted")
		}
		if n, err := s.CountReservedMedia(ctx, "@a:x", 50); err != nil || n != 1 {
			t.Fatalf("reserved: %d %v", n, err)
		}
		if n, _ := s.CountReservedMedia(ctx, "@a:x", 101); n != 0 {
			t.Fatalf("expired reservation counted")
		}
		fill := store.Media{MediaID: "m2", Uploader: "@b:x", ContentType: "text/plain", Size: 5, SHA256: "bb", BlobKey: "media/m2/k", State: store.MediaPending}
		if ok, err := s.FillReservedMedia(ctx, fill, 50); err != nil || ok {
			t.Fatalf("filled by another user: %v %v", ok, err)
		}
		fill.Uploader = "@a:x"
		if ok, err := s.FillReservedMedia(ctx, fill, 50); err != nil || !ok {
			t.Fatalf("fill: %v %v", ok, err)
		}
		if ok, _ := s.FillReservedMedia(ctx, fill, 50); ok {
			t.Fatal("filled twice")
		}
		pending, err := s.PendingMedia(ctx, 10)
		if err != nil || len(pending) != 2 || pending[0].MediaID != "m1" || pending[1].BlobKey != "media/m2/k" {
			t.Fatalf("pending: %+v %v", pending, err)
		}
		if ok, err := s.SetMediaScan(ctx, "m1", store.MediaInfected, "Eicar"); err != nil || !ok {
			t.Fatalf("verdict: %v %v", ok, err)
		}
		if ok, _ := s.SetMediaScan(ctx, "m1", store.MediaClean, ""); ok {
			t.Fatal("verdict changed twice")
		}
		if m, err := s.Media(ctx, "m1"); err != nil || m.State != store.MediaInfected || m.Signature != "Eicar" {
			t.Fatalf("m1: %+v %v", m, err)
		}
		if _, err := s.Media(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		th := store.Thumbnail{MediaID: "m2", Width: 96, Height: 96, Method: "crop", ContentType: "image/png", Size: 10, BlobKey: "thumbnails/m2/96x96-crop"}
		for range 2 {
			if err := s.AddThumbnail(ctx, th); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.Thumbnail(ctx, "m2", 96, 96, "crop"); err != nil || got != th {
			t.Fatalf("thumbnail: %+v %v", got, err)
		}
		if _, err := s.Thumbnail(ctx, "m2", 32, 32, "crop"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing thumbnail: %v", err)
		}
	})
}
