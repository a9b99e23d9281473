package clientapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/store"
	"bureau/services/chat/internal/visibility"
)

// sync answers /sync. An incremental sync with nothing new waits for the
// notifier — registered before reading, so nothing is missed — or the
// timeout.
func (a *API) sync(w http.ResponseWriter, r *http.Request, dev store.Device) {
	q := r.URL.Query()
	since := int64(-1)
	if s := q.Get("since"); s != "" {
		pos, err := ParseToken(s)
		if err != nil {
			a.fail(w, r, badParam(err.Error()))
			return
		}
		since = pos
	}
	var timeout time.Duration
	if s := q.Get("timeout"); s != "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms < 0 {
			a.fail(w, r, badParam("Invalid timeout"))
			return
		}
		timeout = min(time.Duration(min(ms, 1<<40))*time.Millisecond, a.cfg.MaxSyncTimeout)
	}
	filter, err := a.filterParam(r.Context(), dev.UserID, q.Get("filter"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	fullState := q.Get("full_state") == "true"
	setPresence := q.Get("set_presence")
	if setPresence == "" {
		setPresence = presenceOnline
	}
	if !validPresence(setPresence) {
		a.fail(w, r, badParam("Invalid set_presence"))
		return
	}
	if err := a.presenceSyncing(r.Context(), dev.UserID, setPresence); err != nil {
		a.fail(w, r, err)
		return
	}
	deadline := time.Now().Add(timeout)
	for {
		wake := a.notifier.Listen(dev.UserID)
		resp, news, err := a.syncOnce(r.Context(), dev, since, fullState, filter)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		left := time.Until(deadline)
		if since < 0 || news || fullState || left <= 0 {
			if !filter.rendered() {
				writeJSON(w, http.StatusOK, resp)
				return
			}
			js, err := renderEvents(resp, filter)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.Write(js)
			return
		}
		t := time.NewTimer(left)
		unpark := a.notifier.Park()
		select {
		case <-wake:
		case <-t.C:
		case <-r.Context().Done():
			unpark()
			t.Stop()
			return
		}
		unpark()
		t.Stop()
	}
}

type timeline struct {
	Events    []clientEvent `json:"events"`
	Limited   bool          `json:"limited"`
	PrevBatch string        `json:"prev_batch"`
}

type eventList struct {
	Events []clientEvent `json:"events"`
}

// anyList holds ephemeral and account data events.
type anyList struct {
	Events []any `json:"events"`
}

type joinedRoom struct {
	Timeline            timeline     `json:"timeline"`
	State               eventList    `json:"state"`
	Ephemeral           anyList      `json:"ephemeral"`
	AccountData         anyList      `json:"account_data"`
	UnreadNotifications unreadCounts `json:"unread_notifications"`
	// UnreadThreadNotifications: the threads with unread notifications,
	// when the filter asks (clients take absent threads as read).
	UnreadThreadNotifications map[string]unreadCounts `json:"unread_thread_notifications,omitempty"`
	Summary                   map[string]any          `json:"summary"`
}

type leftRoom struct {
	Timeline    timeline  `json:"timeline"`
	State       eventList `json:"state"`
	AccountData eventList `json:"account_data"`
}

type invitedRoom struct {
	InviteState eventList `json:"invite_state"`
}

type syncResponse struct {
	NextBatch string `json:"next_batch"`
	Rooms     struct {
		Join   map[string]*joinedRoom  `json:"join"`
		Invite map[string]*invitedRoom `json:"invite"`
		Leave  map[string]*leftRoom    `json:"leave"`
	} `json:"rooms"`
	AccountData anyList `json:"account_data"`
	Presence    anyList `json:"presence"`
	ToDevice    struct {
		Events []toDeviceEvent `json:"events"`
	} `json:"to_device"`
	DeviceLists struct {
		Changed []string `json:"changed"`
		Left    []string `json:"left"`
	} `json:"device_lists"`
	OneTimeKeysCount      map[string]int `json:"device_one_time_keys_count"`
	UnusedFallbackKeyType []string       `json:"device_unused_fallback_key_types"`
}

type toDeviceEvent struct {
	Sender  string          `json:"sender"`
	Type    string          `json:"type"`
	Content json.RawMessage `json:"content"`
}

// strippedTypes are the state events an invitee sees of the room.
var strippedTypes = map[string]bool{
	spec.MRoomCreate: true, spec.MRoomJoinRules: true, spec.MRoomName: true, "m.room.avatar": true,
	spec.MRoomCanonicalAlias: true, "m.room.encryption": true, spec.MRoomTopic: true,
}

// syncOnce computes the response for (since, now]; since < 0 is an initial
// sync. It runs a fixed number of queries whatever the number of rooms.
func (a *API) syncOnce(ctx context.Context, dev store.Device, since int64, fullState bool, filter Filter) (*syncResponse, bool, error) {
	upTo, err := a.store.MaxPos(ctx)
	if err != nil {
		return nil, false, err
	}
	if since > upTo {
		since = -1 // a token from another database: start over
	}
	// To-device messages first: when there are too many for one response,
	// the sync stops at the last one delivered (next_batch must not pass
	// a message the client has not received).
	msgs, more, err := a.store.TakeToDevice(ctx, dev.UserID, dev.DeviceID, since, upTo, maxToDevice)
	if err != nil {
		return nil, false, err
	}
	if more {
		upTo = msgs[len(msgs)-1].Pos
	}
	ms, err := a.store.UserMemberships(ctx, dev.UserID)
	if err != nil {
		return nil, false, err
	}
	resp := &syncResponse{NextBatch: FormatToken(upTo), OneTimeKeysCount: map[string]int{}}
	resp.Rooms.Join, resp.Rooms.Invite, resp.Rooms.Leave = map[string]*joinedRoom{}, map[string]*invitedRoom{}, map[string]*leftRoom{}
	resp.AccountData.Events, resp.Presence.Events, resp.ToDevice.Events = []any{}, []any{}, []toDeviceEvent{}
	resp.DeviceLists.Changed, resp.DeviceLists.Left = []string{}, []string{}
	for _, m := range msgs {
		resp.ToDevice.Events = append(resp.ToDevice.Events, toDeviceEvent{Sender: m.Sender, Type: m.Type, Content: json.RawMessage(m.ContentJSON)})
	}
	if err := a.syncE2EE(ctx, dev, ms, since, upTo, resp); err != nil {
		return nil, false, err
	}

	limit := filter.TimelineLimit()
	var fresh, incremental, invited []string
	var left []store.Membership
	for _, m := range ms {
		if m.Pos > upTo {
			continue // changed after this sync's bound: the next one has it
		}
		if !filter.keepsRoom(m.RoomID) {
			continue
		}
		isNew := since < 0 || m.Pos > since
		switch m.Membership {
		case "join":
			if isNew || fullState {
				fresh = append(fresh, m.RoomID)
			} else {
				incremental = append(incremental, m.RoomID)
			}
		case "invite":
			if isNew || fullState {
				invited = append(invited, m.RoomID)
			}
		case "leave", "ban":
			// Rooms left since the token always (the client must learn
			// it); with include_leave, every left room on a sync from
			// scratch (initial or full_state).
			if since >= 0 && m.Pos > since || filter.Room.IncludeLeave && (since < 0 || fullState) {
				left = append(left, m)
			}
		}
	}

	// History visibility: rooms synced from the start and rooms left are
	// read through their reader's ranges; a room joined before the token
	// is readable in full after it (its reader was joined throughout).
	hist := append([]string{}, fresh...)
	for _, m := range left {
		hist = append(hist, m.RoomID)
	}
	histories, err := a.store.Histories(ctx, dev.UserID, hist, upTo)
	if err != nil {
		return nil, false, err
	}
	readable := func(rooms []string, whole bool) map[string]visibility.Ranges {
		out := make(map[string]visibility.Ranges, len(rooms))
		for _, id := range rooms {
			if !filter.Room.Timeline.keepsRoom(id) {
				continue // the timeline filter leaves it out: no events
			}
			out[id] = visibility.All
			if !whole {
				out[id], _ = histories[id].For(upTo)
			}
		}
		return out
	}

	kept := filter.Room.Timeline.events()

	// Rooms synced from the start: recent timeline, state before it.
	tls, err := a.store.Timelines(ctx, readable(fresh, false), kept, 0, upTo, limit)
	if err != nil {
		return nil, false, err
	}
	states, err := a.store.StateChanges(ctx, fresh, 0)
	if err != nil {
		return nil, false, err
	}
	for _, id := range fresh {
		tl := makeTimeline(tls[id], limit, 0, dev.DeviceID)
		resp.Rooms.Join[id] = newJoinedRoom(tl, stateBefore(states[id], tl, upTo))
	}

	// Rooms synced since the token: what happened since, and the state
	// that changed in a gap when the timeline is limited.
	tls, err = a.store.Timelines(ctx, readable(incremental, true), kept, since, upTo, limit)
	if err != nil {
		return nil, false, err
	}
	var gapped []string
	for _, id := range incremental {
		if len(tls[id]) > limit {
			gapped = append(gapped, id)
		}
	}
	states, err = a.store.StateChanges(ctx, gapped, since)
	if err != nil {
		return nil, false, err
	}
	for _, id := range incremental {
		if len(tls[id]) == 0 {
			continue
		}
		tl := makeTimeline(tls[id], limit, since, dev.DeviceID)
		resp.Rooms.Join[id] = newJoinedRoom(tl, stateBefore(states[id], tl, upTo))
	}
	if err := a.syncEphemeral(ctx, dev, fresh, incremental, since, upTo, resp); err != nil {
		return nil, false, err
	}
	if err := a.syncUnread(ctx, dev, upTo, since < 0, filter.Room.Timeline.UnreadThreadNotifications, resp); err != nil {
		return nil, false, err
	}

	// Invites: what the invitee may see of the room.
	states, err = a.store.StateChanges(ctx, invited, 0)
	if err != nil {
		return nil, false, err
	}
	for _, id := range invited {
		ir := &invitedRoom{InviteState: eventList{Events: []clientEvent{}}}
		for _, ev := range states[id] {
			if strippedTypes[ev.Type] || (ev.Type == spec.MRoomMember && ev.StateKey != nil && *ev.StateKey == dev.UserID) {
				ir.InviteState.Events = append(ir.InviteState.Events, toClient(ev, ""))
			}
		}
		resp.Rooms.Invite[id] = ir
	}

	// Rooms left since the token: the timeline up to the leaving, as a
	// former member (or, after a rejected invite, as an outsider: little
	// more than the leave itself).
	after := max(since, 0)
	gone := make(map[string]visibility.Ranges, len(left))
	for _, m := range left {
		h := histories[m.RoomID]
		if filter.Room.Timeline.keepsRoom(m.RoomID) {
			gone[m.RoomID] = h.Readable(m.Pos, !h.EverJoined())
		}
	}
	tls, err = a.store.Timelines(ctx, gone, kept, after, upTo, limit)
	if err != nil {
		return nil, false, err
	}
	// Their state up to the start of the timeline: all of it on a sync
	// from scratch, what changed since the token otherwise; none of a
	// room never joined (a rejected invite reads nothing).
	starts := make(map[string]int64, len(left))
	for _, m := range left {
		if !histories[m.RoomID].EverJoined() {
			continue
		}
		starts[m.RoomID] = m.Pos
		if evs := tls[m.RoomID]; len(evs) > 0 && limit > 0 {
			starts[m.RoomID] = evs[max(len(evs)-limit, 0)].Pos - 1
		}
	}
	leftStates, err := a.store.StatesAt(ctx, starts)
	if err != nil {
		return nil, false, err
	}
	for _, m := range left {
		t := makeTimeline(tls[m.RoomID], limit, after, dev.DeviceID)
		st := []clientEvent{}
		for _, ev := range leftStates[m.RoomID] {
			if since < 0 || fullState || ev.Pos > since {
				st = append(st, toClient(ev, ""))
			}
		}
		resp.Rooms.Leave[m.RoomID] = &leftRoom{Timeline: t, State: eventList{Events: st}, AccountData: eventList{Events: []clientEvent{}}}
	}
	if err := a.syncBundle(ctx, dev.UserID, upTo, resp); err != nil {
		return nil, false, err
	}
	if err := a.syncPresence(ctx, dev.UserID, since, upTo, filter.Presence, resp); err != nil {
		return nil, false, err
	}
	if filter.Room.State.LazyLoadMembers {
		if err := a.syncLazyMembers(ctx, dev.UserID, upTo, resp); err != nil {
			return nil, false, err
		}
	}
	filter.apply(resp, fresh)
	news := len(resp.Rooms.Join)+len(resp.Rooms.Invite)+len(resp.Rooms.Leave) > 0 ||
		len(resp.ToDevice.Events)+len(resp.DeviceLists.Changed)+len(resp.DeviceLists.Left)+len(resp.AccountData.Events)+len(resp.Presence.Events) > 0
	return resp, news, nil
}

// maxToDevice bounds the to-device messages of one response.
const maxToDevice = 100

// syncE2EE fills device_lists and the key counts.
func (a *API) syncE2EE(ctx context.Context, dev store.Device, ms []store.Membership, since, upTo int64, resp *syncResponse) error {
	var err error
	if since >= 0 {
		resp.DeviceLists.Changed, resp.DeviceLists.Left, err = a.deviceLists(ctx, dev.UserID, ms, since, upTo)
		if err != nil {
			return err
		}
	}
	if resp.OneTimeKeysCount, err = a.otkCounts(ctx, dev); err != nil {
		return err
	}
	resp.UnusedFallbackKeyType, err = a.store.UnusedFallbackTypes(ctx, dev.UserID, dev.DeviceID)
	return err
}

// makeTimeline keeps the last limit events of evs (which has at most
// limit+1) and says whether some were left out.
func makeTimeline(evs []store.Event, limit int, after int64, deviceID string) timeline {
	tl := timeline{Events: make([]clientEvent, 0, len(evs))}
	if len(evs) > limit {
		tl.Limited = true
		evs = evs[len(evs)-limit:]
	}
	prev := after
	if len(evs) > 0 {
		prev = evs[0].Pos - 1
	}
	tl.PrevBatch = FormatToken(prev)
	for _, ev := range evs {
		tl.Events = append(tl.Events, toClient(ev, deviceID))
	}
	return tl
}

// stateBefore is the state to send with a timeline: the given state events
// except those in the timeline itself or after the sync's bound.
func stateBefore(state []store.Event, tl timeline, upTo int64) []clientEvent {
	inTimeline := make(map[string]bool, len(tl.Events))
	for _, ev := range tl.Events {
		inTimeline[ev.EventID] = true
	}
	out := []clientEvent{}
	for _, ev := range state {
		if !inTimeline[ev.EventID] && ev.Pos <= upTo {
			out = append(out, toClient(ev, ""))
		}
	}
	return out
}

func newJoinedRoom(tl timeline, state []clientEvent) *joinedRoom {
	return &joinedRoom{
		Timeline: tl, State: eventList{Events: state},
		Ephemeral: anyList{Events: []any{}}, AccountData: anyList{Events: []any{}},
		Summary: map[string]any{},
	}
}

// syncEphemeral adds typing, receipts and account data. A joined room with
// only these news appears with an empty timeline.
func (a *API) syncEphemeral(ctx context.Context, dev store.Device, fresh, incremental []string, since, upTo int64, resp *syncResponse) error {
	room := func(id string) *joinedRoom {
		jr := resp.Rooms.Join[id]
		if jr == nil {
			jr = newJoinedRoom(timeline{Events: []clientEvent{}, PrevBatch: FormatToken(upTo)}, []clientEvent{})
			resp.Rooms.Join[id] = jr
		}
		return jr
	}
	after := max(since, 0)
	joined := map[string]bool{}
	for _, id := range fresh {
		joined[id] = true
	}
	for _, id := range incremental {
		joined[id] = true
	}
	// Typing.
	for id, users := range a.typingSnapshot(fresh, -1, upTo) {
		room(id).Ephemeral.Events = append(room(id).Ephemeral.Events, typingEvent(users))
	}
	for id, users := range a.typingSnapshot(incremental, since, upTo) {
		room(id).Ephemeral.Events = append(room(id).Ephemeral.Events, typingEvent(users))
	}
	// Receipts: every receipt of newly synced rooms, the new ones of the
	// others. Private receipts only to their owner.
	rs, err := a.store.Receipts(ctx, fresh, 0, upTo)
	if err != nil {
		return err
	}
	more, err := a.store.Receipts(ctx, incremental, after, upTo)
	if err != nil {
		return err
	}
	byRoom := map[string]map[string]map[string]map[string]any{}
	for _, r := range append(rs, more...) {
		if r.Type == "m.read.private" && r.UserID != dev.UserID {
			continue
		}
		c := byRoom[r.RoomID]
		if c == nil {
			c = map[string]map[string]map[string]any{}
			byRoom[r.RoomID] = c
		}
		if c[r.EventID] == nil {
			c[r.EventID] = map[string]map[string]any{}
		}
		if c[r.EventID][r.Type] == nil {
			c[r.EventID][r.Type] = map[string]any{}
		}
		rec := map[string]any{"ts": r.TS}
		if r.ThreadID != "" {
			rec["thread_id"] = r.ThreadID
		}
		c[r.EventID][r.Type][r.UserID] = rec
	}
	for id, c := range byRoom {
		room(id).Ephemeral.Events = append(room(id).Ephemeral.Events, map[string]any{"type": "m.receipt", "content": c})
	}
	// Account data.
	ads, err := a.store.AccountDataSince(ctx, dev.UserID, after, upTo)
	if err != nil {
		return err
	}
	for _, d := range ads {
		ev := map[string]any{"type": d.Type, "content": json.RawMessage(d.Content)}
		switch {
		case d.RoomID == "":
			resp.AccountData.Events = append(resp.AccountData.Events, ev)
		case joined[d.RoomID]:
			room(d.RoomID).AccountData.Events = append(room(d.RoomID).AccountData.Events, ev)
		}
	}
	return nil
}

func typingEvent(users []string) map[string]any {
	return map[string]any{"type": "m.typing", "content": map[string]any{"user_ids": users}}
}
