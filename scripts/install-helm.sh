#!/usr/bin/env bash
# Installs Helm v3.22.0 (built from source through the Go module proxy) into
#   ${BUREAU_CACHE:-$HOME/.cache/bureau}/bin/helm
# Idempotent: does nothing when the binary is already there at the right version.
# Prints the path of the binary on its last line of stdout.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="${BUREAU_CACHE:-$HOME/.cache/bureau}"
BIN_DIR="$CACHE/bin"
HELM="$BIN_DIR/helm"

log() { echo "install-helm: $*" >&2; }

# A `go install`ed helm reports only "v3.22" (its version string is set by
# ldflags in release builds), so read the module version embedded in the
# binary instead.
have_right_version() {
  [ -x "$HELM" ] || return 1
  if command -v go >/dev/null 2>&1; then
    go version -m "$HELM" 2>/dev/null | grep -Eq "^[[:space:]]+(mod|dep)[[:space:]]+helm\.sh/helm/v3[[:space:]]+$HELM_VERSION([[:space:]]|\$)"
  else
    "$HELM" version >/dev/null 2>&1
  fi
}

if have_right_version; then
  echo "$HELM"
  exit 0
fi

command -v go >/dev/null 2>&1 || { log "go is required to build helm"; exit 1; }
mkdir -p "$BIN_DIR" "$CACHE/gobin"

# Serialise concurrent runs (e.g. `make test` in parallel with a manual run).
exec 9>"$CACHE/install-helm.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if have_right_version; then echo "$HELM"; exit 0; fi

log "building helm $HELM_VERSION (takes a few minutes on a cold module cache)"
if (cd / && GOWORK=off GOBIN="$CACHE/gobin" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2); then
  install -m 0755 "$CACHE/gobin/helm" "$HELM.tmp"
else
  # The proxy may refuse `go install` (refused version list, or replace
  # directives in helm's go.mod). Fall back to a throwaway tools module.
  log "go install failed; using a tools module"
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  (
    cd "$TMP"
    cat > go.mod <<MOD
module bureau.local/tools

go 1.24
MOD
    cat > tools.go <<'GO'
//go:build tools

package tools

import _ "helm.sh/helm/v3/cmd/helm"
GO
    GOWORK=off go get "helm.sh/helm/v3@$HELM_VERSION" >&2
    GOWORK=off go mod tidy >&2
    GOWORK=off go build -o "$HELM.tmp" helm.sh/helm/v3/cmd/helm >&2
  )
fi
mv -f "$HELM.tmp" "$HELM"

if ! have_right_version; then
  log "built $HELM but it does not report $HELM_VERSION"
  "$HELM" version >&2 || true
  exit 1
fi
log "installed $HELM ($HELM_VERSION)"
echo "$HELM"
