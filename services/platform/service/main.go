package service

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	pconfig "bureau/services/platform/config"
)

// Runner is a built service.
type Runner interface {
	Handler() http.Handler
	Close() error
}

// Main is the body of every service command: flags, config (file + env,
// validated), frame, listener, and SIGINT/SIGTERM for a graceful stop.
// build makes the service from its validated config and frame.
func Main[C pconfig.Validatable](name, envPrefix string, cfg C, common func(C) Common, build func(context.Context, C, *Base) (Runner, error)) {
	path := flag.String("config", os.Getenv(envPrefix+"CONFIG"), "YAML configuration file (env "+envPrefix+"CONFIG)")
	flag.Parse()
	if err := pconfig.Load(*path, envPrefix, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := common(cfg)
	base, err := New(name, c, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	svc, err := build(ctx, cfg, base)
	if err != nil {
		base.Log.Error("start failed", "err", err)
		os.Exit(1)
	}
	defer svc.Close()
	l, err := Listen(c.Listen)
	if err != nil {
		base.Log.Error("start failed", "err", err)
		os.Exit(1)
	}
	if err := base.Serve(ctx, l, svc.Handler()); err != nil {
		base.Log.Error("stopped with error", "err", err)
		os.Exit(1)
	}
}
