package store

import (
	"context"
	"database/sql"
	"time"

	"bureau/services/files/internal/names"
)

// Version is one content of a file.
type Version struct {
	ID            string     `json:"id"`
	NodeID        string     `json:"node_id"`
	BlobKey       string     `json:"-"`
	Size          int64      `json:"size"`
	ContentType   string     `json:"content_type"`
	UploadedBy    string     `json:"uploaded_by"`
	CreatedAt     time.Time  `json:"created_at"`
	Scan          string     `json:"scan"`
	ScanSignature string     `json:"scan_signature,omitempty"`
	ScannedAt     *time.Time `json:"scanned_at,omitempty"`
}

// AddVersion records v as the new current version of the file named name
// in parent, creating the file if the folder has no live item of that
// name. The node v.NodeID is used only when a file is created. A folder of
// that name is ErrConflict; a parent that is not a live folder of the
// space is ErrNotFound.
func (s *Store) AddVersion(ctx context.Context, space, parent, name string, v Version) (Node, error) {
	var nodeID string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if parent != "" {
			var n int
			err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM files_nodes WHERE space_id = ? AND id = ? AND kind = 'folder' AND trashed_at IS NULL`),
				space, parent).Scan(&n)
			if err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
		}
		var kind string
		err := tx.QueryRowContext(ctx, s.q(`SELECT id, kind FROM files_nodes WHERE space_id = ? AND parent_id = ? AND name_key = ? AND trashed_at IS NULL`),
			space, parent, names.Key(name)).Scan(&nodeID, &kind)
		switch {
		case err == sql.ErrNoRows:
			nodeID = v.NodeID
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO files_nodes (id, space_id, parent_id, kind, name, name_key, created_by, created_at, modified_at)
				VALUES (?, ?, ?, 'file', ?, ?, ?, ?, ?)`),
				nodeID, space, parent, name, names.Key(name), v.UploadedBy, ms(v.CreatedAt), ms(v.CreatedAt))
			if err != nil {
				return conflict(err)
			}
		case err != nil:
			return err
		case kind != KindFile:
			return ErrConflict
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO files_versions (id, node_id, blob_key, size, content_type, uploaded_by, created_at, scan_state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			v.ID, nodeID, v.BlobKey, v.Size, v.ContentType, v.UploadedBy, ms(v.CreatedAt), v.Scan)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE files_nodes SET version_id = ?, size = ?, modified_at = ? WHERE id = ?`),
			v.ID, v.Size, ms(v.CreatedAt), nodeID)
		return err
	})
	if err != nil {
		return Node{}, err
	}
	return s.Node(ctx, space, nodeID)
}

// Pending is a version waiting for the antivirus, with what the
// notification of its result needs.
type Pending struct {
	Version
	SpaceID string
	Name    string
}

// PendingScans returns up to limit versions waiting for a scan, oldest
// first.
func (s *Store) PendingScans(ctx context.Context, limit int) ([]Pending, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT v.id, v.node_id, v.blob_key, v.size, v.uploaded_by, n.space_id, n.name
		FROM files_versions v JOIN files_nodes n ON n.id = v.node_id
		WHERE v.scan_state = 'pending' ORDER BY v.created_at, v.id LIMIT ?`), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Pending
	for rows.Next() {
		var p Pending
		if err := rows.Scan(&p.ID, &p.NodeID, &p.BlobKey, &p.Size, &p.UploadedBy, &p.SpaceID, &p.Name); err != nil {
			return nil, err
		}
		p.Scan = ScanPending
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetScan records the verdict on a pending version; false when it was not
// pending any more (another replica scanned it).
func (s *Store) SetScan(ctx context.Context, version, state, signature string, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE files_versions SET scan_state = ?, scan_signature = ?, scanned_at = ?
		WHERE id = ? AND scan_state = 'pending'`), state, signature, ms(at), version)
	if err := affected(res, err); err == ErrNotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// Version returns a version.
func (s *Store) Version(ctx context.Context, id string) (Version, error) {
	var v Version
	var created int64
	var scanned sql.NullInt64
	err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT id, node_id, blob_key, size, content_type, uploaded_by, created_at, scan_state, scan_signature, scanned_at
		FROM files_versions WHERE id = ?`), id).Scan(&v.ID, &v.NodeID, &v.BlobKey, &v.Size, &v.ContentType, &v.UploadedBy, &created, &v.Scan, &v.ScanSignature, &scanned)
	v.CreatedAt = fromMS(created)
	if scanned.Valid {
		t := fromMS(scanned.Int64)
		v.ScannedAt = &t
	}
	return v, notFound(err)
}

const versionCols = `id, node_id, blob_key, size, content_type, uploaded_by, created_at, scan_state, scan_signature, scanned_at`

func scanVersion(row interface{ Scan(...any) error }) (Version, error) {
	var v Version
	var created int64
	var scanned sql.NullInt64
	err := row.Scan(&v.ID, &v.NodeID, &v.BlobKey, &v.Size, &v.ContentType, &v.UploadedBy, &created, &v.Scan, &v.ScanSignature, &scanned)
	v.CreatedAt, v.ScannedAt = fromMS(created), optTime(scanned)
	return v, notFound(err)
}

// Versions lists the versions of a file, newest first.
func (s *Store) Versions(ctx context.Context, node string) ([]Version, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+versionCols+` FROM files_versions WHERE node_id = ? ORDER BY created_at DESC, id DESC`), node)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SetCurrent records v (a new row) as the current version of live file
// node, as a restore does.
func (s *Store) SetCurrent(ctx context.Context, space, node string, v Version) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO files_versions (id, node_id, blob_key, size, content_type, uploaded_by, created_at, scan_state, scan_signature, scanned_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			v.ID, node, v.BlobKey, v.Size, v.ContentType, v.UploadedBy, ms(v.CreatedAt), v.Scan, v.ScanSignature, optMS(v.ScannedAt))
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE files_nodes SET version_id = ?, size = ?, modified_at = ? WHERE space_id = ? AND id = ? AND kind = 'file' AND trashed_at IS NULL`),
			v.ID, v.Size, ms(v.CreatedAt), space, node)
		return affected(res, err)
	})
}

// PruneVersions deletes the versions of node beyond the keep newest (never
// the current one) and returns the blob keys no version uses any more.
func (s *Store) PruneVersions(ctx context.Context, node string, keep int) ([]string, error) {
	var keys []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT v.id, v.blob_key FROM files_versions v JOIN files_nodes n ON n.id = v.node_id
			WHERE v.node_id = ? AND v.id <> n.version_id ORDER BY v.created_at DESC, v.id DESC`), node)
		if err != nil {
			return err
		}
		type vk struct{ id, key string }
		var old []vk
		for i := 1; rows.Next(); i++ { // the current version is the first kept
			var x vk
			if err := rows.Scan(&x.id, &x.key); err != nil {
				rows.Close()
				return err
			}
			if i >= keep {
				old = append(old, x)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, x := range old {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM files_versions WHERE id = ?`), x.id); err != nil {
				return err
			}
		}
		for _, x := range old {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM files_versions WHERE blob_key = ?`), x.key).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				keys = append(keys, x.key)
			}
		}
		return nil
	})
	return keys, err
}
