package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// TrashedBefore returns up to limit items put in the trash before t.
func (s *Store) TrashedBefore(ctx context.Context, t time.Time, limit int) ([]Node, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT `+nodeCols+nodeFrom+`
		WHERE n.trashed_at IS NOT NULL AND n.trashed_at < ? ORDER BY n.trashed_at LIMIT ?`), ms(t), limit)
	if err != nil {
		return nil, err
	}
	return collectNodes(rows)
}

// Subtree returns id and the ids of all its descendants, trashed or not.
func (s *Store) Subtree(ctx context.Context, space, id string) ([]string, error) {
	out := []string{id}
	for i := 0; i < len(out); i++ {
		rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT id FROM files_nodes WHERE space_id = ? AND parent_id = ?`), space, out[i])
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeleteNodes deletes nodes of space for good, with their versions and
// links, and returns the blob keys no version uses any more.
func (s *Store) DeleteNodes(ctx context.Context, space string, ids []string) ([]string, error) {
	var keys []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(ids); start += 500 {
			batch := ids[start:min(start+500, len(ids))]
			in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(batch)), ",") + ")"
			args := make([]any, len(batch))
			for i, id := range batch {
				args[i] = id
			}
			rows, err := tx.QueryContext(ctx, s.q(`SELECT DISTINCT blob_key FROM files_versions WHERE node_id IN `+in), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					rows.Close()
					return err
				}
				keys = append(keys, k)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, q := range []string{`DELETE FROM files_versions WHERE node_id IN `, `DELETE FROM files_links WHERE node_id IN `, `DELETE FROM files_props WHERE node_id IN `} {
				if _, err := tx.ExecContext(ctx, s.q(q+in), args...); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM files_nodes WHERE space_id = ? AND id IN `+in), append([]any{space}, args...)...); err != nil {
				return err
			}
		}
		unused := keys[:0]
		for _, k := range keys {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM files_versions WHERE blob_key = ?`), k).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				unused = append(unused, k)
			}
		}
		keys = unused
		return nil
	})
	return keys, err
}

// StaleUploads returns up to limit uploads not touched since t and not
// leased at now.
func (s *Store) StaleUploads(ctx context.Context, t, now time.Time, limit int) ([]Upload, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+uploadCols+`
		FROM files_uploads WHERE updated_at < ? AND lease_until < ? ORDER BY updated_at LIMIT ?`), ms(t), ms(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
