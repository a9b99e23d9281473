package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	pconfig "bureau/services/platform/config"
)

func load(t *testing.T, yaml string, env map[string]string) error {
	p := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	c := Default()
	return pconfig.Load(p, EnvPrefix, &c)
}

const prod = `
public_url: https://bureau.interieur.gouv.fr
database: {url: "postgres://bureau@db/bureau"}
redis: {url: "redis://redis:6379/0"}
oidc:
  issuer: https://auth.agentconnect.gouv.fr/api/v2
  client_id: bureau
identity: {private_key_file: /secrets/identity/private}
services:
  chat: {url: "http://chat:8080"}
  files: {url: "http://files:8080"}
  meet: {url: "http://meet:8080"}
ministries:
  - {id: interieur, name: "Ministère de l'Intérieur", domains: [interieur.gouv.fr]}
`

func TestProductionConfigWithSecretFromEnv(t *testing.T) {
	if err := load(t, prod, map[string]string{"BUREAU_GATEWAY_OIDC_CLIENT_SECRET": "s3cret"}); err != nil {
		t.Fatalf("valid production config refused: %v", err)
	}
}

func TestValidationNamesTheFields(t *testing.T) {
	cases := map[string]struct {
		yaml  string
		env   map[string]string
		field string
	}{
		"missing client secret":        {prod, nil, "oidc.client_secret"},
		"dev idp in production":        {prod + "dev_idp: {enabled: true}\n", map[string]string{"BUREAU_GATEWAY_OIDC_CLIENT_SECRET": "x"}, "dev_idp.enabled"},
		"plain http in production":     {strings.Replace(prod, "https://bureau", "http://bureau", 1), map[string]string{"BUREAU_GATEWAY_OIDC_CLIENT_SECRET": "x"}, "public_url"},
		"development on a public host": {prod + "mode: development\n", map[string]string{"BUREAU_GATEWAY_OIDC_CLIENT_SECRET": "x"}, "mode"},
		"bad redis url":                {prod, map[string]string{"BUREAU_GATEWAY_OIDC_CLIENT_SECRET": "x", "BUREAU_GATEWAY_REDIS_URL": "localhost:6379"}, "redis.url"},
		"token ttl too long":           {prod, map[string]string{"BUREAU_GATEWAY_OIDC_CLIENT_SECRET": "x", "BUREAU_GATEWAY_IDENTITY_TOKEN_TTL": "5m"}, "identity.token_ttl"},
		"bad trusted proxy":            {prod + "trusted_proxies: [10.0.0.0/33]\n", map[string]string{"BUREAU_GATEWAY_OIDC_CLIENT_SECRET": "x"}, "trusted_proxies[0]"},
		"misspelt key":                 {prod + "sesion: {idle_timeout: 1m}\n", map[string]string{"BUREAU_GATEWAY_OIDC_CLIENT_SECRET": "x"}, "sesion"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := load(t, c.yaml, c.env)
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("want an error naming %q, got %v", c.field, err)
			}
		})
	}
}
