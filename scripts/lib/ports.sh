# Sourced by the bench scripts: free loopback ports and waiting for a
# server to answer. The caller defines die().

taken=" "
pick_port() { # pick_port VAR: a port nothing listens on, distinct from earlier picks
  local p
  for _ in $(seq 1 500); do
    p=$((20000 + RANDOM % 40000))
    case "$taken" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "no free port on 127.0.0.1"
}

wait_http() { # wait_http URL NAME PID LOG: until URL answers (30 s), or NAME's process exits
  for _ in $(seq 1 300); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    kill -0 "$3" 2>/dev/null || die "$2 exited at start-up; see $4: $(tail -n 5 "$4" 2>/dev/null)"
    sleep 0.1
  done
  die "$2 did not answer on $1 within 30s; see $4"
}
