package push

import (
	"encoding/json"
	"testing"
)

const me = "@alice.martin-interieur.gouv.fr:bureau.test"

func msg(sender, room, content string) []byte {
	return []byte(`{"type":"m.room.message","sender":"` + sender + `","room_id":"` + room + `","content":` + content + `}`)
}

func TestDefaultRules(t *testing.T) {
	ev := NewEvaluator(Render(me, Changes{}), me, "Alice Martin")
	pl := func(have int) RoomContext {
		return RoomContext{MemberCount: 5, NotificationPower: func(string, string) (int, int) { return have, 50 }}
	}
	for _, c := range []struct {
		name          string
		ev            []byte
		room          RoomContext
		notify, light bool
	}{
		{"plain message", msg("@bob:x", "!r:x", `{"msgtype":"m.text","body":"hello"}`), pl(0), true, false},
		{"own message", msg(me, "!r:x", `{"msgtype":"m.text","body":"hello"}`), pl(0), false, false},
		{"notice", msg("@bob:x", "!r:x", `{"msgtype":"m.notice","body":"bot"}`), pl(0), false, false},
		{"mention", msg("@bob:x", "!r:x", `{"body":"hi","m.mentions":{"user_ids":["`+me+`"]}}`), pl(0), true, true},
		{"display name", msg("@bob:x", "!r:x", `{"body":"ask alice martin, please"}`), pl(0), true, true},
		{"display name inside a word", msg("@bob:x", "!r:x", `{"body":"xalice martinx"}`), pl(0), true, false},
		{"localpart", msg("@bob:x", "!r:x", `{"body":"cc alice.martin-interieur.gouv.fr"}`), pl(0), true, true},
		{"@room by a moderator", msg("@bob:x", "!r:x", `{"body":"@room meeting"}`), pl(50), true, true},
		{"@room by anyone", msg("@bob:x", "!r:x", `{"body":"@room meeting"}`), pl(0), true, false},
		{"edit", msg("@bob:x", "!r:x", `{"body":"* hi","m.relates_to":{"rel_type":"m.replace","event_id":"$e"}}`), pl(0), false, false},
		{"reaction", []byte(`{"type":"m.reaction","sender":"@bob:x","content":{}}`), pl(0), false, false},
		{"encrypted", []byte(`{"type":"m.room.encrypted","sender":"@bob:x","content":{}}`), pl(0), true, false},
		{"member event", []byte(`{"type":"m.room.member","sender":"@bob:x","state_key":"@bob:x","content":{"membership":"join"}}`), pl(0), false, false},
		{"invite for me", []byte(`{"type":"m.room.member","sender":"@bob:x","state_key":"` + me + `","content":{"membership":"invite"}}`), pl(0), true, false},
		{"tombstone", []byte(`{"type":"m.room.tombstone","sender":"@bob:x","state_key":"","content":{}}`), pl(0), true, true},
		{"unknown type", []byte(`{"type":"org.example","sender":"@bob:x","content":{}}`), pl(0), false, false},
		{"garbage", []byte(`{`), pl(0), false, false},
	} {
		got := ev.Evaluate(c.ev, c.room)
		if got.Notify != c.notify || got.Highlight != c.light {
			t.Errorf("%s: %+v, want notify=%v highlight=%v", c.name, got, c.notify, c.light)
		}
	}
}

func TestChanges(t *testing.T) {
	var c Changes
	mute := Rule{RuleID: "!r:x", Enabled: true, Actions: []json.RawMessage{}}
	if err := c.Put("room", mute, "", ""); err != nil {
		t.Fatal(err)
	}
	p := func(s string) *string { return &s }
	for _, id := range []string{"a", "b"} {
		if err := c.Put("content", Rule{RuleID: id, Enabled: true, Pattern: p(id), Actions: act(notify)}, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	// New rules go first; before/after place them.
	if err := c.Put("content", Rule{RuleID: "c", Enabled: true, Pattern: p("c"), Actions: act(notify)}, "", "b"); err != nil {
		t.Fatal(err)
	}
	if err := c.Put("content", Rule{RuleID: "d", Enabled: true, Pattern: p("d"), Actions: act(notify)}, "a", ""); err != nil {
		t.Fatal(err)
	}
	rs := Render(me, c)
	var order []string
	for _, r := range rs.Content {
		order = append(order, r.RuleID)
	}
	if got := order; len(got) != 5 || got[0] != "b" || got[1] != "c" || got[2] != "d" || got[3] != "a" || got[4] != ".m.rule.contains_user_name" {
		t.Fatalf("content order %v", got)
	}
	if err := c.Put("content", Rule{RuleID: "e", Pattern: p("e")}, "zzz", ""); err != ErrNotFound {
		t.Fatalf("before unknown: %v", err)
	}
	if err := c.Put("override", Rule{RuleID: ".m.rule.mine"}, "", ""); err != ErrDefault {
		t.Fatalf("reserved id: %v", err)
	}
	if err := c.Delete(me, "override", ".m.rule.master"); err != ErrDefault {
		t.Fatalf("delete default: %v", err)
	}
	if err := c.Delete(me, "content", "nope"); err != ErrNotFound {
		t.Fatalf("delete unknown: %v", err)
	}
	// The room rule mutes the room; disabling it unmutes.
	ev := msg("@bob:x", "!r:x", `{"body":"hi"}`)
	if res := NewEvaluator(Render(me, c), me, "").Evaluate(ev, RoomContext{}); res.Notify {
		t.Fatal("muted room notified")
	}
	if err := c.SetEnabled(me, "room", "!r:x", false); err != nil {
		t.Fatal(err)
	}
	if res := NewEvaluator(Render(me, c), me, "").Evaluate(ev, RoomContext{}); !res.Notify {
		t.Fatal("unmuted room did not notify")
	}
	// The master rule silences everything; a default's actions change.
	if err := c.SetActions(me, "underride", ".m.rule.message", act(notify, highlight)); err != nil {
		t.Fatal(err)
	}
	if res := NewEvaluator(Render(me, c), me, "").Evaluate(ev, RoomContext{}); !res.Highlight {
		t.Fatal("changed default actions not applied")
	}
	if err := c.SetEnabled(me, "override", ".m.rule.master", true); err != nil {
		t.Fatal(err)
	}
	rs = Render(me, c)
	if !rs.Override[0].Enabled || rs.Override[0].RuleID != ".m.rule.master" {
		t.Fatalf("master = %+v", rs.Override[0])
	}
	if res := NewEvaluator(rs, me, "").Evaluate(ev, RoomContext{}); res.Notify {
		t.Fatal("master rule did not silence")
	}
	if err := c.SetEnabled(me, "override", "nope", true); err != ErrNotFound {
		t.Fatalf("enable unknown: %v", err)
	}
}

func TestConditionsParsing(t *testing.T) {
	p := "x"
	if !ValidConditions([]Condition{{Kind: "event_match", Key: "type", Pattern: &p}, {Kind: "room_member_count", Is: ">=3"}, {Kind: "future_kind"}}) {
		t.Fatal("valid conditions refused")
	}
	for _, bad := range [][]Condition{{{Kind: "event_match", Key: "type"}}, {{Kind: "room_member_count", Is: "lots"}}, {{Kind: "event_property_is", Key: "a"}}} {
		if ValidConditions(bad) {
			t.Errorf("accepted %+v", bad)
		}
	}
	if ValidActions([]json.RawMessage{json.RawMessage(`"explode"`)}) || ValidActions([]json.RawMessage{json.RawMessage(`{}`)}) || !ValidActions(act(notify, sound)) {
		t.Fatal("actions validation")
	}
	ev := NewEvaluator(Ruleset{}, me, "")
	for is, want := range map[string]bool{"2": false, "==3": true, "<4": true, ">3": false, ">=3": true, "<=2": false} {
		if got := ev.condition(Condition{Kind: "room_member_count", Is: is}, nil, RoomContext{MemberCount: 3}); got != want {
			t.Errorf("member count %s: %v", is, got)
		}
	}
	// event_property_is null matches a present null, not a missing key.
	var m map[string]any
	_ = json.Unmarshal([]byte(`{"content":{"a":null,"n":3}}`), &m)
	if !ev.condition(Condition{Kind: "event_property_is", Key: "content.a", Value: json.RawMessage(`null`)}, m, RoomContext{}) ||
		ev.condition(Condition{Kind: "event_property_is", Key: "content.b", Value: json.RawMessage(`null`)}, m, RoomContext{}) {
		t.Fatal("null property")
	}
}

func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(`{"type":"m.room.message","sender":"@b:x","content":{"body":"@room hi"}}`), "a*b?")
	f.Fuzz(func(t *testing.T, ev []byte, pattern string) {
		c := Changes{}
		_ = c.Put("content", Rule{RuleID: "p", Enabled: true, Pattern: &pattern, Actions: act(notify)}, "", "")
		NewEvaluator(Render(me, c), me, pattern).Evaluate(ev, RoomContext{MemberCount: 2})
	})
}
