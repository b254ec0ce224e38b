#!/usr/bin/env python3
"""Per-round ratios of a bench/compare.sh raw file (RAW=...), for runs with REPS > 1.

compare.sh runs the targets one after another within each round, and this machine's speed moves
by half between minutes, so a ratio of medians can compare a fast minute with a slow one. Taking
ringlb's ratio to the best peer *within* each round, and then the median of those, compares
targets measured seconds apart. Prints, per workload, each round's req/s / CPU us per request /
load CPU us per request of every target (ERR: wrk reported errors), ringlb's two ratios to the
best peer of that round, and their medians, minimum and maximum, also without errored rounds.
  python3 bench/rounds.py RAW_FILE
"""
import re
import statistics
import sys
from collections import defaultdict

PEERS = ("haproxy", "hap-splice", "hap-splice-all", "hap-smart", "nginx")


def rounds_of(lines, targets):
    """The rounds of one workload: grouped by the rep= field compare.sh writes (since
    2026-12-03 17:15); for older files, consecutive slices, checked to hold the targets in order."""
    if all("rep" in v for _, v in lines):
        by_rep = defaultdict(list)
        for t, v in lines:
            by_rep[int(v["rep"])].append((t, v))
        return [by_rep[k] for k in sorted(by_rep)]
    rounds = [lines[i:i + len(targets)] for i in range(0, len(lines), len(targets))]
    for r in rounds:
        if [t for t, _ in r] != targets:
            sys.exit(f"rounds.py: a round holds {[t for t, _ in r]}, not {targets}: a run is missing")
    return rounds


def main():
    runs = defaultdict(list)  # mode -> [(target, {key: value})] in file order
    for line in open(sys.argv[1]):
        parts = line.split()
        if len(parts) < 3 or parts[0].startswith("profile:"):
            continue
        values = {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+)", line)}
        if "bytesperconn" in values:
            continue  # the idle workload: one run, no rounds
        if "rps" not in values:
            sys.exit(f"rounds.py: no req/s in: {line.strip()}")
        runs[parts[0]].append((parts[1], values))
    for mode, lines in runs.items():
        targets = list(dict.fromkeys(t for t, _ in lines))
        print(mode)
        rps_ratios, cpu_ratios, clean = [], [], []
        for r in rounds_of(lines, targets):
            by = dict(r)
            peers = [v for t, v in by.items() if t in PEERS]
            if "ringlb" not in by or not peers:
                continue
            ours = by["ringlb"]
            rps_ratios.append(ours["rps"] / max(p["rps"] for p in peers))
            peer_cpu = [p["cpuus"] for p in peers if p["cpuus"] > 0]
            cpu_ratios.append(ours["cpuus"] / min(peer_cpu) if peer_cpu and ours["cpuus"] > 0 else float("nan"))
            errored = any(v.get("err", 0) for _, v in r)
            clean.append(not errored)
            cells = " ".join(f"{t}:{v['rps']:.0f}/{v['cpuus']:.0f}/{v.get('loadus', -1):.0f}"
                             + (" ERR" if v.get("err", 0) else "") for t, v in r)
            print(f"  {cells}  rps/best={rps_ratios[-1]:.2f} cpu/best={cpu_ratios[-1]:.2f}")
        if not rps_ratios:
            continue

        def summary(label, values):
            values = [x for x in values if x == x]  # without NaN
            if values:
                extra = f", >= 1 in {sum(x >= 1 for x in values)} of {len(values)}" if label == "req/s" else ""
                print(f"  per-round {label} vs best peer: median {statistics.median(values):.2f}, "
                      f"min {min(values):.2f}, max {max(values):.2f}{extra}")
        summary("req/s", rps_ratios)
        summary("CPU", cpu_ratios)
        if not all(clean):
            print(f"  without the {clean.count(False)} round(s) with errors (ERR):")
            summary("req/s", [x for x, ok in zip(rps_ratios, clean) if ok])
            summary("CPU", [x for x, ok in zip(cpu_ratios, clean) if ok])


if __name__ == "__main__":
    main()
