#!/usr/bin/env bash
# Who holds a stalled request or response: samples every TCP socket's receive queue (ss, every
# 10 ms for 2 s) during a bulk run through one proxy, and reports per role the longest time a
# socket's receive queue stayed non-empty and unchanged: bytes that reached a socket and that
# its owner did not read. Used for docs/benchmarks.md, "The tail at 64 bulk connections".
#   bench/queues.sh ringlb                 # ringlb (build/ringlb), relay auto
#   RELAY=copy bench/queues.sh ringlb
#   bench/queues.sh hap-splice             # or haproxy, hap-splice-all, hap-smart, nginx (stream)
# Knobs: RELAY (ringlb's relay), BIN (ringlb binary), CONNS (64), PATH_ (/1m), DUR (s, 4),
# BACKEND_RT (set: the backend nginx runs at real-time priority, `chrt -f 1`, so that wrk on the
# same CPU never preempts it).
# Roles: the proxy's client side (a request the proxy has not read), the backend (a request the
# backend nginx has not read), wrk (a response wrk has not read), the proxy's server side (a
# response the proxy has not read). One proxy worker/thread on CPU 1, backend nginx and wrk on
# CPU 0, as in bench/compare.sh. Caveats: the sampler (date and ss every 10 ms) is not pinned
# and costs a little CPU; a stretch counts bytes unchanged between samples, so a queue that was
# read and refilled with the same length in between would count as one stretch (requests of
# equal size can; the stretches reported here ran tens of samples).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
TARGET=${1:?"usage: bench/queues.sh ringlb|haproxy|hap-splice|hap-splice-all|hap-smart|nginx"}
CONNS=${CONNS:-64}; PATH_=${PATH_:-/1m}; DUR=${DUR:-4}
BE=19081; PX=18081
bench_workdir
head -c 1048576 /dev/urandom > "$W/1m.bin"
backend_conf "$W" 1 "127.0.0.1:$BE" > "$W/backend.conf"
start_backend "$W" 0
[[ $TARGET == ringlb ]] && TARGET="ringlb:${BIN:-}:${RELAY:-}"
start_proxy "$TARGET" $PX "127.0.0.1:$BE"
sleep 0.5
wait_port $PX || { echo "queues.sh: $TARGET did not start" >&2; exit 1; }
(sleep 1; end=$((SECONDS + 2))
 while (( SECONDS < end )); do echo "T $(date +%s.%N)"; ss -tnH state established; sleep 0.01; done) > "$W/ss.txt" &
sampler=$!
taskset -c 0 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$PX$PATH_" | grep -E '^ +(50|99)%|requests in|Latency' || true
wait $sampler
python3 - "$W/ss.txt" $PX $BE <<'P'
import collections, sys
px, be = ":" + sys.argv[2], ":" + sys.argv[3]
series, t = collections.defaultdict(list), 0.0
for line in open(sys.argv[1]):
    p = line.split()
    if p[0] == "T":
        t = float(p[1])
        continue
    series[(p[2], p[3])].append((t, int(p[0]), int(p[1])))
def role(local, peer):
    if local.endswith(px): return "proxy, client side (a request it has not read)"
    if peer.endswith(px): return "wrk (a response it has not read)"
    if local.endswith(be): return "backend (a request it has not read)"
    if peer.endswith(be): return "proxy, server side (a response it has not read)"
    return "other"
longest, worst = collections.defaultdict(list), []
for key, samples in series.items():
    best, start, last, what = 0.0, None, None, None
    for t, rq, sq in samples:
        if rq > 0 and last is not None and rq == last[1]:
            start = last[0] if start is None else start
            if t - start > best:
                best, what = t - start, (rq, sq)
        else:
            start = None
        last = (t, rq, sq)
    longest[role(*key)].append(best)
    if what: worst.append((best, role(*key).split(" (")[0], what, key))
for r, v in sorted(longest.items()):
    v.sort()
    print(f"{r}: {len(v)} sockets, longest unread stretches " + ", ".join(f"{1000 * x:.0f}" for x in v[-5:]) + " ms")
for best, r, (rq, sq), (local, peer) in sorted(worst)[-3:]:
    print(f"  {1000 * best:.0f} ms: {r} {local} <- {peer}, {rq} bytes unread, {sq} unacknowledged")
P
