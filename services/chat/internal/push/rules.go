// Package push holds push rules: the spec's server-default rule set, a
// user's changes to it (their own rules, and the enabled flag and actions
// of the defaults), and the evaluation of an event against the result —
// which gives the unread notification and highlight counts of /sync.
//
// A user's changes are one JSON document (Changes) stored by the store;
// the rule set clients see is always rendered from the current defaults
// plus those changes, so a server upgrade that changes a default reaches
// every user.
package push

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
)

// Kinds in evaluation order.
var Kinds = []string{"override", "content", "room", "sender", "underride"}

// ValidKind reports whether kind is a push rule kind.
func ValidKind(kind string) bool { return slices.Contains(Kinds, kind) }

// Condition is a push condition. Value is kept raw: event_property_is
// compares it with the event's value, null included.
type Condition struct {
	Kind    string          `json:"kind"`
	Key     string          `json:"key,omitempty"`
	Pattern *string         `json:"pattern,omitempty"`
	Is      string          `json:"is,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"`
}

// Rule is a push rule in the client format.
type Rule struct {
	RuleID     string            `json:"rule_id"`
	Default    bool              `json:"default"`
	Enabled    bool              `json:"enabled"`
	Actions    []json.RawMessage `json:"actions"`
	Conditions []Condition       `json:"conditions,omitempty"`
	Pattern    *string           `json:"pattern,omitempty"`
}

// Ruleset is the client format of a user's rules (the "global" scope).
type Ruleset struct {
	Override  []Rule `json:"override"`
	Content   []Rule `json:"content"`
	Room      []Rule `json:"room"`
	Sender    []Rule `json:"sender"`
	Underride []Rule `json:"underride"`
}

// Kind returns the rules of a kind.
func (rs Ruleset) Kind(kind string) []Rule {
	switch kind {
	case "override":
		return rs.Override
	case "content":
		return rs.Content
	case "room":
		return rs.Room
	case "sender":
		return rs.Sender
	case "underride":
		return rs.Underride
	}
	return nil
}

// Find returns a rule of a kind.
func (rs Ruleset) Find(kind, ruleID string) (Rule, bool) {
	for _, r := range rs.Kind(kind) {
		if r.RuleID == ruleID {
			return r, true
		}
	}
	return Rule{}, false
}

// DefaultChange is a user's change to a server-default rule.
type DefaultChange struct {
	Enabled *bool             `json:"enabled,omitempty"`
	Actions []json.RawMessage `json:"actions"` // null: unchanged; [] is a change
}

// Changes is what a user changed: their own rules per kind (most
// important first) and changes to the defaults by rule id.
type Changes struct {
	Rules    map[string][]Rule        `json:"rules,omitempty"`
	Defaults map[string]DefaultChange `json:"defaults,omitempty"`
}

// ParseChanges reads a stored document ("" is no change).
func ParseChanges(js string) (Changes, error) {
	var c Changes
	if js == "" {
		return c, nil
	}
	err := json.Unmarshal([]byte(js), &c)
	return c, err
}

// ---- the spec's defaults ----

func act(s ...string) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(s))
	for _, a := range s {
		out = append(out, json.RawMessage(a))
	}
	return out
}

const (
	notify    = `"notify"`
	sound     = `{"set_tweak":"sound","value":"default"}`
	ring      = `{"set_tweak":"sound","value":"ring"}`
	highlight = `{"set_tweak":"highlight"}`
)

func match(key, pattern string) Condition {
	return Condition{Kind: "event_match", Key: key, Pattern: &pattern}
}

func propIs(key, value string) Condition {
	return Condition{Kind: "event_property_is", Key: key, Value: json.RawMessage(value)}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Defaults returns the spec's server-default rules of a user (v1.11),
// with the user's id and localpart where the spec puts them.
func Defaults(userID string) Ruleset {
	local := strings.TrimPrefix(userID, "@")
	if i := strings.IndexByte(local, ':'); i >= 0 {
		local = local[:i]
	}
	rule := func(id string, enabled bool, actions []json.RawMessage, conds ...Condition) Rule {
		if conds == nil {
			conds = []Condition{}
		}
		return Rule{RuleID: id, Default: true, Enabled: enabled, Actions: actions, Conditions: conds}
	}
	roomNotif := Condition{Kind: "sender_notification_permission", Key: "room"}
	return Ruleset{
		Override: []Rule{
			rule(".m.rule.master", false, act()),
			rule(".m.rule.suppress_notices", true, act(), match("content.msgtype", "m.notice")),
			rule(".m.rule.invite_for_me", true, act(notify, sound),
				match("type", "m.room.member"), match("content.membership", "invite"), match("state_key", userID)),
			rule(".m.rule.member_event", true, act(), match("type", "m.room.member")),
			rule(".m.rule.is_user_mention", true, act(notify, sound, highlight),
				Condition{Kind: "event_property_contains", Key: `content.m\.mentions.user_ids`, Value: json.RawMessage(quote(userID))}),
			rule(".m.rule.contains_display_name", true, act(notify, sound, highlight), Condition{Kind: "contains_display_name"}),
			rule(".m.rule.is_room_mention", true, act(notify, highlight), propIs(`content.m\.mentions.room`, "true"), roomNotif),
			rule(".m.rule.roomnotif", true, act(notify, highlight), roomNotif, match("content.body", "@room")),
			rule(".m.rule.tombstone", true, act(notify, highlight), match("type", "m.room.tombstone"), match("state_key", "")),
			rule(".m.rule.reaction", true, act(), match("type", "m.reaction")),
			rule(".m.rule.room.server_acl", true, act(), match("type", "m.room.server_acl"), match("state_key", "")),
			rule(".m.rule.suppress_edits", true, act(), propIs(`content.m\.relates_to.rel_type`, `"m.replace"`)),
		},
		Content: []Rule{
			{RuleID: ".m.rule.contains_user_name", Default: true, Enabled: true, Actions: act(notify, sound, highlight), Pattern: &local},
		},
		Room:   []Rule{},
		Sender: []Rule{},
		Underride: []Rule{
			rule(".m.rule.call", true, act(notify, ring), match("type", "m.call.invite")),
			rule(".m.rule.encrypted_room_one_to_one", true, act(notify, sound),
				Condition{Kind: "room_member_count", Is: "2"}, match("type", "m.room.encrypted")),
			rule(".m.rule.room_one_to_one", true, act(notify, sound),
				Condition{Kind: "room_member_count", Is: "2"}, match("type", "m.room.message")),
			rule(".m.rule.message", true, act(notify), match("type", "m.room.message")),
			rule(".m.rule.encrypted", true, act(notify), match("type", "m.room.encrypted")),
		},
	}
}

// Render returns the user's rule set: user rules come before the defaults
// of their kind, except .m.rule.master which stays first (the spec's order).
func Render(userID string, c Changes) Ruleset {
	d := Defaults(userID)
	apply := func(rules []Rule) []Rule {
		out := make([]Rule, 0, len(rules))
		for _, r := range rules {
			if ch, ok := c.Defaults[r.RuleID]; ok {
				if ch.Enabled != nil {
					r.Enabled = *ch.Enabled
				}
				if ch.Actions != nil {
					r.Actions = ch.Actions
				}
			}
			out = append(out, r)
		}
		return out
	}
	user := func(kind string) []Rule { return slices.Clone(c.Rules[kind]) }
	over := apply(d.Override)
	return Ruleset{
		Override:  append(append(over[:1:1], user("override")...), over[1:]...),
		Content:   append(user("content"), apply(d.Content)...),
		Room:      append([]Rule{}, user("room")...),
		Sender:    append([]Rule{}, user("sender")...),
		Underride: append(user("underride"), apply(d.Underride)...),
	}
}

// Errors of rule changes; the API maps them to errcodes.
var (
	ErrNotFound = errors.New("push: no such rule")
	ErrInvalid  = errors.New("push: invalid rule")
	// ErrDefault is a change the server-default rules do not allow
	// (deleting them, creating a rule with a reserved id).
	ErrDefault = errors.New("push: server-default rule")
)

// IsDefaultID reports whether an id is reserved for server defaults.
func IsDefaultID(ruleID string) bool { return strings.HasPrefix(ruleID, ".") }

func (c *Changes) isDefault(userID, kind, ruleID string) bool {
	d := Defaults(userID)
	_, ok := d.Find(kind, ruleID)
	return ok
}

// Put creates or replaces a user rule. before/after name a user rule of
// the same kind to place it next to; without them a new rule becomes the
// most important of its kind and a replaced one keeps its place.
func (c *Changes) Put(kind string, rule Rule, before, after string) error {
	if !ValidKind(kind) {
		return ErrInvalid
	}
	if IsDefaultID(rule.RuleID) {
		return ErrDefault
	}
	if c.Rules == nil {
		c.Rules = map[string][]Rule{}
	}
	rules := c.Rules[kind]
	at := slices.IndexFunc(rules, func(r Rule) bool { return r.RuleID == rule.RuleID })
	if at >= 0 && before == "" && after == "" {
		rules[at] = rule
		return nil
	}
	if at >= 0 {
		rules = slices.Delete(rules, at, at+1)
	}
	pos := 0
	if ref := cmpOr(before, after); ref != "" {
		i := slices.IndexFunc(rules, func(r Rule) bool { return r.RuleID == ref })
		if i < 0 {
			return ErrNotFound
		}
		pos = i
		if before == "" {
			pos = i + 1
		}
	}
	c.Rules[kind] = slices.Insert(rules, pos, rule)
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Delete removes a user rule; server defaults cannot be removed.
func (c *Changes) Delete(userID, kind, ruleID string) error {
	if c.isDefault(userID, kind, ruleID) {
		return ErrDefault
	}
	rules := c.Rules[kind]
	i := slices.IndexFunc(rules, func(r Rule) bool { return r.RuleID == ruleID })
	if i < 0 {
		return ErrNotFound
	}
	c.Rules[kind] = slices.Delete(rules, i, i+1)
	return nil
}

// SetEnabled enables or disables a rule, default or not.
func (c *Changes) SetEnabled(userID, kind, ruleID string, enabled bool) error {
	return c.modify(userID, kind, ruleID, func(r *Rule, d *DefaultChange) {
		if r != nil {
			r.Enabled = enabled
		} else {
			d.Enabled = &enabled
		}
	})
}

// SetActions replaces the actions of a rule, default or not.
func (c *Changes) SetActions(userID, kind, ruleID string, actions []json.RawMessage) error {
	return c.modify(userID, kind, ruleID, func(r *Rule, d *DefaultChange) {
		if r != nil {
			r.Actions = actions
		} else {
			d.Actions = actions
		}
	})
}

func (c *Changes) modify(userID, kind, ruleID string, f func(*Rule, *DefaultChange)) error {
	if c.isDefault(userID, kind, ruleID) {
		if c.Defaults == nil {
			c.Defaults = map[string]DefaultChange{}
		}
		d := c.Defaults[ruleID]
		f(nil, &d)
		c.Defaults[ruleID] = d
		return nil
	}
	rules := c.Rules[kind]
	i := slices.IndexFunc(rules, func(r Rule) bool { return r.RuleID == ruleID })
	if i < 0 {
		return ErrNotFound
	}
	f(&rules[i], nil)
	return nil
}

// ValidActions checks a list of actions: "notify", the legacy
// "dont_notify" and "coalesce", or {"set_tweak": name, "value": …}.
func ValidActions(actions []json.RawMessage) bool {
	for _, a := range actions {
		var s string
		if json.Unmarshal(a, &s) == nil {
			if s != "notify" && s != "dont_notify" && s != "coalesce" {
				return false
			}
			continue
		}
		var t struct {
			SetTweak string `json:"set_tweak"`
		}
		if json.Unmarshal(a, &t) != nil || t.SetTweak == "" {
			return false
		}
	}
	return true
}

// ValidConditions checks the conditions of a rule.
func ValidConditions(conds []Condition) bool {
	for _, c := range conds {
		switch c.Kind {
		case "event_match":
			if c.Key == "" || c.Pattern == nil {
				return false
			}
		case "event_property_is", "event_property_contains":
			if c.Key == "" || len(c.Value) == 0 {
				return false
			}
		case "room_member_count":
			if _, _, ok := parseIs(c.Is); !ok {
				return false
			}
		case "sender_notification_permission":
			if c.Key == "" {
				return false
			}
		case "contains_display_name":
		default:
			// Unknown kinds are allowed by the spec; they never match.
		}
	}
	return true
}
