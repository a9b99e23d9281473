package store

import (
	"context"
	"database/sql"
	"errors"
)

// Media states (see migration 00005).
const (
	MediaReserved    = "reserved"
	MediaPending     = "pending"
	MediaClean       = "clean"
	MediaUnscanned   = "unscanned"
	MediaInfected    = "infected"
	MediaUnscannable = "unscannable"
)

// Media is a media repository entry.
type Media struct {
	MediaID, Uploader, ContentType, Filename string
	Size                                     int64
	SHA256, BlobKey, State, Signature        string
	CreatedTS, ExpiresTS                     int64
}

const mediaCols = `media_id, uploader, content_type, filename, size, sha256, blob_key, state, signature, created_ts, expires_ts`

func scanMedia(row interface{ Scan(...any) error }) (Media, error) {
	var m Media
	err := row.Scan(&m.MediaID, &m.Uploader, &m.ContentType, &m.Filename, &m.Size, &m.SHA256, &m.BlobKey, &m.State, &m.Signature, &m.CreatedTS, &m.ExpiresTS)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	return m, err
}

// AddMedia records a new entry.
func (s *Store) AddMedia(ctx context.Context, m Media) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_media (`+mediaCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		m.MediaID, m.Uploader, m.ContentType, m.Filename, m.Size, m.SHA256, m.BlobKey, m.State, m.Signature, m.CreatedTS, m.ExpiresTS)
	return err
}

// Media returns an entry.
func (s *Store) Media(ctx context.Context, mediaID string) (Media, error) {
	return scanMedia(s.db.QueryRowContext(ctx, s.q(`SELECT `+mediaCols+` FROM chat_media WHERE media_id = ?`), mediaID))
}

// FillReservedMedia records the bytes of a reserved entry (asynchronous
// upload); false when the entry is not the uploader's, is already filled,
// or has expired.
func (s *Store) FillReservedMedia(ctx context.Context, m Media, now int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_media SET content_type = ?, filename = ?, size = ?, sha256 = ?, blob_key = ?, state = ?, created_ts = ?, expires_ts = 0
		WHERE media_id = ? AND uploader = ? AND state = ? AND expires_ts >= ?`),
		m.ContentType, m.Filename, m.Size, m.SHA256, m.BlobKey, m.State, now, m.MediaID, m.Uploader, MediaReserved, now)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CountReservedMedia counts the unexpired reservations of a user.
func (s *Store) CountReservedMedia(ctx context.Context, uploader string, now int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM chat_media WHERE uploader = ? AND state = ? AND expires_ts >= ?`), uploader, MediaReserved, now).Scan(&n)
	return n, err
}

// PendingMedia returns up to limit entries awaiting the antivirus, oldest
// first.
func (s *Store) PendingMedia(ctx context.Context, limit int) ([]Media, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+mediaCols+` FROM chat_media WHERE state = ? ORDER BY created_ts LIMIT ?`), MediaPending, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Media
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetMediaScan records the antivirus verdict of a pending entry; false if
// it was not pending (another worker got there first).
func (s *Store) SetMediaScan(ctx context.Context, mediaID, state, signature string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE chat_media SET state = ?, signature = ? WHERE media_id = ? AND state = ?`), state, signature, mediaID, MediaPending)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Thumbnail is a generated thumbnail of a media entry.
type Thumbnail struct {
	MediaID       string
	Width, Height int
	Method        string
	ContentType   string
	Size          int64
	BlobKey       string
}

// Thumbnail returns a generated thumbnail.
func (s *Store) Thumbnail(ctx context.Context, mediaID string, width, height int, method string) (Thumbnail, error) {
	t := Thumbnail{MediaID: mediaID, Width: width, Height: height, Method: method}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT content_type, size, blob_key FROM chat_media_thumbnails
		WHERE media_id = ? AND width = ? AND height = ? AND method = ?`), mediaID, width, height, method).Scan(&t.ContentType, &t.Size, &t.BlobKey)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}

// AddThumbnail records a generated thumbnail (a concurrent identical one
// is kept).
func (s *Store) AddThumbnail(ctx context.Context, t Thumbnail) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO chat_media_thumbnails (media_id, width, height, method, content_type, size, blob_key)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), t.MediaID, t.Width, t.Height, t.Method, t.ContentType, t.Size, t.BlobKey)
	return err
}
