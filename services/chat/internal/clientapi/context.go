package clientapi

import (
	"errors"
	"net/http"
	"strconv"

	"bureau/services/chat/internal/store"
	"bureau/services/chat/internal/visibility"
)

// readableEvent reads {roomId} and {eventId} and returns the event when
// the caller may read it (404 when it is not in the room or beyond what
// they may read), with the ranges of the room the caller may read.
func (a *API) readableEvent(r *http.Request, dev store.Device) (store.Event, visibility.Ranges, error) {
	id, err := roomID(r, "roomId")
	if err != nil {
		return store.Event{}, nil, err
	}
	evID := r.PathValue("eventId")
	if !validEventID(evID) {
		return store.Event{}, nil, badParam("Invalid event id")
	}
	rs, _, err := a.readable(r.Context(), id, dev.UserID)
	if err != nil {
		return store.Event{}, nil, err
	}
	ev, err := a.store.EventByID(r.Context(), evID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (ev.RoomID != id || !rs.Contains(ev.Pos))) {
		return store.Event{}, nil, errf(http.StatusNotFound, "M_NOT_FOUND", "Event not found")
	}
	return ev, rs, err
}

// queryLimit reads ?limit= (default def, at most max).
func queryLimit(r *http.Request, def, max int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badParam("Invalid limit")
	}
	return min(n, max), nil
}

// eventContext answers /context: the events around one, with tokens that
// continue with /messages in each direction.
func (a *API) eventContext(w http.ResponseWriter, r *http.Request, dev store.Device) {
	limit, err := queryLimit(r, 10, 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	filter, err := parseRoomEventFilter(r.URL.Query().Get("filter"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ev, rs, err := a.readableEvent(r, dev)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	nBefore := limit / 2
	before, err := a.store.Messages(r.Context(), ev.RoomID, rs, filter.eventsIn(ev.RoomID), ev.Pos-1, true, nBefore)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	after, err := a.store.Messages(r.Context(), ev.RoomID, rs, filter.eventsIn(ev.RoomID), ev.Pos, false, limit-nBefore)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	start, end := ev.Pos-1, ev.Pos
	if len(before) > 0 {
		start = before[len(before)-1].Pos - 1
	}
	if len(after) > 0 {
		end = after[len(after)-1].Pos
	}
	// The spec's state is that "at the last event returned", not the
	// room's current state (a member who left since still has a name).
	state, err := a.store.StateAt(r.Context(), ev.RoomID, end)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if filter.LazyLoadMembers {
		// Only the members of the senders of the events returned.
		senders := map[string]bool{ev.Sender: true, dev.UserID: true}
		for _, e := range append(before, after...) {
			senders[e.Sender] = true
		}
		kept := state[:0]
		for _, e := range state {
			if e.Type != "m.room.member" || e.StateKey == nil || senders[*e.StateKey] {
				kept = append(kept, e)
			}
		}
		state = kept
	}
	ce, cb, ca := toClient(ev, dev.DeviceID), clientEvents(before, dev), clientEvents(after, dev)
	if err := a.bundle(r.Context(), dev.UserID, rs.Last(), append(append([]*clientEvent{&ce}, ptrs(cb)...), ptrs(ca)...)); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"event":         ce,
		"events_before": cb,
		"events_after":  ca,
		"state":         clientEvents(state, store.Device{}),
		"start":         FormatToken(start),
		"end":           FormatToken(end),
	})
}

// clientEvents converts events for dev.
func clientEvents(evs []store.Event, dev store.Device) []clientEvent {
	out := make([]clientEvent, 0, len(evs))
	for _, ev := range evs {
		out = append(out, toClient(ev, dev.DeviceID))
	}
	return out
}
