package clientapi

import (
	"context"
	"sync"

	"github.com/matrix-org/gomatrixserverlib"
	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/push"
	"bureau/services/chat/internal/store"
)

// maxUnread bounds the events evaluated per room when counting from
// scratch (clients show "99+").
const maxUnread = 100

// unreadCache keeps, per (user, room), the counts up to a stream position
// for an unread bound and a rules version: the next sync only evaluates
// the events after that position. In memory, per process; a miss counts
// again from the bound.
type unreadCache struct {
	mu      sync.Mutex
	entries map[string]unreadEntry
}

type unreadEntry struct {
	bound, rules, upTo int64
	notes, highlights  int
}

const maxUnreadEntries = 100000

func (c *unreadCache) get(key string) (unreadEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e, ok
}

func (c *unreadCache) put(key string, e unreadEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxUnreadEntries {
		c.entries = map[string]unreadEntry{} // crude, but bounded
	}
	c.entries[key] = e
}

// syncUnread sets unread_notifications of the joined rooms of resp: the
// events after the user's read receipt that their push rules say notify
// (and highlight). A fixed number of queries whatever the number of
// rooms (plus power levels for a room with an @room candidate); only
// events not counted by an earlier sync are evaluated.
func (a *API) syncUnread(ctx context.Context, dev store.Device, upTo int64, initial bool, resp *syncResponse) error {
	rs, _, version, err := a.ruleset(ctx, dev.UserID)
	if err != nil {
		return err
	}
	if initial {
		// Clients read the rules from the initial sync's account data;
		// users who never changed them have no stored event.
		seen := false
		for _, ev := range resp.AccountData.Events {
			if m, ok := ev.(map[string]any); ok && m["type"] == "m.push_rules" {
				seen = true
			}
		}
		if !seen {
			resp.AccountData.Events = append(resp.AccountData.Events, map[string]any{"type": "m.push_rules", "content": map[string]any{"global": rs}})
		}
	}
	if len(resp.Rooms.Join) == 0 {
		return nil
	}
	ids := make([]string, 0, len(resp.Rooms.Join))
	for id := range resp.Rooms.Join {
		ids = append(ids, id)
	}
	bounds, err := a.store.UnreadBounds(ctx, dev.UserID, ids)
	if err != nil {
		return err
	}
	stale, err := a.unreadStaleBefore(ctx, ids)
	if err != nil {
		return err
	}
	entries := map[string]unreadEntry{}
	var ranges []store.Range
	for _, id := range ids {
		e, ok := a.unread.get(dev.UserID + "\x00" + id)
		if !ok || e.bound != bounds[id] || e.rules != version || e.upTo > upTo || e.upTo < stale[id] {
			e = unreadEntry{bound: bounds[id], rules: version, upTo: bounds[id]}
		}
		entries[id] = e
		if e.upTo < upTo {
			ranges = append(ranges, store.Range{RoomID: id, After: e.upTo, UpTo: upTo})
		}
	}
	fresh, err := a.store.EventsFrom(ctx, dev.UserID, ranges, maxUnread)
	if err != nil {
		return err
	}
	var counts map[string]int
	if len(fresh) > 0 {
		if counts, err = a.store.JoinedCounts(ctx, ids); err != nil {
			return err
		}
	}
	display := ""
	if len(fresh) > 0 {
		if u, err := a.store.User(ctx, dev.UserID); err == nil {
			display = u.DisplayName
		}
	}
	ev := push.NewEvaluator(rs, dev.UserID, display)
	for _, id := range ids {
		e := entries[id]
		if evs := fresh[id]; len(evs) > 0 {
			rc := push.RoomContext{MemberCount: counts[id], NotificationPower: a.notificationPower(ctx, id)}
			for _, x := range evs {
				res := ev.Evaluate(x.JSON, rc)
				if res.Notify {
					e.notes++
				}
				if res.Highlight {
					e.highlights++
				}
			}
		}
		e.upTo = max(e.upTo, upTo)
		a.unread.put(dev.UserID+"\x00"+id, e)
		resp.Rooms.Join[id].UnreadNotifications = map[string]int{"notification_count": e.notes, "highlight_count": e.highlights}
	}
	return nil
}

// notificationPower reads the room's power levels on first use.
func (a *API) notificationPower(ctx context.Context, roomID string) func(sender, key string) (int, int) {
	var pl *gomatrixserverlib.PowerLevelContent
	return func(sender, key string) (int, int) {
		if pl == nil {
			var err error
			if pl, err = a.rooms.PowerLevels(ctx, roomID); err != nil {
				pl = &gomatrixserverlib.PowerLevelContent{}
				pl.Defaults()
			}
		}
		return int(pl.UserLevel(spec.SenderID(sender))), int(pl.NotificationLevel(key))
	}
}
