// Package directory records every agent who signs in (profile and ministry
// from the ProConnect claims) and answers name or email prefix searches for
// the web app and the services.
package directory

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"strings"
	"time"

	"bureau/services/platform/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Agent is one directory entry.
type Agent struct {
	ID                 string `json:"id"`
	Issuer             string `json:"-"`
	Subject            string `json:"-"`
	Email              string `json:"email"`
	GivenName          string `json:"given_name"`
	UsualName          string `json:"usual_name"`
	Ministry           string `json:"ministry,omitempty"`
	SIRET              string `json:"siret,omitempty"`
	UID                string `json:"-"`
	IdPID              string `json:"-"`
	OrganizationalUnit string `json:"organizational_unit,omitempty"`
	External           bool   `json:"external"`
}

// ErrNotFound is returned for an unknown agent.
var ErrNotFound = errors.New("directory: agent not found")

// Directory is the agents table.
type Directory struct {
	db  *sqldb.DB
	now func() time.Time
}

// Open migrates the schema and returns the directory.
func Open(ctx context.Context, db *sqldb.DB) (*Directory, error) {
	if err := db.Migrate(ctx, "gateway", migrations, "migrations"); err != nil {
		return nil, err
	}
	return &Directory{db: db, now: time.Now}, nil
}

// Record inserts or refreshes an agent at sign-in.
func (d *Directory) Record(ctx context.Context, a Agent) error {
	now := d.now().UnixMilli()
	given, usual := strings.TrimSpace(a.GivenName), strings.TrimSpace(a.UsualName)
	_, err := d.db.ExecContext(ctx, d.db.Rebind(`
		INSERT INTO gateway_agents (id, issuer, subject, email, email_lc, given_name, usual_name, name_lc, name_rev_lc,
			ministry, siret, uid, idp_id, organizational_unit, external, created_at, last_login_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			email = excluded.email, email_lc = excluded.email_lc,
			given_name = excluded.given_name, usual_name = excluded.usual_name,
			name_lc = excluded.name_lc, name_rev_lc = excluded.name_rev_lc,
			ministry = excluded.ministry, siret = excluded.siret, uid = excluded.uid,
			idp_id = excluded.idp_id, organizational_unit = excluded.organizational_unit,
			external = excluded.external, last_login_at = excluded.last_login_at`),
		a.ID, a.Issuer, a.Subject, a.Email, strings.ToLower(a.Email), given, usual,
		fold(given+" "+usual), fold(usual+" "+given),
		a.Ministry, a.SIRET, a.UID, a.IdPID, a.OrganizationalUnit, a.External, now, now)
	return err
}

const columns = `id, issuer, subject, email, given_name, usual_name, ministry, siret, uid, idp_id, organizational_unit, external`

func scan(row interface{ Scan(...any) error }) (Agent, error) {
	var a Agent
	err := row.Scan(&a.ID, &a.Issuer, &a.Subject, &a.Email, &a.GivenName, &a.UsualName, &a.Ministry,
		&a.SIRET, &a.UID, &a.IdPID, &a.OrganizationalUnit, &a.External)
	return a, err
}

// Get returns one agent by id.
func (d *Directory) Get(ctx context.Context, id string) (Agent, error) {
	a, err := scan(d.db.Read.QueryRowContext(ctx, d.db.Rebind(`SELECT `+columns+` FROM gateway_agents WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// Search finds ministry agents whose email, "given usual" or "usual given"
// name starts with q, plus an external partner only on an exact email match
// (partners are met through invitations, not browsed). Results are ordered
// by name; at most limit.
func (d *Directory) Search(ctx context.Context, q string, limit int) ([]Agent, error) {
	q = fold(q)
	if q == "" {
		return []Agent{}, nil
	}
	if limit <= 0 || limit > 50 {
		limit = 20
	}
	p := escapeLike(q) + "%"
	rows, err := d.db.Read.QueryContext(ctx, d.db.Rebind(`
		SELECT `+columns+` FROM gateway_agents
		WHERE (external = FALSE AND (email_lc LIKE ? ESCAPE '\' OR name_lc LIKE ? ESCAPE '\' OR name_rev_lc LIKE ? ESCAPE '\'))
		   OR email_lc = ?
		ORDER BY usual_name, given_name, email LIMIT ?`), p, p, p, q, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Agent{}
	for rows.Next() {
		a, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// fold lowercases and collapses spaces so "  Alice   MARTIN" finds "alice martin".
func fold(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
