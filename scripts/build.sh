#!/usr/bin/env bash
# Configures and builds one flavour of ringlb. Shared by demo.sh, test.sh and the benchmarks.
#   scripts/build.sh [release|asan] [target...]   -> prints the build directory last
# Options are always passed explicitly: a cached option from an earlier configure (say, tests
# turned off) must never silently change what a later caller gets.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:-release}; shift || true
case $flavour in
  release) dir=$root/build; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGLB_SANITIZE=OFF) ;;
  # -O1, as the sanitizers recommend: checks stay complete and asserts stay on (no NDEBUG), but
  # the tests' own SHA-256 and traffic generators no longer crawl at -O0 beside the proxy.
  asan)    dir=$root/build-asan; args=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1" -DRINGLB_SANITIZE=ON) ;;
  *) echo "build.sh: unknown flavour $flavour (release|asan)" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$dir" "${args[@]}" -DRINGLB_BUILD_TESTS=ON -DRINGLB_BUILD_BENCH=ON >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
echo "$dir"
