package chat_test

import (
	"net/url"
	"sort"
	"strings"
	"testing"

	"maunium.net/go/mautrix"
)

// members returns the state keys of the member events of a list.
func members(evs []any) []string {
	var out []string
	for _, x := range evs {
		if ev := x.(map[string]any); ev["type"] == "m.room.member" {
			out = append(out, ev["state_key"].(string))
		}
	}
	sort.Strings(out)
	return out
}

func TestLazyLoadMembers(t *testing.T) {
	ctx := t.Context()
	a, b, c, _ := threeAgents(t)
	room, err := a.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat"})
	if err != nil {
		t.Fatal(err)
	}
	for _, cli := range []*mautrix.Client{b, c} {
		if _, err := cli.JoinRoomByID(ctx, room.RoomID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.SendText(ctx, room.RoomID, "c1"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a1", "a2", "a3"} {
		if _, err := a.SendText(ctx, room.RoomID, m); err != nil {
			t.Fatal(err)
		}
	}
	lazy := url.QueryEscape(`{"room":{"timeline":{"limit":3},"state":{"lazy_load_members":true}}}`)
	joined := func(s map[string]any) map[string]any {
		return s["rooms"].(map[string]any)["join"].(map[string]any)[room.RoomID.String()].(map[string]any)
	}
	st, s := getJSON(t, b, "/_matrix/client/v3/sync?filter="+lazy)
	if st != 200 {
		t.Fatal(st, s)
	}
	jr := joined(s)
	want := []string{a.UserID.String(), b.UserID.String()}
	if got := members(jr["state"].(map[string]any)["events"].([]any)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("lazy state members = %v, want %v", got, want)
	}
	sum := jr["summary"].(map[string]any)
	heroes := sum["m.heroes"].([]any)
	if sum["m.joined_member_count"] != 3.0 || sum["m.invited_member_count"] != 0.0 || len(heroes) != 2 {
		t.Fatalf("summary = %v", sum)
	}
	// Without lazy loading, every member.
	_, full := getJSON(t, b, "/_matrix/client/v3/sync?filter="+url.QueryEscape(`{"room":{"timeline":{"limit":3}}}`))
	if got := members(joined(full)["state"].(map[string]any)["events"].([]any)); len(got) != 3 {
		t.Fatalf("full state members = %v", got)
	}
	// Carol speaks: the next sync introduces her.
	if _, err := c.SendText(ctx, room.RoomID, "c2"); err != nil {
		t.Fatal(err)
	}
	_, s = getJSON(t, b, "/_matrix/client/v3/sync?filter="+lazy+"&since="+s["next_batch"].(string))
	if got := members(joined(s)["state"].(map[string]any)["events"].([]any)); len(got) != 1 || got[0] != c.UserID.String() {
		t.Fatalf("incremental lazy members = %v", got)
	}
	// /messages with lazy loading carries the senders' member events.
	rp := "/_matrix/client/v3/rooms/" + url.PathEscape(room.RoomID.String())
	_, page := getJSON(t, b, rp+"/messages?dir=b&limit=5&filter="+url.QueryEscape(`{"lazy_load_members":true}`))
	if got := members(page["state"].([]any)); len(got) != 2 {
		t.Fatalf("/messages lazy members = %v", got)
	}
	if st, code := raw(t, b, "GET", rp+"/messages?filter=%5B", ""); st != 400 || code != "M_NOT_JSON" {
		t.Fatalf("bad /messages filter: %d %s", st, code)
	}
}
