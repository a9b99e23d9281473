package store

import (
	"context"
	"database/sql"
)

// Prop is a WebDAV dead property of a node (or of a space's root, keyed
// by the space id).
type Prop struct {
	NS, Name, Lang string
	XML            string // inner XML
}

// Props returns the dead properties of the given keys, by key.
func (s *Store) Props(ctx context.Context, keys []string) (map[string][]Prop, error) {
	out := map[string][]Prop{}
	for start := 0; start < len(keys); start += 500 {
		batch := keys[start:min(start+500, len(keys))]
		rows, err := s.db.Read.QueryContext(ctx, s.q(`SELECT node_id, ns, name, lang, value FROM files_props WHERE node_id IN `+placeholders(len(batch))+` ORDER BY ns, name`),
			anys(batch)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var key string
			var p Prop
			if err := rows.Scan(&key, &p.NS, &p.Name, &p.Lang, &p.XML); err != nil {
				rows.Close()
				return nil, err
			}
			out[key] = append(out[key], p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PatchProps sets and removes dead properties of key in one transaction,
// refusing (false) if key would then hold more than max of them.
func (s *Store) PatchProps(ctx context.Context, key string, set, remove []Prop, max int) (bool, error) {
	ok := true
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, p := range remove {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM files_props WHERE node_id = ? AND ns = ? AND name = ?`), key, p.NS, p.Name); err != nil {
				return err
			}
		}
		for _, p := range set {
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO files_props (node_id, ns, name, lang, value) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (node_id, ns, name) DO UPDATE SET lang = excluded.lang, value = excluded.value`), key, p.NS, p.Name, p.Lang, p.XML)
			if err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM files_props WHERE node_id = ?`), key).Scan(&n); err != nil {
			return err
		}
		if n > max {
			ok = false
			return errRollback
		}
		return nil
	})
	if err == errRollback {
		err = nil
	}
	return ok, err
}

var errRollback = sqlErr("rollback")

type sqlErr string

func (e sqlErr) Error() string { return string(e) }
