package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"bureau/services/chat/internal/visibility"
	"bureau/services/platform/sqldb"
)

// Event is a stored event.
type Event struct {
	Pos      int64
	EventID  string
	RoomID   string
	Type     string
	StateKey *string
	Sender   string
	DeviceID string // sending device, "" when unknown
	TxnID    string // its transaction id, ""  when none
	JSON     []byte // the signed PDU
	// RedactedBecause is the redaction of this event ({"event_id",
	// "pdu"}), nil when not redacted.
	RedactedBecause []byte
}

// Redaction is what an m.room.redaction does to its target when appended.
type Redaction struct {
	EventID      string
	RedactedJSON []byte // the target PDU, redacted
	Because      []byte // {"event_id", "pdu"} of the redaction
}

// NewEvent is an event to append to its room.
type NewEvent struct {
	Event
	RoomVersion string // for the m.room.create event
	Depth       int64
	// PrevEventID is the forward extremity the event was built on; the
	// append fails with ErrConflict when the room has moved on. Empty for
	// m.room.create.
	PrevEventID string
	// Redaction is set on m.room.redaction events.
	Redaction *Redaction
}

// Room is a room's bookkeeping row.
type Room struct {
	RoomID, Version, LastEventID string
	Depth                        int64
}

// Room returns a room (ErrNotFound when unknown).
func (s *Store) Room(ctx context.Context, roomID string) (Room, error) {
	r := Room{RoomID: roomID}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT room_version, last_event_id, depth FROM chat_rooms WHERE room_id = ?`), roomID).
		Scan(&r.Version, &r.LastEventID, &r.Depth)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// Append persists events of one room, built in order on top of each other,
// in one transaction, and returns the stream position of the last one. With
// a transaction id on the first event, a reused id gives ErrDuplicateTxn.
func (s *Store) Append(ctx context.Context, evs []NewEvent) (int64, error) {
	if len(evs) == 0 {
		return 0, errors.New("store: append nothing")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	first := evs[0]
	if first.TxnID != "" {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_txns (user_id, device_id, txn_id, event_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			first.Sender, first.DeviceID, first.TxnID, first.EventID)
		if err != nil {
			return 0, fmt.Errorf("store: txn: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return 0, ErrDuplicateTxn
		}
	}
	// Move the forward extremity first: the room's row lock orders
	// concurrent writers of one room before they queue on the counter.
	for _, ev := range evs {
		if ev.PrevEventID == "" {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_rooms (room_id, room_version, last_event_id, depth) VALUES (?, ?, ?, ?)`),
				ev.RoomID, ev.RoomVersion, ev.EventID, ev.Depth); err != nil {
				return 0, fmt.Errorf("store: create room: %w", err)
			}
			continue
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE chat_rooms SET last_event_id = ?, depth = ? WHERE room_id = ? AND last_event_id = ?`),
			ev.EventID, ev.Depth, ev.RoomID, ev.PrevEventID)
		if err != nil {
			return 0, fmt.Errorf("store: extremity: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return 0, ErrConflict
		}
	}
	var last int64
	if err := tx.QueryRowContext(ctx, s.q(`UPDATE chat_stream SET pos = pos + ? WHERE id = 1 RETURNING pos`), len(evs)).Scan(&last); err != nil {
		return 0, fmt.Errorf("store: stream position: %w", err)
	}
	pos := last - int64(len(evs))
	for _, ev := range evs {
		pos++
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_events (stream_pos, event_id, room_id, type, state_key, sender, device_id, txn_id, json)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			pos, ev.EventID, ev.RoomID, ev.Type, ev.StateKey, ev.Sender, nullable(ev.DeviceID), nullable(ev.TxnID), string(ev.JSON)); err != nil {
			return 0, fmt.Errorf("store: insert event: %w", err)
		}
		if r := ev.Redaction; r != nil {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE chat_events SET json = ?, redacted_because = ? WHERE event_id = ? AND room_id = ?`),
				string(r.RedactedJSON), string(r.Because), r.EventID, ev.RoomID); err != nil {
				return 0, fmt.Errorf("store: redact: %w", err)
			}
			// A redacted event no longer relates to anything (its
			// content, m.relates_to included, is gone).
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM chat_relations WHERE event_id = ?`), r.EventID); err != nil {
				return 0, fmt.Errorf("store: redact relation: %w", err)
			}
		}
		if err := s.recordRelation(ctx, tx, ev.Event, pos); err != nil {
			return 0, fmt.Errorf("store: relation: %w", err)
		}
		if ev.StateKey == nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_room_state (room_id, type, state_key, event_id, stream_pos) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = excluded.event_id, stream_pos = excluded.stream_pos`),
			ev.RoomID, ev.Type, *ev.StateKey, ev.EventID, pos); err != nil {
			return 0, fmt.Errorf("store: state: %w", err)
		}
		if ev.Type == "m.room.member" {
			m, err := membershipOf(ev.JSON)
			if err != nil {
				return 0, err
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_memberships (room_id, user_id, membership, event_id, stream_pos) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (room_id, user_id) DO UPDATE SET membership = excluded.membership, event_id = excluded.event_id, stream_pos = excluded.stream_pos`),
				ev.RoomID, *ev.StateKey, m, ev.EventID, pos); err != nil {
				return 0, fmt.Errorf("store: membership: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: commit: %w", err)
	}
	return last, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TxnEvent returns the event sent earlier with a transaction id.
func (s *Store) TxnEvent(ctx context.Context, userID, deviceID, txnID string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT event_id FROM chat_txns WHERE user_id = ? AND device_id = ? AND txn_id = ?`), userID, deviceID, txnID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return id, err
}

// MaxPos is the latest stream position.
func (s *Store) MaxPos(ctx context.Context) (int64, error) {
	var pos int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT pos FROM chat_stream WHERE id = 1`).Scan(&pos)
	return pos, err
}

const eventCols = `e.stream_pos, e.event_id, e.room_id, e.type, e.state_key, e.sender, e.device_id, e.txn_id, e.json, e.redacted_because`

// scanEvents reads rows of eventCols; each extra function gives, for
// every row, where to scan one more column.
func scanEvents(rows *sql.Rows, extra ...func() any) ([]Event, error) {
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var ev Event
		var sk, dev, txn, because sql.NullString
		var js string
		dest := []any{&ev.Pos, &ev.EventID, &ev.RoomID, &ev.Type, &sk, &ev.Sender, &dev, &txn, &js, &because}
		for _, f := range extra {
			dest = append(dest, f())
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if sk.Valid {
			ev.StateKey = &sk.String
		}
		ev.DeviceID, ev.TxnID, ev.JSON = dev.String, txn.String, []byte(js)
		if because.Valid {
			ev.RedactedBecause = []byte(because.String)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// EventByID returns one event.
func (s *Store) EventByID(ctx context.Context, eventID string) (Event, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+eventCols+` FROM chat_events e WHERE e.event_id = ?`), eventID)
	if err != nil {
		return Event{}, err
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return Event{}, err
	}
	if len(evs) == 0 {
		return Event{}, ErrNotFound
	}
	return evs[0], nil
}

// StateKey identifies a state entry.
type StateKey struct{ Type, StateKey string }

// State returns the current state events of a room: all of them when keys
// is empty, else those of keys that exist.
func (s *Store) State(ctx context.Context, roomID string, keys []StateKey) ([]Event, error) {
	query := `SELECT ` + eventCols + ` FROM chat_room_state rs JOIN chat_events e ON e.event_id = rs.event_id WHERE rs.room_id = ?`
	args := []any{roomID}
	if len(keys) > 0 {
		query += ` AND (`
		for i, k := range keys {
			if i > 0 {
				query += ` OR `
			}
			query += `(rs.type = ? AND rs.state_key = ?)`
			args = append(args, k.Type, k.StateKey)
		}
		query += `)`
	}
	// The writer's pool: the event pipeline builds on this state and must
	// see its own latest commit.
	rows, err := s.db.QueryContext(ctx, s.q(query+` ORDER BY e.stream_pos`), args...)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

// StateAt returns the state of a room as of stream position pos: for each
// (type, state key), the latest state event at or below pos. For local
// rooms the stream order is the topological order, so this is the state
// after the event at pos (federation will need the state snapshots of
// the event graph instead). One query over the state index.
func (s *Store) StateAt(ctx context.Context, roomID string, pos int64) ([]Event, error) {
	states, err := s.StatesAt(ctx, map[string]int64{roomID: pos})
	return states[roomID], err
}

// StatesAt is StateAt for several rooms, each at its own position: one
// query per 200 rooms.
func (s *Store) StatesAt(ctx context.Context, points map[string]int64) (map[string][]Event, error) {
	out := map[string][]Event{}
	rooms := make([]string, 0, len(points))
	for id := range points {
		rooms = append(rooms, id)
	}
	for len(rooms) > 0 {
		batch := rooms[:min(len(rooms), 200)]
		rooms = rooms[len(batch):]
		var parts []string
		var args []any
		for _, id := range batch {
			// Every key that ever had state is in the current state (keys
			// are replaced, never removed): one index seek per key, not a
			// scan of the room's messages.
			parts = append(parts, `SELECT (SELECT MAX(x.stream_pos) FROM chat_events x
					WHERE x.room_id = rs.room_id AND x.type = rs.type AND x.state_key = rs.state_key AND x.stream_pos <= ?) AS pos
				FROM chat_room_state rs WHERE rs.room_id = ?`)
			args = append(args, points[id], id)
		}
		got, err := s.eventsByRoom(ctx, `SELECT `+eventCols+` FROM chat_events e JOIN (`+strings.Join(parts, ` UNION ALL `)+`) st
			ON e.stream_pos = st.pos ORDER BY e.stream_pos`, args...)
		if err != nil {
			return nil, err
		}
		for id, evs := range got {
			out[id] = evs
		}
	}
	return out, nil
}

// Membership is one user's current membership of one room.
type Membership struct {
	RoomID, UserID, Membership, EventID string
	Pos                                 int64
}

// Membership returns userID's membership of roomID ("" when none).
func (s *Store) Membership(ctx context.Context, roomID, userID string) (Membership, error) {
	m := Membership{RoomID: roomID, UserID: userID}
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT membership, event_id, stream_pos FROM chat_memberships WHERE room_id = ? AND user_id = ?`), roomID, userID).
		Scan(&m.Membership, &m.EventID, &m.Pos)
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil
	}
	return m, err
}

// UserMemberships returns every room userID has a membership in.
func (s *Store) UserMemberships(ctx context.Context, userID string) ([]Membership, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT room_id, membership, event_id, stream_pos FROM chat_memberships WHERE user_id = ?`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Membership
	for rows.Next() {
		m := Membership{UserID: userID}
		if err := rows.Scan(&m.RoomID, &m.Membership, &m.EventID, &m.Pos); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RoomMembers returns the users of roomID whose membership is one of ms.
func (s *Store) RoomMembers(ctx context.Context, roomID string, ms ...string) ([]string, error) {
	args := []any{roomID}
	for _, m := range ms {
		args = append(args, m)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT user_id FROM chat_memberships WHERE room_id = ? AND membership IN (`+placeholders(len(ms))+`) ORDER BY user_id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Timelines returns, for each room of readable, its latest events in
// (after, upTo] that its reader may see and f keeps, at most limit+1 of them (the extra
// one tells the caller the timeline is limited), oldest first. One query
// for all rooms.
func (s *Store) Timelines(ctx context.Context, readable map[string]visibility.Ranges, f EventFilter, after, upTo int64, limit int) (map[string][]Event, error) {
	out := map[string][]Event{}
	f.pg = s.db.Dialect == sqldb.Postgres
	cond, args, ok := readableWhere("x", readable, f, after, upTo)
	if !ok {
		return out, nil
	}
	return s.eventsByRoom(ctx, `SELECT `+eventCols+` FROM (
		SELECT x.*, ROW_NUMBER() OVER (PARTITION BY x.room_id ORDER BY x.stream_pos DESC) AS rn
		FROM chat_events x WHERE `+cond+`
	) e WHERE e.rn <= ? ORDER BY e.stream_pos`, append(args, limit+1)...)
}

// eventsByRoom runs an event query on the read pool and groups the rows
// by room.
func (s *Store) eventsByRoom(ctx context.Context, query string, args ...any) (map[string][]Event, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, err
	}
	out := map[string][]Event{}
	for _, ev := range evs {
		out[ev.RoomID] = append(out[ev.RoomID], ev)
	}
	return out, nil
}

func anys(ss []string) []any {
	out := make([]any, 0, len(ss)+4)
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

// StateChanges returns the current state events of the rooms that were set
// after position after (all current state when after is 0). One query.
func (s *Store) StateChanges(ctx context.Context, roomIDs []string, after int64) (map[string][]Event, error) {
	out := map[string][]Event{}
	if len(roomIDs) == 0 {
		return out, nil
	}
	return s.eventsByRoom(ctx, `SELECT `+eventCols+` FROM chat_room_state rs JOIN chat_events e ON e.event_id = rs.event_id
		WHERE rs.room_id IN (`+placeholders(len(roomIDs))+`) AND rs.stream_pos > ? ORDER BY e.stream_pos`, append(anys(roomIDs), after)...)
}

// Messages pages through the events of a room its reader may see
// (readable) and f keeps: backwards, those at or below from, newest first; forwards,
// those above from, oldest first.
func (s *Store) Messages(ctx context.Context, roomID string, readable visibility.Ranges, f EventFilter, from int64, backwards bool, limit int) ([]Event, error) {
	after, upTo, order := from, int64(math.MaxInt64), `ASC`
	if backwards {
		after, upTo, order = -1, from, `DESC`
	}
	f.pg = s.db.Dialect == sqldb.Postgres
	cond, args, ok := readableWhere("e", map[string]visibility.Ranges{roomID: readable}, f, after, upTo)
	if !ok {
		return nil, nil
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+eventCols+` FROM chat_events e WHERE `+cond+
		` ORDER BY e.stream_pos `+order+` LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}
