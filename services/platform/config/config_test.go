package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type sample struct {
	Listen string        `yaml:"listen" env:"LISTEN"`
	Idle   time.Duration `yaml:"idle" env:"IDLE"`
	OIDC   struct {
		Issuer string `yaml:"issuer" env:"ISSUER"`
	} `yaml:"oidc" envPrefix:"OIDC_"`
}

func (s *sample) Validate() error {
	var c Checker
	c.Addr("listen", s.Listen)
	c.Positive("idle", s.Idle)
	c.URL("oidc.issuer", s.OIDC.Issuer)
	return c.Err()
}

func write(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileThenEnv(t *testing.T) {
	p := write(t, "listen: 127.0.0.1:9000\nidle: 30m\noidc:\n  issuer: https://idp.example/api/v2\n")
	t.Setenv("T_OIDC_ISSUER", "https://other.example/api/v2")
	var s sample
	if err := Load(p, "T_", &s); err != nil {
		t.Fatal(err)
	}
	if s.Listen != "127.0.0.1:9000" || s.Idle != 30*time.Minute || s.OIDC.Issuer != "https://other.example/api/v2" {
		t.Fatalf("got %+v", s)
	}
}

func TestUnknownFieldNamed(t *testing.T) {
	p := write(t, "listen: 127.0.0.1:9000\nidle: 1m\nlisten_adress: x\n")
	var s sample
	err := Load(p, "T_", &s)
	if err == nil || !strings.Contains(err.Error(), "listen_adress") {
		t.Fatalf("want error naming listen_adress, got %v", err)
	}
}

func TestValidationNamesFields(t *testing.T) {
	p := write(t, "listen: nope\noidc:\n  issuer: ftp://x\n")
	var s sample
	err := Load(p, "T_", &s)
	var fe Errors
	if !errors.As(err, &fe) || len(fe) != 3 {
		t.Fatalf("want 3 field errors, got %v", err)
	}
	for _, f := range []string{"listen", "idle", "oidc.issuer"} {
		if !strings.Contains(err.Error(), f+":") {
			t.Errorf("error does not name %s: %v", f, err)
		}
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	p := write(t, "")
	s := sample{Listen: "127.0.0.1:1", Idle: time.Second}
	if err := Load(p, "T_", &s); err != nil {
		t.Fatal(err)
	}
}
