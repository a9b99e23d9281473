// Package files is the file-sharing service (Resana-style shared spaces):
// personal and team spaces, a tree of folders and files, tus resumable
// uploads straight into S3 multipart uploads, downloads gated by ClamAV.
//
// Layout: internal/api (HTTP) → internal/drive (rules) → internal/store
// (SQL); internal/scan is the antivirus worker, internal/tus and
// internal/names guard the protocol headers and file names.
package files

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"bureau/services/files/internal/api"
	"bureau/services/files/internal/dav"
	"bureau/services/files/internal/drive"
	"bureau/services/files/internal/scan"
	"bureau/services/files/internal/store"
	"bureau/services/platform/antivirus"
	"bureau/services/platform/blob"
	"bureau/services/platform/bus"
	pconfig "bureau/services/platform/config"
	"bureau/services/platform/service"
	"bureau/services/platform/sqldb"
)

// EnvPrefix prefixes the environment overrides (BUREAU_FILES_LISTEN…).
const EnvPrefix = "BUREAU_FILES_"

// Config is the files service configuration.
type Config struct {
	service.Common `yaml:",inline"`
	Database       struct {
		// URL: sqlite:///path/files.db or postgres://…; empty means an
		// in-memory SQLite database, lost at exit (development only).
		URL string `yaml:"url" env:"URL"`
	} `yaml:"database" envPrefix:"DATABASE_"`
	Storage Storage `yaml:"storage" envPrefix:"STORAGE_"`
	ClamAV  struct {
		// Address of clamd (host:port). Empty: no scanning, files are
		// served unscanned (development only; logged at start).
		Address string        `yaml:"address" env:"ADDRESS"`
		Timeout time.Duration `yaml:"timeout" env:"TIMEOUT"`
	} `yaml:"clamav" envPrefix:"CLAMAV_"`
	Redis struct {
		// URL of the Redis carrying the event bus to the gateway; empty:
		// an in-process bus (the all-in-one passes its own).
		URL string `yaml:"url" env:"URL"`
	} `yaml:"redis" envPrefix:"REDIS_"`
	// DownloadOffload: with S3 storage, the gateway fetches the bytes of
	// downloads from the object store itself, through presigned URLs valid
	// a minute, instead of through this service (see package offload; the
	// gateway must then reach storage.s3.endpoint). Authorization, audit
	// and headers stay here.
	DownloadOffload bool `yaml:"download_offload" env:"DOWNLOAD_OFFLOAD"`
	// MaxUploadSize is the largest file, in bytes.
	MaxUploadSize int64 `yaml:"max_upload_size" env:"MAX_UPLOAD_SIZE"`
	// MaxZipSize bounds the bytes of a folder downloaded as a zip stream
	// (0: unlimited).
	MaxZipSize int64 `yaml:"max_zip_size" env:"MAX_ZIP_SIZE"`
	// UploadPartSize is the S3 multipart part size of resumable uploads,
	// and the memory each upload in progress buffers.
	UploadPartSize int64 `yaml:"upload_part_size" env:"UPLOAD_PART_SIZE"`
	// UploadExpiry: a resumable upload untouched this long is abandoned
	// (multipart upload aborted, tail deleted).
	UploadExpiry time.Duration `yaml:"upload_expiry" env:"UPLOAD_EXPIRY"`
	// UploadLease: a PATCH holds a lease on its upload in the database,
	// renewed while it runs, so that replicas never write to one upload at
	// once; after a crash the upload can be resumed once it lapses.
	UploadLease time.Duration `yaml:"upload_lease" env:"UPLOAD_LEASE"`
	// JobsInterval is how often the trash purge and the upload cleanup run.
	JobsInterval time.Duration `yaml:"jobs_interval" env:"JOBS_INTERVAL"`
	// KeepVersions is how many versions of a file are kept, the current
	// one included (0: all).
	KeepVersions int `yaml:"keep_versions" env:"KEEP_VERSIONS"`
	// DefaultQuota is the quota of a space without its own, in bytes
	// (0: unlimited).
	DefaultQuota int64 `yaml:"default_quota" env:"DEFAULT_QUOTA"`
	// AgentQuota bounds the bytes each agent has uploaded across all
	// spaces — every version they uploaded, trash included, plus their
	// uploads in progress (0: unlimited).
	AgentQuota int64 `yaml:"agent_quota" env:"AGENT_QUOTA"`
	// AgentQuotas overrides agent_quota for some agents, by agent id or
	// email (bytes; 0: unlimited).
	AgentQuotas map[string]int64 `yaml:"agent_quotas"`
	// MaxSpaceQuota is the largest quota a space's owner may give it
	// (0: default_quota is the ceiling; both 0: no ceiling).
	MaxSpaceQuota int64 `yaml:"max_space_quota" env:"MAX_SPACE_QUOTA"`
	// InvitationTTL is how long an invitation by email stays valid;
	// inviting the address again renews it.
	InvitationTTL time.Duration `yaml:"invitation_ttl" env:"INVITATION_TTL"`
	// TrashRetention is how long deleted items stay restorable.
	TrashRetention time.Duration `yaml:"trash_retention" env:"TRASH_RETENTION"`
}

// Storage says where the files' bytes go (kind disk or s3; empty means a
// temporary directory, removed at exit: development only).
type Storage = blob.Config

// Default returns the defaults.
func Default() *Config {
	c := &Config{Common: service.DefaultCommon("127.0.0.1:8082")}
	c.ClamAV.Timeout = 30 * time.Second
	c.DownloadOffload = true
	c.MaxUploadSize = 10 << 30
	c.MaxZipSize = 10 << 30
	c.UploadPartSize = 8 << 20
	c.TrashRetention = 30 * 24 * time.Hour
	c.InvitationTTL = 30 * 24 * time.Hour
	c.KeepVersions = 10
	c.UploadExpiry = 24 * time.Hour
	c.UploadLease = 15 * time.Second
	c.JobsInterval = time.Hour
	return c
}

// Validate implements config.Validatable.
func (c *Config) Validate() error {
	var v pconfig.Checker
	c.Common.Check(&v)
	c.Check(&v)
	return v.Err()
}

// Check validates the files settings (not Common's).
func (c *Config) Check(v *pconfig.Checker) {
	if u := c.Database.URL; u != "" && !strings.HasPrefix(u, "sqlite:") && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		v.Fail("database.url", "must be sqlite://PATH or postgres://…")
	}
	c.Storage.Check(v, "storage")
	if c.ClamAV.Address != "" {
		v.Addr("clamav.address", c.ClamAV.Address)
	}
	v.Positive("clamav.timeout", c.ClamAV.Timeout)
	if u := c.Redis.URL; u != "" && !strings.HasPrefix(u, "redis://") && !strings.HasPrefix(u, "rediss://") {
		v.Fail("redis.url", "must start with redis:// or rediss://")
	}
	if c.UploadPartSize < blob.MinPartSize || c.UploadPartSize > 1<<30 {
		v.Fail("upload_part_size", "must be between 5 MiB (5242880) and 1 GiB, got %d", c.UploadPartSize)
	}
	if c.MaxUploadSize <= 0 {
		v.Fail("max_upload_size", "must be positive, got %d", c.MaxUploadSize)
	} else if c.UploadPartSize > 0 && c.MaxUploadSize > c.UploadPartSize*10000 {
		v.Fail("max_upload_size", "exceeds 10000 parts of upload_part_size (%d bytes): raise upload_part_size", c.UploadPartSize*10000)
	}
	v.Positive("trash_retention", c.TrashRetention)
	v.Positive("upload_expiry", c.UploadExpiry)
	v.Positive("upload_lease", c.UploadLease)
	v.Positive("jobs_interval", c.JobsInterval)
	if c.KeepVersions < 0 {
		v.Fail("keep_versions", "must be 0 (all) or positive, got %d", c.KeepVersions)
	}
	if c.DefaultQuota < 0 {
		v.Fail("default_quota", "must be 0 (unlimited) or positive, got %d", c.DefaultQuota)
	}
	if c.MaxZipSize < 0 {
		v.Fail("max_zip_size", "must be 0 (unlimited) or positive, got %d", c.MaxZipSize)
	}
	if c.AgentQuota < 0 {
		v.Fail("agent_quota", "must be 0 (unlimited) or positive, got %d", c.AgentQuota)
	}
	for who, q := range c.AgentQuotas {
		if q < 0 || who == "" {
			v.Fail("agent_quotas", "%q: must be an agent id or email with 0 (unlimited) or a positive quota, got %d", who, q)
		}
	}
	if c.MaxSpaceQuota < 0 {
		v.Fail("max_space_quota", "must be 0 or positive, got %d", c.MaxSpaceQuota)
	}
	v.Positive("invitation_ttl", c.InvitationTTL)
}

// Options are what an embedding program shares with the service.
type Options struct {
	// Bus carries notifications to the gateway; nil: per Redis.URL.
	Bus bus.Bus
}

// Main runs the service alone, configured from the file named by -config
// (or BUREAU_FILES_CONFIG) and the environment, until SIGINT/SIGTERM.
func Main() {
	service.Main("files", EnvPrefix, Default(),
		func(c *Config) service.Common { return c.Common },
		func(ctx context.Context, c *Config, b *service.Base) (service.Runner, error) {
			return New(ctx, c, b)
		})
}

// New builds the service.
func New(ctx context.Context, c *Config, base *service.Base) (service.Runner, error) {
	return NewWith(ctx, c, base, Options{})
}

// NewWith builds the service with what the embedding program shares.
func NewWith(ctx context.Context, c *Config, base *service.Base, opts Options) (_ service.Runner, err error) {
	// The all-in-one validates only Common: check the rest here.
	var v pconfig.Checker
	c.Check(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	r := &runner{}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	log := base.Log

	dsn := c.Database.URL
	if dsn == "" {
		log.Warn("files: database.url is empty: metadata in memory, lost at exit (development only)")
		dsn = "sqlite::memory:"
	}
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	r.closers = append(r.closers, db.Close)
	st, err := store.OpenLog(ctx, db, log)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}

	blobs, err := openStorage(ctx, c.Storage, log, r)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}

	b := opts.Bus
	switch {
	case b != nil:
	case c.Redis.URL != "":
		ropts, err := redis.ParseURL(c.Redis.URL)
		if err != nil {
			return nil, fmt.Errorf("redis.url: %w", err)
		}
		rdb := redis.NewClient(ropts)
		r.closers = append(r.closers, rdb.Close)
		b = bus.NewRedis(rdb, bus.RedisOptions{Prefix: "bureau:bus:"})
		r.closers = append(r.closers, b.Close)
	default:
		log.Warn("files: no bus (redis.url empty): notifications stay in this process")
		b = bus.NewMemory(bus.MemoryOptions{})
		r.closers = append(r.closers, b.Close)
	}

	var worker *scan.Worker
	if c.ClamAV.Address != "" {
		worker = scan.NewWorker(st, blobs, antivirus.New(c.ClamAV.Address, c.ClamAV.Timeout), b, log)
	} else {
		log.Warn("files: clamav.address is empty: uploads are NOT scanned for viruses (development only)")
	}
	wake := func() {}
	if worker != nil {
		wake = worker.Wake
	}
	svc, err := drive.New(st, blobs, drive.Config{
		Offload: c.DownloadOffload, Bus: b, MaxUploadSize: c.MaxUploadSize, MaxZipSize: c.MaxZipSize,
		Quota: c.DefaultQuota, AgentQuota: c.AgentQuota, AgentQuotas: lowerKeys(c.AgentQuotas), MaxSpaceQuota: c.MaxSpaceQuota,
		InvitationTTL: c.InvitationTTL, KeepVersions: c.KeepVersions, PartSize: c.UploadPartSize, UploadLease: c.UploadLease,
		Scanning: worker != nil,
	}, log, wake)
	if err != nil {
		return nil, err
	}
	base.Health.Add("database", st.Ping)
	base.Health.Add("storage", blobs.Ping)

	mux := base.Mux()
	api.Mount(mux, base, svc)
	davh := base.Metrics.Instrument("dav", dav.New(svc, st, log))
	mux.Handle(dav.Prefix, davh)
	mux.Handle(dav.Prefix+"/", davh)
	r.Mux = service.Mux{ServeMux: mux}

	{
		jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); svc.RunJobs(jctx, c.JobsInterval, c.TrashRetention, c.UploadExpiry) }()
		r.closers = append([]func() error{func() error { cancel(); <-done; return nil }}, r.closers...)
	}
	if worker != nil {
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		r.wg.Add(1)
		go func() { defer r.wg.Done(); worker.Run(wctx) }()
		// Stop the worker before anything it uses is closed.
		r.closers = append([]func() error{func() error { cancel(); r.wg.Wait(); return nil }}, r.closers...)
	}
	return r, nil
}

func openStorage(ctx context.Context, s Storage, log *slog.Logger, r *runner) (blob.Store, error) {
	if s.Kind != "" {
		return s.Open(ctx)
	}
	dir, err := os.MkdirTemp("", "bureau-files-")
	if err != nil {
		return nil, err
	}
	log.Warn("files: storage.kind is empty: files in a temporary directory, removed at exit (development only)", "dir", dir)
	r.closers = append(r.closers, func() error { return os.RemoveAll(dir) })
	return blob.NewDisk(dir)
}

// runner is the running service: its routes and what Close releases, in
// order.
type runner struct {
	service.Mux
	wg      sync.WaitGroup
	closers []func() error
	once    sync.Once
}

func (r *runner) Close() error {
	var errs []error
	r.once.Do(func() {
		for _, c := range r.closers {
			errs = append(errs, c())
		}
	})
	return errors.Join(errs...)
}

// lowerKeys returns m with its keys also in lower case: emails compare
// so (ids as written).
func lowerKeys(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, 2*len(m))
	for k, v := range m {
		out[k], out[strings.ToLower(k)] = v, v
	}
	return out
}
