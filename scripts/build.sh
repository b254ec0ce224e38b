#!/usr/bin/env bash
# Configures and builds one flavour of ringlb. Shared by demo.sh, test.sh and the benchmarks.
#   scripts/build.sh [release|asan] [extra cmake args...]   -> build/ or build-asan/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
flavour=${1:-release}; shift || true
case $flavour in
  release) dir=$root/build; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan)    dir=$root/build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DRINGLB_SANITIZE=ON) ;;
  *) echo "build.sh: unknown flavour $flavour (release|asan)" >&2; exit 2 ;;
esac
cmake -S "$root" -B "$dir" "${args[@]}" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
echo "$dir"
