package store

import "strings"

// EventFilter is the part of a Matrix RoomEventFilter applied in SQL, so
// that limits count only the events kept: event types (a "*" matches any
// run of characters) and senders to keep (nil: all) or to leave out, and
// whether the content has a url (nil: either).
type EventFilter struct {
	Types, NotTypes, Senders, NotSenders []string
	ContainsURL                          *bool
	// pg is set by the store: the url test is dialect-specific.
	pg bool
}

// where returns the condition on table alias t ("" when it keeps all).
func (f EventFilter) where(t string) (string, []any) {
	var conds []string
	var args []any
	if f.ContainsURL != nil {
		// A string url, as Synapse's contains_url column records.
		has := `COALESCE(json_type(` + t + `.json, '$.content.url'), '') = 'text'`
		if f.pg {
			has = `COALESCE(jsonb_typeof(` + t + `.json::jsonb -> 'content' -> 'url'), '') = 'string'`
		}
		if !*f.ContainsURL {
			has = `NOT ` + has
		}
		conds = append(conds, `(`+has+`)`)
	}
	if f.Types != nil {
		c, a := typeMatch(t, f.Types)
		conds, args = append(conds, c), append(args, a...)
	}
	if len(f.NotTypes) > 0 {
		c, a := typeMatch(t, f.NotTypes)
		conds, args = append(conds, `NOT `+c), append(args, a...)
	}
	if f.Senders != nil {
		conds = append(conds, inList(t+`.sender`, len(f.Senders)))
		for _, s := range f.Senders {
			args = append(args, s)
		}
	}
	if len(f.NotSenders) > 0 {
		conds = append(conds, `NOT `+inList(t+`.sender`, len(f.NotSenders)))
		for _, s := range f.NotSenders {
			args = append(args, s)
		}
	}
	return strings.Join(conds, ` AND `), args
}

// inList is "col IN (?, …)", or false for an empty list.
func inList(col string, n int) string {
	if n == 0 {
		return `(1 = 0)`
	}
	return `(` + col + ` IN (` + placeholders(n) + `))`
}

// typeMatch is a condition true when the type matches one of patterns.
func typeMatch(t string, patterns []string) (string, []any) {
	if len(patterns) == 0 {
		return `(1 = 0)`, nil
	}
	var ors []string
	var args []any
	for _, p := range patterns {
		if !strings.Contains(p, "*") {
			ors = append(ors, t+`.type = ?`)
			args = append(args, p)
			continue
		}
		esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `*`, `%`).Replace(p)
		ors = append(ors, t+`.type LIKE ? ESCAPE '\'`)
		args = append(args, esc)
	}
	return `(` + strings.Join(ors, ` OR `) + `)`, args
}
