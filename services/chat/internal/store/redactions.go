package store

import "context"

// LastRedactions returns the stream position of the latest redaction of
// each room that has one: whatever was derived from the room's events
// before it (cached unread counts, on any replica) may count an event
// that is now redacted. One index lookup per room (chat_events_state).
func (s *Store) LastRedactions(ctx context.Context, roomIDs []string) (map[string]int64, error) {
	out := map[string]int64{}
	for len(roomIDs) > 0 {
		batch := roomIDs[:min(len(roomIDs), 200)]
		roomIDs = roomIDs[len(batch):]
		rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT room_id, MAX(stream_pos) FROM chat_events
			WHERE room_id IN (`+placeholders(len(batch))+`) AND type = 'm.room.redaction' AND state_key IS NULL GROUP BY room_id`), anys(batch)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var room string
			var pos int64
			if err := rows.Scan(&room, &pos); err != nil {
				rows.Close()
				return nil, err
			}
			out[room] = pos
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
