package media

import (
	"context"
	"time"
)

// UserQuota is the configured bound of a user's media (0: none) and the
// page that explains it.
func (s *Service) UserQuota() (int64, string) { return s.cfg.UserQuota, s.cfg.QuotaInfoURI }

// usage is what uploader's media hold, 0 when there is no quota.
func (s *Service) usage(ctx context.Context, uploader string) (int64, error) {
	if s.cfg.UserQuota <= 0 {
		return 0, nil
	}
	return s.store.MediaUsage(ctx, uploader)
}

// overQuota tells whether adding size bytes to used exceeds the quota.
// Concurrent uploads of one user are checked against the same usage, so
// the quota may be passed by at most those uploads.
func (s *Service) overQuota(used, size int64) bool {
	return s.cfg.UserQuota > 0 && used+size > s.cfg.UserQuota
}

// Reconcile settles, at start, the entries left by a run with the other
// scanning setting. Scanning off: pending entries stay pending, never
// served unscanned (they waited for a verdict; a scanner configured again
// scans them) and the count is logged. Scanning on: entries stored
// unscanned go back to the scan queue, so that nothing is served
// unscanned while an antivirus is configured.
func (s *Service) Reconcile(ctx context.Context) error {
	if s.av == nil {
		n, err := s.store.CountPendingMedia(ctx)
		if err == nil && n > 0 {
			s.log.Warn("chat: uploads wait for an antivirus scan and are not served while media.clamav.address is empty", "pending", n)
		}
		return err
	}
	n, err := s.store.QueueUnscannedMedia(ctx)
	if err == nil && n > 0 {
		s.log.Info("chat: uploads stored while scanning was off are queued for scanning", "count", n)
	}
	return err
}

// cleanupBatch bounds the rows handled per statement.
const cleanupBatch = 200

// Cleanup deletes the reservations never filled before their expiry and,
// with a retention, the media older than it (bytes, thumbnails, rows).
// Entries are first marked deleting (no longer served), then their blobs
// go, then their rows: a crash or a blob store error in between is
// resumed by the next pass. Replicas may run it at once: each step is
// idempotent. It returns the number of entries deleted.
func (s *Service) Cleanup(ctx context.Context) (int, error) {
	now := s.now()
	var before int64
	if s.cfg.Retention > 0 {
		before = now.Add(-s.cfg.Retention).UnixMilli()
	}
	for {
		n, err := s.store.MarkMediaDeleting(ctx, now.UnixMilli(), before, cleanupBatch)
		if err != nil {
			return 0, err
		}
		if n < cleanupBatch {
			break
		}
	}
	deleted := 0
	for {
		batch, err := s.store.DeletingMedia(ctx, cleanupBatch)
		if err != nil || len(batch) == 0 {
			return deleted, err
		}
		for id, keys := range batch {
			for _, k := range keys {
				if err := s.blobs.Delete(ctx, k); err != nil {
					return deleted, err
				}
			}
			if err := s.store.DeleteMedia(ctx, id); err != nil {
				return deleted, err
			}
			s.signal(id) // a download waiting here for a reservation
			deleted++
		}
	}
}

// RunCleanup runs Cleanup every interval until ctx ends.
func (s *Service) RunCleanup(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Cleanup(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("chat: media cleanup failed, will retry", "err", err)
		} else if n > 0 {
			s.log.Info("chat: media cleaned up", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
