package chat_test

import (
	"net/url"
	"slices"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// readAll back-paginates the whole room as cli and returns the message
// bodies, oldest first (nil and the errcode when refused).
func readAll(t *testing.T, cli *mautrix.Client, room id.RoomID) ([]string, string) {
	t.Helper()
	var bodies []string
	from := ""
	for {
		page, err := cli.Messages(t.Context(), room, from, "", mautrix.DirectionBackward, nil, 3)
		if err != nil {
			return nil, errcode(err)
		}
		for _, ev := range page.Chunk {
			if ev.Type == event.EventMessage {
				bodies = append(bodies, ev.Content.Raw["body"].(string))
			}
		}
		if page.End == "" {
			break
		}
		from = page.End
	}
	slices.Reverse(bodies)
	return bodies, ""
}

// TestHistoryVisibility: for each history_visibility value, what a member
// who was invited and joined late reads — in /messages, in their initial
// /sync, in /event — before and after leaving, and what an outsider reads.
func TestHistoryVisibility(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b, c := e.login(alice), e.login(bob), e.login(carol)
	for _, tc := range []struct {
		vis           string
		member        []string // what Bob reads once joined
		outsiderReads bool
	}{
		{"shared", []string{"before invite", "after invite", "after join"}, false},
		{"invited", []string{"after invite", "after join"}, false},
		{"joined", []string{"after join"}, false},
		{"world_readable", []string{"before invite", "after invite", "after join"}, true},
	} {
		t.Run(tc.vis, func(t *testing.T) {
			room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat", InitialState: []*event.Event{{
				Type: event.StateHistoryVisibility, StateKey: new(string),
				Content: event.Content{Raw: map[string]any{"history_visibility": tc.vis}},
			}}})
			if err != nil {
				t.Fatal(err)
			}
			send := func(body string) id.EventID {
				r, err := a.SendText(ctx, room.RoomID, body)
				if err != nil {
					t.Fatal(err)
				}
				return r.EventID
			}
			first := send("before invite")
			if _, err := a.InviteUser(ctx, room.RoomID, &mautrix.ReqInviteUser{UserID: b.UserID}); err != nil {
				t.Fatal(err)
			}
			send("after invite")
			invited, err := b.SyncRequest(ctx, 0, "", "", false, "")
			if err != nil || invited.Rooms.Invite[room.RoomID] == nil {
				t.Fatalf("no invite: %v", err)
			}
			if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
				t.Fatal(err)
			}
			send("after join")
			// The room newly joined in an incremental sync.
			sr, err := b.SyncRequest(ctx, 0, invited.NextBatch, "", false, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := timelineBodies(sr, room.RoomID); !slices.Equal(got, tc.member) {
				t.Fatalf("incremental sync after joining: timeline %v, want %v", got, tc.member)
			}

			got, code := readAll(t, b, room.RoomID)
			if code != "" || !slices.Equal(got, tc.member) {
				t.Fatalf("member reads %v (%s), want %v", got, code, tc.member)
			}
			// And an initial sync.
			sr, err = b.SyncRequest(ctx, 0, "", "", false, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := timelineBodies(sr, room.RoomID); !slices.Equal(got, tc.member) {
				t.Fatalf("initial sync timeline %v, want %v", got, tc.member)
			}
			// /event: the first message only where history allows it.
			_, err = b.GetEvent(ctx, room.RoomID, first)
			if visible := tc.member[0] == "before invite"; (err == nil) != visible {
				t.Fatalf("/event of the first message: %v (visible: %v)", err, visible)
			}

			// Bob leaves: he keeps what he could read, up to his leaving;
			// the leave section of his sync ends at the leave.
			if _, err := b.LeaveRoom(ctx, room.RoomID); err != nil {
				t.Fatal(err)
			}
			send("after leave")
			if got, code := readAll(t, b, room.RoomID); code != "" || !slices.Equal(got, tc.member) {
				t.Fatalf("after leaving, reads %v (%s), want %v", got, code, tc.member)
			}
			sr, err = b.SyncRequest(ctx, 0, sr.NextBatch, "", false, "")
			if err != nil || sr.Rooms.Leave[room.RoomID] == nil {
				t.Fatalf("no leave section: %v", err)
			}
			tl := sr.Rooms.Leave[room.RoomID].Timeline.Events
			if last := tl[len(tl)-1]; last.Type != event.StateMember || last.GetStateKey() != b.UserID.String() {
				t.Fatalf("leave timeline ends with %s %s", last.Type.Type, last.ID)
			}

			// Carol was never in the room: only a world-readable one lets
			// her read, and then all of it.
			got, code = readAll(t, c, room.RoomID)
			if want := []string{"before invite", "after invite", "after join", "after leave"}; tc.outsiderReads && !slices.Equal(got, want) || !tc.outsiderReads && code != "M_FORBIDDEN" {
				t.Fatalf("outsider reads %v (%s)", got, code)
			}
		})
	}
}

// A rejected invitation: the leave section holds only the rejection, no
// history; /messages is refused.
func TestRejectedInviteReadsNothing(t *testing.T) {
	e := newEnv(t)
	a, b := e.login(alice), e.login(bob)
	ctx := t.Context()
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Invite: []id.UserID{b.UserID}})
	if err == nil {
		_, err = a.SendText(ctx, room.RoomID, "secret")
	}
	if err != nil {
		t.Fatal(err)
	}
	sr, err := b.SyncRequest(ctx, 0, "", "", false, "")
	if err != nil || sr.Rooms.Invite[room.RoomID] == nil {
		t.Fatalf("no invite: %v", err)
	}
	if _, err := b.LeaveRoom(ctx, room.RoomID); err != nil {
		t.Fatal(err)
	}
	sr, err = b.SyncRequest(ctx, 0, sr.NextBatch, "", false, "")
	if err != nil || sr.Rooms.Leave[room.RoomID] == nil {
		t.Fatalf("no leave section: %v", err)
	}
	for _, ev := range sr.Rooms.Leave[room.RoomID].Timeline.Events {
		if ev.Type != event.StateMember || ev.GetStateKey() != b.UserID.String() {
			t.Fatalf("rejected invite shows %s from %s", ev.Type.Type, ev.Sender)
		}
	}
	if _, code := readAll(t, b, room.RoomID); code != "M_FORBIDDEN" {
		t.Fatalf("rejected invitee reads history: %s", code)
	}
	status, code := raw(t, b, "GET", "/_matrix/client/v3/rooms/"+url.PathEscape(room.RoomID.String())+"/messages?dir=f", "")
	if status != 403 || code != "M_FORBIDDEN" {
		t.Fatalf("forwards: %d %s", status, code)
	}
}
