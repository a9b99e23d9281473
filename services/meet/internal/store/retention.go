package store

import (
	"context"
	"database/sql"
	"time"
)

// Ban records that subject (a user id or a guest id) was removed from a
// room: they cannot come back while the room exists.
func (s *Store) Ban(ctx context.Context, roomID, subject, by string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO meet_bans (room_id, subject, created_by, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		roomID, subject, by, at.UnixMilli())
	return err
}

// Used records that the meeting was in use at (someone just left it).
func (s *Store) Used(ctx context.Context, id string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE meet_rooms SET last_used_at = ? WHERE id = ?`), at.UnixMilli(), id)
	return err
}

// Purge deletes the meetings over before cutoff, with their people,
// guest links, bans and admissions: cancelled before cutoff, or neither scheduled to
// end nor used (created, changed, left) since cutoff. It returns how many
// meetings it deleted.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int, error) {
	c := cutoff.UnixMilli()
	const old = `SELECT id FROM meet_rooms WHERE (cancelled_at IS NOT NULL AND cancelled_at < ?)
		OR (cancelled_at IS NULL AND COALESCE(ends_at, 0) < ? AND COALESCE(last_used_at, updated_at) < ? AND updated_at < ?)`
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Children first: the cascade is not relied upon.
		for _, table := range []string{"meet_room_people", "meet_guest_links", "meet_bans", "meet_admissions"} {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE room_id IN (`+old+`)`), c, c, c, c); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM meet_rooms WHERE id IN (`+old+`)`), c, c, c, c)
		if err != nil {
			return err
		}
		m, _ := res.RowsAffected()
		n = int(m)
		return nil
	})
	return n, err
}
