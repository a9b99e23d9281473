package clientapi

import "context"

// Invalidation of the unread-count cache (unread.go), kept apart from the
// counting.
//
// A cached entry is a sum over immutable events, so it stays true on
// every replica as long as no counted event changes; the one change is a
// redaction (a redacted event no longer notifies). The store says where
// each room's latest redaction is, in the same database every replica
// reads: an entry counted up to before it is counted again. This is read
// with the counts rather than pushed over the bus, because a bus message
// races the sync wake-up (a sync woken by the redaction on another replica
// could read its cache before the message arrives) and could be lost.

// unreadStaleBefore returns, per room, the position below which cached
// counts are stale.
func (a *API) unreadStaleBefore(ctx context.Context, roomIDs []string) (map[string]int64, error) {
	return a.store.LastRedactions(ctx, roomIDs)
}
