#!/usr/bin/env bash
# Checks that a built driver image is what Windows and Wine load as a kernel driver:
# a PE32+ image for the native subsystem whose entry point is DriverEntry and which imports
# from ntoskrnl.exe (and HAL.dll) only. Usage: check-driver-image.sh lbk.sys
set -euo pipefail
image=$1
dump=$(x86_64-w64-mingw32-objdump -p "$image")
fail() { echo "check-driver-image: $image: $*" >&2; exit 1; }

grep -q '^Magic[[:space:]]*020b' <<<"$dump" || fail "not a PE32+ (x64) image"
grep -Eq '^Subsystem[[:space:]]+00000001' <<<"$dump" || fail "subsystem is not native (1)"
entry=$(awk '/^AddressOfEntryPoint/ {print $2}' <<<"$dump")
symbol=$(x86_64-w64-mingw32-nm "$image" 2>/dev/null | awk -v rva="$entry" 'BEGIN{IGNORECASE=1} {print}' | grep -i ' DriverEntry$' || true)
base=$(awk '/^ImageBase/ {print $2}' <<<"$dump")
[ -n "$symbol" ] || fail "no DriverEntry symbol"
addr=$(awk '{print $1}' <<<"$symbol")
[ $((16#$addr - 16#$base)) -eq $((16#$entry)) ] || fail "entry point $entry is not DriverEntry ($addr - $base)"
imports=$(awk '/DLL Name:/ {print tolower($3)}' <<<"$dump" | sort -u | tr '\n' ' ')
for dll in $imports; do
    case $dll in ntoskrnl.exe|hal.dll) ;; *) fail "imports $dll (only ntoskrnl.exe and HAL.dll are allowed)" ;; esac
done
grep -qi 'DLL Name: ntoskrnl.exe' <<<"$dump" || fail "does not import ntoskrnl.exe"
echo "check-driver-image: $image: native PE32+, entry DriverEntry, imports: $imports"
