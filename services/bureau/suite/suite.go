// Package suite runs the whole of Bureau in one process, like `ocis
// server`: the gateway and every service, each on its own loopback port and
// talking over HTTP exactly as they do when deployed apart, sharing only an
// in-process bus and the gateway's identity key.
package suite

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	gwconfig "bureau/gateway/config"
	"bureau/gateway/server"
	"bureau/services/chat"
	"bureau/services/files"
	"bureau/services/meet"
	"bureau/services/platform/bus"
	pconfig "bureau/services/platform/config"
	"bureau/services/platform/identity"
	"bureau/services/platform/service"
)

// EnvPrefix prefixes overrides: BUREAU_GATEWAY_…, BUREAU_CHAT_…
const EnvPrefix = "BUREAU_"

// Config is the all-in-one configuration: one section per component.
type Config struct {
	DataDir string          `yaml:"data_dir" env:"DATA_DIR"`
	Gateway gwconfig.Config `yaml:"gateway" envPrefix:"GATEWAY_"`
	Chat    chat.Config     `yaml:"chat" envPrefix:"CHAT_"`
	Files   files.Config    `yaml:"files" envPrefix:"FILES_"`
	Meet    meet.Config     `yaml:"meet" envPrefix:"MEET_"`
}

// Embedded returns the `make run` defaults: development mode on
// http://localhost:8080, SQLite and files under dataDir, the development
// identity provider with its seeded agents.
func Embedded(dataDir string) Config {
	c := Config{DataDir: dataDir, Gateway: gwconfig.Default()}
	g := &c.Gateway
	g.Mode = "development"
	g.PublicURL = "http://localhost:8080"
	g.Listen = "127.0.0.1:8080"
	g.OpsListen = "127.0.0.1:9091"
	g.Log.Format = "text"
	g.DevIdP.Enabled = true
	g.Ministries = server.DevMinistries()
	c.Chat, c.Files, c.Meet = *chat.Default(), *files.Default(), *meet.Default()
	// One process for every service: meet does not size its threads.
	c.Meet.Media.Threads = "fixed"
	for _, svc := range []*service.Common{&c.Chat.Common, &c.Files.Common, &c.Meet.Common} {
		// Services listen on free loopback ports: only the gateway is
		// reachable, as in a cluster.
		svc.Listen = "127.0.0.1:0"
		svc.ShutdownDrain = 10 * time.Second
	}
	return c
}

// Validate fills what follows from the data directory, then validates
// every section; errors name the section ("gateway.oidc.issuer").
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return pconfig.Errors{{Field: "data_dir", Problem: "is required"}}
	}
	g := &c.Gateway
	if g.Database.URL == "" {
		g.Database.URL = "sqlite://" + filepath.Join(c.DataDir, "gateway.db")
	}
	if g.Identity.PrivateKey == "" && g.Identity.PrivateKeyFile == "" {
		g.Identity.PrivateKeyFile = filepath.Join(c.DataDir, "identity.key")
	}
	if c.Files.Database.URL == "" {
		c.Files.Database.URL = "sqlite://" + filepath.Join(c.DataDir, "files.db")
	}
	if c.Files.Storage.Kind == "" {
		c.Files.Storage.Kind, c.Files.Storage.Dir = "disk", filepath.Join(c.DataDir, "blobs")
	}
	if c.Chat.Database.URL == "" {
		c.Chat.Database.URL = "sqlite://" + filepath.Join(c.DataDir, "chat.db")
	}
	if c.Meet.Database.URL == "" {
		c.Meet.Database.URL = "sqlite://" + filepath.Join(c.DataDir, "meet.db")
	}
	if c.Chat.Media.Storage.Kind == "" {
		c.Chat.Media.Storage.Kind, c.Chat.Media.Storage.Dir = "disk", filepath.Join(c.DataDir, "media")
	}
	if c.Chat.SigningKeyFile == "" {
		c.Chat.SigningKeyFile = filepath.Join(c.DataDir, "chat-signing.key")
	}
	if g.DevIdP.Enabled && g.DevIdP.KeyFile == "" {
		g.DevIdP.KeyFile = filepath.Join(c.DataDir, "devidp-key.pem")
	}
	// Service URLs and the public key are only known at start; placeholders
	// let validation check everything else now.
	for _, up := range []*gwconfig.Upstream{&g.Services.Chat, &g.Services.Files, &g.Services.Meet} {
		if up.URL == "" {
			up.URL = "http://127.0.0.1:1"
		}
	}
	var errs pconfig.Errors
	collect := func(section string, err error) {
		var fe pconfig.Errors
		if errors.As(err, &fe) {
			for _, e := range fe {
				errs = append(errs, pconfig.FieldError{Field: section + "." + e.Field, Problem: e.Problem})
			}
		} else if err != nil {
			errs = append(errs, pconfig.FieldError{Field: section, Problem: err.Error()})
		}
	}
	collect("gateway", g.Validate())
	for _, sv := range []struct {
		name string
		c    *service.Common
		cfg  pconfig.Validatable
	}{{"chat", &c.Chat.Common, &c.Chat}, {"files", &c.Files.Common, &c.Files}, {"meet", &c.Meet.Common, &c.Meet}} {
		if sv.c.PublicURL == "" {
			sv.c.PublicURL = g.PublicURL
		}
		var fe pconfig.Errors
		if err := sv.cfg.Validate(); errors.As(err, &fe) {
			for _, e := range fe {
				// An empty key is filled in at start from the gateway's own.
				if e.Field == "gateway_public_key" && sv.c.GatewayPublicKey == "" {
					continue
				}
				errs = append(errs, pconfig.FieldError{Field: sv.name + "." + e.Field, Problem: e.Problem})
			}
		} else if err != nil {
			errs = append(errs, pconfig.FieldError{Field: sv.name, Problem: err.Error()})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Suite is a running Bureau.
type Suite struct {
	Gateway *server.Gateway
	Bus     bus.Bus
	// URL is the gateway's public URL.
	URL string

	log      *slog.Logger
	gwL, ops net.Listener
	runners  []runner
}

type runner struct {
	name string
	base *service.Base
	svc  service.Runner
	l    net.Listener
}

// Start builds everything and opens the listeners; Run serves.
func Start(ctx context.Context, c Config, log *slog.Logger) (*Suite, error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	s := &Suite{log: log, Bus: bus.NewMemory(bus.MemoryOptions{})}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	var err error
	if s.gwL, err = net.Listen("tcp", c.Gateway.Listen); err != nil {
		return nil, fmt.Errorf("gateway.listen: %w", err)
	}
	if c.Gateway.OpsListen != "" {
		if s.ops, err = net.Listen("tcp", c.Gateway.OpsListen); err != nil {
			return nil, fmt.Errorf("gateway.ops_listen: %w", err)
		}
	}
	priv, err := identity.LoadOrCreatePrivateKey(c.Gateway.Identity.PrivateKeyFile)
	if c.Gateway.Identity.PrivateKey != "" {
		priv, err = identity.DecodePrivateKey(c.Gateway.Identity.PrivateKey)
	}
	if err != nil {
		return nil, fmt.Errorf("gateway.identity: %w", err)
	}
	pub := priv.Public().(ed25519.PublicKey)

	type build func(context.Context, *service.Base) (service.Runner, error)
	services := []struct {
		name   string
		common service.Common
		up     *gwconfig.Upstream
		build  build
	}{
		{"chat", c.Chat.Common, &c.Gateway.Services.Chat, func(ctx context.Context, b *service.Base) (service.Runner, error) { return chat.New(ctx, &c.Chat, b) }},
		{"files", c.Files.Common, &c.Gateway.Services.Files, func(ctx context.Context, b *service.Base) (service.Runner, error) {
			return files.NewWith(ctx, &c.Files, b, files.Options{Bus: s.Bus})
		}},
		{"meet", c.Meet.Common, &c.Gateway.Services.Meet, func(ctx context.Context, b *service.Base) (service.Runner, error) { return meet.New(ctx, &c.Meet, b) }},
	}
	for _, sv := range services {
		base := service.NewWithKey(sv.name, log.With("service", sv.name), pub, sv.common.ShutdownDrain)
		svc, err := sv.build(ctx, base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sv.name, err)
		}
		l, err := net.Listen("tcp", sv.common.Listen)
		if err != nil {
			svc.Close()
			return nil, fmt.Errorf("%s.listen: %w", sv.name, err)
		}
		sv.up.URL = "http://" + l.Addr().String()
		s.runners = append(s.runners, runner{sv.name, base, svc, l})
	}
	if s.Gateway, err = server.New(ctx, c.Gateway, log.With("service", "gateway"), server.Options{Bus: s.Bus}); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	s.URL = strings.TrimRight(c.Gateway.PublicURL, "/")
	ok = true
	return s, nil
}

// Addr is the gateway's listening address.
func (s *Suite) Addr() string { return s.gwL.Addr().String() }

// Run serves until ctx ends, then drains every component.
func (s *Suite) Run(ctx context.Context) error {
	defer s.close()
	var wg sync.WaitGroup
	errs := make([]error, len(s.runners)+1)
	for i, r := range s.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.base.Serve(ctx, r.l, r.svc.Handler())
		}()
	}
	errs[len(s.runners)] = s.Gateway.Run(ctx, s.gwL, s.ops)
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Suite) close() {
	for _, r := range s.runners {
		_ = r.svc.Close()
		_ = r.l.Close()
	}
	if s.Gateway != nil {
		s.Gateway.Close()
	}
	if s.gwL != nil {
		_ = s.gwL.Close()
	}
	if s.ops != nil {
		_ = s.ops.Close()
	}
	_ = s.Bus.Close()
}
