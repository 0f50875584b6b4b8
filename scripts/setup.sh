#!/usr/bin/env bash
# Installs what the build and the tests need on a Debian machine, only if something is missing.
# Needs root (apt-get); on a machine that has everything it does nothing.
set -euo pipefail
packages=(make clang lld llvm gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev binutils-mingw-w64-x86-64
          qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
          wine wine64 libclang-rt-14-dev gcc valgrind clang-tidy cppcheck gnuplot-nox linux-perf
          osslsigncode openssl)
commands=(make clang ld.lld x86_64-w64-mingw32-gcc x86_64-w64-mingw32-objdump wine wineserver wineboot
          gcc valgrind clang-tidy cppcheck gnuplot taskset perf osslsigncode openssl llvm-readobj llvm-objdump
          qemu-aarch64 aarch64-linux-gnu-gcc llvm-dlltool)

# Debian's arm64 Wine, which scripts/test-wine-arm64.sh unpacks (apt-get download), needs the
# arm64 package lists.
foreign_arm64=1
dpkg --print-foreign-architectures | grep -qx arm64 || foreign_arm64=0

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ "$foreign_arm64" = 1 ]; then
    for c in "${commands[@]}"; do command -v "$c" >/dev/null || { echo "setup: $c not found" >&2; exit 1; }; done
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages: ${missing[*]}${missing[*]:+; }arm64 lists: $foreign_arm64 (1: present); run as root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
[ "$foreign_arm64" = 1 ] || dpkg --add-architecture arm64
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
