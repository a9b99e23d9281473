package media

import (
	"context"
	"errors"
	"fmt"
	"time"

	"bureau/services/chat/internal/store"
	"bureau/services/platform/antivirus"
	"bureau/services/platform/blob"
)

// Scanning tells whether uploads go through the antivirus.
func (s *Service) Scanning() bool { return s.av != nil }

// Wake asks the scan worker to look for pending uploads now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunScans scans pending uploads until ctx ends. Pending rows are the
// queue: what a crash interrupted is scanned at the next start. It
// returns at once when scanning is off.
func (s *Service) RunScans(ctx context.Context) {
	if s.av == nil {
		return
	}
	const retry, poll = 5 * time.Second, time.Minute
	for ctx.Err() == nil {
		busy, err := s.scanBatch(ctx)
		if busy && err == nil {
			continue
		}
		wait := poll // another replica may have left pending rows
		if err != nil && ctx.Err() == nil {
			s.log.Warn("chat: media scan failed, will retry", "err", err, "in", retry)
			wait = retry
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// scanBatch scans up to 16 pending uploads; busy when there were some.
func (s *Service) scanBatch(ctx context.Context) (busy bool, err error) {
	batch, err := s.store.PendingMedia(ctx, 16)
	if err != nil {
		return false, err
	}
	for _, m := range batch {
		if err := s.scanOne(ctx, m); err != nil {
			return true, err
		}
	}
	return len(batch) > 0, nil
}

func (s *Service) scanOne(ctx context.Context, m store.Media) error {
	rc, _, err := s.blobs.Get(ctx, m.BlobKey, 0, -1)
	if errors.Is(err, blob.ErrNotFound) {
		// Bytes lost (deleted by hand): nothing can ever be served.
		return s.verdict(ctx, m, store.MediaUnscannable, "")
	}
	if err != nil {
		return fmt.Errorf("media %s: %w", m.MediaID, err)
	}
	res, err := s.av.Scan(ctx, rc)
	rc.Close()
	switch {
	case errors.Is(err, antivirus.ErrTooLarge):
		return s.verdict(ctx, m, store.MediaUnscannable, "")
	case err != nil:
		return fmt.Errorf("media %s: %w", m.MediaID, err)
	case res.Infected:
		return s.verdict(ctx, m, store.MediaInfected, res.Signature)
	}
	return s.verdict(ctx, m, store.MediaClean, "")
}

// verdict records the scan's outcome, then wakes the waiting downloads.
// Content that is not clean is deleted (quarantine is deletion) after the
// verdict is recorded, so that a crash in between leaves bytes that are
// never served rather than a verdict-less row whose bytes are gone.
func (s *Service) verdict(ctx context.Context, m store.Media, state, signature string) error {
	changed, err := s.store.SetMediaScan(ctx, m.MediaID, state, signature)
	if err != nil {
		return err
	}
	if changed {
		s.log.Info("chat: media scanned", "media_id", m.MediaID, "uploader", m.Uploader, "state", state, "signature", signature)
	}
	if state != store.MediaClean {
		if err := s.blobs.Delete(ctx, m.BlobKey); err != nil {
			s.log.Warn("chat: deleting a media that is not clean", "media_id", m.MediaID, "err", err)
		}
	}
	s.changed(ctx, m.MediaID)
	return nil
}
