#!/usr/bin/env bash
# Installs every Debian package that Atoll's build, tests, demo and benchmarks need.
# Safe to re-run; works as root without a terminal (CI) or through sudo.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libssl-dev libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev libcbor-dev
  libsqlite3-dev sqlite3 libpq-dev postgresql
  libtss2-dev swtpm swtpm-tools tpm2-tools
  libseccomp-dev libcmocka-dev
  curl ca-certificates python3 procps psmisc
)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
