package drive

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"bureau/services/files/internal/store"
	"bureau/services/platform/blob"
)

// One pass of each job: items trashed long enough ago are deleted with
// their descendants and blobs; abandoned uploads lose their multipart
// upload and tail.
func TestJobsOnePass(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	u, sp := personal(t, s)
	now := time.Now()
	s.now = func() time.Time { return now }

	folder, _ := s.CreateFolder(ctx, u, sp, "", "Vieux")
	inner, err := s.Put(ctx, u, Target{Space: sp, Parent: folder.ID, Name: "a.txt"}, bytes.NewReader([]byte("v1")), 2)
	if err != nil {
		t.Fatal(err)
	}
	inner2, _ := s.Put(ctx, u, Target{Space: sp, Parent: folder.ID, Name: "a.txt"}, bytes.NewReader([]byte("v2")), 2)
	kept, _ := s.Put(ctx, u, Target{Space: sp, Name: "récent.txt"}, bytes.NewReader([]byte("r")), 1)
	if err := s.Delete(ctx, u, sp, folder.ID); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if err := s.Delete(ctx, u, sp, kept.ID); err != nil {
		t.Fatal(err)
	}

	// Retention 30 minutes: the folder (trashed an hour ago) goes.
	n, err := s.PurgeTrash(ctx, now.Add(-30*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	trash, _ := s.Trash(ctx, u, sp)
	if len(trash) != 1 || trash[0].ID != kept.ID {
		t.Fatalf("trash after purge: %+v", trash)
	}
	for _, k := range []string{inner.BlobKey, inner2.BlobKey} {
		if _, err := s.blobs.Stat(ctx, k); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("blob %s after purge: %v", k, err)
		}
	}
	if _, err := s.store.Node(ctx, sp, inner.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("descendant after purge: %v", err)
	}
	if _, err := s.blobs.Stat(ctx, kept.BlobKey); err != nil {
		t.Fatalf("recently trashed blob: %v", err)
	}

	// An upload with a committed part and a tail, then abandoned.
	data := bytes.Repeat([]byte("x"), blob.MinPartSize+100)
	up, err := s.NewUpload(ctx, u, Target{Space: sp, Name: "gros.bin"}, int64(len(data))+10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, u, up.ID, 0, int64(len(data)), bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	st, _ := s.store.Upload(ctx, up.ID, u.ID)
	if st.PartsSize != blob.MinPartSize || st.TailSize != 100 {
		t.Fatalf("upload state: %+v", st)
	}
	if n, err := s.CleanUploads(ctx, now.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("cleanup of a fresh upload: %d %v", n, err)
	}
	now = now.Add(25 * time.Hour)
	if n, err := s.CleanUploads(ctx, now.Add(-24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("cleanup: %d %v", n, err)
	}
	if _, err := s.UploadState(ctx, u, up.ID); err == nil {
		t.Fatal("the abandoned upload still exists")
	}
	if _, err := s.blobs.Stat(ctx, tailKey(st, st.PartsSize)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("tail after cleanup: %v", err)
	}
	if ups, err := s.mp.ListIncompleteUploads(ctx, st.BlobKey); err != nil || len(ups) != 0 {
		t.Fatalf("multipart uploads after cleanup: %v %v", ups, err)
	}
}
