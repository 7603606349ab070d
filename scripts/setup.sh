#!/usr/bin/env bash
# Installs every build and test dependency from Debian, non-interactively,
# then the coding agents' npm packages into ~/.cache/voidbox/npm (what the
# agent tests run) and the claude agent disk into ~/.cache/voidbox/agents. Safe to rerun: apt-get skips what is already installed,
# the package index is refreshed only when it is missing or older than a day,
# and an agent version already in the cache is not fetched again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang-format
  clang-16 libclang-rt-16-dev python3
  libboost1.81-all-dev libboost-json1.81-dev
  libyaml-cpp-dev libarchive-dev libcurl4-openssl-dev libssl-dev
  libgtest-dev libgmock-dev
  libslirp-dev libglib2.0-dev libseccomp-dev libsqlite3-dev
  e2fsprogs busybox-static cpio zstd xz-utils kmod
  qemu-system-x86 qemu-utils systemd passt
  docker-registry skopeo umoci apache2-utils mmdebstrap
  nodejs
)

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup.sh: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

install_agents() {
  # nodejs from NodeSource bundles npm; Debian's splits it into its own package.
  if ! command -v npm >/dev/null; then
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm </dev/null
  fi
  bash "$(dirname "$0")/install-agent.sh" claude >/dev/null
  bash "$(dirname "$0")/install-otlp-decoder.sh" >/dev/null
  # The agent VM tests boot on this disk; built here (seconds) rather than
  # by each test inside the emulated L1.
  bash "$(dirname "$0")/build-agent-disk.sh" claude >/dev/null
}

if ((${#missing[@]} == 0)); then
  echo "setup.sh: all ${#packages[@]} packages present"
  install_agents
  exit 0
fi
echo "setup.sh: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/update-success-stamp
lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)
if [[ -z "$lists" ]]; then
  "${sudo_cmd[@]}" apt-get update -q
fi
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
# docker-registry starts a system service on install; tests start their own on loopback.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  "${sudo_cmd[@]}" systemctl stop docker-registry || true
fi
install_agents
echo "setup.sh: done"
