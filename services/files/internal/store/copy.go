package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"bureau/services/files/internal/names"
)

// LiveTree returns the live items below folder (nothing in the trash nor
// below it), each folder before its children, folders first then by name
// within a folder; at most limit+1 items, so that the caller can tell
// "more than limit".
func (s *Store) LiveTree(ctx context.Context, space, folder string, limit int) ([]Node, error) {
	var out []Node
	queue := []string{folder}
	for len(queue) > 0 && len(out) <= limit {
		id := queue[0]
		queue = queue[1:]
		rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+nodeCols+nodeFrom+`
			WHERE n.space_id = ? AND n.parent_id = ? AND n.trashed_at IS NULL
			ORDER BY CASE WHEN n.kind = 'folder' THEN 0 ELSE 1 END, n.name_key, n.id LIMIT ?`), space, id, limit+1-len(out))
		if err != nil {
			return nil, err
		}
		children, err := collectNodes(rows)
		if err != nil {
			return nil, err
		}
		for _, c := range children {
			if c.Kind == KindFolder {
				queue = append(queue, c.ID)
			}
		}
		out = append(out, children...)
	}
	return out, nil
}

// CopyItem is one node of a copy: the new node and, for a file, its
// first version (which may share an existing blob).
type CopyItem struct {
	Node    Node
	Version *Version
}

// InsertCopies inserts the items of a copy, parents before children, in
// one transaction: all or nothing. ErrConflict if a name is taken.
func (s *Store) InsertCopies(ctx context.Context, items []CopyItem) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, it := range items {
			n := it.Node
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO files_nodes (id, space_id, parent_id, kind, name, name_key, created_by, created_at, modified_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				n.ID, n.SpaceID, n.ParentID, n.Kind, n.Name, names.Key(n.Name), n.CreatedBy, ms(n.CreatedAt), ms(n.ModifiedAt))
			if err != nil {
				return conflict(err)
			}
			if v := it.Version; v != nil {
				_, err := tx.ExecContext(ctx, s.q(`INSERT INTO files_versions (id, node_id, blob_key, size, content_type, uploaded_by, created_at, scan_state, scan_signature, scanned_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
					v.ID, n.ID, v.BlobKey, v.Size, v.ContentType, v.UploadedBy, ms(v.CreatedAt), v.Scan, v.ScanSignature, optMS(v.ScannedAt))
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, s.q(`UPDATE files_nodes SET version_id = ?, size = ? WHERE id = ?`), v.ID, v.Size, n.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// VersionsSize returns the bytes of every version of the nodes ids.
func (s *Store) VersionsSize(ctx context.Context, ids []string) (int64, error) {
	var total int64
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		var n int64
		err := s.db.Read.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(size), 0) FROM files_versions WHERE node_id IN `+placeholders(len(batch))), anys(batch)...).Scan(&n)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func placeholders(n int) string { return "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")" }

func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// MoveToSpace moves live node id and everything below it (trashed
// descendants included) from space to another space, under parent with
// name, in one transaction, with the resumable uploads in progress into
// the moved folders; the share links on the moved items go along when
// keepLinks, else are revoked. ErrConflict if the name is taken.
func (s *Store) MoveToSpace(ctx context.Context, from, id, to, parent, name string, ids []string, keepLinks bool, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE files_nodes SET space_id = ?, parent_id = ?, name = ?, name_key = ?, modified_at = ?
			WHERE space_id = ? AND id = ? AND trashed_at IS NULL`), to, parent, name, names.Key(name), ms(at), from, id)
		if err := affected(res, conflict(err)); err != nil {
			return err
		}
		for start := 0; start < len(ids); start += 500 {
			batch := anys(ids[start:min(start+500, len(ids))])
			in := placeholders(len(batch))
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE files_nodes SET space_id = ? WHERE space_id = ? AND id IN `+in), append([]any{to, from}, batch...)...); err != nil {
				return conflict(err)
			}
			links := `UPDATE files_links SET revoked_at = ? WHERE revoked_at IS NULL AND space_id = ? AND node_id IN `
			first := any(ms(at))
			if keepLinks {
				links, first = `UPDATE files_links SET space_id = ? WHERE space_id = ? AND node_id IN `, to
			}
			if _, err := tx.ExecContext(ctx, s.q(links+in), append([]any{first, from}, batch...)...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE files_uploads SET space_id = ? WHERE space_id = ? AND parent_id IN `+in),
				append([]any{to, from}, batch...)...); err != nil {
				return err
			}
		}
		return nil
	})
}
