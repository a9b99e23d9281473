package store

import "context"

// LastRedactions returns the stream position of the latest redaction of
// each room that has one: whatever was derived from the room's events
// before it (cached unread counts, on any replica) may count an event
// that is now redacted. One index lookup per room (chat_events_state).
func (s *Store) LastRedactions(ctx context.Context, roomIDs []string) (map[string]int64, error) {
	out := map[string]int64{}
	err := inBatches(roomIDs, func(part []string) error {
		rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT room_id, MAX(stream_pos) FROM chat_events
			WHERE room_id IN (`+placeholders(len(part))+`) AND type = 'm.room.redaction' AND state_key IS NULL GROUP BY room_id`), anys(part)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var room string
			var pos int64
			if err := rows.Scan(&room, &pos); err != nil {
				return err
			}
			out[room] = pos
		}
		return rows.Err()
	})
	return out, err
}
