package store

import (
	"context"
	"encoding/json"
	"strings"

	"bureau/services/chat/internal/visibility"
)

// Histories returns, for each room, what decides userID's view of its
// history up to upTo: the room's history_visibility events and userID's
// member events (visibility.History). One query for all the rooms.
func (s *Store) Histories(ctx context.Context, userID string, roomIDs []string, upTo int64) (map[string]visibility.History, error) {
	out := make(map[string]visibility.History, len(roomIDs))
	if len(roomIDs) == 0 {
		return out, nil
	}
	in := placeholders(len(roomIDs))
	var args []any
	for _, pass := range []string{"vis", "member"} {
		for _, r := range roomIDs {
			args = append(args, r)
		}
		if pass == "member" {
			args = append(args, userID)
		}
		args = append(args, upTo)
	}
	// Two index range scans rather than one OR the planners may not split.
	rows, err := s.db.Read.QueryContext(ctx, s.q(`
		SELECT room_id, stream_pos, type, json FROM chat_events
		WHERE room_id IN (`+in+`) AND type = 'm.room.history_visibility' AND state_key = '' AND stream_pos <= ?
		UNION ALL
		SELECT room_id, stream_pos, type, json FROM chat_events
		WHERE room_id IN (`+in+`) AND type = 'm.room.member' AND state_key = ? AND stream_pos <= ?
		ORDER BY 2`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var room, typ, js string
		var pos int64
		if err := rows.Scan(&room, &pos, &typ, &js); err != nil {
			return nil, err
		}
		var ev struct {
			Content struct {
				Membership        string `json:"membership"`
				HistoryVisibility string `json:"history_visibility"`
			} `json:"content"`
		}
		_ = json.Unmarshal([]byte(js), &ev) // written by us; malformed content reads as the default
		h := out[room]
		if typ == "m.room.member" {
			h.Membership = append(h.Membership, visibility.Change{Pos: pos, Value: ev.Content.Membership})
		} else {
			h.Visibility = append(h.Visibility, visibility.Change{Pos: pos, Value: ev.Content.HistoryVisibility})
		}
		out[room] = h
	}
	return out, rows.Err()
}

// readableWhere is the SQL condition (on table alias t) selecting, in each room
// of readable, the events in (after, upTo] its reader may see and f keeps. Rooms read
// in full cost one IN list; the others an OR of position ranges. ok is
// false when nothing can match.
func readableWhere(t string, readable map[string]visibility.Ranges, f EventFilter, after, upTo int64) (cond string, args []any, ok bool) {
	var whole []any
	var parts []string
	for room, rs := range readable {
		if rs.Covers(after+1, upTo) {
			whole = append(whole, room)
			continue
		}
		clipped := rs.Clip(after+1, upTo)
		if len(clipped) == 0 {
			continue
		}
		var ors []string
		args = append(args, room)
		for _, r := range clipped {
			ors = append(ors, t+`.stream_pos BETWEEN ? AND ?`)
			args = append(args, r.From, r.To)
		}
		parts = append(parts, `(`+t+`.room_id = ? AND (`+strings.Join(ors, ` OR `)+`))`)
	}
	if len(whole) > 0 {
		parts = append(parts, t+`.room_id IN (`+placeholders(len(whole))+`)`)
		args = append(args, whole...)
	}
	if len(parts) == 0 {
		return "", nil, false
	}
	args = append(args, after, upTo)
	cond = `(` + strings.Join(parts, ` OR `) + `) AND ` + t + `.stream_pos > ? AND ` + t + `.stream_pos <= ?`
	if fc, fargs := f.where(t); fc != "" {
		cond, args = cond+` AND `+fc, append(args, fargs...)
	}
	return cond, args, true
}
