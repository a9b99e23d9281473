// Command bureau runs the whole suite in one process (the embedded default
// of `make run`): gateway, chat, files and meet, with SQLite, local disk,
// an in-process bus and the development identity provider.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"bureau/services/bureau/suite"
	pconfig "bureau/services/platform/config"
	"bureau/services/platform/logging"
)

func main() {
	path := flag.String("config", os.Getenv("BUREAU_CONFIG"), "YAML configuration file overriding the embedded defaults (env BUREAU_CONFIG)")
	data := flag.String("data", "var", "data directory (SQLite databases, keys, blobs)")
	flag.Parse()
	cfg := suite.Embedded(*data)
	if err := pconfig.Load(*path, suite.EnvPrefix, &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bureau: %v\n", err)
		os.Exit(2)
	}
	log, err := logging.New(os.Stderr, cfg.Gateway.Log.Level, cfg.Gateway.Log.Format)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bureau: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := suite.Start(ctx, cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		os.Exit(1)
	}
	log.Info("Bureau is running", "url", s.URL, "agents", "alice.martin@interieur.gouv.fr, bruno.leroy@interieur.gouv.fr, chloe.bernard@finances.gouv.fr, david.petit@partenaire.example")
	if err := s.Run(ctx); err != nil {
		log.Error("stopped with error", "err", err)
		os.Exit(1)
	}
}
