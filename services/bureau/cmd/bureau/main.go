// Command bureau runs the whole suite in one process (the embedded default
// of `make run`): gateway, chat, files and meet, with SQLite, local disk,
// an in-process bus and the development identity provider.
// `bureau keygen` prints a new gateway identity key pair for deployments.
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
	"bureau/services/platform/identity"
	"bureau/services/platform/logging"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "keygen" {
		keygen()
		return
	}
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

// keygen prints a new gateway identity key pair: the private seed goes to
// the gateway (identity.private_key), the public key to every service
// (gateway_public_key).
func keygen() {
	pub, priv, err := identity.GenerateKey()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bureau keygen: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("private: %s\npublic: %s\n", identity.EncodePrivateKey(priv), identity.EncodePublicKey(pub))
}
