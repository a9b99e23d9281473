package meet

import (
	"context"
	"time"
)

// purgeLoop deletes, every period (and shortly after the start), the
// meetings over for more than rooms.retention_days. Every node runs it:
// the deletion is idempotent.
func (s *Service) purgeLoop(period time.Duration) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stopPurge:
			return
		case <-t.C:
		}
		s.Purge(context.Background())
		t.Reset(period)
	}
}

// Purge runs the retention once and reports how many meetings it deleted.
func (s *Service) Purge(ctx context.Context) int {
	if s.cfg.Rooms.RetentionDays <= 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cutoff := s.now().Add(-time.Duration(s.cfg.Rooms.RetentionDays) * 24 * time.Hour)
	n, err := s.store.Purge(ctx, cutoff)
	if err != nil {
		s.base.Log.Error("meeting purge", "err", err)
		return 0
	}
	if n > 0 {
		s.base.Log.Info("old meetings purged", "meetings", n, "before", cutoff)
	}
	return n
}
