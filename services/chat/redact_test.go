package chat_test

import (
	"net/url"
	"testing"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// TestRedaction: one's own events, others' with the redact power level;
// the redacted event is served redacted everywhere, with its redaction.
func TestRedaction(t *testing.T) {
	for _, version := range []string{"10", "11"} {
		t.Run("v"+version, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			a, b, c := e.login(alice), e.login(bob), e.login(carol)
			room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", RoomVersion: id.RoomVersion(version), Topic: "Sujet"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.JoinRoomByID(ctx, room.RoomID); err != nil {
				t.Fatal(err)
			}
			mine, _ := b.SendText(ctx, room.RoomID, "oups")
			hers, _ := a.SendText(ctx, room.RoomID, "message d'Alice")

			// Bob (power 0) cannot redact Alice's message; Carol is not in.
			if _, err := b.RedactEvent(ctx, room.RoomID, hers.EventID); errcode(err) != "M_FORBIDDEN" {
				t.Fatalf("redacted another's event without power: %v", err)
			}
			if _, err := c.RedactEvent(ctx, room.RoomID, mine.EventID); errcode(err) != "M_FORBIDDEN" {
				t.Fatalf("outsider redacted: %v", err)
			}
			red, err := b.RedactEvent(ctx, room.RoomID, mine.EventID, mautrix.ReqRedact{Reason: "erreur", TxnID: "r1"})
			if err != nil {
				t.Fatal(err)
			}
			again, err := b.RedactEvent(ctx, room.RoomID, mine.EventID, mautrix.ReqRedact{Reason: "erreur", TxnID: "r1"})
			if err != nil || again.EventID != red.EventID {
				t.Fatalf("retried redaction = %v, %v", again, err)
			}
			check := func(where string, ev *event.Event) {
				t.Helper()
				if len(ev.Content.Raw) != 0 {
					t.Errorf("%s: redacted content %v", where, ev.Content.Raw)
				}
				rb := ev.Unsigned.RedactedBecause
				if rb == nil || rb.ID != red.EventID || rb.Sender != b.UserID || rb.Redacts != mine.EventID {
					t.Errorf("%s: redacted_because = %+v", where, rb)
				}
			}
			got, err := a.GetEvent(ctx, room.RoomID, mine.EventID)
			if err != nil {
				t.Fatal(err)
			}
			check("/event", got)
			page, err := a.Messages(ctx, room.RoomID, "", "", mautrix.DirectionBackward, nil, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range page.Chunk {
				switch ev.ID {
				case mine.EventID:
					check("/messages", ev)
				case red.EventID:
					if ev.Redacts != mine.EventID || ev.Content.Raw["reason"] != "erreur" {
						t.Errorf("redaction event = %+v", ev)
					}
					if version == "11" && ev.Content.Raw["redacts"] != mine.EventID.String() {
						t.Errorf("v11 redaction without content.redacts: %+v", ev.Content.Raw)
					}
				case hers.EventID:
					if ev.Content.Raw["body"] != "message d'Alice" {
						t.Errorf("other event altered: %+v", ev.Content.Raw)
					}
				}
			}
			s, err := b.SyncRequest(ctx, 0, "", "", false, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range s.Rooms.Join[room.RoomID].Timeline.Events {
				if ev.ID == mine.EventID {
					check("/sync", ev)
				}
			}
			// Alice (power 100) redacts Bob's message and the topic: the
			// current state loses the topic's content.
			other, _ := b.SendText(ctx, room.RoomID, "spam")
			if _, err := a.RedactEvent(ctx, room.RoomID, other.EventID); err != nil {
				t.Fatal(err)
			}
			topic, err := a.FullStateEvent(ctx, room.RoomID, event.StateTopic, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.RedactEvent(ctx, room.RoomID, topic.ID); err != nil {
				t.Fatal(err)
			}
			var tc map[string]any
			if err := a.StateEvent(ctx, room.RoomID, event.StateTopic, "", &tc); err != nil || len(tc) != 0 {
				t.Fatalf("redacted topic = %v, %v", tc, err)
			}

			base := "/_matrix/client/v3/rooms/" + url.PathEscape(room.RoomID.String()) + "/redact/"
			elsewhere, _ := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "private_chat"})
			otherRoomEv, _ := a.SendText(ctx, elsewhere.RoomID, "ailleurs")
			for _, bad := range []struct {
				path, body string
				status     int
				code       string
			}{
				{base + url.PathEscape("$nope") + "/t1", `{}`, 404, "M_NOT_FOUND"},
				{base + url.PathEscape(otherRoomEv.EventID.String()) + "/t2", `{}`, 404, "M_NOT_FOUND"},
				{base + "not-an-event/t3", `{}`, 400, "M_INVALID_PARAM"},
				{base + url.PathEscape(hers.EventID.String()) + "/t4", `{"reason":`, 400, "M_NOT_JSON"},
				{base + url.PathEscape(hers.EventID.String()) + "/t5", `{"reason":5}`, 400, "M_BAD_JSON"},
				{"/_matrix/client/v3/rooms/oops/redact/" + url.PathEscape(hers.EventID.String()) + "/t6", `{}`, 400, "M_INVALID_PARAM"},
			} {
				if status, code := raw(t, a, "PUT", bad.path, bad.body); status != bad.status || code != bad.code {
					t.Errorf("PUT %s: %d %s, want %d %s", bad.path, status, code, bad.status, bad.code)
				}
			}
		})
	}
}
