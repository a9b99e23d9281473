package clientapi

import (
	"context"
	"net/http"
	"slices"

	"bureau/services/chat/internal/store"
)

// Relations (threads, edits, reactions, references): /relations, /threads
// and the aggregations bundled into served events.

const v1 = "/_matrix/client/v1"

func (a *API) registerRelations(mux *http.ServeMux, instrument func(name string, h http.Handler) http.Handler) {
	for _, p := range []string{"", "/{relType}", "/{relType}/{eventType}"} {
		mux.Handle("GET "+v1+"/rooms/{roomId}/relations/{eventId}"+p, instrument("relations", a.authed(a.relations)))
	}
	mux.Handle("GET "+v1+"/rooms/{roomId}/threads", instrument("threads", a.authed(a.threads)))
}

// pageParams reads dir, from and to of a paginated endpoint.
func pageParams(r *http.Request) (backwards bool, from, to int64, err error) {
	q := r.URL.Query()
	switch q.Get("dir") {
	case "b", "":
		backwards = true
	case "f":
	default:
		return false, 0, 0, badParam("dir must be b or f")
	}
	from, to = -1, -1
	if s := q.Get("from"); s != "" {
		if from, err = ParseToken(s); err != nil {
			return false, 0, 0, badParam(err.Error())
		}
	}
	if s := q.Get("to"); s != "" {
		if to, err = ParseToken(s); err != nil {
			return false, 0, 0, badParam(err.Error())
		}
	}
	return backwards, from, to, nil
}

// maxRecursion is how deep recurse=true follows relations (the spec's
// minimum).
const maxRecursion = 3

func (a *API) relations(w http.ResponseWriter, r *http.Request, dev store.Device) {
	backwards, from, to, err := pageParams(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := queryLimit(r, 50, 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	recurse := false
	switch r.URL.Query().Get("recurse") {
	case "", "false":
	case "true":
		recurse = true
	default:
		a.fail(w, r, badParam("recurse must be true or false"))
		return
	}
	parent, rs, err := a.readableEvent(r, dev)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	upTo := rs.Last()
	parents := []string{parent.EventID}
	if recurse {
		level := parents
		for range maxRecursion - 1 {
			if level, err = a.store.ChildIDs(r.Context(), parent.RoomID, level, upTo); err != nil {
				a.fail(w, r, err)
				return
			}
			parents = append(parents, level...)
		}
	}
	evs, err := a.store.Relations(r.Context(), store.RelationQuery{
		RoomID: parent.RoomID, Parents: parents, RelType: r.PathValue("relType"), EvType: r.PathValue("eventType"),
		From: from, To: to, UpTo: upTo, Backwards: backwards, Limit: limit,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Children the caller may not read (a gap in their history) are left
	// out of the page; the page tokens still advance past them.
	resp := map[string]any{"chunk": clientEvents(slices.DeleteFunc(slices.Clone(evs), func(ev store.Event) bool { return !rs.Contains(ev.Pos) }), dev)}
	if recurse {
		resp["recursion_depth"] = maxRecursion
	}
	if from >= 0 {
		resp["prev_batch"] = FormatToken(from)
	}
	if len(evs) == limit && limit > 0 {
		resp["next_batch"] = nextToken(evs[len(evs)-1].Pos, backwards)
	}
	writeJSON(w, http.StatusOK, resp)
}

// nextToken continues a page that ended at pos.
func nextToken(pos int64, backwards bool) string {
	if backwards {
		return FormatToken(pos - 1)
	}
	return FormatToken(pos)
}

// threads lists a room's threads, most recently active first.
func (a *API) threads(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	participated := false
	switch q.Get("include") {
	case "", "all":
	case "participated":
		participated = true
	default:
		a.fail(w, r, badParam("include must be all or participated"))
		return
	}
	limit, err := queryLimit(r, 50, 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	before := int64(-1)
	if s := q.Get("from"); s != "" {
		if before, err = ParseToken(s); err != nil {
			a.fail(w, r, badParam(err.Error()))
			return
		}
	}
	rs, _, err := a.readable(r.Context(), id, dev.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	upTo := rs.Last()
	ts, err := a.store.Threads(r.Context(), id, dev.UserID, participated, before, upTo, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	roots := make([]store.Event, 0, len(ts))
	for _, t := range ts {
		roots = append(roots, t.Root)
	}
	chunk := clientEvents(roots, dev)
	if err := a.bundle(r.Context(), dev.UserID, upTo, ptrs(chunk)); err != nil {
		a.fail(w, r, err)
		return
	}
	resp := map[string]any{"chunk": chunk}
	if len(ts) == limit && limit > 0 {
		resp["next_batch"] = FormatToken(ts[len(ts)-1].Latest - 1)
	}
	writeJSON(w, http.StatusOK, resp)
}

func ptrs(evs []clientEvent) []*clientEvent {
	out := make([]*clientEvent, len(evs))
	for i := range evs {
		out[i] = &evs[i]
	}
	return out
}

// bundle adds unsigned.m.relations to events: for a thread root, its
// latest reply, reply count and whether userID took part; for an edited
// event, its latest edit by the original sender; for a referenced event,
// the ids of the events referencing it (v1.11 "m.reference": {"chunk":
// [{"event_id"}]}). Two queries for the whole batch.
func (a *API) bundle(ctx context.Context, userID string, upTo int64, evs []*clientEvent) error {
	if len(evs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(evs))
	byID := make(map[string]*clientEvent, len(evs))
	for _, ce := range evs {
		if ce.StateKey == nil {
			ids = append(ids, ce.EventID)
			byID[ce.EventID] = ce
		}
	}
	children, err := a.store.Children(ctx, ids, upTo)
	if err != nil || len(children) == 0 {
		return err
	}
	type thread struct {
		count  int
		latest int64
		mine   bool
	}
	threads := map[string]*thread{}
	edits := map[string]int64{}
	refs := map[string][]map[string]string{}
	for _, c := range children {
		root := byID[c.Parent]
		switch c.RelType {
		case "m.thread":
			t := threads[c.Parent]
			if t == nil {
				t = &thread{mine: root.Sender == userID}
				threads[c.Parent] = t
			}
			t.count++
			t.latest = c.Pos
			t.mine = t.mine || c.Sender == userID
		case "m.replace":
			if c.Sender == root.Sender {
				edits[c.Parent] = c.Pos
			}
		case "m.reference":
			refs[c.Parent] = append(refs[c.Parent], map[string]string{"event_id": c.EventID})
		}
	}
	var positions []int64
	for _, t := range threads {
		positions = append(positions, t.latest)
	}
	for _, p := range edits {
		positions = append(positions, p)
	}
	latest, err := a.store.EventsAt(ctx, positions)
	if err != nil {
		return err
	}
	at := make(map[int64]store.Event, len(latest))
	for _, ev := range latest {
		at[ev.Pos] = ev
	}
	rel := func(ce *clientEvent) map[string]any {
		if m, ok := ce.Unsigned["m.relations"].(map[string]any); ok {
			return m
		}
		m := map[string]any{}
		ce.setUnsigned("m.relations", m)
		return m
	}
	for parent, t := range threads {
		if ev, ok := at[t.latest]; ok {
			rel(byID[parent])["m.thread"] = map[string]any{
				"latest_event": toClient(ev, ""), "count": t.count, "current_user_participated": t.mine,
			}
		}
	}
	for parent, p := range edits {
		if ev, ok := at[p]; ok {
			rel(byID[parent])["m.replace"] = toClient(ev, "")
		}
	}
	for parent, chunk := range refs {
		rel(byID[parent])["m.reference"] = map[string]any{"chunk": chunk}
	}
	return nil
}

// syncBundle bundles the aggregations of every timeline of a sync
// response in one batch.
func (a *API) syncBundle(ctx context.Context, userID string, upTo int64, resp *syncResponse) error {
	var evs []*clientEvent
	for _, jr := range resp.Rooms.Join {
		evs = append(evs, ptrs(jr.Timeline.Events)...)
	}
	for _, lr := range resp.Rooms.Leave {
		evs = append(evs, ptrs(lr.Timeline.Events)...)
	}
	return a.bundle(ctx, userID, upTo, evs)
}
