#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, builds the
# normal and the sanitizer (ASan+UBSan) flavours, and runs ctest on both. .ci/run calls this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/packaging/install-deps.sh"
status=0
for flavour in release asan; do
  dir=$("$root/scripts/build.sh" "$flavour" | tail -n 1)
  echo "== ctest ($flavour)"
  # halt_on_error: a sanitizer report fails the test that caused it.
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j 2 || status=1
done
exit $status
