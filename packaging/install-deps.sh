#!/usr/bin/env bash
# Installs what building and testing ringlb needs, from Debian 12 packages only. Idempotent: when
# everything is present it changes nothing and does not touch the network.
#   packaging/install-deps.sh            build + test dependencies
#   packaging/install-deps.sh --bench    also the peers the side-by-side benchmark runs
set -euo pipefail

packages=(g++ cmake make pkg-config ca-certificates curl
          liburing-dev libyaml-cpp-dev prometheus-cpp-dev libspdlog-dev
          libgtest-dev libgmock-dev libbenchmark-dev)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(haproxy nginx libnginx-mod-stream wrk python3 linux-perf)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or with sudo)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
