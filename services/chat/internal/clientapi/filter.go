package clientapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"bureau/services/chat/internal/store"
)

// Filter is a Matrix filter (spec v1.11 "Filtering"). Every part is
// applied: room events in SQL (so that limits count kept events), the
// other sections in memory.
type Filter struct {
	// EventFields lists the dotted paths of the event fields to return
	// ("\." and "\\" escape a literal dot or backslash); nil: all.
	EventFields []string `json:"event_fields,omitempty"`
	// EventFormat is "client" (default) or "federation" (the PDU).
	EventFormat string          `json:"event_format,omitempty"`
	AccountData RoomEventFilter `json:"account_data"`
	Presence    RoomEventFilter `json:"presence"`
	Room        RoomFilter      `json:"room"`
	fields      trie            // parsed EventFields, nil: all
}

// RoomFilter is the room part of a filter.
type RoomFilter struct {
	// Rooms (nil: all) and NotRooms restrict every room section.
	Rooms        *[]string       `json:"rooms,omitempty"`
	NotRooms     []string        `json:"not_rooms,omitempty"`
	Timeline     RoomEventFilter `json:"timeline"`
	State        RoomEventFilter `json:"state"`
	Ephemeral    RoomEventFilter `json:"ephemeral"`
	AccountData  RoomEventFilter `json:"account_data"`
	IncludeLeave bool            `json:"include_leave,omitempty"`
}

// RoomEventFilter selects events (the spec's EventFilter, RoomEventFilter
// and StateFilter in one: fields a section has no use for are ignored).
// Absent lists keep everything; types may use "*" wildcards.
type RoomEventFilter struct {
	Limit      *int      `json:"limit,omitempty"`
	Types      *[]string `json:"types,omitempty"`
	NotTypes   []string  `json:"not_types,omitempty"`
	Senders    *[]string `json:"senders,omitempty"`
	NotSenders []string  `json:"not_senders,omitempty"`
	Rooms      *[]string `json:"rooms,omitempty"`
	NotRooms   []string  `json:"not_rooms,omitempty"`
	// ContainsURL: true keeps only events whose content has a string
	// url, false only those without; nil does not look.
	ContainsURL *bool `json:"contains_url,omitempty"`
	// LazyLoadMembers applies to /messages and /context (RoomEventFilter);
	// /sync reads it from room.state.
	LazyLoadMembers         bool `json:"lazy_load_members,omitempty"`
	IncludeRedundantMembers bool `json:"include_redundant_members,omitempty"`
	// UnreadThreadNotifications, in room.timeline, asks /sync for
	// per-thread counts.
	UnreadThreadNotifications bool `json:"unread_thread_notifications,omitempty"`
}

// maxFilterList bounds each list of a filter (they become SQL IN lists).
const maxFilterList = 200

// parseRoomEventFilter reads the filter parameter of /messages and
// /context: not JSON → M_NOT_JSON, not an object → M_BAD_JSON, fields of
// the wrong type or bad values → M_INVALID_PARAM (a query parameter).
func parseRoomEventFilter(s string) (RoomEventFilter, error) {
	var f RoomEventFilter
	if s == "" {
		return f, nil
	}
	if !json.Valid([]byte(s)) {
		return f, errNotJSON
	}
	if s[0] != '{' {
		return f, badJSON("Invalid filter")
	}
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		return f, badParam("Invalid filter: " + err.Error())
	}
	return f, f.check("filter")
}

// check refuses negative limits and lists too long to apply.
func (f RoomEventFilter) check(where string) error {
	if f.Limit != nil && *f.Limit < 0 {
		return badParam("Invalid filter: negative limit in " + where)
	}
	for _, l := range [][]string{deref(f.Types), f.NotTypes, deref(f.Senders), f.NotSenders, deref(f.Rooms), f.NotRooms} {
		if len(l) > maxFilterList {
			return badParam("Invalid filter: more than 200 entries in a list of " + where)
		}
	}
	return nil
}

func deref(l *[]string) []string {
	if l == nil {
		return nil
	}
	return *l
}

// events is the store's form of the filter.
func (f RoomEventFilter) events() store.EventFilter {
	out := store.EventFilter{NotTypes: f.NotTypes, NotSenders: f.NotSenders, ContainsURL: f.ContainsURL}
	if f.Types != nil {
		out.Types = append([]string{}, *f.Types...)
	}
	if f.Senders != nil {
		out.Senders = append([]string{}, *f.Senders...)
	}
	return out
}

// eventsIn is events for one room: nothing when the filter leaves the
// room out.
func (f RoomEventFilter) eventsIn(roomID string) store.EventFilter {
	out := f.events()
	if !f.keepsRoom(roomID) {
		out.Types = []string{}
	}
	return out
}

// keepsRoom applies rooms and not_rooms.
func (f RoomEventFilter) keepsRoom(id string) bool {
	return (f.Rooms == nil || slices.Contains(*f.Rooms, id)) && !slices.Contains(f.NotRooms, id)
}

// keeps applies the filter's types and senders to one event in memory
// (the timeline applies them in SQL); "*" matches any run of characters.
// sender "" (ephemeral and account data events) passes the sender lists.
func (f RoomEventFilter) keeps(typ, sender string) bool {
	matches := func(patterns []string) bool {
		return slices.ContainsFunc(patterns, func(p string) bool { return globMatch(p, typ) })
	}
	return (f.Types == nil || matches(*f.Types)) && !matches(f.NotTypes) &&
		(sender == "" || (f.Senders == nil || slices.Contains(*f.Senders, sender)) && !slices.Contains(f.NotSenders, sender))
}

// keepsEvent is keeps plus contains_url, for a client event.
func (f RoomEventFilter) keepsEvent(ev clientEvent) bool {
	if !f.keeps(ev.Type, ev.Sender) {
		return false
	}
	if f.ContainsURL != nil {
		var c struct {
			URL json.RawMessage `json:"url"`
		}
		_ = json.Unmarshal(ev.Content, &c)
		hasURL := len(c.URL) > 0 && c.URL[0] == '"'
		return hasURL == *f.ContainsURL
	}
	return true
}

// limited keeps at most the filter's limit of n items.
func (f RoomEventFilter) limited(n int) int {
	if f.Limit != nil {
		return min(n, *f.Limit)
	}
	return n
}

// globMatch matches s against a pattern whose only wildcard is "*".
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// keepsRoom applies room.rooms and room.not_rooms.
func (f Filter) keepsRoom(id string) bool {
	return (f.Room.Rooms == nil || slices.Contains(*f.Room.Rooms, id)) && !slices.Contains(f.Room.NotRooms, id)
}

const (
	defaultTimelineLimit = 10
	maxTimelineLimit     = 100
)

// TimelineLimit is the number of timeline events per room.
func (f Filter) TimelineLimit() int {
	if f.Room.Timeline.Limit == nil {
		return defaultTimelineLimit
	}
	return min(*f.Room.Timeline.Limit, maxTimelineLimit)
}

// ParseFilter parses and checks a filter definition: not JSON →
// M_NOT_JSON; not an object or fields of the wrong type → M_BAD_JSON;
// well-typed but invalid values (negative limits, an unknown
// event_format, a malformed event_fields path, lists over 200) →
// M_INVALID_PARAM. Unknown fields are ignored, as the spec's objects are
// open.
func ParseFilter(js []byte) (Filter, error) {
	var f Filter
	js = bytes.TrimSpace(js)
	if !json.Valid(js) {
		return f, errNotJSON
	}
	if len(js) == 0 || js[0] != '{' {
		return f, badJSON("Invalid filter: not an object")
	}
	if err := json.Unmarshal(js, &f); err != nil {
		return f, badJSON("Invalid filter: " + err.Error())
	}
	switch f.EventFormat {
	case "", "client", "federation":
	default:
		return f, badParam("Invalid filter: event_format must be client or federation")
	}
	if len(f.EventFields) > maxFilterList {
		return f, badParam("Invalid filter: more than 200 event_fields")
	}
	fields, err := parseEventFields(f.EventFields)
	if err != nil {
		return f, err
	}
	f.fields = fields
	if len(deref(f.Room.Rooms)) > maxFilterList || len(f.Room.NotRooms) > maxFilterList {
		return f, badParam("Invalid filter: more than 200 rooms")
	}
	for where, part := range map[string]RoomEventFilter{
		"room.timeline": f.Room.Timeline, "room.state": f.Room.State, "room.ephemeral": f.Room.Ephemeral,
		"room.account_data": f.Room.AccountData, "account_data": f.AccountData, "presence": f.Presence,
	} {
		if err := part.check(where); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (a *API) putFilter(w http.ResponseWriter, r *http.Request, dev store.Device) {
	if r.PathValue("userId") != dev.UserID {
		a.fail(w, r, errf(http.StatusForbidden, "M_FORBIDDEN", "Cannot create filters for other users"))
		return
	}
	var raw json.RawMessage
	if err := readJSON(r, maxBody, &raw); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := ParseFilter(raw); err != nil {
		a.fail(w, r, err)
		return
	}
	id, err := a.store.AddFilter(r.Context(), dev.UserID, string(raw))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"filter_id": strconv.FormatInt(id, 10)})
}

func (a *API) getFilter(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, err := strconv.ParseInt(r.PathValue("filterId"), 10, 64)
	if r.PathValue("userId") != dev.UserID || err != nil {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "No such filter"))
		return
	}
	js, err := a.store.Filter(r.Context(), dev.UserID, id)
	if errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "No such filter"))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(js))
}

func (a *API) filterParam(ctx context.Context, userID, s string) (Filter, error) {
	switch {
	case s == "":
		return Filter{}, nil
	case strings.HasPrefix(s, "{"):
		return ParseFilter([]byte(s))
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return Filter{}, badParam("Invalid filter")
	}
	js, err := a.store.Filter(ctx, userID, id)
	if errors.Is(err, store.ErrNotFound) {
		return Filter{}, errf(http.StatusNotFound, "M_NOT_FOUND", "No such filter")
	}
	if err != nil {
		return Filter{}, err
	}
	return ParseFilter([]byte(js))
}

// apply applies the sections of the filter the store does not to a sync
// response: room.state, room.ephemeral and room.account_data (types,
// senders, rooms, contains_url, limit) and the global account_data.
// Rooms of an incremental sync (not in fresh) left with nothing to say
// are dropped.
func (f Filter) apply(resp *syncResponse, fresh []string) {
	state := func(roomID string, evs []clientEvent) []clientEvent {
		sf := f.Room.State
		if !sf.keepsRoom(roomID) {
			return evs[:0]
		}
		evs = slices.DeleteFunc(evs, func(ev clientEvent) bool { return !sf.keepsEvent(ev) })
		return evs[:sf.limited(len(evs))]
	}
	others := func(sf RoomEventFilter, roomID string, evs []any) []any {
		if roomID != "" && !sf.keepsRoom(roomID) {
			return evs[:0]
		}
		evs = slices.DeleteFunc(evs, func(ev any) bool {
			m, _ := ev.(map[string]any)
			typ, _ := m["type"].(string)
			return !sf.keeps(typ, "")
		})
		return evs[:sf.limited(len(evs))]
	}
	resp.AccountData.Events = others(f.AccountData, "", resp.AccountData.Events)
	for id, jr := range resp.Rooms.Join {
		jr.State.Events = state(id, jr.State.Events)
		jr.Ephemeral.Events = others(f.Room.Ephemeral, id, jr.Ephemeral.Events)
		jr.AccountData.Events = others(f.Room.AccountData, id, jr.AccountData.Events)
		if len(jr.Timeline.Events)+len(jr.State.Events)+len(jr.Ephemeral.Events)+len(jr.AccountData.Events) == 0 && !slices.Contains(fresh, id) {
			delete(resp.Rooms.Join, id)
		}
	}
	for id, lr := range resp.Rooms.Leave {
		lr.State.Events = state(id, lr.State.Events)
	}
}

// rendered says whether the response needs renderEvents.
func (f Filter) rendered() bool {
	return f.fields != nil || f.EventFormat == "federation"
}
