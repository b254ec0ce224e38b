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
# RELAY_B (relay for B, default RELAY), STANDING / STANDING_B (global.standing_receive for A / B),
# SMART / SMART_B (the backend's tcp_smart_connect for A / B), ACCEPT / ACCEPT_B (the frontend's
# tcp_smart_accept for A / B), DEFER / DEFER_B (the frontend's defer_accept); a key left unset stays out of the file, so each binary's default
# applies and binaries older than the key still run. WRK_ARGS (extra wrk arguments, e.g. -H "Connection: close"),
# SENDFILE (on: the backend sends with sendfile(2); default off, as in compare.sh),
# PROBE (set: one more connection of small keep-alive requests runs beside the load, and its p50
# and p99 are reported: what interactive traffic sharing the worker sees).
# Per run: req/s, p50, p99, proxy CPU per request and per MB, CPU-0 (backend + wrk) CPU per MB,
# the proxy's context switches per MB; then the medians of each side. One proxy worker on CPU 1,
# backend nginx and wrk on CPU 0, as in bench/compare.sh. Needs nginx and wrk (compare.sh installs
# them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
A=$(readlink -f "$1"); B=$(readlink -f "$2")
PATH_=${PATH_:-/1m}; CONNS=${CONNS:-8}; ROUNDS=${ROUNDS:-4}; DUR=${DUR:-4}
RELAY=${RELAY:-auto}; RELAY_B=${RELAY_B:-$RELAY}; WRK_ARGS=${WRK_ARGS:-}
STANDING=${STANDING:-}; STANDING_B=${STANDING_B:-$STANDING}
SMART=${SMART:-}; SMART_B=${SMART_B:-$SMART}
ACCEPT=${ACCEPT:-}; ACCEPT_B=${ACCEPT_B:-$ACCEPT}
DEFER=${DEFER:-}; DEFER_B=${DEFER_B:-$DEFER}
bench_workdir
BE=19011; PX=18013
mb=0
case $PATH_ in
  /1m) head -c 1048576 /dev/urandom > "$W/1m.bin"; mb=1 ;;
  /100m) head -c 104857600 /dev/urandom > "$W/100m.bin"; mb=100 ;;
esac
backend_conf "$W" 1 "127.0.0.1:$BE" > "$W/backend.conf"
ringlb_conf $PX "127.0.0.1:$BE" relay="$RELAY" tcp_smart_connect="$SMART" tcp_smart_accept="$ACCEPT" \
  defer_accept="$DEFER" standing_receive="$STANDING" > "$W/a.yaml"
ringlb_conf $PX "127.0.0.1:$BE" relay="$RELAY_B" tcp_smart_connect="$SMART_B" tcp_smart_accept="$ACCEPT_B" \
  defer_accept="$DEFER_B" standing_receive="$STANDING_B" > "$W/b.yaml"
taskset -c 0 nginx -c "$W/backend.conf" -p "$W" &
sleep 1
backend=$(pgrep -f "nginx: worker process" -P "$(cat "$W/b.pid")" | head -1)
hz=$(getconf CLK_TCK)
switches() { awk '/voluntary_ctxt_switches/{s+=$2} END{print s}' /proc/"$1"/task/*/status; }
run() { # side binary config
  local side=$1 bin=$2 conf=$3 p t0 t1 b0 b1 c0 c1 out
  taskset -c 1 "$bin" -c "$conf" >"$W/proxy.log" 2>&1 & p=$!
  wait_port $PX || { echo "ab.sh: $bin did not start on $conf:" >&2; cat "$W/proxy.log" >&2; exit 1; }
  t0=$(proc_ticks "$p"); b0=$(proc_ticks "$backend"); c0=$(switches "$p")
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
  t1=$(proc_ticks "$p"); b1=$(proc_ticks "$backend"); c1=$(switches "$p")
  kill "$p"; wait "$p" 2>/dev/null || true
  echo "$out" | awk -v side="$side" -v px=$((t1 - t0)) -v be=$((b1 - b0)) -v cs=$((c1 - c0)) \
    -v hz="$hz" -v mb="$mb" '
    '"$WRK_AWK_US"'
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
