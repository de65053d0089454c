#!/usr/bin/env bash
# The HIP compile-only toolchain for gfx942 and gfx950 (and gfx90a) on a machine without ROCm, Debian 12:
# - clang-22 and lld-22 from bookworm's security archive (installed with apt-get);
# - HIP 7.2's headers, device libraries and rocThrust/rocPRIM headers from Debian experimental, fetched
#   with a private apt state (the machine's own apt setup is not changed) and unpacked into PREFIX.
# Usage: scripts/install-hip-toolchain.sh [PREFIX]   (default $HIP_TOOLCHAIN_ROOT or /opt/hip-toolchain)
# The harness looks for the unpacked files in $HIP_TOOLCHAIN_ROOT, else /opt/hip-toolchain.
set -euo pipefail
PREFIX=${1:-${HIP_TOOLCHAIN_ROOT:-/opt/hip-toolchain}}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

$SUDO apt-get install -y -qq --no-install-recommends clang-22 lld-22 >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR experimental main" >"$tmp/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o Dir::State::Status=/dev/null
  -o APT::Sandbox::User=root)
apt-get "${apt_private[@]}" update -qq
# Selectors, not versions: what experimental carries moves.
(cd "$tmp/debs" && apt-get "${apt_private[@]}" download -qq \
  libamdhip64-dev/experimental rocm-device-libs-22/experimental \
  librocthrust-dev/experimental librocprim-dev/experimental)
$SUDO mkdir -p "$PREFIX"
for deb in "$tmp"/debs/*.deb; do $SUDO dpkg-deb -x "$deb" "$PREFIX"; done
echo "HIP toolchain: $(clang++-22 --version | head -1); headers and device libraries in $PREFIX"
