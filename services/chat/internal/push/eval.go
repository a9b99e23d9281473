package push

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// RoomContext is what conditions need to know about the event's room.
type RoomContext struct {
	MemberCount int
	// NotificationPower returns the sender's power level and the level
	// a notification key (e.g. "room") needs; nil means nobody has it.
	NotificationPower func(sender, key string) (have, need int)
}

// Evaluator evaluates events against one user's rule set.
type Evaluator struct {
	rules       Ruleset
	userID      string
	displayName string
	mu          sync.Mutex
	globs       map[string]*regexp.Regexp
}

// NewEvaluator returns an evaluator for a user.
func NewEvaluator(rules Ruleset, userID, displayName string) *Evaluator {
	return &Evaluator{rules: rules, userID: userID, displayName: displayName, globs: map[string]*regexp.Regexp{}}
}

// Result is the outcome for one event.
type Result struct {
	Notify, Highlight bool
}

// Evaluate runs the rules in order on an event (client or PDU JSON) and
// returns what the first matching enabled rule says.
func (e *Evaluator) Evaluate(eventJSON []byte, room RoomContext) Result {
	var ev map[string]any
	d := json.NewDecoder(bytes.NewReader(eventJSON))
	d.UseNumber()
	if d.Decode(&ev) != nil {
		return Result{}
	}
	if s, _ := ev["sender"].(string); s == e.userID {
		return Result{} // one's own events never notify
	}
	for _, kind := range Kinds {
		for _, r := range e.rules.Kind(kind) {
			if r.Enabled && e.matches(kind, r, ev, room) {
				return resultOf(r.Actions)
			}
		}
	}
	return Result{}
}

func resultOf(actions []json.RawMessage) Result {
	var res Result
	for _, a := range actions {
		var s string
		if json.Unmarshal(a, &s) == nil {
			res.Notify = res.Notify || s == "notify"
			continue
		}
		var t struct {
			SetTweak string          `json:"set_tweak"`
			Value    json.RawMessage `json:"value"`
		}
		if json.Unmarshal(a, &t) == nil && t.SetTweak == "highlight" {
			res.Highlight = len(t.Value) == 0 || string(t.Value) == "true"
		}
	}
	res.Highlight = res.Highlight && res.Notify
	return res
}

func (e *Evaluator) matches(kind string, r Rule, ev map[string]any, room RoomContext) bool {
	switch kind {
	case "room":
		return ev["room_id"] == r.RuleID
	case "sender":
		return ev["sender"] == r.RuleID
	case "content":
		if r.Pattern == nil {
			return false
		}
		body, ok := lookup(ev, "content.body").(string)
		return ok && e.glob(*r.Pattern, true).MatchString(body)
	}
	for _, c := range r.Conditions {
		if !e.condition(c, ev, room) {
			return false
		}
	}
	return true
}

func (e *Evaluator) condition(c Condition, ev map[string]any, room RoomContext) bool {
	switch c.Kind {
	case "event_match":
		v, ok := lookup(ev, c.Key).(string)
		return ok && c.Pattern != nil && e.glob(*c.Pattern, c.Key == "content.body").MatchString(v)
	case "event_property_is":
		v, ok := lookupOK(ev, c.Key)
		return ok && sameJSON(v, c.Value)
	case "event_property_contains":
		arr, ok := lookup(ev, c.Key).([]any)
		if !ok {
			return false
		}
		for _, v := range arr {
			if sameJSON(v, c.Value) {
				return true
			}
		}
		return false
	case "contains_display_name":
		body, ok := lookup(ev, "content.body").(string)
		return ok && e.displayName != "" && e.glob(regexp.QuoteMeta(e.displayName), true).MatchString(body)
	case "room_member_count":
		op, n, ok := parseIs(c.Is)
		if !ok {
			return false
		}
		m := room.MemberCount
		switch op {
		case "<":
			return m < n
		case ">":
			return m > n
		case "<=":
			return m <= n
		case ">=":
			return m >= n
		}
		return m == n
	case "sender_notification_permission":
		if room.NotificationPower == nil {
			return false
		}
		s, _ := ev["sender"].(string)
		have, need := room.NotificationPower(s, c.Key)
		return have >= need
	}
	return false
}

// parseIs reads a room_member_count "is": an optional operator and an
// integer.
func parseIs(is string) (string, int, bool) {
	op := ""
	for _, p := range []string{"==", "<=", ">=", "<", ">"} {
		if rest, ok := strings.CutPrefix(is, p); ok {
			op, is = p, rest
			break
		}
	}
	n, err := strconv.Atoi(is)
	return op, n, err == nil && n >= 0
}

// glob compiles a pattern (* and ?, case-insensitive); on content.body it
// matches whole words anywhere, elsewhere the whole value. A pattern
// given as a regexp (display names) is passed already quoted.
func (e *Evaluator) glob(pattern string, words bool) *regexp.Regexp {
	key := strconv.FormatBool(words) + pattern
	e.mu.Lock()
	defer e.mu.Unlock()
	if re, ok := e.globs[key]; ok {
		return re
	}
	var b strings.Builder
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*?")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	expr := "(?is)^" + b.String() + "$"
	if words {
		expr = `(?is)(^|\W)` + b.String() + `(\W|$)`
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		re = regexp.MustCompile(`^\b$`) // never matches
	}
	e.globs[key] = re
	return re
}

// lookup follows a dotted key ("content.m\.relates_to.rel_type", with \.
// and \\ escapes) into the event; missing is nil.
func lookup(ev map[string]any, key string) any {
	v, _ := lookupOK(ev, key)
	return v
}

func lookupOK(ev map[string]any, key string) (any, bool) {
	var cur any = ev
	for _, part := range splitKey(key) {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func splitKey(key string) []string {
	var parts []string
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		switch {
		case key[i] == '\\' && i+1 < len(key) && (key[i+1] == '.' || key[i+1] == '\\'):
			b.WriteByte(key[i+1])
			i++
		case key[i] == '.':
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(key[i])
		}
	}
	return append(parts, b.String())
}

// sameJSON compares an event value with a condition's raw value; only
// strings, integers, booleans and null are comparable (the spec's rule).
func sameJSON(v any, want json.RawMessage) bool {
	var w any
	d := json.NewDecoder(bytes.NewReader(want))
	d.UseNumber()
	if d.Decode(&w) != nil {
		return false
	}
	switch x := v.(type) {
	case nil:
		return w == nil
	case string, bool:
		return x == w
	case json.Number:
		y, ok := w.(json.Number)
		return ok && x.String() == y.String()
	}
	return false
}
