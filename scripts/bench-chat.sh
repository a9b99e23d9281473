#!/usr/bin/env bash
# bench-chat: the chat service's benchmark from the issue. 20 agents in 5
# rooms each send 50 messages (concurrency 10) while an observer long-polls
# /sync; prints msg/s, send latency and send→observer delivery latency
# p50/p95/p99, messages lost, the server's CPU seconds and RSS, and the time
# of a full initial sync. The chat service runs as its own process, first on
# SQLite, then on a PostgreSQL started here (initdb as the postgres user when
# run as root, as services/platform/testenv does).
#
#   scripts/bench-chat.sh                 # both engines
#   ENGINES=sqlite scripts/bench-chat.sh
#
# Environment: ENGINES (sqlite postgres), AGENTS (20), ROOMS (5),
# MESSAGES (50), CONCURRENCY (10), PG_BIN (/usr/lib/postgresql/15/bin),
# KEEP_TMP=1 keeps the temp dir (logs, databases).
#
# Reference, Dendrite 0.15.2 on a 2-core machine, same scenario: SQLite
# 29.7 msg/s, delivery p50/p99 801/2339 ms, 288 MB RSS; PostgreSQL 14.9
# msg/s, delivery p99 5603 ms.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINES=${ENGINES:-sqlite postgres}
AGENTS=${AGENTS:-20}
ROOMS=${ROOMS:-5}
MESSAGES=${MESSAGES:-50}
CONCURRENCY=${CONCURRENCY:-10}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
KEEP_TMP=${KEEP_TMP:-0}

die() { echo "bench-chat: $*" >&2; exit 1; }
command -v go >/dev/null || die "go not found"

TMP=$(mktemp -d /tmp/bench-chat.XXXXXX)
chmod 755 "$TMP"
CHAT_PID=""
PG_PID=""
PG_RUN=()
stop_postgres() {
  # pg_ctl as the server's user: runuser does not forward signals.
  (cd "$TMP/pg" && "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$TMP/pg/data" -m fast -w stop >/dev/null 2>&1) || true
  wait "$PG_PID" 2>/dev/null || true
  PG_PID=""
}
cleanup() {
  [[ -n $CHAT_PID ]] && kill "$CHAT_PID" 2>/dev/null && wait "$CHAT_PID" 2>/dev/null || true
  if [[ -n $PG_PID ]]; then stop_postgres; fi
  if [[ $KEEP_TMP == 1 ]]; then echo "bench-chat: kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

echo "bench-chat: building"
go build -o "$TMP/chat" ./services/chat/cmd/chat
go build -o "$TMP/chat-bench" ./services/chat/cmd/chat-bench
go build -o "$TMP/bureau" ./services/bureau/cmd/bureau
KEYS=$("$TMP/bureau" keygen)
PRIV=$(awk '/^private:/ {print $2}' <<<"$KEYS")
PUB=$(awk '/^public:/ {print $2}' <<<"$KEYS")
[[ -n $PRIV && -n $PUB ]] || die "bureau keygen printed no key pair"

free_port() {
  local p
  for p in $(seq 18480 18580); do
    (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
  die "no free port"
}

wait_http() { # url
  for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

start_postgres() {
  [[ -x $PG_BIN/initdb ]] || die "$PG_BIN/initdb not found (apt-get install postgresql)"
  local data="$TMP/pg" port
  port=$(free_port)
  mkdir -p "$data"
  local run=()
  if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the postgres user"
    chown postgres "$data"
    run=(runuser -u postgres --)
  fi
  PG_RUN=("${run[@]}")
  (cd "$data" && "${run[@]}" "$PG_BIN/initdb" -D "$data/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$TMP/initdb.log" 2>&1) ||
    die "initdb failed: $(cat "$TMP/initdb.log")"
  # Durable commits (fsync on), as in production: the figures include them.
  (cd "$data" && exec "${run[@]}" "$PG_BIN/postgres" -D "$data/data" -p "$port" -k "$data/data" \
    -c listen_addresses=127.0.0.1 -c max_connections=200 >"$TMP/postgres.log" 2>&1) &
  PG_PID=$!
  for _ in $(seq 1 200); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.05
  done
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" || die "postgres did not start: $(tail -5 "$TMP/postgres.log")"
  PG_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

STATUS=0
for engine in $ENGINES; do
  case $engine in
    sqlite) DSN="sqlite://$TMP/chat.db" ;;
    postgres) start_postgres; DSN=$PG_DSN ;;
    *) die "unknown engine $engine" ;;
  esac
  PORT=$(free_port)
  BUREAU_CHAT_LISTEN=127.0.0.1:$PORT BUREAU_CHAT_PUBLIC_URL=http://127.0.0.1:$PORT \
    BUREAU_CHAT_GATEWAY_PUBLIC_KEY=$PUB BUREAU_CHAT_DATABASE_URL=$DSN \
    BUREAU_CHAT_SIGNING_KEY_FILE=$TMP/signing-$engine.key BUREAU_CHAT_LOG_LEVEL=warn \
    "$TMP/chat" >"$TMP/chat-$engine.log" 2>&1 &
  CHAT_PID=$!
  wait_http "http://127.0.0.1:$PORT/_matrix/client/versions" || die "chat did not start: $(tail -5 "$TMP/chat-$engine.log")"
  "$TMP/chat-bench" -url "http://127.0.0.1:$PORT" -identity-key "$PRIV" -pid "$CHAT_PID" -label "$engine" \
    -agents "$AGENTS" -rooms "$ROOMS" -messages "$MESSAGES" -concurrency "$CONCURRENCY" || STATUS=1
  kill "$CHAT_PID"; wait "$CHAT_PID" 2>/dev/null || true; CHAT_PID=""
  if [[ -n $PG_PID ]]; then stop_postgres; fi
  echo
done
echo "reference Dendrite 0.15.2: SQLite 29.7 msg/s, delivery p50/p99 801/2339 ms, 288 MB RSS; PostgreSQL 14.9 msg/s, delivery p99 5603 ms"
exit $STATUS
