package clientapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/store"
)

// Room aliases and the public room directory.

func (a *API) registerDirectory(route func(pattern, name string, h http.HandlerFunc)) {
	route("GET /directory/room/{alias}", "alias_get", a.aliasGet)
	route("PUT /directory/room/{alias}", "alias_put", a.authed(a.aliasPut))
	route("DELETE /directory/room/{alias}", "alias_delete", a.authed(a.aliasDelete))
	route("GET /rooms/{roomId}/aliases", "aliases", a.authed(a.roomAliases))
	route("GET /directory/list/room/{roomId}", "visibility_get", a.visibilityGet)
	route("PUT /directory/list/room/{roomId}", "visibility_put", a.authed(a.visibilityPut))
	route("GET /publicRooms", "public_rooms", a.publicRoomsGet)
	route("POST /publicRooms", "public_rooms", a.authed(a.publicRoomsPost))
}

// localAlias checks an alias of this server: #localpart:server_name.
func (a *API) localAlias(alias string) error {
	local, domain, ok := strings.Cut(strings.TrimPrefix(alias, "#"), ":")
	if !strings.HasPrefix(alias, "#") || !ok || local == "" || len(alias) > 255 || strings.ContainsAny(local, " \t\n:#") {
		return badParam("Invalid room alias")
	}
	if domain != a.cfg.ServerName {
		return badParam("Aliases can only be created on " + a.cfg.ServerName)
	}
	return nil
}

var errUnknownAlias = errf(http.StatusNotFound, "M_NOT_FOUND", "Room alias not found")

// resolveAlias returns the room of an alias.
func (a *API) resolveAlias(ctx context.Context, alias string) (string, error) {
	if err := a.localAlias(alias); err != nil {
		return "", errUnknownAlias
	}
	id, _, err := a.store.Alias(ctx, alias)
	if errors.Is(err, store.ErrNotFound) {
		return "", errUnknownAlias
	}
	return id, err
}

func (a *API) aliasGet(w http.ResponseWriter, r *http.Request) {
	id, err := a.resolveAlias(r.Context(), r.PathValue("alias"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"room_id": id, "servers": []string{a.cfg.ServerName}})
}

func (a *API) aliasPut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	alias := r.PathValue("alias")
	if err := a.localAlias(alias); err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		RoomID string `json:"room_id"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := spec.NewRoomID(req.RoomID); err != nil {
		a.fail(w, r, badParam("Invalid room_id"))
		return
	}
	// Only members name a room: an alias must not point strangers at a
	// room its members did not choose to advertise.
	if err := a.requireJoined(r, req.RoomID, dev.UserID); err != nil {
		a.fail(w, r, err)
		return
	}
	err := a.store.CreateAlias(r.Context(), alias, req.RoomID, dev.UserID, a.now().UnixMilli())
	if errors.Is(err, store.ErrConflict) {
		err = errf(http.StatusConflict, "M_UNKNOWN", "Room alias already exists")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// aliasDelete: the alias's creator, or a member allowed to change the
// room's canonical alias.
func (a *API) aliasDelete(w http.ResponseWriter, r *http.Request, dev store.Device) {
	alias := r.PathValue("alias")
	if err := a.localAlias(alias); err != nil {
		a.fail(w, r, errUnknownAlias)
		return
	}
	roomID, creator, err := a.store.Alias(r.Context(), alias)
	if errors.Is(err, store.ErrNotFound) {
		err = errUnknownAlias
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if creator != dev.UserID {
		if err := a.requireStatePower(r, roomID, dev.UserID, spec.MRoomCanonicalAlias); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if err := a.store.DeleteAlias(r.Context(), alias); err != nil && !errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// requireStatePower checks that userID is joined to roomID with the power
// to send the state event type evType.
func (a *API) requireStatePower(r *http.Request, roomID, userID, evType string) error {
	if err := a.requireJoined(r, roomID, userID); err != nil {
		return err
	}
	pl, err := a.rooms.PowerLevels(r.Context(), roomID)
	if err != nil {
		return err
	}
	if pl.UserLevel(spec.SenderID(userID)) < pl.EventLevel(evType, true) {
		return errf(http.StatusForbidden, "M_FORBIDDEN", "Not enough power in this room")
	}
	return nil
}

func (a *API) roomAliases(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, ok := a.joinedRoom(w, r, dev)
	if !ok {
		return
	}
	aliases, err := a.store.RoomAliases(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if aliases == nil {
		aliases = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"aliases": aliases})
}

func (a *API) visibilityGet(w http.ResponseWriter, r *http.Request) {
	id, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.store.Room(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Unknown room"))
		return
	}
	pub, err := a.store.Published(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"visibility": visibilityName(pub)})
}

func visibilityName(published bool) string {
	if published {
		return "public"
	}
	return "private"
}

// visibilityPut publishes a room: members allowed to set its canonical
// alias may.
func (a *API) visibilityPut(w http.ResponseWriter, r *http.Request, dev store.Device) {
	id, err := roomID(r, "roomId")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		Visibility string `json:"visibility"`
	}
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Visibility != "public" && req.Visibility != "private" {
		a.fail(w, r, badParam("visibility must be public or private"))
		return
	}
	if err := a.requireStatePower(r, id, dev.UserID, spec.MRoomCanonicalAlias); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.SetPublished(r.Context(), id, req.Visibility == "public"); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// publicRoomsRequest is the body of POST /publicRooms (GET uses the
// query string).
type publicRoomsRequest struct {
	Limit  int    `json:"limit"`
	Since  string `json:"since"`
	Server string `json:"server"`
	Filter struct {
		GenericSearchTerm string `json:"generic_search_term"`
	} `json:"filter"`
}

func (a *API) publicRoomsGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := publicRoomsRequest{Since: q.Get("since"), Server: q.Get("server")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			a.fail(w, r, badParam("Invalid limit"))
			return
		}
		req.Limit = n
	}
	a.publicRooms(w, r, req)
}

func (a *API) publicRoomsPost(w http.ResponseWriter, r *http.Request, _ store.Device) {
	var req publicRoomsRequest
	if err := readJSON(r, maxBody, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Limit < 0 {
		a.fail(w, r, badParam("Invalid limit"))
		return
	}
	a.publicRooms(w, r, req)
}

// publicRoom is an entry of the public directory.
type publicRoom struct {
	RoomID           string `json:"room_id"`
	Name             string `json:"name,omitempty"`
	Topic            string `json:"topic,omitempty"`
	CanonicalAlias   string `json:"canonical_alias,omitempty"`
	AvatarURL        string `json:"avatar_url,omitempty"`
	JoinRule         string `json:"join_rule,omitempty"`
	RoomType         string `json:"room_type,omitempty"`
	NumJoinedMembers int    `json:"num_joined_members"`
	WorldReadable    bool   `json:"world_readable"`
	GuestCanJoin     bool   `json:"guest_can_join"`
}

// publicRooms lists the directory, most populated rooms first; since and
// next_batch are offsets ("o<n>"). Published rooms are few: they are
// read and filtered in memory with three queries.
func (a *API) publicRooms(w http.ResponseWriter, r *http.Request, req publicRoomsRequest) {
	if req.Server != "" && req.Server != a.cfg.ServerName {
		a.fail(w, r, errf(http.StatusNotFound, "M_NOT_FOUND", "Other servers' directories are not reachable"))
		return
	}
	offset := 0
	if req.Since != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(req.Since, "o"))
		if err != nil || n < 0 || !strings.HasPrefix(req.Since, "o") {
			a.fail(w, r, badParam("Invalid since token"))
			return
		}
		offset = n
	}
	limit := req.Limit
	if limit == 0 || limit > 500 {
		limit = 500
	}
	ctx := r.Context()
	ids, err := a.store.PublishedRooms(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	states, err := a.store.RoomsState(ctx, ids, []string{spec.MRoomName, spec.MRoomTopic, spec.MRoomCanonicalAlias, "m.room.avatar",
		spec.MRoomJoinRules, spec.MRoomHistoryVisibility, "m.room.guest_access", spec.MRoomCreate})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	counts, err := a.store.JoinedCounts(ctx, ids)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	term := strings.ToLower(req.Filter.GenericSearchTerm)
	all := []publicRoom{}
	for _, id := range ids {
		pr := publicRoom{RoomID: id, NumJoinedMembers: counts[id]}
		for _, ev := range states[id] {
			var c struct {
				Name, Topic, Alias, URL, Type string
				JoinRule                      string `json:"join_rule"`
				HistoryVisibility             string `json:"history_visibility"`
				GuestAccess                   string `json:"guest_access"`
			}
			_ = json.Unmarshal(toClient(ev, "").Content, &c)
			switch ev.Type {
			case spec.MRoomName:
				pr.Name = c.Name
			case spec.MRoomTopic:
				pr.Topic = c.Topic
			case spec.MRoomCanonicalAlias:
				pr.CanonicalAlias = c.Alias
			case "m.room.avatar":
				pr.AvatarURL = c.URL
			case spec.MRoomJoinRules:
				pr.JoinRule = c.JoinRule
			case spec.MRoomHistoryVisibility:
				pr.WorldReadable = c.HistoryVisibility == "world_readable"
			case "m.room.guest_access":
				pr.GuestCanJoin = c.GuestAccess == "can_join"
			case spec.MRoomCreate:
				pr.RoomType = c.Type
			}
		}
		if term != "" && !strings.Contains(strings.ToLower(pr.Name+"\n"+pr.Topic+"\n"+pr.CanonicalAlias), term) {
			continue
		}
		all = append(all, pr)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].NumJoinedMembers > all[j].NumJoinedMembers })
	resp := map[string]any{"total_room_count_estimate": len(all)}
	if offset > 0 {
		resp["prev_batch"] = "o" + strconv.Itoa(max(offset-limit, 0))
	}
	if offset+limit < len(all) {
		resp["next_batch"] = "o" + strconv.Itoa(offset+limit)
	}
	resp["chunk"] = all[min(offset, len(all)):min(offset+limit, len(all))]
	writeJSON(w, http.StatusOK, resp)
}

// checkCanonicalAlias applies the spec's rule to m.room.canonical_alias:
// every alias it names must point to the room (else 400 M_BAD_ALIAS).
func (a *API) checkCanonicalAlias(ctx context.Context, roomID string, content json.RawMessage) error {
	var c struct {
		Alias      string   `json:"alias"`
		AltAliases []string `json:"alt_aliases"`
	}
	if err := json.Unmarshal(content, &c); err != nil {
		return badJSON("alias must be a string and alt_aliases a list of strings")
	}
	for _, alias := range append(c.AltAliases, c.Alias) {
		if alias == "" {
			continue
		}
		if id, err := a.resolveAlias(ctx, alias); err != nil || id != roomID {
			return errf(http.StatusBadRequest, "M_BAD_ALIAS", alias+" does not point to this room")
		}
	}
	return nil
}
