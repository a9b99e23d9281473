package clientapi

import (
	"context"
	"maps"
	"sync"

	"github.com/matrix-org/gomatrixserverlib"
	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/push"
	"bureau/services/chat/internal/store"
)

// unreadPage is how many events one query reads per room while counting:
// counts are exact (no "99+" cap; Synapse's are exact too), and a long
// unread history is read page by page rather than at once.
const unreadPage = 500

// unreadCounts is a room's or a thread's unread_notifications.
type unreadCounts struct {
	Notes      int `json:"notification_count"`
	Highlights int `json:"highlight_count"`
}

// unreadCache keeps, per (user, room), the counts per thread up to a
// stream position for an unread bound and a rules version: the next sync
// only evaluates the events after that position. In memory, per process;
// a miss counts again from the bound.
type unreadCache struct {
	mu      sync.Mutex
	entries map[string]unreadEntry
}

type unreadEntry struct {
	bound       string // store.UnreadBound.Key
	rules, upTo int64
	// counts per thread: "" is the main timeline, else the root's id.
	counts map[string]unreadCounts
}

const maxUnreadEntries = 100000

func (c *unreadCache) get(key string) (unreadEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	e.counts = maps.Clone(e.counts) // the caller updates its copy
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
// events after the user's read receipts that their push rules say notify
// (and highlight). With threaded (the timeline filter's
// unread_thread_notifications), threads are counted apart in
// unread_thread_notifications and the room's counts are the main
// timeline's; without, the room's counts include the threads. Each
// thread is read up to the later of the unthreaded receipt and its own.
// A fixed number of queries per page of events whatever the number of
// rooms (plus power levels for a room with an @room candidate); only
// events not counted by an earlier sync are evaluated.
func (a *API) syncUnread(ctx context.Context, dev store.Device, upTo int64, initial, threaded bool, resp *syncResponse) error {
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
		b := bounds[id]
		e, ok := a.unread.get(dev.UserID + "\x00" + id)
		if !ok || e.bound != b.Key() || e.rules != version || e.upTo > upTo || e.upTo < stale[id] {
			e = unreadEntry{bound: b.Key(), rules: version, upTo: b.Room, counts: map[string]unreadCounts{}}
		}
		entries[id] = e
		if e.upTo < upTo {
			ranges = append(ranges, store.Range{RoomID: id, After: e.upTo, UpTo: upTo})
		}
	}
	var eval *push.Evaluator
	var members map[string]int
	power := map[string]func(sender, key string) (int, int){}
	for len(ranges) > 0 {
		page, err := a.store.EventsFrom(ctx, dev.UserID, ranges, unreadPage)
		if err != nil {
			return err
		}
		if eval == nil && len(page) > 0 {
			if members, err = a.store.JoinedCounts(ctx, ids); err != nil {
				return err
			}
			display := ""
			if u, err := a.store.User(ctx, dev.UserID); err == nil {
				display = u.DisplayName
			}
			eval = push.NewEvaluator(rs, dev.UserID, display)
		}
		var more []store.Range
		for _, r := range ranges {
			evs := page[r.RoomID]
			if len(evs) == 0 {
				continue
			}
			if power[r.RoomID] == nil {
				power[r.RoomID] = a.notificationPower(ctx, r.RoomID)
			}
			rc := push.RoomContext{MemberCount: members[r.RoomID], NotificationPower: power[r.RoomID]}
			e, b := entries[r.RoomID], bounds[r.RoomID]
			for _, x := range evs {
				if x.Pos <= b.Of(x.Thread) {
					continue // read in its thread
				}
				res := eval.Evaluate(x.JSON, rc)
				c := e.counts[x.Thread]
				if res.Notify {
					c.Notes++
				}
				if res.Highlight {
					c.Highlights++
				}
				if c != (unreadCounts{}) {
					e.counts[x.Thread] = c
				}
			}
			if len(evs) == unreadPage {
				more = append(more, store.Range{RoomID: r.RoomID, After: evs[len(evs)-1].Pos, UpTo: r.UpTo})
			}
		}
		ranges = more
	}
	for _, id := range ids {
		e := entries[id]
		e.upTo = max(e.upTo, upTo)
		a.unread.put(dev.UserID+"\x00"+id, e)
		jr := resp.Rooms.Join[id]
		jr.UnreadNotifications = e.counts[""]
		for thread, c := range e.counts {
			switch {
			case thread == "":
			case threaded:
				if jr.UnreadThreadNotifications == nil {
					jr.UnreadThreadNotifications = map[string]unreadCounts{}
				}
				jr.UnreadThreadNotifications[thread] = c
			default:
				jr.UnreadNotifications.Notes += c.Notes
				jr.UnreadNotifications.Highlights += c.Highlights
			}
		}
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
