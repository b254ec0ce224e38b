#!/usr/bin/env bash
# io_uring operations per request of one ringlb binary, counted with the kernel's io_uring
# tracepoints: a deterministic figure (unlike CPU time on a shared machine) for levers that
# change how many operations a request costs (docs/performance.md, the standing receive).
#   bench/opcount.sh build/ringlb            # keep-alive, 64 connections
#   CLOSE=1 bench/opcount.sh build/ringlb    # a new connection per request
# Knobs: CONNS (64), DUR (s, 3), CLOSE (set: Connection: close), STANDING (true/false:
# global.standing_receive; unset: the binary's default), DEFER (true/false: the frontend's
# defer_accept). Prints requests served and, per
# request: submissions, poll arms, completions, task-work additions. One worker on CPU 1,
# backend nginx and wrk on CPU 0.
# Needs nginx, wrk and perf (bench/compare.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
BIN=$(readlink -f "$1"); CONNS=${CONNS:-64}; DUR=${DUR:-3}
bench_workdir
BE=19021; PX=18023
backend_conf "$W" 1 "127.0.0.1:$BE" > "$W/backend.conf"
ringlb_conf $PX "127.0.0.1:$BE" standing_receive="${STANDING:-}" defer_accept="${DEFER:-}" > "$W/r.yaml"
taskset -c 0 nginx -c "$W/backend.conf" -p "$W" &
sleep 0.5
taskset -c 1 "$BIN" -c "$W/r.yaml" > "$W/r.log" 2>&1 &
pid=$!
wait_port $PX || { echo "opcount.sh: ringlb did not start" >&2; cat "$W/r.log" >&2; exit 1; }
perf stat -x, -o "$W/perf.txt" -p "$pid" -e io_uring:io_uring_submit_req,io_uring:io_uring_poll_arm,io_uring:io_uring_complete,io_uring:io_uring_task_add &
perfpid=$!
sleep 0.3
headers=()
[[ -n "${CLOSE:-}" ]] && headers=(-H "Connection: close")
out=$(taskset -c 0 wrk -t1 -c"$CONNS" -d"${DUR}s" "${headers[@]}" "http://127.0.0.1:$PX/")
sleep 0.2
kill -INT "$perfpid"; wait "$perfpid" 2>/dev/null || true
reqs=$(echo "$out" | awk '/requests in/{print $1}')
echo "requests=$reqs"
awk -F, -v r="$reqs" '/io_uring/{sub(/io_uring:io_uring_/, "", $3); printf "%s_per_req=%.3f\n", $3, $1 / r}' "$W/perf.txt"
