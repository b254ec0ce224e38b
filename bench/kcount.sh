#!/usr/bin/env bash
# What each proxy makes the kernel do per request, counted rather than timed (deterministic on a
# shared machine, unlike CPU time): TCP segments (nstat) and page allocations and frees on each
# CPU (kmem tracepoints). Used for docs/performance.md's "FIN with the last bytes" and "Bulk: where
# the backend's pages are freed".
#   bench/kcount.sh haproxy nginx ringlb                       # new connection per request
#   MODE=keepalive bench/kcount.sh haproxy ringlb:/tmp/old/ringlb ringlb
#   MODE=bulk1m bench/kcount.sh hap-splice ringlb ringlb::copy
#   bench/kcount.sh hap-smart ringlb ringlb:::false ringlb::::true  # ACK-saving options
# TARGET: haproxy | hap-splice (option splice-auto) | hap-splice-all (option splice-request and
# splice-response) | hap-smart (option tcp-smart-connect,
# tcp-smart-accept and bind defer-accept; before 2026-12-03 10:20 without defer-accept) | nginx (stream) | ringlb[:BINARY[:RELAY[:SMART_CONNECT[:SMART_ACCEPT[:DEFER_ACCEPT]]]]]
# (default build/ringlb; an empty or missing setting keeps the binary's default). Knobs: MODE (close: "Connection: close", 64 connections;
# keepalive: 64 connections; bulk1m: 1 MB responses over 8 connections), DUR (s, 3), CONNS.
# Prints, per request: TCP segments sent (every segment on loopback is also one received), pure
# ACKs, data-carrying segments (FINs included), and per CPU page allocations, page frees and
# consume_skb events. One proxy worker/thread on CPU 1, backend nginx and wrk on CPU 0, as in
# bench/compare.sh. Needs nginx, haproxy, wrk, perf and nstat (bench/compare.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
MODE=${MODE:-close}; DUR=${DUR:-3}
case $MODE in
  close) path=/; CONNS=${CONNS:-64}; headers=(-H "Connection: close") ;;
  keepalive) path=/; CONNS=${CONNS:-64}; headers=() ;;
  bulk1m) path=/1m; CONNS=${CONNS:-8}; headers=() ;;
  *) echo "kcount.sh: MODE is close, keepalive or bulk1m" >&2; exit 2 ;;
esac
bench_workdir
BE=19061; PX=18063
head -c 1048576 /dev/urandom > "$W/1m.bin"
backend_conf "$W" 1 "127.0.0.1:$BE" > "$W/backend.conf"
start_backend "$W" 0
sleep 0.5
EVENTS=kmem:mm_page_alloc,kmem:mm_page_free,skb:consume_skb
for target in "$@"; do
  start_proxy "$target" $PX "127.0.0.1:$BE"
  pid=$!
  wait_port $PX || { echo "kcount.sh: $target did not start" >&2; exit 1; }
  sleep 0.3
  perf stat -x, -o "$W/cpu0.txt" -a -C 0 -e $EVENTS -- sleep $((DUR + 1)) & p0=$!
  perf stat -x, -o "$W/cpu1.txt" -a -C 1 -e $EVENTS -- sleep $((DUR + 1)) & p1=$!
  sleep 0.3
  nstat -n > /dev/null  # from here on, nstat prints what changed
  out=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"${DUR}s" "${headers[@]}" "http://127.0.0.1:$PX$path")
  nstat > "$W/nstat.txt" 2>/dev/null || true
  wait $p0 $p1 2>/dev/null || true
  reqs=$(echo "$out" | awk '/requests in/{print $1}')
  # (The tracepoints count for DUR + 1 s, wrk for DUR: per-request page figures are a little
  # high, equally for every target.)
  printf '%-28s requests=%s' "$target" "$reqs"
  awk -v r="$reqs" '
    $1 == "TcpOutSegs" { printf " segments=%.2f", $2 / r }
    $1 == "TcpExtTCPPureAcks" { printf " pure_acks=%.2f", $2 / r }
    $1 == "TcpExtTCPOrigDataSent" { printf " data_segments=%.2f", $2 / r }' "$W/nstat.txt"
  for cpu in 0 1; do
    awk -F, -v r="$reqs" -v c="$cpu" '$1 ~ /^[0-9]/ && $3 ~ /:/ { split($3, e, ":"); printf " cpu%s_%s=%.1f", c, e[2], $1 / r }' "$W/cpu$cpu.txt"
  done
  echo
  kill "$pid"; wait "$pid" 2>/dev/null || true
  sleep 0.3
done
