// Command gateway runs the Bureau gateway alone: ProConnect login,
// sessions, routing to the services, real-time events.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"bureau/gateway/config"
	"bureau/gateway/server"
	pconfig "bureau/services/platform/config"
	"bureau/services/platform/logging"
)

func main() {
	path := flag.String("config", os.Getenv(config.EnvPrefix+"CONFIG"), "YAML configuration file (env "+config.EnvPrefix+"CONFIG)")
	flag.Parse()
	cfg := config.Default()
	if err := pconfig.Load(*path, config.EnvPrefix, &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "gateway: %v\n", err)
		os.Exit(2)
	}
	log, err := logging.New(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gateway: log: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, err := server.New(ctx, cfg, log, server.Options{})
	if err != nil {
		log.Error("start failed", "err", err)
		os.Exit(1)
	}
	defer g.Close()
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		log.Error("start failed", "err", err)
		os.Exit(1)
	}
	var ops net.Listener
	if cfg.OpsListen != "" {
		if ops, err = net.Listen("tcp", cfg.OpsListen); err != nil {
			log.Error("start failed", "err", err)
			os.Exit(1)
		}
	}
	if err := g.Run(ctx, l, ops); err != nil {
		log.Error("stopped with error", "err", err)
		os.Exit(1)
	}
}
