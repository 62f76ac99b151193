#!/usr/bin/env bash
# Installs the Debian packages r1 needs; does nothing when all are present.
# Usage: scripts/install-deps.sh [--peers]   (--peers adds PyTorch/OpenBLAS/Node for side-by-side benches)
set -euo pipefail
packages=(build-essential cmake git pkg-config libeigen3-dev libtbb-dev doctest-dev
          libbenchmark-dev nlohmann-json3-dev libcli11-dev libpcre2-dev python3
          libopenmpi-dev openmpi-bin clang libclang-rt-14-dev)  # clang: the libFuzzer harnesses (tests/fuzz)
if [[ "${1:-}" == "--peers" ]]; then
  packages+=(python3-torch libopenblas-dev)
  # Node.js may come from elsewhere with its own npm; only ask Debian when missing.
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "r1: installing ${missing[*]}" >&2
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
