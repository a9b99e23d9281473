package blob

import (
	"context"
	"fmt"

	pconfig "bureau/services/platform/config"
)

// Config is a service's storage section in YAML and environment form, so
// that every service configures the blob store the same way.
type Config struct {
	// Kind is disk or s3; empty leaves the choice to the caller (typically
	// a temporary directory in development).
	Kind string `yaml:"kind" env:"KIND"`
	Dir  string `yaml:"dir" env:"DIR"`
	S3   struct {
		Endpoint  string `yaml:"endpoint" env:"ENDPOINT"`
		AccessKey string `yaml:"access_key" env:"ACCESS_KEY"`
		SecretKey string `yaml:"secret_key" env:"SECRET_KEY"`
		Bucket    string `yaml:"bucket" env:"BUCKET"`
		Region    string `yaml:"region" env:"REGION"`
		UseSSL    bool   `yaml:"use_ssl" env:"USE_SSL"`
		// Prefix is prepended to every key, to share a bucket.
		Prefix string `yaml:"prefix" env:"PREFIX"`
	} `yaml:"s3" envPrefix:"S3_"`
}

// Check validates the section; field names start with prefix
// ("media.storage").
func (c *Config) Check(v *pconfig.Checker, prefix string) {
	switch c.Kind {
	case "":
	case "disk":
		v.Require(prefix+".dir", c.Dir)
	case "s3":
		v.Require(prefix+".s3.endpoint", c.S3.Endpoint)
		v.Require(prefix+".s3.bucket", c.S3.Bucket)
		v.Require(prefix+".s3.access_key", c.S3.AccessKey)
		v.Require(prefix+".s3.secret_key", c.S3.SecretKey)
	default:
		v.OneOf(prefix+".kind", c.Kind, "disk", "s3")
	}
}

// Open opens the configured store; Kind must be disk or s3.
func (c *Config) Open(ctx context.Context) (Store, error) {
	switch c.Kind {
	case "disk":
		return NewDisk(c.Dir)
	case "s3":
		s := c.S3
		return NewS3(ctx, S3Config{
			Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey,
			Bucket: s.Bucket, Region: s.Region, UseSSL: s.UseSSL, Prefix: s.Prefix,
		})
	}
	return nil, fmt.Errorf("blob: storage kind %q: want disk or s3", c.Kind)
}
