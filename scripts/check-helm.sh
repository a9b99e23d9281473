#!/usr/bin/env bash
# Checks the Helm chart offline: lint, render with the default values and with
# helm/bureau/ci-values.yaml, then validate what was rendered:
#  - every document parses and has apiVersion, kind and metadata.name;
#  - every known kind decodes strictly (unknown fields are errors) into its
#    k8s.io/api type;
#  - the component configs rendered into ConfigMaps, with the env the
#    Deployments set (Secrets replaced by placeholders), are accepted by the
#    binaries' own loaders (strict YAML + Validate) with ci-values, and
#    refused with field-named errors with the incomplete default values;
#  - deploy/config/*.yaml load likewise.
# The validator is a small Go program generated into a temporary directory
# (not part of the repository), built against the repo's modules.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CHART=helm/bureau
KUBE_VERSION=1.31.0

HELM="$(bash scripts/install-helm.sh | tail -n1)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

step() { echo "check-helm: $*"; }

step "helm lint (default values)"
"$HELM" lint "$CHART" >"$WORK/lint.out" 2>&1 || { cat "$WORK/lint.out"; exit 1; }
step "helm lint (ci-values.yaml, strict)"
"$HELM" lint --strict "$CHART" -f "$CHART/ci-values.yaml" >"$WORK/lint-ci.out" 2>&1 || { cat "$WORK/lint-ci.out"; exit 1; }

step "helm template (default values)"
"$HELM" template bureau "$CHART" --namespace bureau >"$WORK/default.yaml"
step "helm template (ci-values.yaml, --kube-version $KUBE_VERSION)"
"$HELM" template bureau "$CHART" --namespace bureau -f "$CHART/ci-values.yaml" --kube-version "$KUBE_VERSION" >"$WORK/ci.yaml"

step "helm template (deploy/examples/values-interieur.yaml)"
"$HELM" lint --strict "$CHART" -f deploy/examples/values-interieur.yaml >"$WORK/lint-ex.out" 2>&1 || { cat "$WORK/lint-ex.out"; exit 1; }
"$HELM" template bureau "$CHART" --namespace bureau -f deploy/examples/values-interieur.yaml --kube-version "$KUBE_VERSION" >"$WORK/interieur.yaml"
step "helm template (values-interieur with several host-network meet pods)"
MEET_HOSTNET=(--set meet.replicas=3 --set meet.media.hostNetwork=true --set meet.media.advertiseAddress= --set meet.resources.limits.cpu=1)
"$HELM" template bureau "$CHART" --namespace bureau -f deploy/examples/values-interieur.yaml "${MEET_HOSTNET[@]}" --kube-version "$KUBE_VERSION" >"$WORK/hostnet.yaml"
grep -q 'hostNetwork: true' "$WORK/hostnet.yaml" || { echo "check-helm: meet.media.hostNetwork rendered no hostNetwork pod"; exit 1; }
if grep -q 'name: bureau-meet-media' "$WORK/hostnet.yaml"; then echo "check-helm: a media Service rendered for host-network meet pods"; exit 1; fi
if "$HELM" template bureau "$CHART" --namespace bureau -f deploy/examples/values-interieur.yaml --set meet.replicas=2 >/dev/null 2>"$WORK/replicas.err"; then
  echo "check-helm: meet.replicas=2 behind one media Service should fail"; exit 1
fi
grep -q 'meet.media.hostNetwork' "$WORK/replicas.err" || { cat "$WORK/replicas.err"; exit 1; }

# NOTES.txt is not rendered by `helm template`: render a copy as a template.
step "NOTES.txt renders"
cp -r "$CHART" "$WORK/notes-chart"
cp "$CHART/templates/NOTES.txt" "$WORK/notes-chart/NOTES.src"
cat >"$WORK/notes-chart/templates/zz-notes-check.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: notes-check
data:
  notes: |
{{ tpl (.Files.Get "NOTES.src") . | indent 4 }}
YAML
"$HELM" template bureau "$WORK/notes-chart" --show-only templates/zz-notes-check.yaml >/dev/null
"$HELM" template bureau "$WORK/notes-chart" -f "$CHART/ci-values.yaml" --show-only templates/zz-notes-check.yaml >"$WORK/notes.out"
if grep -q "NOT READY" "$WORK/notes.out"; then
  echo "check-helm: ci-values.yaml leaves required settings missing:"; cat "$WORK/notes.out"; exit 1
fi

# Negative checks: the chart refuses what it must refuse.
step "refuses an empty image registry and a bad media service type"
if "$HELM" template bureau "$CHART" --set image.registry= >/dev/null 2>&1; then
  echo "check-helm: rendering with an empty image.registry should fail"; exit 1
fi
if "$HELM" template bureau "$CHART" --set meet.media.serviceType=ClusterIP >/dev/null 2>&1; then
  echo "check-helm: meet.media.serviceType=ClusterIP should fail"; exit 1
fi
if grep -Eq 'image: *"?(docker\.io/|ghcr\.io/|quay\.io/|[a-z0-9-]+/[a-z0-9-]+:)' "$WORK/default.yaml" "$WORK/ci.yaml"; then
  echo "check-helm: an image would be pulled from a public registry"; exit 1
fi

step "building the offline validator"
mkdir -p "$WORK/validate"
cat >"$WORK/validate/go.mod" <<MOD
module bureau.local/helmcheck

go 1.26.0

require (
	bureau/gateway v0.0.0
	bureau/services/chat v0.0.0
	bureau/services/files v0.0.0
	bureau/services/meet v0.0.0
	bureau/services/platform v0.0.0
)

replace (
	bureau/gateway => $ROOT/gateway
	bureau/services/chat => $ROOT/services/chat
	bureau/services/files => $ROOT/services/files
	bureau/services/meet => $ROOT/services/meet
	bureau/services/platform => $ROOT/services/platform
)
MOD
cat gateway/go.sum services/platform/go.sum >"$WORK/validate/go.sum"
cat >"$WORK/validate/main.go" <<'GO_SOURCE'
// Offline checks of rendered Helm manifests (written by scripts/check-helm.sh
// into a temporary directory; not part of the repository).
//
//	validate manifests FILE...     every document parses, has apiVersion,
//	                               kind, metadata.name, and decodes strictly
//	                               into its k8s.io/api type when known
//	validate configs WANT FILE     the ConfigMaps' component configs load
//	                               with Bureau's own config structs and the
//	                               Deployments' env (WANT: ok | fail)
//	validate examples DIR          deploy/config/*.yaml load likewise
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	sigyaml "sigs.k8s.io/yaml"

	gwconfig "bureau/gateway/config"
	"bureau/services/chat"
	"bureau/services/files"
	"bureau/services/meet"
	pconfig "bureau/services/platform/config"
)

func typed(apiVersion, kind string) any {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "v1 Service":
		return &corev1.Service{}
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}
	case "v1 Secret":
		return &corev1.Secret{}
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	}
	return nil
}

type doc struct {
	raw  []byte
	obj  map[string]any
	name string
	kind string
}

func readDocs(path string) ([]doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []doc
	for i := 0; ; i++ {
		var n yaml.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		var m map[string]any
		if err := n.Decode(&m); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", path, i, err)
		}
		if m == nil {
			continue // empty document
		}
		raw, err := yaml.Marshal(&n)
		if err != nil {
			return nil, err
		}
		d := doc{raw: raw, obj: m}
		d.kind, _ = m["kind"].(string)
		if md, ok := m["metadata"].(map[string]any); ok {
			d.name, _ = md["name"].(string)
		}
		out = append(out, d)
	}
	return out, nil
}

func manifests(files []string) error {
	var problems []string
	for _, f := range files {
		docs, err := readDocs(f)
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			return fmt.Errorf("%s: no documents", f)
		}
		kinds := map[string]int{}
		before := len(problems)
		for i, d := range docs {
			where := fmt.Sprintf("%s: document %d (%s %s)", filepath.Base(f), i, d.kind, d.name)
			av, _ := d.obj["apiVersion"].(string)
			if av == "" || d.kind == "" || d.name == "" {
				problems = append(problems, where+": missing apiVersion, kind or metadata.name")
				continue
			}
			if len(d.name) > 63 {
				problems = append(problems, where+": metadata.name longer than 63")
			}
			kinds[d.kind]++
			if t := typed(av, d.kind); t != nil {
				if err := sigyaml.UnmarshalStrict(d.raw, t); err != nil {
					problems = append(problems, where+": "+err.Error())
				}
			} else if d.kind != "ServiceMonitor" {
				problems = append(problems, where+": unexpected kind")
			}
		}
		var ks []string
		for k, n := range kinds {
			ks = append(ks, fmt.Sprintf("%s×%d", k, n))
		}
		sort.Strings(ks)
		if len(problems) > before {
			continue
		}
		fmt.Printf("  %s: %d documents valid (%s)\n", filepath.Base(f), len(docs), strings.Join(ks, " "))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

var pub, seed string

func init() {
	p, k, _ := ed25519.GenerateKey(rand.Reader)
	pub = base64.StdEncoding.EncodeToString(p)
	seed = base64.StdEncoding.EncodeToString(k.Seed())
}

// placeholder stands for a Secret's value in the env of a Deployment.
func placeholder(name, key string) string {
	switch {
	case strings.HasSuffix(name, "GATEWAY_PUBLIC_KEY"):
		return pub
	case strings.HasSuffix(name, "DATABASE_URL"):
		return "postgres://bureau:secret@pg:5432/bureau?sslmode=disable"
	case strings.HasSuffix(name, "REDIS_URL"):
		return "redis://:secret@redis:6379/0"
	}
	return "placeholder-" + key
}

func load(component, file string, env map[string]string) error {
	for k, v := range env {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}
	switch component {
	case "gateway":
		c := gwconfig.Default()
		return pconfig.Load(file, gwconfig.EnvPrefix, &c)
	case "chat":
		return pconfig.Load(file, chat.EnvPrefix, chat.Default())
	case "files":
		return pconfig.Load(file, files.EnvPrefix, files.Default())
	case "meet":
		return pconfig.Load(file, meet.EnvPrefix, meet.Default())
	}
	return fmt.Errorf("unknown component %q", component)
}

func configs(want, file string) error {
	docs, err := readDocs(file)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bureau-cfg")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfgFiles := map[string]string{} // "/etc/bureau/gateway.yaml" -> temp file
	envs := map[string]map[string]string{}
	for _, d := range docs {
		switch d.kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := sigyaml.Unmarshal(d.raw, &cm); err != nil {
				return err
			}
			for k, v := range cm.Data {
				p := filepath.Join(tmp, k)
				if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
					return err
				}
				cfgFiles["/etc/bureau/"+k] = p
			}
		case "Deployment":
			var dep appsv1.Deployment
			if err := sigyaml.Unmarshal(d.raw, &dep); err != nil {
				return err
			}
			for _, c := range dep.Spec.Template.Spec.Containers {
				env := map[string]string{}
				for _, e := range c.Env {
					switch {
					case e.ValueFrom == nil:
						// $(VAR) names a variable defined earlier, as the kubelet expands it.
						env[e.Name] = kubeVar.ReplaceAllStringFunc(e.Value, func(m string) string { return env[m[2:len(m)-1]] })
					case e.ValueFrom.SecretKeyRef != nil:
						env[e.Name] = placeholder(e.Name, e.ValueFrom.SecretKeyRef.Key)
					case e.ValueFrom.FieldRef != nil:
						env[e.Name] = map[string]string{"status.podIP": "10.1.2.3", "status.hostIP": "10.1.0.7", "metadata.name": "bureau-meet-7d9f-abcde"}[e.ValueFrom.FieldRef.FieldPath]
					}
				}
				envs[c.Name] = env
			}
		}
	}
	var failures []string
	for _, comp := range []string{"gateway", "chat", "files", "meet"} {
		env, ok := envs[comp]
		if !ok {
			return fmt.Errorf("no %s Deployment", comp)
		}
		prefix := map[string]string{"gateway": gwconfig.EnvPrefix, "chat": chat.EnvPrefix, "files": files.EnvPrefix, "meet": meet.EnvPrefix}[comp]
		path, ok := cfgFiles[env[prefix+"CONFIG"]]
		if !ok {
			return fmt.Errorf("%s: %sCONFIG=%q is not a rendered ConfigMap file", comp, prefix, env[prefix+"CONFIG"])
		}
		delete(env, prefix+"CONFIG")
		err := load(comp, path, env)
		switch {
		case err == nil && want == "ok":
			fmt.Printf("  %s: config + env accepted by the %s binary's loader\n", filepath.Base(file), comp)
		case err != nil && want == "fail":
			var fe pconfig.Errors
			if !errors.As(err, &fe) {
				failures = append(failures, fmt.Sprintf("%s: want field errors, got %v", comp, err))
				continue
			}
			fmt.Printf("  %s: %s refuses it, as expected: %v\n", filepath.Base(file), comp, err)
		case err != nil:
			failures = append(failures, fmt.Sprintf("%s: %v", comp, err))
		default:
			failures = append(failures, comp+": accepted, want a validation error")
		}
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "\n"))
	}
	return nil
}

// kubeVar is a $(VAR) reference in an env value.
var kubeVar = regexp.MustCompile(`\$\([A-Za-z_][A-Za-z0-9_]*\)`)

func examples(dir string) error {
	env := map[string]map[string]string{
		"gateway": {"BUREAU_GATEWAY_OIDC_CLIENT_SECRET": "placeholder", "BUREAU_GATEWAY_DATABASE_URL": placeholder("DATABASE_URL", ""), "BUREAU_GATEWAY_IDENTITY_PRIVATE_KEY": seed},
		"chat":    {"BUREAU_CHAT_GATEWAY_PUBLIC_KEY": pub},
		"files":   {"BUREAU_FILES_GATEWAY_PUBLIC_KEY": pub},
		"meet":    {"BUREAU_MEET_GATEWAY_PUBLIC_KEY": pub},
	}
	for _, comp := range []string{"gateway", "chat", "files", "meet"} {
		p := filepath.Join(dir, comp+".yaml")
		if err := load(comp, p, env[comp]); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		fmt.Printf("  %s: accepted by the %s loader (strict YAML + validation)\n", p, comp)
	}
	return nil
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: validate manifests FILE... | configs ok|fail FILE | examples DIR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "manifests":
		err = manifests(os.Args[2:])
	case "configs":
		err = configs(os.Args[2], os.Args[3])
	case "examples":
		err = examples(os.Args[2])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate: "+err.Error())
		os.Exit(1)
	}
}
GO_SOURCE
(
  cd "$WORK/validate"
  export GOWORK=off GOFLAGS=-mod=mod
  go get k8s.io/api@v0.37.0 k8s.io/apimachinery@v0.37.0 sigs.k8s.io/yaml@v1.6.0 >"$WORK/go.out" 2>&1 &&
    go mod tidy >>"$WORK/go.out" 2>&1 &&
    go build -o "$WORK/validate-bin" . >>"$WORK/go.out" 2>&1
) || { cat "$WORK/go.out"; exit 1; }
V="$WORK/validate-bin"

step "manifests: parse, apiVersion/kind/metadata.name, strict k8s.io/api decoding"
"$V" manifests "$WORK/default.yaml" "$WORK/ci.yaml" "$WORK/interieur.yaml" "$WORK/hostnet.yaml"
step "rendered configs + env accepted by the binaries' loaders (ci-values, values-interieur)"
"$V" configs ok "$WORK/ci.yaml"
"$V" configs ok "$WORK/interieur.yaml"
"$V" configs ok "$WORK/hostnet.yaml"
step "rendered configs refused with field-named errors (incomplete default values)"
"$V" configs fail "$WORK/default.yaml"
step "deploy/config examples"
"$V" examples deploy/config

echo "check-helm: OK — chart lints, renders (default + ci values), manifests and configs validate"
