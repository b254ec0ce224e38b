#!/usr/bin/env bash
# From a fresh Debian 12 machine to a running demo: installs what is missing, builds, starts two
# small backends on 127.0.0.1:9001 and :9002 and ringlb on conf/demo.yaml (127.0.0.1:8080), all
# in the foreground. Ctrl-C stops everything it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/packaging/install-deps.sh"
dir=$("$root/scripts/build.sh" release -DRINGLB_BUILD_TESTS=OFF -DRINGLB_BUILD_BENCH=OFF | tail -n 1)

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$dir/ringlb-demo-backend" 9001 s1 & pids+=($!)
"$dir/ringlb-demo-backend" 9002 s2 & pids+=($!)
"$dir/ringlb" --check -c "$root/conf/demo.yaml"
cat <<MSG

  ringlb demo: 127.0.0.1:8080 -> s1 (127.0.0.1:9001), s2 (127.0.0.1:9002), round robin.
  Try, from another terminal:
      for i in 1 2 3 4; do curl -s http://127.0.0.1:8080/; done
  Ctrl-C stops ringlb and both backends.

MSG
"$dir/ringlb" -c "$root/conf/demo.yaml" & pids+=($!)
wait "${pids[2]}"
