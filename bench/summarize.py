#!/usr/bin/env python3
"""Medians of bench/compare.sh's raw lines, and ringlb's ratios to the best peer of the same run.
Best peer = the best figure among haproxy, hap-splice, hap-splice-all, hap-smart and nginx: the highest req/s, the lowest
CPU, p50, p99 and bytes per idle connection. A req/s ratio above 1, or any other ratio below 1,
means ringlb beats every peer."""
import re, statistics, sys
from collections import defaultdict

PEERS = ("haproxy", "hap-splice", "hap-splice-all", "hap-smart", "nginx")
runs = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) < 3:
        continue
    mode, target = parts[0], parts[1]
    for key, value in re.findall(r"(\w+)=(-?[\d.]+)", line):
        runs[(mode, target)][key].append(float(value))

def med(mode, target, key):
    values = [v for v in runs.get((mode, target), {}).get(key, []) if v >= 0]
    return statistics.median(values) if values else None

def fmt(v, digits=1):
    return "-" if v is None else f"{v:,.{digits}f}"

modes = []
for mode, _ in runs:
    if mode not in modes:
        modes.append(mode)
print("| workload | target | req/s | p50 (us) | p99 (us) | proxy CPU us/req | req/s vs best peer | "
      "p50 vs best peer | p99 vs best peer | CPU vs best peer | req/s vs direct |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for mode in modes:
    if mode == "idle" or mode.startswith("profile:"):
        continue
    best_cpu = min((v for v in (med(mode, p, "cpuus") for p in PEERS) if v), default=None)
    best_p50 = min((v for v in (med(mode, p, "p50us") for p in PEERS) if v), default=None)
    best_p99 = min((v for v in (med(mode, p, "p99us") for p in PEERS) if v), default=None)
    best_rps = max((v for v in (med(mode, p, "rps") for p in PEERS) if v), default=None)
    direct = med(mode, "direct", "rps")
    for (m, target) in runs:
        if m != mode:
            continue
        rps, p50, p99 = med(mode, target, "rps"), med(mode, target, "p50us"), med(mode, target, "p99us")
        cpu = med(mode, target, "cpuus")
        ratio = lambda a, b: "-" if not a or not b else f"{a / b:.2f}x"
        ours = target not in PEERS + ('direct',)
        print(f"| {mode} | {target} | {fmt(rps, 2 if rps is not None and rps < 100 else 0)} | {fmt(p50, 0)} | {fmt(p99, 0)} | {fmt(cpu)} | "
              f"{ratio(rps, best_rps) if ours else ''} | {ratio(p50, best_p50) if ours else ''} | "
              f"{ratio(p99, best_p99) if ours else ''} | {ratio(cpu, best_cpu) if ours else ''} | "
              f"{ratio(rps, direct) if target != 'direct' else ''} |")
idle = [(t, med("idle", t, "bytesperconn")) for (m, t) in runs if m == "idle"]
if idle:
    best = min((v for t, v in idle if t in PEERS and v), default=None)
    print()
    print("| idle connections | bytes of RSS per connection | vs best peer |")
    print("| --- | ---: | ---: |")
    for t, v in idle:
        r = f"{v / best:.2f}x" if best and t not in PEERS else ""
        print(f"| {t} | {fmt(v, 0)} | {r} |")

# PROFILE=1: where each proxy's CPU per request goes (bench/split.py), in microseconds, from the
# profiled run's fractions times the unprofiled median. TCP work (conn + data) is what every
# proxy asks of the kernel for the same traffic; the target column shows what ringlb would have
# to reach, which is below its TCP work alone where the target cannot be met by any overhead cut.
TARGET = {"keepalive": 0.80, "close": 0.80, "bulk1m": 0.70, "bulk1m-64": 0.70, "bulk100m": 0.70}
prof = [(m.split(":", 1)[1], t) for (m, t) in runs if m.startswith("profile:")]
if prof:
    print()
    print("| workload | proxy | CPU us/req | TCP connections | TCP data | TCP total | sleep/wake | "
          "event mechanism, syscalls | user | ringlb target |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, t in prof:
        cpu = med(mode, t, "cpuus")
        if not cpu:
            continue
        f = {k: med("profile:" + mode, t, k) or 0.0 for k in ("conn", "data", "wait", "mech", "user")}
        us = {k: v * cpu for k, v in f.items()}
        best_cpu = min((v for v in (med(mode, p, "cpuus") for p in PEERS) if v), default=None)
        target = f"{TARGET[mode] * best_cpu:.1f}" if t == "ringlb" and mode in TARGET and best_cpu else ""
        print(f"| {mode} | {t} | {cpu:.1f} | {us['conn']:.1f} | {us['data']:.1f} | "
              f"{us['conn'] + us['data']:.1f} | {us['wait']:.1f} | {us['mech']:.1f} | {us['user']:.1f} | {target} |")
