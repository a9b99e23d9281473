package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// PushChanges returns a user's push rule changes document ("" when none)
// and its version (0 when none).
func (s *Store) PushChanges(ctx context.Context, userID string) (string, int64, error) {
	var js string
	var v int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT changes, version FROM chat_push_rules WHERE user_id = ?`), userID).Scan(&js, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil
	}
	return js, v, err
}

// PutPushChanges replaces the document read at version (ErrConflict when
// it changed since) and, in the same transaction, the m.push_rules account
// data clients sync (rendered, the full rule set).
func (s *Store) PutPushChanges(ctx context.Context, userID string, version int64, changes, rendered string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var res sql.Result
	if version == 0 {
		res, err = tx.ExecContext(ctx, s.q(`INSERT INTO chat_push_rules (user_id, changes, version) VALUES (?, ?, 1) ON CONFLICT DO NOTHING`), userID, changes)
	} else {
		res, err = tx.ExecContext(ctx, s.q(`UPDATE chat_push_rules SET changes = ?, version = version + 1 WHERE user_id = ? AND version = ?`), changes, userID, version)
	}
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	if err := s.putAccountData(ctx, tx, userID, "", "m.push_rules", rendered); err != nil {
		return err
	}
	return tx.Commit()
}

// Pusher is a registered pusher.
type Pusher struct {
	UserID, AppID, PushKey, Kind, AppDisplayName, DeviceDisplayName, ProfileTag, Lang string
	Data                                                                              string // JSON object
}

// PutPusher adds or updates a pusher of userID. Unless appending, the same
// app id and push key is removed from every other user (the spec's rule:
// a device belongs to one account at a time).
func (s *Store) PutPusher(ctx context.Context, p Pusher, appendIt bool, now int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if !appendIt {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM chat_pushers WHERE app_id = ? AND pushkey = ? AND user_id <> ?`), p.AppID, p.PushKey, p.UserID); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO chat_pushers (user_id, app_id, pushkey, kind, app_display_name, device_display_name, profile_tag, lang, data, created_ts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (app_id, pushkey, user_id) DO UPDATE SET kind = excluded.kind, app_display_name = excluded.app_display_name,
			device_display_name = excluded.device_display_name, profile_tag = excluded.profile_tag, lang = excluded.lang, data = excluded.data`),
		p.UserID, p.AppID, p.PushKey, p.Kind, p.AppDisplayName, p.DeviceDisplayName, p.ProfileTag, p.Lang, p.Data, now); err != nil {
		return err
	}
	return tx.Commit()
}

// DeletePusher removes a pusher of userID (no error when absent).
func (s *Store) DeletePusher(ctx context.Context, userID, appID, pushKey string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_pushers WHERE user_id = ? AND app_id = ? AND pushkey = ?`), userID, appID, pushKey)
	return err
}

// Pushers lists a user's pushers.
func (s *Store) Pushers(ctx context.Context, userID string) ([]Pusher, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT app_id, pushkey, kind, app_display_name, device_display_name, profile_tag, lang, data
		FROM chat_pushers WHERE user_id = ? ORDER BY created_ts, app_id, pushkey`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Pusher
	for rows.Next() {
		p := Pusher{UserID: userID}
		if err := rows.Scan(&p.AppID, &p.PushKey, &p.Kind, &p.AppDisplayName, &p.DeviceDisplayName, &p.ProfileTag, &p.Lang, &p.Data); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// UnreadBound is where a user's unread events of a room start: nothing
// at or below Room is unread (the later of their own membership event and
// their latest unthreaded read receipt, public or private), and a thread
// ("main" for the main timeline, else its root's id) is read up to its
// threaded receipt in Threads when that is later.
type UnreadBound struct {
	Room    int64
	Threads map[string]int64
}

// Of is the bound of a thread ("" is the main timeline).
func (b UnreadBound) Of(thread string) int64 {
	if thread == "" {
		thread = "main"
	}
	return max(b.Room, b.Threads[thread])
}

// Key identifies the bound: equal keys, equal counts up to a position.
func (b UnreadBound) Key() string {
	keys := make([]string, 0, len(b.Threads))
	for t, p := range b.Threads {
		keys = append(keys, t+"="+strconv.FormatInt(p, 10))
	}
	slices.Sort(keys)
	return strconv.FormatInt(b.Room, 10) + " " + strings.Join(keys, " ")
}

// UnreadBounds returns, per room, userID's unread bound. One query.
func (s *Store) UnreadBounds(ctx context.Context, userID string, roomIDs []string) (map[string]UnreadBound, error) {
	out := map[string]UnreadBound{}
	if len(roomIDs) == 0 {
		return out, nil
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT m.room_id, m.stream_pos, COALESCE(r.thread_id, ''), COALESCE(MAX(re.stream_pos), 0)
		FROM chat_memberships m
		LEFT JOIN chat_receipts r ON r.room_id = m.room_id AND r.user_id = m.user_id AND r.receipt_type IN ('m.read', 'm.read.private')
		LEFT JOIN chat_events re ON re.event_id = r.event_id
		WHERE m.user_id = ? AND m.room_id IN (`+placeholders(len(roomIDs))+`)
		GROUP BY m.room_id, m.stream_pos, r.thread_id`), append([]any{userID}, anys(roomIDs)...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var room, thread string
		var member, receipt int64
		if err := rows.Scan(&room, &member, &thread, &receipt); err != nil {
			return nil, err
		}
		b := out[room]
		b.Room = max(b.Room, member)
		if thread == "" {
			b.Room = max(b.Room, receipt)
		} else {
			if b.Threads == nil {
				b.Threads = map[string]int64{}
			}
			b.Threads[thread] = receipt
		}
		out[room] = b
	}
	return out, rows.Err()
}

// Range is a room's stream positions (After, UpTo].
type Range struct {
	RoomID      string
	After, UpTo int64
}

// ThreadedEvent is an event with the thread it is in: the root of the
// thread it replies to (directly, or through up to two more relations,
// e.g. a reaction to a reply; the spec recommends three hops), "" for the
// main timeline, where thread roots themselves are.
type ThreadedEvent struct {
	Event
	Thread string
}

// EventsFrom returns, per range, the first limit events of others than
// userID that are not redacted (a redacted event no longer notifies, as
// on Synapse), oldest first, with their threads: callers page through
// long ranges. One index range per room, each stopping after limit rows.
func (s *Store) EventsFrom(ctx context.Context, userID string, ranges []Range, limit int) (map[string][]ThreadedEvent, error) {
	out := map[string][]ThreadedEvent{}
	// SQLite allows 500 terms in a compound SELECT.
	for len(ranges) > 0 {
		batch := ranges[:min(len(ranges), 200)]
		ranges = ranges[len(batch):]
		var parts []string
		var args []any
		for _, r := range batch {
			parts = append(parts, `SELECT * FROM (SELECT `+eventCols+`,
					CASE WHEN r1.rel_type = 'm.thread' THEN r1.parent_id WHEN r2.rel_type = 'm.thread' THEN r2.parent_id
						WHEN r3.rel_type = 'm.thread' THEN r3.parent_id ELSE '' END AS thread
				FROM chat_events e
				LEFT JOIN chat_relations r1 ON r1.event_id = e.event_id
				LEFT JOIN chat_relations r2 ON r2.event_id = r1.parent_id
				LEFT JOIN chat_relations r3 ON r3.event_id = r2.parent_id
				WHERE e.room_id = ? AND e.stream_pos > ? AND e.stream_pos <= ? AND e.sender <> ? AND e.redacted_because IS NULL
				ORDER BY e.stream_pos LIMIT ?) x`)
			args = append(args, r.RoomID, r.After, r.UpTo, userID, limit)
		}
		rows, err := s.db.Read.QueryContext(ctx, s.q(strings.Join(parts, ` UNION ALL `)+` ORDER BY 1`), args...)
		if err != nil {
			return nil, err
		}
		var threads []string
		evs, err := scanEvents(rows, func() any {
			threads = append(threads, "")
			return &threads[len(threads)-1]
		})
		if err != nil {
			return nil, err
		}
		for i, ev := range evs {
			out[ev.RoomID] = append(out[ev.RoomID], ThreadedEvent{Event: ev, Thread: threads[i]})
		}
	}
	return out, nil
}

// JoinedCounts returns the number of joined members of each room.
func (s *Store) JoinedCounts(ctx context.Context, roomIDs []string) (map[string]int, error) {
	out := map[string]int{}
	if len(roomIDs) == 0 {
		return out, nil
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT room_id, COUNT(*) FROM chat_memberships
		WHERE room_id IN (`+placeholders(len(roomIDs))+`) AND membership = 'join' GROUP BY room_id`), anys(roomIDs)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
