#!/usr/bin/env bash
# Alternating A/B of two ringlb binaries on one workload, measuring the whole machine: the
# proxy's CPU and also the busy CPU's (backend nginx + wrk on CPU 0), which sets throughput when
# it is the bottleneck (docs/performance.md, "Bulk throughput with splice").
#   bench/ab.sh OLD_BINARY NEW_BINARY                 # 1 MB responses, 8 connections, 4 rounds
#   PATH_=/100m CONNS=1 ROUNDS=5 bench/ab.sh a b      # one 100 MB stream
#   RELAY=copy RELAY_B=auto bench/ab.sh build/ringlb build/ringlb  # same binary, copy vs auto
#   PATH_=/ CONNS=64 STANDING=false STANDING_B=true bench/ab.sh build/ringlb build/ringlb
#   WRK_ARGS='-H "Connection: close"' PATH_=/ CONNS=64 SMART=false SMART_B=true bench/ab.sh build/ringlb build/ringlb
# Knobs: PATH_ (/ small, /1m, /100m), CONNS (8), ROUNDS (4), DUR (s per run, 4), RELAY (auto),
# RELAY_B (relay for B, default RELAY), STANDING / STANDING_B (global.standing_receive for A / B,
# default true), SMART / SMART_B (the backend's tcp_smart_connect for A / B, default true),
# ACCEPT / ACCEPT_B (the frontend's tcp_smart_accept for A / B, default false), WRK_ARGS (extra wrk arguments, e.g. -H "Connection: close"),
# SENDFILE (on: the backend sends with sendfile(2); default off, as in compare.sh),
# PROBE (set: one more connection of small keep-alive requests runs beside the load, and its p50
# and p99 are reported: what interactive traffic sharing the worker sees).
# Per run: req/s, p50, p99, proxy CPU per request and per MB, CPU-0 (backend + wrk) CPU per MB,
# the proxy's context switches per MB; then the medians of each side. One proxy worker on CPU 1,
# backend nginx and wrk on CPU 0, as in bench/compare.sh. Needs nginx and wrk (compare.sh installs
# them).
set -euo pipefail
A=$(readlink -f "$1"); B=$(readlink -f "$2")
PATH_=${PATH_:-/1m}; CONNS=${CONNS:-8}; ROUNDS=${ROUNDS:-4}; DUR=${DUR:-4}
RELAY=${RELAY:-auto}; RELAY_B=${RELAY_B:-$RELAY}; WRK_ARGS=${WRK_ARGS:-}
STANDING=${STANDING:-true}; STANDING_B=${STANDING_B:-$STANDING}
SMART=${SMART:-true}; SMART_B=${SMART_B:-$SMART}
ACCEPT=${ACCEPT:-false}; ACCEPT_B=${ACCEPT_B:-$ACCEPT}
W=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; sleep 0.3; rm -rf "$W"; }
trap cleanup EXIT
BE=19011; PX=18013
mb=0
case $PATH_ in
  /1m) head -c 1048576 /dev/urandom > "$W/1m.bin"; mb=1 ;;
  /100m) head -c 104857600 /dev/urandom > "$W/100m.bin"; mb=100 ;;
esac
cat > "$W/backend.conf" <<C
user root; worker_processes 1; daemon off; pid $W/b.pid; error_log $W/b.err;
worker_rlimit_nofile 100000;
events { worker_connections 20000; }
http { access_log off; keepalive_requests 1000000; sendfile ${SENDFILE:-off};
  server { listen 127.0.0.1:$BE reuseport backlog=4096;
    location = / { return 200 "hello\n"; }
    location = /1m { root $W; try_files /1m.bin =404; }
    location = /100m { root $W; try_files /100m.bin =404; } } }
C
config() { # relay standing_receive tcp_smart_connect tcp_smart_accept
  cat <<C
global: { workers: 1, max_connections: 100000, standing_receive: $2 }
defaults:
  timeouts: { connect: 5s, client: 60s, server: 60s }
frontends:
  - { name: ab, listen: "127.0.0.1:$PX", backend: be, tcp_smart_accept: $4 }
backends:
  - name: be
    relay: $1
    tcp_smart_connect: $3
    servers:
      - { name: b1, address: "127.0.0.1:$BE" }
C
}
config "$RELAY" "$STANDING" "$SMART" "$ACCEPT" > "$W/a.yaml"
config "$RELAY_B" "$STANDING_B" "$SMART_B" "$ACCEPT_B" > "$W/b.yaml"
taskset -c 0 nginx -c "$W/backend.conf" -p "$W" &
sleep 1
backend=$(pgrep -f "nginx: worker process" -P "$(cat "$W/b.pid")" | head -1)
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
switches() { awk '/voluntary_ctxt_switches/{s+=$2} END{print s}' /proc/"$1"/task/*/status; }
run() { # side binary config
  local side=$1 bin=$2 conf=$3 p t0 t1 b0 b1 c0 c1 out
  taskset -c 1 "$bin" -c "$conf" >"$W/proxy.log" 2>&1 & p=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PX) 2>/dev/null && break; sleep 0.1; done
  t0=$(ticks "$p"); b0=$(ticks "$backend"); c0=$(switches "$p")
  local probe=""
  if [[ -n "${PROBE:-}" ]]; then
    (sleep 0.5; taskset -c 0 wrk -t1 -c1 -d"$((DUR - 1))s" --latency "http://127.0.0.1:$PX/" > "$W/probe.txt" 2>&1) &
    probe=$!
  fi
  # WRK_ARGS is parsed as shell words, quotes included, so -H "Connection: close" stays one header
  # (a plain word split would send "Connection:" and "close" as two arguments).
  local wrk_args=()
  eval "wrk_args=($WRK_ARGS)"
  out=$(/usr/bin/time -f "wrkcpu %U %S" taskset -c 0 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency \
        "${wrk_args[@]}" "http://127.0.0.1:$PX$PATH_" 2>&1)
  if [[ -n "$probe" ]]; then
    wait "$probe"
    out+=$'\n'$(awk '/^ +50%/{print "probe50", $2} /^ +99%/{print "probe99", $2}' "$W/probe.txt")
  fi
  t1=$(ticks "$p"); b1=$(ticks "$backend"); c1=$(switches "$p")
  kill "$p"; wait "$p" 2>/dev/null || true
  echo "$out" | awk -v side="$side" -v px=$((t1 - t0)) -v be=$((b1 - b0)) -v cs=$((c1 - c0)) \
    -v hz="$hz" -v mb="$mb" '
    function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1e6; return v }
    /^ +[0-9]+ requests in/ { n = $1 } /Requests\/sec/ { r = $2 }
    /^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) } /^wrkcpu/ { wrk = ($2 + $3) * 1e6 }
    /^probe50/ { q50 = us($2) } /^probe99/ { q99 = us($2) }
    END { px = px / hz * 1e6; be = be / hz * 1e6; m = n * mb
          printf "%s rps=%s p50us=%d p99us=%d proxy_us_per_req=%.2f", side, r, p50, p99, px / n
          if (m > 0) printf " proxy_us_per_mb=%.0f cpu0_us_per_mb=%.0f proxy_switches_per_mb=%.2f", px / m, (be + wrk) / m, cs / m
          if (q50 > 0) printf " probe_p50us=%d probe_p99us=%d", q50, q99
          printf "\n" }'
}
for i in $(seq "$ROUNDS"); do
  run A "$A" "$W/a.yaml"; run B "$B" "$W/b.yaml"
done | tee "$W/runs.txt"
python3 - "$W/runs.txt" <<'P'
import re, statistics, sys
from collections import defaultdict
v = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    side = line.split()[0]
    for k, x in re.findall(r"(\w+)=([\d.]+)", line):
        v[side][k].append(float(x))
for side in ("A", "B"):
    print(side, "medians:", " ".join(f"{k}={statistics.median(x):g}" for k, x in v[side].items()))
P
