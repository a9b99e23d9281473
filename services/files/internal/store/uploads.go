package store

import (
	"context"
	"database/sql"
	"time"

	"bureau/services/platform/blob"
)

// Upload is a resumable upload in progress. Offset() bytes have been
// received: PartsSize in the multipart upload's parts, TailSize in the
// tail object.
type Upload struct {
	ID          string
	UserID      string
	SpaceID     string
	ParentID    string
	Name        string
	ContentType string
	Length      int64
	BlobKey     string
	MultipartID string
	PartsSize   int64
	TailSize    int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Offset is the number of bytes received.
func (u Upload) Offset() int64 { return u.PartsSize + u.TailSize }

// CreateUpload records a new upload.
func (s *Store) CreateUpload(ctx context.Context, u Upload) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO files_uploads (id, user_id, space_id, parent_id, name, content_type, length, blob_key, multipart_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.UserID, u.SpaceID, u.ParentID, u.Name, u.ContentType, u.Length, u.BlobKey, u.MultipartID, ms(u.CreatedAt), ms(u.CreatedAt))
	return err
}

// Upload returns upload id of user (ErrNotFound for anyone else's).
func (s *Store) Upload(ctx context.Context, id, user string) (Upload, error) {
	var u Upload
	var created, updated int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, user_id, space_id, parent_id, name, content_type, length, blob_key, multipart_id, parts_size, tail_size, created_at, updated_at
		FROM files_uploads WHERE id = ? AND user_id = ?`), id, user).Scan(
		&u.ID, &u.UserID, &u.SpaceID, &u.ParentID, &u.Name, &u.ContentType, &u.Length, &u.BlobKey, &u.MultipartID, &u.PartsSize, &u.TailSize, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return u, notFound(err)
}

// Parts returns the parts committed to an upload, by number.
func (s *Store) Parts(ctx context.Context, upload string) ([]blob.Part, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT number, etag, size FROM files_upload_parts WHERE upload_id = ? ORDER BY number`), upload)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []blob.Part
	for rows.Next() {
		var p blob.Part
		if err := rows.Scan(&p.Number, &p.ETag, &p.Size); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Commit records progress on an upload in one transaction: new parts
// (replacing any of the same number) and the size of the tail.
func (s *Store) Commit(ctx context.Context, upload string, parts []blob.Part, tailSize int64, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, p := range parts {
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO files_upload_parts (upload_id, number, etag, size) VALUES (?, ?, ?, ?)
				ON CONFLICT (upload_id, number) DO UPDATE SET etag = excluded.etag, size = excluded.size`), upload, p.Number, p.ETag, p.Size)
			if err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE files_uploads SET tail_size = ?, updated_at = ?,
			parts_size = (SELECT COALESCE(SUM(size), 0) FROM files_upload_parts WHERE upload_id = ?) WHERE id = ?`),
			tailSize, ms(at), upload, upload)
		return affected(res, err)
	})
}

// DeleteUpload forgets an upload (its parts go with it).
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM files_uploads WHERE id = ?`), id)
	return err
}
