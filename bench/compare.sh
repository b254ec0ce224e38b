#!/usr/bin/env bash
# Side-by-side TCP proxy benchmark on loopback: no proxy (the ceiling), HAProxy in TCP mode (plain,
# with option splice-auto, and with its connection-saving options tcp-smart-connect,
# tcp-smart-accept and defer-accept, which bench/config/ringlb-peers-smart.yaml matches), nginx
# stream, and ringlb. Installs the peers, builds ringlb, runs every workload REPS times and prints
# medians and ratios as a markdown table.
#   bench/compare.sh                      # full run (about 8 minutes)
#   DUR=3 REPS=1 MODES="keepalive" TARGETS="ringlb" bench/compare.sh   # a quick look
# By default every proxy gets one worker/thread pinned to CPU 1; the backend nginx and wrk share
# CPU 0 (THREADS changes that, see below).
# Figures, per workload and target:
#   req/s, p50 and p99 latency (wrk --latency), proxy CPU per request (user+system of all the
#   proxy's threads, from /proc), each with ringlb's ratio to the best peer of the same run, and
#   for the idle workload the RSS growth per idle connection (not for hap-smart, nor for a ringlb
#   configuration with defer_accept: their silent connections wait in the kernel).
# Knobs: DUR (s per run, default 5), CONNS (default 64), BULK_CONNS (default 8), REPS (default 3),
# MODES (keepalive close bulk1m bulk1m-64 bulk100m idle: bulk1m-64 is bulk1m over 64 connections,
# bulk100m one connection fetching 100 MiB responses back to back, its req/s x 100 = MiB/s; with
# about 8 responses a second, one still in flight when wrk stops skews its figures by 2-3 %),
# TARGETS (direct haproxy hap-splice hap-splice-all hap-smart nginx ringlb; hap-splice-all is
# HAProxy splicing every transfer it can, option splice-request + splice-response: in this
# harness splice-auto never splices, so without it no peer splices), IDLE_N (5000), RINGLB (binary, default
# build/ringlb), RINGLB_CONF (template, default bench/config/ringlb-peers.yaml; {LISTEN} {B1} {B2}
# are filled in, and its `workers:` set to THREADS), RAW (file to keep the raw per-run lines),
# THREADS (proxy workers/threads, default 1; with more than 1 nothing is pinned: proxy, backend
# and wrk (one thread per proxy thread, at most one per connection) share both CPUs and the
# backend nginx gets as many workers: the connection-rate figures of docs/benchmarks.md),
# BACKEND_RT (set: the backend nginx runs at real-time priority, `chrt -f 1`, so that wrk on the
# same CPU never preempts it; see docs/benchmarks.md, "The tail at 64 bulk connections"),
# SENDFILE (on: the backend nginx sends files with sendfile(2), page-cache pages instead of copies;
# default off, nginx's own default), PROFILE (set: also profile each proxy once per workload with
# perf and split its CPU into TCP work and overhead, see bench/split.py; with PROFILE_KEEP, a
# directory, each profile is also kept there as MODE-TARGET.data for perf report, replacing the
# file of an earlier invocation), LOAD_PROFILE (a
# directory: also record the load CPUs (backend + wrk) with perf during every measured run, one
# MODE-TARGET.data file each). Every raw line also carries loadus: the load CPUs' busy time per
# request, which sets bulk throughput when they are the bottleneck; a run with errors also carries
# wrk's error lines in brackets.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
"$root/packaging/install-deps.sh" --bench
RINGLB=${RINGLB:-}
if [[ -z "$RINGLB" ]]; then
  "$root/scripts/build.sh" release ringlb >/dev/null
  RINGLB=$root/build/ringlb
fi
RINGLB_CONF=${RINGLB_CONF:-$root/bench/config/ringlb-peers.yaml}
DUR=${DUR:-5}; CONNS=${CONNS:-64}; BULK_CONNS=${BULK_CONNS:-8}; REPS=${REPS:-3}; IDLE_N=${IDLE_N:-5000}
MODES=${MODES:-"keepalive close bulk1m bulk1m-64 bulk100m idle"}
THREADS=${THREADS:-1}
# One proxy thread: the proxy alone on CPU 1, backend and load generator on CPU 0. More: no pinning.
if [[ $THREADS == 1 ]]; then PROXY_CPUS=1; LOAD_CPUS=0; LOAD_LIST=0; else PROXY_CPUS=0-1; LOAD_CPUS=0-1; LOAD_LIST=0,1; fi
TARGETS=${TARGETS:-"direct haproxy hap-splice hap-splice-all hap-smart nginx ringlb"}
ulimit -n "$(ulimit -Hn)"  # idle workload: thousands of sockets in wrk, python and the proxies
bench_workdir
B1=19001; B2=19002
declare -A PORT=([direct]=$B1 [haproxy]=18001 [nginx]=18002 [ringlb]=18003 [hap-splice]=18004 [hap-smart]=18005
                 [hap-splice-all]=18006)
declare -A PID=()
head -c 1048576 /dev/urandom > "$W/1m.bin"
if [[ " $MODES " == *" bulk100m "* ]]; then head -c 104857600 /dev/urandom > "$W/100m.bin"; fi
backend_conf "$W" "$THREADS" "127.0.0.1:$B1" "127.0.0.1:$B2" > "$W/backend.conf"
for kind in haproxy hap-splice hap-splice-all hap-smart; do
  haproxy_conf "$kind" "$THREADS" "${PORT[$kind]}" "127.0.0.1:$B1" "127.0.0.1:$B2" > "$W/$kind.cfg"
done
nginx_stream_conf "$W" "$THREADS" "${PORT[nginx]}" "127.0.0.1:$B1" "127.0.0.1:$B2" > "$W/ngstream.conf"
sed -e "s/{LISTEN}/127.0.0.1:${PORT[ringlb]}/" -e "s/{B1}/127.0.0.1:$B1/" -e "s/{B2}/127.0.0.1:$B2/" \
  -e "s/workers: [0-9]*/workers: $THREADS/" "$RINGLB_CONF" > "$W/ringlb.yaml"
# The template must name its worker count, or THREADS would silently compare 1 worker with N.
grep -q "workers: $THREADS\b" "$W/ringlb.yaml" || { echo "compare.sh: $RINGLB_CONF must set global.workers" >&2; exit 2; }

start_backend "$W" $LOAD_CPUS
for t in $TARGETS; do
  case $t in
    haproxy|hap-splice|hap-splice-all|hap-smart) taskset -c $PROXY_CPUS haproxy -f "$W/$t.cfg" -db >/dev/null 2>&1 & PID[$t]=$! ;;
    nginx) taskset -c $PROXY_CPUS nginx -c "$W/ngstream.conf" -p "$W" & PID[$t]=$! ;;
    ringlb) taskset -c $PROXY_CPUS "$RINGLB" -c "$W/ringlb.yaml" >"$W/ringlb.log" 2>&1 & PID[$t]=$! ;;
  esac
done
sleep 1
for t in "${!PID[@]}"; do  # a peer that failed to start would silently measure nothing
  kill -0 "${PID[$t]}" 2>/dev/null || { echo "compare.sh: $t did not start" >&2; exit 1; }
done

rss_kb() {
  local t=0 p
  for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
    t=$((t + $(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0)))
  done
  echo $t
}
RAWF=${RAW:-$W/raw.txt}; : > "$RAWF"
hz=$(getconf CLK_TCK)
wrk_threads() { echo $(( THREADS < $1 ? THREADS : $1 )); }  # wrk refuses more threads than connections
cpu_busy() { # busy ticks of the load CPUs (user, nice, system, irq, softirq) from /proc/stat
  awk -v cpus=",$LOAD_LIST," '$1 ~ /^cpu[0-9]+$/ && index(cpus, "," substr($1, 4) ",") {
    t += $2 + $3 + $4 + $7 + $8 } END { print t + 0 }' /proc/stat
}
run_wrk() { # mode target path conns extra...
  local mode=$1 t=$2 path=$3 conns=$4; shift 4
  local pid=${PID[$t]:-} t0=0 t1=0 l0 l1 out
  [[ -n "$pid" ]] && t0=$(proc_ticks "$pid")
  l0=$(cpu_busy)
  local lp=""
  if [[ -n "${LOAD_PROFILE:-}" ]]; then  # where the load CPUs' time goes, per target and workload
    perf record -q -e cpu-clock -g -C "$LOAD_CPUS" -o "$LOAD_PROFILE/$mode-$t.data" -- sleep "$DUR" \
      >/dev/null 2>&1 &
    lp=$!
  fi
  out=$(taskset -c $LOAD_CPUS wrk -t"$(wrk_threads "$conns")" -c"$conns" -d"${DUR}s" --latency "$@" "http://127.0.0.1:${PORT[$t]}$path" 2>&1)
  [[ -n "$lp" ]] && wait "$lp"
  l1=$(cpu_busy)
  [[ -n "$pid" ]] && t1=$(proc_ticks "$pid")
  # loadus: the load CPUs' (backend + wrk) busy time per request, the bottleneck's cost in bulk.
  echo "$out" | awk -v m="$mode" -v n="$t" -v rep="${rep:-0}" -v cpu=$((t1 - t0)) -v load=$((l1 - l0)) -v hz="$hz" -v haspid="${pid:+1}" '
    '"$WRK_AWK_US"'
    /^ +[0-9]+ requests in/ { reqs = $1 }
    /Requests\/sec/ { r = $2 }
    /^ +50%/ { p50 = us($2) }
    /^ +99%/ { p99 = us($2) }
    /Socket errors|Non-2xx/ { err = 1; sub(/^ +/, ""); what = what " [" $0 "]" }
    END { c = (haspid && reqs > 0) ? cpu / hz * 1e6 / reqs : -1
          l = reqs > 0 ? load / hz * 1e6 / reqs : -1
          printf "%s %s rps=%s p50us=%s p99us=%s cpuus=%.2f err=%d loadus=%.2f rep=%d%s\n", m, n, r, p50, p99, c, err, l, rep, what }' >> "$RAWF"
  tail -n 1 "$RAWF" >&2
}
run_idle() { # target
  local t=$1 pid=${PID[$1]:-} r0 r1 n
  [[ -z "$pid" ]] && return
  # idle.py never sends: behind defer-accept its connections wait in the kernel, not in the
  # proxy, and the figure would measure nothing of the proxy.
  if [[ $t == hap-smart ]] || { [[ $t == ringlb ]] && grep -q 'defer_accept: *true' "$W/ringlb.yaml"; }; then
    echo "idle $t: skipped (defer-accept holds silent connections in the kernel)" >&2
    return
  fi
  r0=$(rss_kb "$pid")
  python3 "$root/bench/idle.py" 127.0.0.1 "${PORT[$t]}" "$IDLE_N" 4 > "$W/idle.out" & local ip=$!
  sleep 3; r1=$(rss_kb "$pid"); wait $ip; n=$(cat "$W/idle.out")
  echo "idle $t conns=$n bytesperconn=$(( (r1 - r0) * 1024 / (n > 0 ? n : 1) ))" >> "$RAWF"
  tail -n 1 "$RAWF" >&2
}
profile_wrk() { # mode target path conns extra...: where the proxy's CPU goes (bench/split.py)
  local mode=$1 t=$2 path=$3 conns=$4; shift 4
  local pid=${PID[$t]:-}
  [[ -z "$pid" ]] && return
  local pids; pids=$(echo "$pid" $(pgrep -P "$pid" 2>/dev/null) | tr ' ' ',')
  perf record -q -e cpu-clock -g -p "$pids" -o "$W/perf.data" -- sleep "$DUR" >/dev/null 2>&1 &
  local pp=$!
  sleep 0.2
  taskset -c $LOAD_CPUS wrk -t"$(wrk_threads "$conns")" -c"$conns" -d"${DUR}s" "$@" "http://127.0.0.1:${PORT[$t]}$path" >/dev/null 2>&1
  wait $pp
  echo "profile:$mode $t $(perf script -i "$W/perf.data" -F ip,sym 2>/dev/null | python3 "$root/bench/split.py")" >> "$RAWF"
  if [[ -n "${PROFILE_KEEP:-}" ]]; then mkdir -p "$PROFILE_KEEP" && cp "$W/perf.data" "$PROFILE_KEEP/$mode-$t.data"; fi
  tail -n 1 "$RAWF" >&2
}
# One place maps a workload to its request: path, connections, extra wrk arguments. `runner` is
# run_wrk (measured) or profile_wrk (perf); the idle workload has neither.
workload() { # runner mode target
  local runner=$1 mode=$2 t=$3
  case $mode in
    keepalive) "$runner" "$mode" "$t" / "$CONNS" ;;
    close) "$runner" "$mode" "$t" / "$CONNS" -H "Connection: close" ;;
    bulk1m) "$runner" "$mode" "$t" /1m "$BULK_CONNS" ;;
    bulk1m-64) "$runner" "$mode" "$t" /1m 64 ;;
    bulk100m) "$runner" "$mode" "$t" /100m 1 ;;
  esac
}
for rep in $(seq "$REPS"); do
  for mode in $MODES; do
    [[ $mode == idle && $rep != 1 ]] && continue
    for t in $TARGETS; do
      if [[ $mode == idle ]]; then
        [[ $t != direct ]] && run_idle "$t"
      else
        workload run_wrk "$mode" "$t"
      fi
    done
  done
done
if [[ -n "${PROFILE:-}" ]]; then  # after the measured runs: perf's own cost stays out of them
  for mode in $MODES; do
    for t in $TARGETS; do
      [[ $t == direct ]] && continue
      workload profile_wrk "$mode" "$t"
    done
  done
fi
python3 "$root/bench/summarize.py" "$RAWF"
