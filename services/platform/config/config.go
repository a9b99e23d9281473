// Package config loads a service's configuration: one YAML file, then
// environment overrides, then validation whose errors name the field.
//
// YAML is decoded strictly (an unknown or misspelt key is an error, not a
// silently ignored setting). Environment variables are declared on the
// struct fields with `env` tags and a per-service prefix (caarlos0/env), so
// a Kubernetes deployment can override any setting without a file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"
)

// Validatable is implemented by every service configuration.
type Validatable interface {
	Validate() error
}

// Load fills dst from the YAML file at path (skipped when path is empty),
// then from environment variables with the given prefix (e.g. "BUREAU_"),
// then validates it.
func Load(path, envPrefix string, dst Validatable) error {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		// An empty file (io.EOF) means "all defaults".
		if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("config: %s: %w", path, err)
		}
	}
	if err := env.ParseWithOptions(dst, env.Options{Prefix: envPrefix}); err != nil {
		return fmt.Errorf("config: environment: %w", err)
	}
	return dst.Validate()
}

// FieldError is one invalid setting, named by its YAML path.
type FieldError struct {
	Field   string
	Problem string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Problem }

// Errors collects every invalid field, so an operator fixes them in one go.
type Errors []FieldError

func (e Errors) Error() string {
	parts := make([]string, len(e))
	for i, fe := range e {
		parts[i] = fe.Error()
	}
	return "invalid configuration: " + strings.Join(parts, "; ")
}

// Checker accumulates field errors during Validate.
type Checker struct{ errs Errors }

// Fail records a problem with field.
func (c *Checker) Fail(field, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// Require fails when value is empty.
func (c *Checker) Require(field, value string) {
	if strings.TrimSpace(value) == "" {
		c.Fail(field, "is required")
	}
}

// URL fails when value is set but not an absolute http(s) URL.
func (c *Checker) URL(field, value string) {
	if value == "" {
		return
	}
	u, err := url.Parse(value)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.Fail(field, "must be an absolute http(s) URL, got %q", value)
	}
}

// OneOf fails when value is not one of the allowed ones.
func (c *Checker) OneOf(field, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	c.Fail(field, "must be one of %s, got %q", strings.Join(allowed, ", "), value)
}

// Positive fails when d is not > 0.
func (c *Checker) Positive(field string, d time.Duration) {
	if d <= 0 {
		c.Fail(field, "must be a positive duration, got %s", d)
	}
}

// Addr fails when value is not host:port.
func (c *Checker) Addr(field, value string) {
	if value == "" {
		c.Fail(field, "is required (host:port)")
		return
	}
	if i := strings.LastIndex(value, ":"); i < 0 || i == len(value)-1 {
		c.Fail(field, "must be host:port, got %q", value)
	}
}

// Err returns the collected errors, or nil.
func (c *Checker) Err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}
