package store

import (
	"context"
	"database/sql"
	"encoding/json"
)

// relationOf reads content.m.relates_to of a PDU ("" when none or not a
// well-formed relation).
func relationOf(pdu []byte) (relType, parent string) {
	var ev struct {
		Content struct {
			RelatesTo struct {
				RelType string `json:"rel_type"`
				EventID string `json:"event_id"`
			} `json:"m.relates_to"`
		} `json:"content"`
	}
	if json.Unmarshal(pdu, &ev) != nil {
		return "", ""
	}
	r := ev.Content.RelatesTo
	if r.RelType == "" || r.EventID == "" || len(r.RelType) > 255 || len(r.EventID) > 255 {
		return "", ""
	}
	return r.RelType, r.EventID
}

// recordRelation stores the relation of an appended event, inside tx.
func (s *Store) recordRelation(ctx context.Context, tx *sql.Tx, ev Event, pos int64) error {
	relType, parent := relationOf(ev.JSON)
	if relType == "" || ev.StateKey != nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_relations (event_id, room_id, parent_id, rel_type, event_type, sender, stream_pos)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), ev.EventID, ev.RoomID, parent, relType, ev.Type, ev.Sender, pos)
	return err
}

// RelationQuery selects the children of parents.
type RelationQuery struct {
	RoomID          string
	Parents         []string
	RelType, EvType string // "" = any
	From, To        int64  // exclusive bounds in the paging direction; -1 = none
	UpTo            int64  // the reader's visibility bound
	Backwards       bool
	Limit           int
}

// Relations pages through the events relating to q.Parents.
func (s *Store) Relations(ctx context.Context, q RelationQuery) ([]Event, error) {
	if len(q.Parents) == 0 {
		return nil, nil
	}
	query := `SELECT ` + eventCols + ` FROM chat_relations r JOIN chat_events e ON e.event_id = r.event_id
		WHERE r.room_id = ? AND r.parent_id IN (` + placeholders(len(q.Parents)) + `) AND r.stream_pos <= ?`
	args := append(append([]any{q.RoomID}, anys(q.Parents)...), q.UpTo)
	if q.RelType != "" {
		query += ` AND r.rel_type = ?`
		args = append(args, q.RelType)
	}
	if q.EvType != "" {
		query += ` AND r.event_type = ?`
		args = append(args, q.EvType)
	}
	if q.Backwards {
		if q.From >= 0 {
			query += ` AND r.stream_pos <= ?`
			args = append(args, q.From)
		}
		if q.To >= 0 {
			query += ` AND r.stream_pos > ?`
			args = append(args, q.To)
		}
		query += ` ORDER BY r.stream_pos DESC LIMIT ?`
	} else {
		if q.From >= 0 {
			query += ` AND r.stream_pos > ?`
			args = append(args, q.From)
		}
		if q.To >= 0 {
			query += ` AND r.stream_pos <= ?`
			args = append(args, q.To)
		}
		query += ` ORDER BY r.stream_pos ASC LIMIT ?`
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(query), append(args, q.Limit)...)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

// ChildIDs returns the ids of the events relating to parents (any type),
// for recursive /relations.
func (s *Store) ChildIDs(ctx context.Context, roomID string, parents []string, upTo int64) ([]string, error) {
	if len(parents) == 0 {
		return nil, nil
	}
	return s.strings(ctx, `SELECT event_id FROM chat_relations WHERE room_id = ? AND parent_id IN (`+placeholders(len(parents))+`) AND stream_pos <= ?`,
		append(append([]any{roomID}, anys(parents)...), upTo)...)
}

// Child is one relation of an aggregation query.
type Child struct {
	EventID, Parent, RelType, Sender string
	Pos                              int64
}

// Children returns the thread, edit and reference relations of parents up
// to upTo, oldest first: what bundled aggregations are computed from (the
// spec bundles no annotations since v1.7). One query.
func (s *Store) Children(ctx context.Context, parents []string, upTo int64) ([]Child, error) {
	if len(parents) == 0 {
		return nil, nil
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT event_id, parent_id, rel_type, sender, stream_pos FROM chat_relations
		WHERE parent_id IN (`+placeholders(len(parents))+`) AND rel_type IN ('m.thread', 'm.replace', 'm.reference') AND stream_pos <= ? ORDER BY stream_pos`),
		append(anys(parents), upTo)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Child
	for rows.Next() {
		var c Child
		if err := rows.Scan(&c.EventID, &c.Parent, &c.RelType, &c.Sender, &c.Pos); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// EventsAt returns the events at stream positions.
func (s *Store) EventsAt(ctx context.Context, positions []int64) ([]Event, error) {
	if len(positions) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(positions))
	for _, p := range positions {
		args = append(args, p)
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+eventCols+` FROM chat_events e WHERE e.stream_pos IN (`+placeholders(len(positions))+`)`), args...)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

// Thread is a thread root with its latest activity.
type Thread struct {
	Root   Event
	Latest int64
}

// Threads lists the thread roots of a room, most recently active first,
// whose latest reply is at or below before (-1 = any); participated keeps
// those where userID wrote the root or a reply.
func (s *Store) Threads(ctx context.Context, roomID, userID string, participated bool, before, upTo int64, limit int) ([]Thread, error) {
	query := `SELECT ` + eventCols + `, t.latest FROM (
		SELECT parent_id, MAX(stream_pos) AS latest, MAX(CASE WHEN sender = ? THEN 1 ELSE 0 END) AS mine
		FROM chat_relations WHERE room_id = ? AND rel_type = 'm.thread' AND stream_pos <= ? GROUP BY parent_id
	) t JOIN chat_events e ON e.event_id = t.parent_id WHERE e.room_id = ? AND e.stream_pos <= ?`
	args := []any{userID, roomID, upTo, roomID, upTo}
	if before >= 0 {
		query += ` AND t.latest <= ?`
		args = append(args, before)
	}
	if participated {
		query += ` AND (t.mine = 1 OR e.sender = ?)`
		args = append(args, userID)
	}
	query += ` ORDER BY t.latest DESC LIMIT ?`
	var latest []int64
	rows, err := s.db.Read.QueryContext(ctx, s.q(query), append(args, limit)...)
	if err != nil {
		return nil, err
	}
	evs, err := scanEvents(rows, func() any {
		latest = append(latest, 0)
		return &latest[len(latest)-1]
	})
	if err != nil {
		return nil, err
	}
	out := make([]Thread, len(evs))
	for i, ev := range evs {
		out[i] = Thread{Root: ev, Latest: latest[i]}
	}
	return out, nil
}
