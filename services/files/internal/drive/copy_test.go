package drive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"bureau/services/platform/blob"
)

// A copy shares its original's blob: purging the original keeps it, and
// purging the copy too deletes it.
func TestCopySharesTheBlobUntilItsLastUse(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	u, sp := personal(t, s)
	orig, err := s.Put(ctx, u, Target{Space: sp, Name: "a.txt"}, bytes.NewReader([]byte("contenu")), 7)
	if err != nil {
		t.Fatal(err)
	}
	name := "b.txt"
	cp, err := s.Copy(ctx, u, sp, orig.ID, "", "", &name)
	if err != nil || cp.BlobKey != orig.BlobKey || cp.VersionID == orig.VersionID {
		t.Fatalf("copy: %+v %v", cp, err)
	}
	purge := func(id string) {
		t.Helper()
		if err := s.Delete(ctx, u, sp, id); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PurgeTrash(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
	}
	purge(orig.ID)
	c, err := s.Open(ctx, u, sp, cp.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c.Body)
	c.Body.Close()
	if string(b) != "contenu" {
		t.Fatalf("copy after the original's purge: %q", b)
	}
	purge(cp.ID)
	if _, err := s.blobs.Stat(ctx, orig.BlobKey); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("blob after both purges: %v", err)
	}
}
