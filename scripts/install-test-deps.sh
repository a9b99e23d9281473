#!/usr/bin/env bash
# Installs, idempotently, the real servers the test suite starts on 127.0.0.1:
# Debian packages (Redis, PostgreSQL, ClamAV, coturn, Chromium, nginx, wrk),
# the MinIO server built from the Go module proxy at a pinned pseudo-version
# (cached under $BUREAU_CACHE), and the web app's npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${BUREAU_CACHE:-$HOME/.cache/bureau}
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
mkdir -p "$CACHE/bin"

pkgs=(redis-server postgresql clamav-daemon coturn chromium nginx-light wrk rclone curl ca-certificates)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian may start some daemons on install on other machines; the tests start
# their own instances on free ports, so stop any system-wide ones quietly.
for svc in redis-server postgresql clamav-daemon clamav-freshclam coturn nginx; do
  service "$svc" stop >/dev/null 2>&1 || true
done

if [ ! -x "$CACHE/bin/minio-$MINIO_VERSION" ]; then
  echo "install-test-deps: building MinIO $MINIO_VERSION (a few minutes, cached in $CACHE)"
  GOBIN="$CACHE/gobin" go install "github.com/minio/minio@$MINIO_VERSION"
  mv "$CACHE/gobin/minio" "$CACHE/bin/minio-$MINIO_VERSION"
fi
ln -sf "$CACHE/bin/minio-$MINIO_VERSION" "$CACHE/bin/minio"

if [ -f web/package-lock.json ]; then
  if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    (cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
echo "install-test-deps: ok"
