package sqldb

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// Migrate applies the pending goose migrations found in directory dir of
// migrations (usually an embed.FS), recording them in the table
// goose_version_<service>: with a version table per service, several
// services can share one PostgreSQL database (their own tables must then
// not collide: prefix them with the service name).
//
// On PostgreSQL, concurrent replicas of one service serialize on an
// advisory lock derived from the service name; on SQLite the single writer
// connection does the same.
func (db *DB) Migrate(ctx context.Context, service string, migrations fs.FS, dir string) error {
	if !serviceName.MatchString(service) {
		return fmt.Errorf("sqldb: migrate: service name %q must match %s", service, serviceName)
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", service, err)
	}
	table := "goose_version_" + service
	opts := []goose.ProviderOption{
		goose.WithTableName(table),
		// Go migrations registered globally by another service linked
		// into the same binary must not run here.
		goose.WithDisableGlobalRegistry(true),
	}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
		h := fnv.New64a()
		h.Write([]byte(table))
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64() >> 1)))
		if err != nil {
			return fmt.Errorf("sqldb: migrate %s: %w", service, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.DB, sub, opts...)
	if err != nil {
		return fmt.Errorf("sqldb: migrate %s from %s: %w", service, dir, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqldb: migrate %s: %w", service, err)
	}
	return nil
}
