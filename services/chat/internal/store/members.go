package store

import "context"

// MemberEvents returns the current member events of users in rooms (the
// pairs that exist). One query.
func (s *Store) MemberEvents(ctx context.Context, roomIDs, userIDs []string) (map[string][]Event, error) {
	if len(roomIDs) == 0 || len(userIDs) == 0 {
		return map[string][]Event{}, nil
	}
	return s.eventsByRoom(ctx, `SELECT `+eventCols+` FROM chat_room_state rs JOIN chat_events e ON e.event_id = rs.event_id
		WHERE rs.room_id IN (`+placeholders(len(roomIDs))+`) AND rs.type = 'm.room.member' AND rs.state_key IN (`+placeholders(len(userIDs))+`)`,
		append(anys(roomIDs), anys(userIDs)...)...)
}

// RoomSummary is what /sync's room summary says.
type RoomSummary struct {
	Joined, Invited int
	Heroes          []string
}

// Summaries returns the member counts of rooms and up to 5 other members
// (joined or invited, by user id) as heroes. Two queries.
func (s *Store) Summaries(ctx context.Context, userID string, roomIDs []string) (map[string]*RoomSummary, error) {
	out := map[string]*RoomSummary{}
	if len(roomIDs) == 0 {
		return out, nil
	}
	for _, id := range roomIDs {
		out[id] = &RoomSummary{Heroes: []string{}}
	}
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT room_id, membership, COUNT(*) FROM chat_memberships
		WHERE room_id IN (`+placeholders(len(roomIDs))+`) AND membership IN ('join', 'invite') GROUP BY room_id, membership`), anys(roomIDs)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, m string
		var n int
		if err := rows.Scan(&id, &m, &n); err != nil {
			return nil, err
		}
		if m == "join" {
			out[id].Joined = n
		} else {
			out[id].Invited = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	heroes, err := s.db.Read.QueryContext(ctx, s.q(`SELECT room_id, user_id FROM (
		SELECT room_id, user_id, ROW_NUMBER() OVER (PARTITION BY room_id ORDER BY user_id) AS rn FROM chat_memberships
		WHERE room_id IN (`+placeholders(len(roomIDs))+`) AND membership IN ('join', 'invite') AND user_id <> ?
	) h WHERE h.rn <= 5 ORDER BY room_id, user_id`), append(anys(roomIDs), userID)...)
	if err != nil {
		return nil, err
	}
	defer heroes.Close()
	for heroes.Next() {
		var id, u string
		if err := heroes.Scan(&id, &u); err != nil {
			return nil, err
		}
		out[id].Heroes = append(out[id].Heroes, u)
	}
	return out, heroes.Err()
}
