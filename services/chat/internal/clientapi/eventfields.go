package clientapi

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// event_fields and event_format: the filter's choice of which fields of
// each room event /sync returns, and in which form.

// trie is a set of field paths: a key mapping to nil keeps the whole
// field, to a trie keeps those of its sub-fields.
type trie map[string]trie

// parseEventFields reads event_fields paths: fields separated by ".", in
// which "\." is a literal dot and "\\" a backslash (spec v1.11). Empty
// fields and other escapes are refused (M_INVALID_PARAM).
func parseEventFields(paths []string) (trie, error) {
	if paths == nil {
		return nil, nil
	}
	root := trie{}
	for _, p := range paths {
		var fields []string
		var cur strings.Builder
		for i := 0; i < len(p); i++ {
			switch c := p[i]; c {
			case '\\':
				if i+1 == len(p) || (p[i+1] != '.' && p[i+1] != '\\') {
					return nil, badParam(`Invalid filter: event_fields path ` + strconvQuote(p) + `: only \. and \\ are escapes`)
				}
				i++
				cur.WriteByte(p[i])
			case '.':
				fields = append(fields, cur.String())
				cur.Reset()
			default:
				cur.WriteByte(c)
			}
		}
		fields = append(fields, cur.String())
		if slices.Contains(fields, "") {
			return nil, badParam("Invalid filter: event_fields path " + strconvQuote(p) + " has an empty field")
		}
		node := root
		for i, f := range fields {
			next, seen := node[f]
			if seen && next == nil {
				break // a shorter path already keeps it all
			}
			if i == len(fields)-1 {
				node[f] = nil // keeps it all, longer paths included
				break
			}
			if !seen {
				next = trie{}
				node[f] = next
			}
			node = next
		}
	}
	return root, nil
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// project keeps the fields of t in obj.
func (t trie) project(obj map[string]any) map[string]any {
	out := make(map[string]any, len(t))
	for k, sub := range t {
		v, ok := obj[k]
		if !ok {
			continue
		}
		if sub == nil {
			out[k] = v
			continue
		}
		if m, ok := v.(map[string]any); ok {
			out[k] = sub.project(m)
		}
	}
	return out
}

// renderEvents applies event_format and event_fields to the room events
// of a sync response (timelines and state of joined and left rooms): it
// returns the JSON to send. Only syncs whose filter asks pay for it.
func renderEvents(resp *syncResponse, f Filter) ([]byte, error) {
	federation := f.EventFormat == "federation"
	pdus := map[string][]byte{}
	if federation {
		add := func(evs []clientEvent) {
			for _, ev := range evs {
				pdus[ev.EventID] = ev.pdu
			}
		}
		for _, jr := range resp.Rooms.Join {
			add(jr.Timeline.Events)
			add(jr.State.Events)
		}
		for _, lr := range resp.Rooms.Leave {
			add(lr.Timeline.Events)
			add(lr.State.Events)
		}
	}
	js, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	render := func(list any) {
		evs, _ := list.([]any)
		for i, x := range evs {
			ev, _ := x.(map[string]any)
			if ev == nil {
				continue
			}
			if federation {
				id, _ := ev["event_id"].(string)
				if pdu := decodeObject(pdus[id]); pdu != nil {
					// The PDU as the room holds it, with what the server
					// adds for this client (transaction id, relations).
					if u, ok := ev["unsigned"].(map[string]any); ok {
						pu, _ := pdu["unsigned"].(map[string]any)
						if pu == nil {
							pu = map[string]any{}
						}
						for k, v := range u {
							pu[k] = v
						}
						pdu["unsigned"] = pu
					}
					ev = pdu
				}
			}
			if f.fields != nil {
				ev = f.fields.project(ev)
			}
			evs[i] = ev
		}
	}
	rooms, _ := doc["rooms"].(map[string]any)
	for _, section := range []string{"join", "leave"} {
		byRoom, _ := rooms[section].(map[string]any)
		for _, x := range byRoom {
			room, _ := x.(map[string]any)
			for _, part := range []string{"timeline", "state"} {
				if p, ok := room[part].(map[string]any); ok {
					render(p["events"])
				}
			}
		}
	}
	return json.Marshal(doc)
}

func decodeObject(js []byte) map[string]any {
	if js == nil {
		return nil
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if dec.Decode(&out) != nil {
		return nil
	}
	return out
}
