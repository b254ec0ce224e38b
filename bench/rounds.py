#!/usr/bin/env python3
"""Per-round ratios of a bench/compare.sh raw file (RAW=...), for runs with REPS > 1.

compare.sh runs the targets one after another within each round, and this machine's speed moves
by half between minutes, so a ratio of medians can compare a fast minute with a slow one. Taking
ringlb's ratio to the best peer *within* each round, and then the median of those, compares
targets measured seconds apart. Prints, per workload, each round's req/s / CPU us per request /
load CPU us per request of every target, ringlb's two ratios to the best peer of that round, and
their medians, minimum and maximum.
  python3 bench/rounds.py RAW_FILE
"""
import re
import statistics
import sys
from collections import defaultdict

PEERS = ("haproxy", "hap-splice", "hap-splice-all", "hap-smart", "nginx")


def main():
    runs = defaultdict(list)  # mode -> [(target, {key: value})] in file order
    for line in open(sys.argv[1]):
        parts = line.split()
        if len(parts) < 3 or parts[0].startswith("profile:"):
            continue
        values = {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+)", line)}
        if "rps" in values:
            runs[parts[0]].append((parts[1], values))
    for mode, lines in runs.items():
        targets = list(dict.fromkeys(t for t, _ in lines))
        rounds = [lines[i:i + len(targets)] for i in range(0, len(lines), len(targets))]
        print(mode)
        rps_ratios, cpu_ratios = [], []
        for r in rounds:
            by = dict(r)
            peers = [v for t, v in by.items() if t in PEERS]
            if "ringlb" not in by or not peers:
                continue
            ours = by["ringlb"]
            rps_ratios.append(ours["rps"] / max(p["rps"] for p in peers))
            cpu_ratios.append(ours["cpuus"] / min(p["cpuus"] for p in peers))
            cells = " ".join(f"{t}:{v['rps']:.0f}/{v['cpuus']:.0f}/{v.get('loadus', -1):.0f}" for t, v in r)
            print(f"  {cells}  rps/best={rps_ratios[-1]:.2f} cpu/best={cpu_ratios[-1]:.2f}")
        if rps_ratios:
            print(f"  per-round req/s vs best peer: median {statistics.median(rps_ratios):.2f}, "
                  f"min {min(rps_ratios):.2f}, max {max(rps_ratios):.2f}, "
                  f">= 1 in {sum(x >= 1 for x in rps_ratios)} of {len(rps_ratios)}")
            print(f"  per-round CPU vs best peer: median {statistics.median(cpu_ratios):.2f}, "
                  f"min {min(cpu_ratios):.2f}, max {max(cpu_ratios):.2f}")


if __name__ == "__main__":
    main()
