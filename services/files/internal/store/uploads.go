package store

import (
	"context"
	"database/sql"
	"errors"
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
	// StaleTail is the parts size of a tail object left behind by a part
	// commit (-1: none): deleted with the upload.
	StaleTail int64
	CreatedAt time.Time
	UpdatedAt time.Time
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
	return scanUpload(s.db.QueryRowContext(ctx, s.q(`SELECT `+uploadCols+` FROM files_uploads WHERE id = ? AND user_id = ?`), id, user))
}

const uploadCols = `id, user_id, space_id, parent_id, name, content_type, length, blob_key, multipart_id, parts_size, tail_size, stale_tail, created_at, updated_at`

func scanUpload(row interface{ Scan(...any) error }) (Upload, error) {
	var u Upload
	var created, updated int64
	err := row.Scan(&u.ID, &u.UserID, &u.SpaceID, &u.ParentID, &u.Name, &u.ContentType, &u.Length, &u.BlobKey, &u.MultipartID,
		&u.PartsSize, &u.TailSize, &u.StaleTail, &created, &updated)
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

// Lease errors.
var (
	// ErrBusy: another request (maybe on another replica) holds the
	// upload's lease.
	ErrBusy = errors.New("store: upload busy")
	// ErrOffset: the upload's offset is not the one expected.
	ErrOffset = errors.New("store: offset mismatch")
	// ErrLeaseLost: the lease lapsed and was taken by another request.
	ErrLeaseLost = errors.New("store: upload lease lost")
)

// Lease takes the lease on upload id of user until until, for token,
// if the upload is still at offset (compare-and-set: a PATCH written
// from a stale HEAD loses) and nobody holds an unexpired lease; else
// ErrNotFound, ErrOffset or ErrBusy.
func (s *Store) Lease(ctx context.Context, id, user string, offset int64, token string, now, until time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_uploads SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND user_id = ? AND parts_size + tail_size = ? AND (lease_owner = '' OR lease_until < ?)`),
		token, ms(until), id, user, offset, ms(now))
	if err := affected(res, err); !errors.Is(err, ErrNotFound) {
		return err
	}
	up, err := s.Upload(ctx, id, user)
	switch {
	case err != nil:
		return err
	case up.Offset() != offset:
		return ErrOffset
	}
	return ErrBusy
}

// Renew extends token's lease on upload id; ErrLeaseLost if it lapsed
// and another took it.
func (s *Store) Renew(ctx context.Context, id, token string, until time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_uploads SET lease_until = ? WHERE id = ? AND lease_owner = ?`), ms(until), id, token)
	if err := affected(res, err); errors.Is(err, ErrNotFound) {
		return ErrLeaseLost
	} else {
		return err
	}
}

// Release gives up token's lease on upload id (if still held).
func (s *Store) Release(ctx context.Context, id, token string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE files_uploads SET lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?`), id, token)
	return err
}

// Commit records progress on an upload in one transaction: new parts
// (replacing any of the same number) and the size of the tail — only
// while token holds the upload's lease (ErrLeaseLost otherwise; "" for
// no lease check). staleTail, if not -1, records a tail object the commit
// makes stale (see Upload.StaleTail).
func (s *Store) Commit(ctx context.Context, upload, token string, parts []blob.Part, tailSize, staleTail int64, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, p := range parts {
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO files_upload_parts (upload_id, number, etag, size) VALUES (?, ?, ?, ?)
				ON CONFLICT (upload_id, number) DO UPDATE SET etag = excluded.etag, size = excluded.size`), upload, p.Number, p.ETag, p.Size)
			if err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE files_uploads SET tail_size = ?, updated_at = ?,
			stale_tail = CASE WHEN CAST(? AS BIGINT) >= 0 THEN CAST(? AS BIGINT) ELSE stale_tail END,
			parts_size = (SELECT COALESCE(SUM(size), 0) FROM files_upload_parts WHERE upload_id = ?)
			WHERE id = ? AND (? = '' OR lease_owner = ?)`),
			tailSize, ms(at), staleTail, staleTail, upload, upload, token, token)
		if err := affected(res, err); errors.Is(err, ErrNotFound) && token != "" {
			return ErrLeaseLost
		} else {
			return err
		}
	})
}

// DeleteUpload forgets an upload (its parts go with it).
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM files_uploads WHERE id = ?`), id)
	return err
}
