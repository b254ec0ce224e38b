#!/usr/bin/env bash
# Latency of a keep-alive load while ringlb reloads its configuration every second.
#
# ringlb (one worker) fronts one backend `be` of SERVERS (1,000) servers balanced by `rendezvous`
# on `source_ip_port`; every server is a distinct loopback address (127.0.X.Y:19101, all of
# 127.0.0.0/8 is local on Linux) reaching the same nginx, which listens on 0.0.0.0:19101 and
# answers `return 200 "hello\n"`. wrk drives 64 keep-alive connections for DUR seconds. Cases:
#   base      no reload (the baseline)
#   rebuild   a SIGHUP every PERIOD seconds (see below), the file alternating between A and B, which differ
#             in one server's weight (s500: 100 / 200): every reload rebuilds the backend's
#             rendezvous table (2^16 rows x 1,000 servers, the expensive case)
#   nochange  a SIGHUP every PERIOD seconds, the file rewritten with only a comment changed:
#             parsed and validated, reported as `no changes`, no table built
# A SIGHUP that arrives while a reload runs is folded into the next reload, so the next SIGHUP
# waits for the previous reload's report: reloads come every PERIOD s, or back to back when one
# takes longer (a 1,000-server rebuild sharing CPU 1 with the worker can). The last is sent no
# later than 1 s before wrk stops.
# The cases alternate run by run (base, rebuild, nochange, base, ...; RUNS rounds), because the
# machine these figures come from is shared and its speed drifts between minutes.
# Pinning as in bench/compare.sh: nginx and wrk share CPU 0, ringlb (every thread of it: worker,
# control loop, builder) runs on CPU 1.
#
# Usage:
#   RINGLB=build/ringlb bench/reload_latency.sh            # 3 rounds x 3 cases x 20 s, ~4 min
#   DUR=5 RUNS=1 CASES="base rebuild" bench/reload_latency.sh   # a quick look
# Knobs: RINGLB (binary, default build/ringlb; not built here: scripts/build.sh release ringlb),
#   DUR (s per run, default 20), RUNS (rounds, default 3), CASES (default "base rebuild nochange"),
#   CONNS (wrk connections, default 64), SERVERS (default 1000), PERIOD (whole s between reloads,
#   default 1), RAW (file to keep the raw per-run lines), KEEP (set: keep the work directory,
#   with ringlb's log and the configs, and print its path), IDLE_BUILDER (set: an experiment, not
#   what ringlb does: put every ringlb thread but the worker - the control loop and the builder -
#   under SCHED_IDLE with chrt, so the worker always runs first on the CPU they share).
# Per run: req/s, p50, p99 and max latency (wrk --latency), reloads sent / reported done /
# failed, each reload's duration from `kill -HUP` to the log's `reload of FILE done` (the log
# has millisecond timestamps), and ringlb's CPU time (/proc) split into its worker thread and the
# others (control loop and the builder thread that parses files and builds tables). With PROBE
# (default 1; PROBE= turns it off) one more keep-alive connection sends a request every 10 ms
# from CPU 0 and times each: its worst latency while a reload was in flight (SIGHUP to `done`)
# and outside, to see whether the spikes line up with reloads. A reload that is not reported done (or fails) makes the script
# exit non-zero: that run did not measure what it says (so do wrk socket errors). Output: the raw
# lines on stderr as the runs go, then markdown tables on stdout (per run, medians per case,
# reload durations and CPU).
# Note: the backend nginx listens on 0.0.0.0:19101 for the duration of the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/lib.sh"
RINGLB=${RINGLB:-$root/build/ringlb}
DUR=${DUR:-20}; RUNS=${RUNS:-3}; CONNS=${CONNS:-64}; SERVERS=${SERVERS:-1000}; PERIOD=${PERIOD:-1}
CASES=${CASES:-"base rebuild nochange"}; PROBE=${PROBE-1}
BPORT=19101; FPORT=18101
[[ -x "$RINGLB" ]] || { echo "reload_latency.sh: no ringlb binary at $RINGLB (set RINGLB, or scripts/build.sh release ringlb)" >&2; exit 1; }
for tool in nginx wrk taskset python3; do
  command -v "$tool" >/dev/null || { "$root/packaging/install-deps.sh" --bench; break; }
done
ulimit -n "$(ulimit -Hn)"
bench_workdir

# --- backend ---------------------------------------------------------------------------------
backend_conf "$W" 1 "0.0.0.0:$BPORT" > "$W/backend.conf"

# --- ringlb configurations: A and B differ in s500's weight ----------------------------------
gen_conf() { # weight of the middle server
  cat <<C
# bench/reload_latency.sh: $SERVERS servers, rendezvous on source_ip_port
global: { workers: 1, max_connections: 100000 }
defaults:
  timeouts: { connect: 5s, client: 60s, server: 60s }
frontends:
  - { name: bench, listen: "127.0.0.1:$FPORT", backend: be }
backends:
  - name: be
    balance: rendezvous
    hash_key: source_ip_port
    servers:
C
  local i mid=$((SERVERS / 2))
  for ((i = 0; i < SERVERS; i++)); do
    printf '      - { name: s%d, address: "127.0.%d.%d:%d", weight: %d }\n' \
      "$i" $((i / 250)) $((1 + i % 250)) "$BPORT" $((i == mid ? $1 : 100))
  done
}
gen_conf 100 > "$W/A.yaml"
gen_conf 200 > "$W/B.yaml"
"$RINGLB" -c "$W/A.yaml" --check >/dev/null 2>&1 || "$RINGLB" -c "$W/A.yaml" --check
"$RINGLB" -c "$W/B.yaml" --check >/dev/null 2>&1 || "$RINGLB" -c "$W/B.yaml" --check
cp "$W/A.yaml" "$W/ringlb.yaml"
echo A > "$W/current"   # which variant the running file is (the reloader keeps it up to date)

# --- start -----------------------------------------------------------------------------------
taskset -c 0 nginx -c "$W/backend.conf" -p "$W" &
NGINX_PID=$!
taskset -c 1 "$RINGLB" -c "$W/ringlb.yaml" > "$W/ringlb.log" 2>&1 &
RPID=$!   # taskset execs ringlb: same pid
for _ in $(seq 100); do
  grep -q 'ringlb ready' "$W/ringlb.log" && break
  kill -0 "$RPID" 2>/dev/null || break
  sleep 0.1
done
grep -q 'ringlb ready' "$W/ringlb.log" || { echo "reload_latency.sh: ringlb did not start" >&2; cat "$W/ringlb.log" >&2; exit 1; }
kill -0 "$NGINX_PID" 2>/dev/null || { echo "reload_latency.sh: nginx did not start" >&2; exit 1; }
# every server reaches the backend (spot check of the first, a middle and the last address)
for i in 0 $((SERVERS / 2)) $((SERVERS - 1)); do
  curl -sf -m 2 "http://127.0.$((i / 250)).$((1 + i % 250)):$BPORT/" >/dev/null \
    || { echo "reload_latency.sh: backend not reachable on 127.0.$((i / 250)).$((1 + i % 250))" >&2; exit 1; }
done
curl -sf -m 2 "http://127.0.0.1:$FPORT/" >/dev/null || { echo "reload_latency.sh: no answer through ringlb" >&2; exit 1; }
# the worker thread is the one that logs its io_uring features; CPU of the others = process - it
WTID=$(sed -n 's/.*\[\([0-9]*\)\] io_uring features.*/\1/p' "$W/ringlb.log" | head -n 1)
[[ -r /proc/$RPID/task/$WTID/stat ]] || { echo "reload_latency.sh: worker thread not found" >&2; exit 1; }
if [[ -n ${IDLE_BUILDER:-} ]]; then  # experiment: ringlb's other threads under SCHED_IDLE
  for t in /proc/$RPID/task/*; do
    t=${t##*/}; [[ $t == "$WTID" ]] || chrt --idle -p 0 "$t"
  done
fi
ticks() { awk '{print $14+$15}' "$1"; }   # utime+stime (a process's includes its ended threads)

# --- the probe: one more keep-alive connection, a request every 10 ms, each timed -----------
cat > "$W/probe.py" <<'PY'
import socket, sys, time
port, dur, out = int(sys.argv[1]), float(sys.argv[2]), open(sys.argv[3], "w")
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
req, end = b"GET / HTTP/1.1\r\nHost: probe\r\n\r\n", time.time() + dur
while time.time() < end:
    t0 = time.time(); s.sendall(req); buf = b""
    while not buf.endswith(b"hello\n"):
        chunk = s.recv(4096)
        if not chunk: sys.exit("probe: connection closed")
        buf += chunk
    t1 = time.time(); out.write(f"{t0:.6f} {(t1 - t0) * 1e6:.0f}\n")
    time.sleep(max(0.0, 0.01 - (t1 - t0)))
PY

# --- one run ---------------------------------------------------------------------------------
reported() { # ringlb log lines after line $1 that end a reload
  tail -n +"$(($1 + 1))" "$W/ringlb.log" | grep -cE 'reload of .* (done|failed)$' || true
}
reloader() { # case file-of-send-times log-start: a SIGHUP every PERIOD s until DUR-1 s
  # A reload asked for while one runs is folded into the next one (docs/operations.md), so a
  # SIGHUP is sent only once the previous reload is reported: every PERIOD, or back to back when
  # a reload takes longer than PERIOD.
  local i=0 cur next start last gap
  now() { local t=$EPOCHREALTIME; echo $(( ${t/./} )); }   # microseconds
  start=$(now); last=$start
  taskset -pc 0 "$BASHPID" >/dev/null   # with the load generators: CPU 1 is ringlb's alone
  while :; do
    gap=$(( last + PERIOD * 1000000 - $(now) ))
    (( gap > 0 )) && sleep "$(printf '%d.%06d' $((gap / 1000000)) $((gap % 1000000)))"
    (( $(now) >= start + (DUR - 1) * 1000000 )) && break
    cur=$(cat "$W/current")
    if [[ $1 == rebuild ]]; then
      next=$([[ $cur == A ]] && echo B || echo A)
      cp "$W/$next.yaml" "$W/next.yaml"
      echo "$next" > "$W/current"
    else
      i=$((i + 1))
      { cat "$W/$cur.yaml"; echo "# reload $i"; } > "$W/next.yaml"
    fi
    mv "$W/next.yaml" "$W/ringlb.yaml"
    last=$(now)
    echo "$EPOCHREALTIME" >> "$2"
    kill -HUP "$RPID"
    local want; want=$(wc -l < "$2")
    for _ in $(seq 600); do   # at most 30 s
      (( $(reported "$3") >= want )) && break
      sleep 0.05
    done
  done
}
RAWF=${RAW:-$W/raw.txt}; : > "$RAWF"
run() { # case round
  local c=$1 r=$2 n0 sends=$W/sends.$c.$r out rp=""
  : > "$sends"
  n0=$(wc -l < "$W/ringlb.log")
  local pp="" c0 w0 c1 w1
  [[ -n $PROBE ]] && { taskset -c 0 timeout $((DUR + 10)) python3 "$W/probe.py" "$FPORT" "$((DUR - 1))" "$W/probe.$c.$r" & pp=$!; }
  [[ $c != base ]] && { reloader "$c" "$sends" "$n0" & rp=$!; }
  c0=$(ticks "/proc/$RPID/stat"); w0=$(ticks "/proc/$RPID/task/$WTID/stat")
  out=$(timeout $((DUR + 30)) taskset -c 0 wrk -t1 -c"$CONNS" -d"${DUR}s" --latency "http://127.0.0.1:$FPORT/" 2>&1)
  [[ -n $rp ]] && wait "$rp"
  [[ -n $pp ]] && wait "$pp"
  # wait (bounded) until ringlb has reported every reload sent
  local want; want=$(wc -l < "$sends")
  for _ in $(seq 300); do
    (( $(reported "$n0") >= want )) && break
    sleep 0.1
  done
  c1=$(ticks "/proc/$RPID/stat"); w1=$(ticks "/proc/$RPID/task/$WTID/stat")
  tail -n +"$((n0 + 1))" "$W/ringlb.log" > "$W/log.$c.$r"
  echo "$out" > "$W/wrk.$c.$r"
  python3 - "$c" "$r" "$W/wrk.$c.$r" "$sends" "$W/log.$c.$r" "$((w1 - w0))" "$((c1 - c0 - w1 + w0))" \
    "$(getconf CLK_TCK)" "${PROBE:+$W/probe.$c.$r}" >> "$RAWF" <<'PY'
import re, sys, datetime
case, rnd, wrk, sends, log, wticks, oticks, hz, probe = sys.argv[1:]
def us(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
text = open(wrk).read()
f = {}
m = re.search(r"^[ \t]+Latency[ \t]+(\S+)[ \t]+(\S+)[ \t]+(\S+)", text, re.M)
f["maxus"] = us(m.group(3))
for p in ("50", "99"):
    f[f"p{p}us"] = us(re.search(rf"^\s+{p}%\s+(\S+)", text, re.M).group(1))
f["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
f["err"] = int(bool(re.search(r"Socket errors|Non-2xx", text)))
sent = [float(x) for x in open(sends).read().split()]
done, failed, changes = [], 0, 0
for line in open(log):
    t = line.split(" ", 1)[0]
    if " reload of " in line and line.rstrip().endswith(" done"):
        done.append(datetime.datetime.fromisoformat(t).timestamp())
    elif " reload of " in line and " failed" in line:
        failed += 1
    elif "changed: weight" in line:
        changes += 1
ms = [round((d - s) * 1000, 1) for s, d in zip(sent, done)] if len(done) == len(sent) else []
extra = ""
if probe:  # the probe's worst latency while a reload was in flight (SIGHUP .. done) and outside
    windows = list(zip(sent, done))
    inside, outside = [0], [0]
    for line in open(probe):
        t, lat = line.split()
        t, lat = float(t), int(lat)
        (inside if any(a - 0.005 <= t <= b + 0.005 for a, b in windows) else outside).append(lat)
    extra = f" probe_n={len(inside) + len(outside) - 2} probe_in_maxus={max(inside)} probe_out_maxus={max(outside)}"
print(f"{case} round={rnd} rps={f['rps']:.0f} p50us={f['p50us']:.0f} p99us={f['p99us']:.0f} "
      f"maxus={f['maxus']:.0f} err={f['err']} sent={len(sent)} done={len(done)} failed={failed} "
      f"weightchanges={changes} cpuworker_s={int(wticks) / int(hz):.2f} cpuother_s={int(oticks) / int(hz):.2f} "
      f"reloadms={','.join(map(str, ms)) or '-'}{extra}")
PY
  tail -n 1 "$RAWF" >&2
}
for r in $(seq "$RUNS"); do
  for c in $CASES; do run "$c" "$r"; done
done
kill -0 "$RPID" 2>/dev/null || { echo "reload_latency.sh: ringlb died" >&2; exit 1; }

# --- tables ----------------------------------------------------------------------------------
python3 - "$RAWF" <<'PY'
import re, statistics, sys
rows = []
for line in open(sys.argv[1]):
    case = line.split()[0]
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    rows.append((case, kv))
cases = list(dict.fromkeys(c for c, _ in rows))
ms = lambda us: f"{float(us) / 1000:.2f}"
probe = "probe_n" in rows[0][1]
pcols = " probe max: in a reload / outside (ms) |" if probe else ""
print("\n| case | round | req/s | p50 (ms) | p99 (ms) | max (ms) | reloads sent / done / failed "
      "| ringlb CPU (s): worker / other threads |" + pcols)
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if probe else ""))
for c, kv in rows:
    rel = "-" if c == "base" else f"{kv['sent']} / {kv['done']} / {kv['failed']}"
    pv = ""
    if probe:
        pv = f" {'-' if c == 'base' else ms(kv['probe_in_maxus'])} / {ms(kv['probe_out_maxus'])} |"
    print(f"| {c} | {kv['round']} | {float(kv['rps']):,.0f} | {ms(kv['p50us'])} | {ms(kv['p99us'])} "
          f"| {ms(kv['maxus'])} | {rel} | {kv['cpuworker_s']} / {kv['cpuother_s']} |" + pv)
print("\n| case (median of runs) | req/s | p50 (ms) | p99 (ms) | max (ms) | max, each run (ms) "
      "| ringlb CPU (s): worker / other threads |")
print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
for c in cases:
    kvs = [kv for cc, kv in rows if cc == c]
    med = lambda k: statistics.median(float(kv[k]) for kv in kvs)
    each = ", ".join(ms(kv["maxus"]) for kv in kvs)
    print(f"| {c} | {med('rps'):,.0f} | {ms(med('p50us'))} | {ms(med('p99us'))} | {ms(med('maxus'))} "
          f"| {each} | {med('cpuworker_s'):.2f} / {med('cpuother_s'):.2f} |")
print("\n| case | reloads | SIGHUP to `done`: median (ms) | p90 (ms) | max (ms) | CPU of the other threads per reload (ms), median of runs |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
bad = False
for c in cases:
    if c == "base":
        continue
    kvs = [kv for cc, kv in rows if cc == c]
    vals = sorted(float(x) for kv in kvs if kv["reloadms"] != "-" for x in kv["reloadms"].split(","))
    bad |= any(kv["sent"] != kv["done"] or kv["failed"] != "0" for kv in kvs)
    cpu = statistics.median(float(kv["cpuother_s"]) * 1000 / max(1, int(kv["sent"])) for kv in kvs)
    if vals:
        p90 = vals[min(len(vals) - 1, int(0.9 * len(vals)))]
        print(f"| {c} | {len(vals)} | {statistics.median(vals):.1f} | {p90:.1f} | {vals[-1]:.1f} | {cpu:.0f} |")
if bad:
    print("\nreload_latency.sh: some reloads were not reported done (or failed): those runs are invalid", file=sys.stderr)
if any(kv["err"] != "0" for _, kv in rows):
    print("\nreload_latency.sh: wrk reported socket errors or non-2xx answers (see the raw lines)", file=sys.stderr)
    bad = True
sys.exit(1 if bad else 0)
PY
