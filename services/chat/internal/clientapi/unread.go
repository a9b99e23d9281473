package clientapi

import (
	"context"

	"github.com/matrix-org/gomatrixserverlib"
	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/push"
	"bureau/services/chat/internal/store"
)

// maxUnread bounds the events counted per room (clients show "99+").
const maxUnread = 100

// syncUnread sets unread_notifications of the joined rooms of resp: the
// events after the user's read receipt that their push rules say notify
// (and highlight). Four queries whatever the number of rooms, plus one
// per room with an @room candidate (power levels).
func (a *API) syncUnread(ctx context.Context, dev store.Device, upTo int64, initial bool, resp *syncResponse) error {
	rs, _, _, err := a.ruleset(ctx, dev.UserID)
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
	cands, err := a.store.UnreadCandidates(ctx, dev.UserID, ids, upTo, maxUnread)
	if err != nil {
		return err
	}
	counts, err := a.store.JoinedCounts(ctx, ids)
	if err != nil {
		return err
	}
	display := ""
	if u, err := a.store.User(ctx, dev.UserID); err == nil {
		display = u.DisplayName
	}
	ev := push.NewEvaluator(rs, dev.UserID, display)
	for _, id := range ids {
		rc := push.RoomContext{MemberCount: counts[id], NotificationPower: a.notificationPower(ctx, id)}
		notes, highlights := 0, 0
		for _, e := range cands[id] {
			res := ev.Evaluate(e.JSON, rc)
			if res.Notify {
				notes++
			}
			if res.Highlight {
				highlights++
			}
		}
		resp.Rooms.Join[id].UnreadNotifications = map[string]int{"notification_count": notes, "highlight_count": highlights}
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
