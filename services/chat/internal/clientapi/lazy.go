package clientapi

import (
	"context"

	"github.com/matrix-org/gomatrixserverlib/spec"

	"bureau/services/chat/internal/store"
)

// syncLazyMembers applies lazy_load_members to a sync response: the state
// of each room keeps only the member events of the timeline's senders and
// of the user (fetched when the state did not carry them), and the room
// summary gives the counts and heroes clients name rooms with. The
// server keeps no per-device record of what it sent, so it behaves as
// include_redundant_members: members are sent again when they speak.
func (a *API) syncLazyMembers(ctx context.Context, userID string, upTo int64, resp *syncResponse) error {
	var rooms []string
	wanted := map[string]map[string]bool{}
	users := map[string]bool{userID: true}
	for id, jr := range resp.Rooms.Join {
		rooms = append(rooms, id)
		w := map[string]bool{userID: true}
		for _, ev := range jr.Timeline.Events {
			w[ev.Sender] = true
			users[ev.Sender] = true
		}
		wanted[id] = w
	}
	if len(rooms) == 0 {
		return nil
	}
	userIDs := make([]string, 0, len(users))
	for u := range users {
		userIDs = append(userIDs, u)
	}
	members, err := a.store.MemberEvents(ctx, rooms, userIDs)
	if err != nil {
		return err
	}
	sums, err := a.store.Summaries(ctx, userID, rooms)
	if err != nil {
		return err
	}
	for id, jr := range resp.Rooms.Join {
		have := map[string]bool{}
		for _, ev := range jr.Timeline.Events {
			have[ev.EventID] = true
		}
		kept := jr.State.Events[:0]
		for _, ev := range jr.State.Events {
			if ev.Type == spec.MRoomMember && ev.StateKey != nil && !wanted[id][*ev.StateKey] {
				continue
			}
			kept = append(kept, ev)
			have[ev.EventID] = true
		}
		for _, ev := range members[id] {
			if len(jr.Timeline.Events) == 0 {
				break // only ephemeral news: nothing to introduce
			}
			// The user's own member event comes with the full state of a
			// newly synced room; later syncs need not repeat it.
			if ev.StateKey != nil && *ev.StateKey != userID && wanted[id][*ev.StateKey] && !have[ev.EventID] && ev.Pos <= upTo {
				kept = append(kept, toClient(ev, ""))
			}
		}
		jr.State.Events = kept
		if s := sums[id]; s != nil {
			jr.Summary = map[string]any{"m.joined_member_count": s.Joined, "m.invited_member_count": s.Invited, "m.heroes": s.Heroes}
		}
	}
	return nil
}

// lazyMembers returns the current member events of the senders of evs,
// for /messages with lazy_load_members.
func (a *API) lazyMembers(ctx context.Context, roomID string, evs []clientEvent) ([]clientEvent, error) {
	seen := map[string]bool{}
	var senders []string
	for _, ev := range evs {
		if !seen[ev.Sender] {
			seen[ev.Sender] = true
			senders = append(senders, ev.Sender)
		}
	}
	members, err := a.store.MemberEvents(ctx, []string{roomID}, senders)
	if err != nil {
		return nil, err
	}
	return clientEvents(members[roomID], store.Device{}), nil
}
