package clientapi

import (
	"context"
	"encoding/json"
	"strconv"

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
	var pl *powerLevels
	return func(sender, key string) (int, int) {
		if pl == nil {
			pl = &powerLevels{}
			if evs, err := a.store.State(ctx, roomID, []store.StateKey{{Type: "m.room.power_levels"}}); err == nil && len(evs) == 1 {
				*pl = parsePowerLevels(evs[0].JSON)
			}
		}
		need, ok := pl.Notifications[key]
		if !ok {
			need = 50
		}
		return pl.user(sender), need
	}
}

// powerLevels is the part of m.room.power_levels the API reads. Levels
// may be strings in old rooms: they are parsed leniently.
type powerLevels struct {
	Users         map[string]int
	UsersDefault  int
	Redact        int
	Notifications map[string]int
	Events        map[string]int
	StateDefault  int
}

func (pl powerLevels) user(id string) int {
	if l, ok := pl.Users[id]; ok {
		return l
	}
	return pl.UsersDefault
}

func level(raw json.RawMessage, def int) int {
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return def
		}
		n = json.Number(s)
	}
	i, err := strconv.Atoi(n.String())
	if err != nil {
		return def
	}
	return i
}

func levels(m map[string]json.RawMessage) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = level(v, 0)
	}
	return out
}

// parsePowerLevels reads a power levels PDU (with the spec's defaults).
func parsePowerLevels(pdu []byte) powerLevels {
	var ev struct {
		Content struct {
			Users         map[string]json.RawMessage `json:"users"`
			UsersDefault  json.RawMessage            `json:"users_default"`
			Redact        json.RawMessage            `json:"redact"`
			Notifications map[string]json.RawMessage `json:"notifications"`
			Events        map[string]json.RawMessage `json:"events"`
			StateDefault  json.RawMessage            `json:"state_default"`
		} `json:"content"`
	}
	_ = json.Unmarshal(pdu, &ev)
	c := ev.Content
	return powerLevels{
		Users: levels(c.Users), UsersDefault: level(c.UsersDefault, 0), Redact: level(c.Redact, 50),
		Notifications: levels(c.Notifications), Events: levels(c.Events), StateDefault: level(c.StateDefault, 50),
	}
}
