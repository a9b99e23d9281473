package drive

import (
	"context"
	"time"
)

// jobBatch bounds the work of one pass of a job per query.
const jobBatch = 100

// PurgeTrash deletes for good what was put in the trash before cutoff —
// the items, their descendants, versions, links and blobs — and returns
// how many trashed items it purged.
func (s *Service) PurgeTrash(ctx context.Context, cutoff time.Time) (int, error) {
	purged := 0
	for {
		items, err := s.store.TrashedBefore(ctx, cutoff, jobBatch)
		if err != nil || len(items) == 0 {
			return purged, err
		}
		for _, n := range items {
			ids, err := s.store.Subtree(ctx, n.SpaceID, n.ID)
			if err != nil {
				return purged, err
			}
			keys, err := s.store.DeleteNodes(ctx, n.SpaceID, ids)
			if err != nil {
				return purged, err
			}
			// The rows go first: a blob left behind by a failure here is
			// an orphan, never a dangling reference.
			for _, k := range keys {
				if err := s.blobs.Delete(ctx, k); err != nil {
					s.log.Warn("orphan blob", "key", k, "err", err)
				}
			}
			s.audit(ctx, n.SpaceID, "system", "purge", n.ID, n.Name)
			purged++
		}
	}
}

// CleanUploads abandons the resumable uploads not touched since cutoff:
// their multipart uploads are aborted, their tails deleted. It returns how
// many it cleaned.
func (s *Service) CleanUploads(ctx context.Context, cutoff time.Time) (int, error) {
	cleaned := 0
	for {
		ups, err := s.store.StaleUploads(ctx, cutoff, s.now(), jobBatch)
		if err != nil || len(ups) == 0 {
			return cleaned, err
		}
		for _, up := range ups {
			unlock, err := s.locks.lock(ctx, up.ID)
			if err != nil {
				return cleaned, err
			}
			err = s.mp.AbortMultipartUpload(ctx, up.BlobKey, up.MultipartID)
			if err == nil {
				err = s.dropTails(ctx, up)
			}
			if err == nil {
				err = s.store.DeleteUpload(ctx, up.ID)
			}
			unlock()
			if err != nil {
				return cleaned, err
			}
			cleaned++
		}
	}
}

// RunJobs runs both jobs every interval until ctx ends: items trashed
// longer than retention ago, uploads untouched for uploadExpiry.
func (s *Service) RunJobs(ctx context.Context, interval, retention, uploadExpiry time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		now := s.now()
		if n, err := s.PurgeTrash(ctx, now.Add(-retention)); err != nil && ctx.Err() == nil {
			s.log.Error("trash purge", "err", err)
		} else if n > 0 {
			s.log.Info("trash purged", "items", n)
		}
		if n, err := s.CleanUploads(ctx, now.Add(-uploadExpiry)); err != nil && ctx.Err() == nil {
			s.log.Error("upload cleanup", "err", err)
		} else if n > 0 {
			s.log.Info("abandoned uploads cleaned", "uploads", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
