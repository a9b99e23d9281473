package store

import (
	"context"
	"database/sql"
	"errors"
)

// CreateAlias maps alias to roomID; ErrConflict when the alias exists.
func (s *Store) CreateAlias(ctx context.Context, alias, roomID, creator string, now int64) error {
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_room_aliases (alias, room_id, creator, created_ts) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		alias, roomID, creator, now)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// Alias resolves an alias to its room and creator.
func (s *Store) Alias(ctx context.Context, alias string) (roomID, creator string, err error) {
	err = s.db.QueryRowContext(ctx, s.q(`SELECT room_id, creator FROM chat_room_aliases WHERE alias = ?`), alias).Scan(&roomID, &creator)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrNotFound
	}
	return roomID, creator, err
}

// DeleteAlias removes an alias.
func (s *Store) DeleteAlias(ctx context.Context, alias string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM chat_room_aliases WHERE alias = ?`), alias)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RoomAliases lists the aliases of a room.
func (s *Store) RoomAliases(ctx context.Context, roomID string) ([]string, error) {
	return s.strings(ctx, `SELECT alias FROM chat_room_aliases WHERE room_id = ? ORDER BY alias`, roomID)
}

// SetPublished adds a room to the public directory or removes it.
func (s *Store) SetPublished(ctx context.Context, roomID string, published bool) error {
	q := `DELETE FROM chat_public_rooms WHERE room_id = ?`
	if published {
		q = `INSERT INTO chat_public_rooms (room_id) VALUES (?) ON CONFLICT DO NOTHING`
	}
	_, err := s.db.ExecContext(ctx, s.q(q), roomID)
	return err
}

// Published reports whether a room is in the public directory.
func (s *Store) Published(ctx context.Context, roomID string) (bool, error) {
	ids, err := s.strings(ctx, `SELECT room_id FROM chat_public_rooms WHERE room_id = ?`, roomID)
	return len(ids) > 0, err
}

// PublishedRooms lists the rooms of the public directory.
func (s *Store) PublishedRooms(ctx context.Context) ([]string, error) {
	return s.strings(ctx, `SELECT room_id FROM chat_public_rooms ORDER BY room_id`)
}

// RoomsState returns the current state events of the given types of
// several rooms. One query.
func (s *Store) RoomsState(ctx context.Context, roomIDs, types []string) (map[string][]Event, error) {
	if len(roomIDs) == 0 || len(types) == 0 {
		return map[string][]Event{}, nil
	}
	return s.eventsByRoom(ctx, `SELECT `+eventCols+` FROM chat_room_state rs JOIN chat_events e ON e.event_id = rs.event_id
		WHERE rs.room_id IN (`+placeholders(len(roomIDs))+`) AND rs.type IN (`+placeholders(len(types))+`) ORDER BY e.stream_pos`,
		append(anys(roomIDs), anys(types)...)...)
}

// strings runs a query of one text column on the read pool.
func (s *Store) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
