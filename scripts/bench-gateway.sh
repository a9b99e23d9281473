#!/usr/bin/env bash
# bench-gateway: proxied requests/s and p99 latency through the Bureau gateway,
# against direct access to the same upstream and against Debian nginx
# proxying it, in one run. It prints figures and ratios; it never passes or
# fails on a timing. It fails only when the measurement itself is invalid
# (the gateway path does not reach the upstream as a signed-in agent, or wrk
# saw non-2xx/3xx answers or socket errors).
#
#   scripts/bench-gateway.sh                     # DURATION=10s CONNECTIONS=64 THREADS=2
#   DURATION=30s CONNECTIONS=128 scripts/bench-gateway.sh
#
# Environment:
#   DURATION       wrk duration of each measured run            (10s)
#   CONNECTIONS    wrk keep-alive connections                   (64)
#   THREADS        wrk threads                                  (2)
#   WARMUP         unmeasured wrk run before each measured run, 0 = none (2s)
#   ROUNDS         rounds of the three targets, interleaved; the table
#                  shows the median round, per-round figures above it     (3)
#   NGINX_WORKERS  nginx worker_processes (default: one per core the servers
#                  may use, as many as the gateway's GOMAXPROCS: fair to both)
#   PIN            1 = wrk on CPU 0, servers on the other CPUs (taskset), for
#                  machines with more cores; default 0: wrk and the servers
#                  share every core (on the 2-vCPU VM, pinning made tails worse)
#   KEEP_TMP       1 = keep the temp dir (configs, logs, raw wrk output)
#
# Everything listens on and targets 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
PIN=${PIN:-0}
KEEP_TMP=${KEEP_TMP:-0}
REQ_PATH=/api/files/bench/metadata

die() { echo "bench-gateway: $*" >&2; exit 1; }

for v in CONNECTIONS THREADS ROUNDS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for v in DURATION WARMUP; do
  [[ ${!v} =~ ^[0-9]+[smh]?$ ]] || die "$v must be a wrk duration such as 10s, got '${!v}'"
done

for tool in go wrk nginx curl awk; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-test-deps.sh installs wrk and nginx-light)"
done
NCPU=$(nproc)
if [ "$PIN" = 1 ]; then
  command -v taskset >/dev/null || die "PIN=1 needs taskset (util-linux)"
  [ "$NCPU" -ge 2 ] || die "PIN=1 needs at least 2 CPUs"
  WRK_PIN=(taskset -c 0)
  SRV_PIN=(taskset -c "1-$((NCPU - 1))")
  SRV_CPUS=$((NCPU - 1))
else
  WRK_PIN=()
  SRV_PIN=()
  SRV_CPUS=$NCPU
fi
# Go sets GOMAXPROCS from the CPUs it may run on; nginx 1.22's "auto" counts
# every online CPU, so give it the same number explicitly.
NGINX_WORKERS=${NGINX_WORKERS:-$SRV_CPUS}

tmp=$(mktemp -d /tmp/bench-gateway.XXXXXX)
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$KEEP_TMP" = 1 ] || [ "$rc" -ne 0 ]; then
    echo "bench-gateway: logs, configs and raw wrk output kept in $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build -----------------------------------------------------------------
echo "bench-gateway: building bin/gateway and bin/bench-upstream"
mkdir -p bin
go build -o bin/gateway ./gateway/cmd/gateway
go build -o bin/bench-upstream ./services/bureau/cmd/bench-upstream

# --- free loopback ports ---------------------------------------------------
source scripts/lib/ports.sh
pick_port UP_PORT
pick_port NGINX_PORT
pick_port GW_PORT
UP=http://127.0.0.1:$UP_PORT
NGINX=http://127.0.0.1:$NGINX_PORT
GW=http://127.0.0.1:$GW_PORT


# --- upstream --------------------------------------------------------------
"${SRV_PIN[@]}" bin/bench-upstream -listen "127.0.0.1:$UP_PORT" >"$tmp/upstream.log" 2>&1 &
UP_PID=$!
pids+=("$UP_PID")
wait_http "$UP/__bench/stats" upstream "$UP_PID" "$tmp/upstream.log"

# --- nginx -----------------------------------------------------------------
mkdir -p "$tmp/nginx/logs" "$tmp/nginx/tmp"
cat >"$tmp/nginx/nginx.conf" <<EOF
# Written by scripts/bench-gateway.sh: a plain reverse proxy, as commonly
# deployed (Debian proxy_params headers, keep-alive to the upstream).
worker_processes $NGINX_WORKERS;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events {
  worker_connections 4096;
}
http {
  access_log off;
  client_body_temp_path $tmp/nginx/tmp/body;
  proxy_temp_path $tmp/nginx/tmp/proxy;
  fastcgi_temp_path $tmp/nginx/tmp/fastcgi;
  uwsgi_temp_path $tmp/nginx/tmp/uwsgi;
  scgi_temp_path $tmp/nginx/tmp/scgi;
  keepalive_requests 1000000;
  upstream bench_upstream {
    server 127.0.0.1:$UP_PORT;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
EOF
nginx -t -q -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf" 2>"$tmp/nginx.log" ||
  die "nginx refused its config: $(cat "$tmp/nginx.log")"
"${SRV_PIN[@]}" nginx -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' >>"$tmp/nginx.log" 2>&1 &
NGINX_PID=$!
pids+=("$NGINX_PID")
wait_http "$NGINX/" nginx "$NGINX_PID" "$tmp/nginx.log"

# --- gateway ---------------------------------------------------------------
# The environment must not change the bench's gateway config.
while read -r v; do unset "$v"; done < <(env | awk -F= '/^BUREAU_GATEWAY_/{print $1}')
mkdir -p "$tmp/web"
echo '<!doctype html><title>bench</title>' >"$tmp/web/index.html"
cat >"$tmp/gateway.yaml" <<EOF
mode: development
public_url: $GW
listen: 127.0.0.1:$GW_PORT
ops_listen: ""
log: {level: warn, format: json}
database: {url: "sqlite://$tmp/gw.db"}
identity: {private_key_file: $tmp/identity.key}
dev_idp: {enabled: true, key_file: $tmp/devidp.key}
web: {dir: $tmp/web}
services:
  chat: {url: "$UP"}
  files: {url: "$UP"}
  meet: {url: "$UP"}
ministries:
  - {id: interieur, name: "Ministère de l'Intérieur", domains: [interieur.gouv.fr], sirets: ["11000001200013"]}
  - {id: finances, name: "Ministère de l'Économie et des Finances", domains: [finances.gouv.fr], sirets: ["11002001300097"]}
rate_limit: {user_rps: 1000000, user_burst: 1000000, ip_rps: 1000000, ip_burst: 1000000, auth_per_minute: 1000}
EOF
"${SRV_PIN[@]}" bin/gateway -config "$tmp/gateway.yaml" >"$tmp/gateway.log" 2>&1 &
GW_PID=$!
pids+=("$GW_PID")
wait_http "$GW/healthz" gateway "$GW_PID" "$tmp/gateway.log"

# --- sign in (dev IdP, no click) -------------------------------------------
curl -s -o /dev/null -c "$tmp/jar" -b "$tmp/jar" -L --max-redirs 10 --max-time 10 \
  "$GW/auth/login?login_hint=alice.martin@interieur.gouv.fr&redirect=/" ||
  die "sign-in through the dev IdP failed (curl); see $tmp/gateway.log"
SID=$(awk '$6 == "bureau_session" {print $7}' "$tmp/jar")
[ -n "$SID" ] || die "sign-in did not set the bureau_session cookie; cookie jar: $(cat "$tmp/jar")"
COOKIE="Cookie: bureau_session=$SID"

# --- check the three paths before loading them -----------------------------
check() { # check NAME URL WANT_IDENTITY
  local code ident cookie
  code=$(curl -s -o "$tmp/check-$1.body" -D "$tmp/check-$1.headers" -w '%{http_code}' --max-time 5 -H "$COOKIE" "$2$REQ_PATH") || true
  ident=$(awk -F': *' 'tolower($1) == "x-bench-identity" {gsub(/\r/, "", $2); print $2}' "$tmp/check-$1.headers")
  cookie=$(awk -F': *' 'tolower($1) == "x-bench-cookie" {gsub(/\r/, "", $2); print $2}' "$tmp/check-$1.headers")
  if [ "$code" != 200 ] || [ -z "$ident" ]; then
    die "$1: GET $2$REQ_PATH answered $code, not 200 from the bench upstream. Body: $(head -c 300 "$tmp/check-$1.body")"
  fi
  if [ "$3" = yes ]; then
    [ "$ident" = present ] || die "$1: the upstream got no Bureau-Identity token: the session is not recognised (cookie $SID)"
    [ "$cookie" = absent ] || die "$1: the session cookie reached the upstream: it must be stripped"
  fi
}
check direct "$UP" no
check nginx "$NGINX" no
check gateway "$GW" yes
echo "bench-gateway: gateway → upstream answers 200 for a signed-in agent (identity token present, session cookie stripped)"

# --- load ------------------------------------------------------------------
clk=$(getconf CLK_TCK)
cpu_ticks() { # cpu_ticks PID...: user+system CPU ticks of the processes (all threads)
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
# Machine-wide user+system CPU (irq/softirq left out: that is mostly the
# loopback traffic of the benchmark itself).
machine_busy() { awk '$1 == "cpu" {print $2 + $3 + $4; exit}' /proc/stat; }
children_ticks() { # children_ticks VAR: CPU ticks of this shell's waited-for children (wrk, curl)
  # `times` must run in this shell, not in a $(…) subshell, to see them.
  times >"$tmp/times"
  printf -v "$1" '%s' "$(awk -v hz="$clk" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] }
    printf "%d", t * hz }' "$tmp/times")"
}
nginx_pids() { echo "$NGINX_PID $(ps -o pid= --ppid "$NGINX_PID" | tr '\n' ' ')"; }
up_stats() { curl -s --max-time 5 "$UP/__bench/stats"; }

# Per-round figures, keyed "target round"; the table shows the median round.
declare -A RPS P50 P99 REQS NON2XX SOCKERR PROXY_US UP_US OTHER
GW_UP_REQS=0 GW_UP_IDENT=0 GW_UP_COOKIE=0 GW_REQS=0
run() { # run NAME ROUND URL PROXY_PIDS...
  local name=$1 round=$2 url=$3
  shift 3
  local k="$name $round" out="$tmp/wrk-$name-$round.txt" p0 p1 u0 u1 s0 s1 r0 i0 c0 r1 i1 c1 m0 m1 w0 w1 t0 t1
  if [ "$WARMUP" != 0 ]; then
    "${WRK_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "$COOKIE" "$url$REQ_PATH" >"$tmp/wrk-$name-$round-warmup.txt" 2>&1
  fi
  s0=$(up_stats)
  u0=$(cpu_ticks "$UP_PID")
  p0=$(cpu_ticks "$@")
  children_ticks w0
  m0=$(machine_busy)
  t0=$(date +%s%N)
  echo "bench-gateway: round $round/$ROUNDS $name: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency $url$REQ_PATH"
  "${WRK_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$COOKIE" "$url$REQ_PATH" >"$out" 2>&1 ||
    die "$name: wrk failed: $(cat "$out")"
  t1=$(date +%s%N)
  m1=$(machine_busy)
  children_ticks w1
  p1=$(cpu_ticks "$@")
  u1=$(cpu_ticks "$UP_PID")
  s1=$(up_stats)

  RPS[$k]=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  REQS[$k]=$(awk '/ requests in / {print $1}' "$out")
  # wrk prints latencies as 812.00us, 1.23ms, 2.01s or 1.00m: convert to ms.
  local lat='function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }'
  P50[$k]=$(awk "$lat"' /Latency Distribution/ {d = 1} d && $1 == "50%" {printf "%.2f", ms($2); exit}' "$out")
  P99[$k]=$(awk "$lat"' /Latency Distribution/ {d = 1} d && $1 == "99%" {printf "%.2f", ms($2); exit}' "$out")
  NON2XX[$k]=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  NON2XX[$k]=${NON2XX[$k]:-0}
  SOCKERR[$k]=$(awk -F'Socket errors: ' '/Socket errors:/ {print $2}' "$out")
  SOCKERR[$k]=${SOCKERR[$k]:-none}
  [ -n "${RPS[$k]}" ] && [ -n "${P99[$k]}" ] && [ -n "${REQS[$k]}" ] || die "$name: could not parse wrk output: $(cat "$out")"
  grep -E 'Non-2xx|Socket errors' "$out" | sed "s/^/bench-gateway: round $round $name: wrk: /" || true

  # CPU time per request (µs) of the proxy processes and of the upstream.
  UP_US[$k]=$(awk -v a="$u0" -v b="$u1" -v n="${REQS[$k]}" -v hz="$clk" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
  if [ $# -gt 0 ]; then
    PROXY_US[$k]=$(awk -v a="$p0" -v b="$p1" -v n="${REQS[$k]}" -v hz="$clk" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
  else
    PROXY_US[$k]=-
  fi

  # CPU the machine spent on anything but wrk, the upstream and the proxy
  # during the run (other jobs on a shared machine), in cores.
  OTHER[$k]=$(awk -v m="$((m1 - m0))" -v w="$((w1 - w0))" -v u="$((u1 - u0))" -v p="$((p1 - p0))" -v hz="$clk" -v ns="$((t1 - t0))" \
    'BEGIN {o = (m - w - u - p) / hz / (ns / 1e9); if (o < 0) o = 0; printf "%.2f", o}')

  if [ "$name" = gateway ]; then
    # Every request the upstream got during the run must carry an identity
    # token and none the session cookie.
    read -r r0 i0 c0 <<<"$s0"
    read -r r1 i1 c1 <<<"$s1"
    GW_UP_REQS=$((GW_UP_REQS + r1 - r0))
    GW_UP_IDENT=$((GW_UP_IDENT + i1 - i0))
    GW_UP_COOKIE=$((GW_UP_COOKIE + c1 - c0))
    GW_REQS=$((GW_REQS + REQS[$k]))
  fi
}

# Rounds interleave the targets, so a slow drift of the machine (another
# tenant, thermal) spreads over all three instead of biasing one.
for round in $(seq 1 "$ROUNDS"); do
  run direct "$round" "$UP"
  run nginx "$round" "$NGINX" $(nginx_pids)
  run gateway "$round" "$GW" "$GW_PID"
done

# --- report ----------------------------------------------------------------
median() { # median NAME ARRAY: the median over rounds of ARRAY[NAME round]
  local -n arr=$2
  local r
  for r in $(seq 1 "$ROUNDS"); do echo "${arr[$1 $r]}"; done |
    sort -g | awk '{v[NR] = $1} END {if (v[1] == "-") print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
label() { case $1 in direct) echo "direct upstream" ;; nginx) echo "nginx -> upstream" ;; gateway) echo "gateway -> upstream" ;; esac; }
declare -A M_RPS M_P50 M_P99 M_PROXY M_UP M_OTHER
for name in direct nginx gateway; do
  M_RPS[$name]=$(median "$name" RPS)
  M_P50[$name]=$(median "$name" P50)
  M_P99[$name]=$(median "$name" P99)
  M_PROXY[$name]=$(median "$name" PROXY_US)
  M_UP[$name]=$(median "$name" UP_US)
  M_OTHER[$name]=$(median "$name" OTHER)
done
fmt='%-22s %11s %8s %8s %8s %13s %15s %12s  %s\n'

echo
echo "Bureau gateway benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $NCPU cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r), $(go version | awk '{print $3}'), nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), $(wrk --version 2>&1 | awk 'NR == 1 {print $1, $2}')"
if [ "$PIN" = 1 ]; then
  echo "CPU: wrk pinned to CPU 0, upstream/nginx/gateway share CPUs 1-$((NCPU - 1))."
else
  echo "CPU: the load generator (wrk) and the servers (upstream, nginx, gateway) share the same $NCPU cores:"
  echo "     absolute figures are bounded by wrk's own CPU use; compare the ratios and the CPU per request."
fi
echo "load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, warm-up $WARMUP, $ROUNDS interleaved round(s), GET $REQ_PATH, $(wc -c <"$tmp/check-direct.body")-byte JSON body, keep-alive"
echo "nginx: worker_processes $NGINX_WORKERS, upstream keepalive 128, access_log off; gateway: GOMAXPROCS=${GOMAXPROCS:-$SRV_CPUS}, log level warn, in-memory sessions"
if [ "$ROUNDS" -gt 1 ]; then
  echo
  echo "per round:"
  printf "$fmt" target "requests/s" "p50 ms" "p99 ms" "non-2xx" "proxy us/req" "upstream us/req" "other cores" "socket errors"
  for round in $(seq 1 "$ROUNDS"); do
    for name in direct nginx gateway; do
      k="$name $round"
      printf "$fmt" "$round $(label "$name")" "${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" "${NON2XX[$k]}" "${PROXY_US[$k]}" "${UP_US[$k]}" "${OTHER[$k]}" "${SOCKERR[$k]}"
    done
  done
  echo
  echo "median of $ROUNDS rounds (each column separately):"
fi
echo
printf "$fmt" target "requests/s" "p50 ms" "p99 ms" "" "proxy us/req" "upstream us/req" "other cores" ""
for name in direct nginx gateway; do
  printf "$fmt" "$(label "$name")" "${M_RPS[$name]}" "${M_P50[$name]}" "${M_P99[$name]}" "" "${M_PROXY[$name]}" "${M_UP[$name]}" "${M_OTHER[$name]}" ""
done
echo
echo "ratios                throughput   p99 latency"
echo "gateway / direct      $(ratio "${M_RPS[gateway]}" "${M_RPS[direct]}")×        $(ratio "${M_P99[gateway]}" "${M_P99[direct]}")×"
echo "gateway / nginx       $(ratio "${M_RPS[gateway]}" "${M_RPS[nginx]}")×        $(ratio "${M_P99[gateway]}" "${M_P99[nginx]}")×"
echo "nginx / direct        $(ratio "${M_RPS[nginx]}" "${M_RPS[direct]}")×        $(ratio "${M_P99[nginx]}" "${M_P99[direct]}")×"
echo "proxy CPU per request: gateway $(ratio "${M_PROXY[gateway]}" "${M_PROXY[nginx]}")× nginx"
echo
echo "other cores: CPU used by processes other than wrk, the upstream and the proxy during the run;"
echo "             above ~0.1 the machine was shared with other work and the figures are disturbed."
echo "gateway runs, as seen by the upstream: $GW_UP_REQS requests, $GW_UP_IDENT with an identity token, $GW_UP_COOKIE with the session cookie"

disturbed=$(for k in "${!OTHER[@]}"; do echo "${OTHER[$k]}"; done | awk '$1 > 0.1 {n++} END {print n + 0}')
if [ "$disturbed" -gt 0 ]; then
  echo "bench-gateway: WARNING: $disturbed of $((3 * ROUNDS)) runs shared the machine with other work (other cores > 0.1): rerun on a quiet machine for clean figures" >&2
fi
invalid=0
for k in "${!NON2XX[@]}"; do
  if [ "${NON2XX[$k]}" != 0 ] || [ "${SOCKERR[$k]}" != none ]; then
    echo "bench-gateway: INVALID: round ${k#* } ${k% *}: ${NON2XX[$k]} non-2xx/3xx responses, socket errors: ${SOCKERR[$k]} (see $tmp/wrk-${k% *}-${k#* }.txt)" >&2
    invalid=1
  fi
done
if [ "$GW_UP_IDENT" -ne "$GW_UP_REQS" ] || [ "$GW_UP_COOKIE" -ne 0 ] || [ "$GW_UP_REQS" -lt "$GW_REQS" ]; then
  echo "bench-gateway: INVALID: not every gateway request reached the upstream as the signed-in agent without the session cookie" >&2
  invalid=1
fi
if grep -q '"level":"ERROR"' "$tmp/gateway.log"; then
  echo "bench-gateway: the gateway logged errors: $(grep '"level":"ERROR"' "$tmp/gateway.log" | head -n 3)" >&2
fi
exit "$invalid"
