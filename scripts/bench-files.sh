#!/usr/bin/env bash
# bench-files: the files service through the real gateway against raw
# MinIO, in one run. Prints figures; never passes or fails on a timing (it
# fails only when a measurement is invalid: a refused request, a wrong size
# or checksum).
#
# Three processes as in production, all on 127.0.0.1: MinIO, the files
# service (bin/files, S3 storage on that MinIO, SQLite metadata unless
# FILES_DB_URL, no antivirus) and the gateway (bin/gateway, development IdP). The bench
# (services/files/cmd/files-bench) signs in as alice through the dev IdP's
# login_hint flow and measures, through the gateway:
#
#   - upload (tus creation + one PATCH) and download of a 1 GiB file, against
#     minio-go straight to the same MinIO (one stream, same part size);
#     MB/s for each and the ratio, ROUNDS rounds alternated; the files
#     service is also measured without the gateway (identity token signed by
#     the bench with the gateway's key), to tell the two hops apart;
#   - time to list a folder of 10 000 files (API pages of 1000, WebDAV
#     PROPFIND depth 1 with an app password);
#   - metadata operations per second (create folder, rename, move; 8 clients).
#
#   scripts/bench-files.sh
#   ROUNDS=3 BENCH_SIZE=268435456 scripts/bench-files.sh
#
# Environment: BENCH_SIZE (bytes, 1073741824), BENCH_FILES (10000),
# BENCH_OPS (2000), ROUNDS (2), PART_SIZE (files upload_part_size and
# minio-go part size, 16777216), FILES_DB_URL (the files metadata database,
# e.g. postgres://…; default a SQLite file in the temp dir), KEEP_TMP=1
# keeps the temp dir (logs).
#
# Besides MB/s, each transfer prints the CPU seconds per GB spent by the
# gateway, files and MinIO processes and by the bench itself, and how many
# cores other work on the machine kept busy meanwhile: on a shared machine
# the CPU cost is the stable figure, the throughput is not.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_SIZE=${BENCH_SIZE:-1073741824}
BENCH_FILES=${BENCH_FILES:-10000}
BENCH_OPS=${BENCH_OPS:-2000}
ROUNDS=${ROUNDS:-2}
PART_SIZE=${PART_SIZE:-16777216}
KEEP_TMP=${KEEP_TMP:-0}

die() { echo "bench-files: $*" >&2; exit 1; }
for v in BENCH_SIZE BENCH_FILES BENCH_OPS ROUNDS PART_SIZE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer, got '${!v}'"
done
for tool in go curl; do command -v "$tool" >/dev/null || die "$tool not found"; done
MINIO=${MINIO:-}
if [[ -z $MINIO ]]; then
  for c in "${BUREAU_CACHE:-$HOME/.cache/bureau}/bin/minio" "$(command -v minio || true)"; do
    [[ -n $c && -x $c ]] && { MINIO=$c; break; }
  done
fi
[[ -n $MINIO ]] || die "minio not found (scripts/install-test-deps.sh installs it)"

TMP=$(mktemp -d /tmp/bench-files.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $KEEP_TMP == 1 || $rc -ne 0 ]]; then
    echo "bench-files: logs kept in $TMP" >&2
    rm -rf "$TMP/minio-data"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench-files: building bin/gateway, bin/files, bin/files-bench"
mkdir -p bin
go build -o bin/gateway ./gateway/cmd/gateway
go build -o bin/files ./services/files/cmd/files
go build -o bin/files-bench ./services/files/cmd/files-bench
go build -o "$TMP/bureau" ./services/bureau/cmd/bureau
KEYS=$("$TMP/bureau" keygen)
PRIV=$(awk '/^private:/ {print $2}' <<<"$KEYS")
PUB=$(awk '/^public:/ {print $2}' <<<"$KEYS")
[[ -n $PRIV && -n $PUB ]] || die "bureau keygen printed no key pair"

source scripts/lib/ports.sh
pick_port MINIO_PORT; pick_port CONSOLE_PORT; pick_port FILES_PORT; pick_port GW_PORT
GW=http://127.0.0.1:$GW_PORT

# --- MinIO ------------------------------------------------------------------
MINIO_USER=bench-files
MINIO_PASS=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASS MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off \
  "$MINIO" server "$TMP/minio-data" --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$CONSOLE_PORT" --quiet \
  >"$TMP/minio.log" 2>&1 &
pids+=($!)
MINIO_PID=${pids[-1]}
wait_http "http://127.0.0.1:$MINIO_PORT/minio/health/live" minio "$MINIO_PID" "$TMP/minio.log"
MINIO_ARGS=(-minio "127.0.0.1:$MINIO_PORT" -access-key "$MINIO_USER" -secret-key "$MINIO_PASS")
bin/files-bench "${MINIO_ARGS[@]}" -make-bucket bureau-files

# --- files service ------------------------------------------------------------
# The environment must not change the bench's configuration.
while read -r v; do unset "$v"; done < <(env | awk -F= '/^BUREAU_(GATEWAY|FILES)_/{print $1}')
BUREAU_FILES_LISTEN=127.0.0.1:$FILES_PORT BUREAU_FILES_PUBLIC_URL=$GW \
  BUREAU_FILES_GATEWAY_PUBLIC_KEY=$PUB BUREAU_FILES_LOG_LEVEL=warn \
  BUREAU_FILES_DATABASE_URL="${FILES_DB_URL:-sqlite://$TMP/files.db}" \
  BUREAU_FILES_STORAGE_KIND=s3 BUREAU_FILES_STORAGE_S3_ENDPOINT=127.0.0.1:$MINIO_PORT \
  BUREAU_FILES_STORAGE_S3_ACCESS_KEY=$MINIO_USER BUREAU_FILES_STORAGE_S3_SECRET_KEY=$MINIO_PASS \
  BUREAU_FILES_STORAGE_S3_BUCKET=bureau-files BUREAU_FILES_UPLOAD_PART_SIZE=$PART_SIZE \
  bin/files >"$TMP/files.log" 2>&1 &
pids+=($!)
FILES_PID=${pids[-1]}
wait_http "http://127.0.0.1:$FILES_PORT/healthz" files "$FILES_PID" "$TMP/files.log"

# --- gateway -------------------------------------------------------------------
mkdir -p "$TMP/web"
echo '<!doctype html><title>bench</title>' >"$TMP/web/index.html"
cat >"$TMP/gateway.yaml" <<EOF
mode: development
public_url: $GW
listen: 127.0.0.1:$GW_PORT
ops_listen: ""
log: {level: warn, format: json}
database: {url: "sqlite://$TMP/gw.db"}
identity: {private_key: "$PRIV"}
dev_idp: {enabled: true, key_file: $TMP/devidp.key}
web: {dir: $TMP/web}
services:
  chat: {url: "http://127.0.0.1:1"}
  files: {url: "http://127.0.0.1:$FILES_PORT"}
  meet: {url: "http://127.0.0.1:1"}
ministries:
  - {id: interieur, name: "Ministère de l'Intérieur", domains: [interieur.gouv.fr], sirets: ["11000001200013"]}
rate_limit: {user_rps: 1000000, user_burst: 1000000, ip_rps: 1000000, ip_burst: 1000000, auth_per_minute: 1000}
EOF
bin/gateway -config "$TMP/gateway.yaml" >"$TMP/gateway.log" 2>&1 &
pids+=($!)
GW_PID=${pids[-1]}
wait_http "$GW/healthz" gateway "$GW_PID" "$TMP/gateway.log"

echo "bench-files: pids gateway=$GW_PID files=$FILES_PID minio=$MINIO_PID; logs in $TMP"
bin/files-bench -url "$GW" "${MINIO_ARGS[@]}" -files-url "http://127.0.0.1:$FILES_PORT" -identity-key "$PRIV" \
  -pids "gateway=$GW_PID,files=$FILES_PID,minio=$MINIO_PID" -bucket bench-raw -size "$BENCH_SIZE" -part-size "$PART_SIZE" -rounds "$ROUNDS" -files "$BENCH_FILES" -ops "$BENCH_OPS"
