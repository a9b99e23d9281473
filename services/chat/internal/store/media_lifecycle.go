package store

import (
	"context"
	"fmt"
)

// MediaDeleting is an entry whose blobs are being deleted (expired
// reservation or past the retention): never served again.
const MediaDeleting = "deleting"

// MediaUsage returns the bytes that uploader's media hold in the blob
// store (pending, clean and unscanned entries; infected ones are deleted).
func (s *Store) MediaUsage(ctx context.Context, uploader string) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(size), 0) FROM chat_media WHERE uploader = ? AND state IN (?, ?, ?)`),
		uploader, MediaPending, MediaClean, MediaUnscanned).Scan(&n)
	return n, err
}

// MarkMediaDeleting marks for deletion up to limit entries: reservations
// never filled that expired before now, and (createdBefore > 0) entries
// created before createdBefore. It returns how many it marked.
func (s *Store) MarkMediaDeleting(ctx context.Context, now, createdBefore int64, limit int) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_media SET state = ? WHERE state <> ? AND media_id IN (
		SELECT media_id FROM chat_media WHERE state <> ? AND ((state = ? AND expires_ts < ?) OR created_ts < ?) LIMIT ?)`),
		MediaDeleting, MediaDeleting, MediaDeleting, MediaReserved, now, createdBefore, limit)
	if err != nil {
		return 0, fmt.Errorf("store: mark media deleting: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeletingMedia returns up to limit entries marked for deletion, with the
// blob keys of each one's bytes and thumbnails.
func (s *Store) DeletingMedia(ctx context.Context, limit int) (map[string][]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT m.media_id, m.blob_key, t.blob_key FROM
		(SELECT media_id, blob_key FROM chat_media WHERE state = ? ORDER BY media_id LIMIT ?) m
		LEFT JOIN chat_media_thumbnails t ON t.media_id = m.media_id`), MediaDeleting, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id, key string
		var thumb *string
		if err := rows.Scan(&id, &key, &thumb); err != nil {
			return nil, err
		}
		keys, seen := out[id]
		if !seen && key != "" {
			keys = append(keys, key)
		}
		if thumb != nil {
			keys = append(keys, *thumb)
		}
		out[id] = keys // listed even without blobs (a reservation)
	}
	return out, rows.Err()
}

// DeleteMedia removes an entry marked for deletion and its thumbnails,
// once their blobs are gone.
func (s *Store) DeleteMedia(ctx context.Context, mediaID string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM chat_media_thumbnails WHERE media_id = ?`), mediaID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM chat_media WHERE media_id = ? AND state = ?`), mediaID, MediaDeleting); err != nil {
		return err
	}
	return tx.Commit()
}

// QueueUnscannedMedia puts the entries stored while scanning was off back
// in the scan queue (scanning is on again): nothing is served unscanned
// while an antivirus is configured. It returns how many.
func (s *Store) QueueUnscannedMedia(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_media SET state = ? WHERE state = ?`), MediaPending, MediaUnscanned)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CountPendingMedia counts the entries waiting for the antivirus.
func (s *Store) CountPendingMedia(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM chat_media WHERE state = ?`), MediaPending).Scan(&n)
	return n, err
}
