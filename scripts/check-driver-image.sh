#!/usr/bin/env bash
# Checks that a built driver image is what Windows and Wine load as a kernel driver:
# a PE32+ image for the native subsystem whose entry point is DriverEntry and which imports
# from ntoskrnl.exe (and HAL.dll) only; and what only Windows checks: a correct PE checksum,
# and unwind data (.pdata) for every function that pushes, moves rsp or calls, without which
# stack walks fail and an exception unwinding through it bugchecks.
# Usage: check-driver-image.sh lbk.sys [PE_CHECKSUM_TOOL]
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

checksum_tool=${2:-$(dirname "$0")/../build/tools/pe_checksum}
"$checksum_tool" verify "$image" >/dev/null || fail "wrong PE checksum (Windows will not load it)"

# Functions from the disassembly. LLVM does not shrink-wrap functions with Win64 unwind data, so
# a frame is set up before the first branch: read each function only up to there (what follows
# may be a jump table, not code). Those that push, move rsp or call need a RUNTIME_FUNCTION
# that starts at their address.
pdata=$(llvm-readobj --unwind "$image" | sed -n 's/^ *StartAddress: .*(0x\([0-9A-Fa-f]*\))$/\1/p' | tr 'A-F' 'a-f')
missing=$(llvm-objdump -d --no-show-raw-insn -M intel "$image" | awk -v pdata="$pdata" '
    BEGIN { n = split(pdata, list, "\n"); for (i = 1; i <= n; i++) { a = list[i]; sub(/^0+/, "", a); has[a] = 1 } }
    function finish() { if (name != "" && frame && !(addr in has)) print name }
    /^[0-9a-f]+ <[^>]+>:$/ { finish(); addr = $1; sub(/^0+/, "", addr); name = $2; frame = 0; prologue = 1; next }
    !prologue { next }
    /\t(call|push)\t/ || /\t(sub|add|and)\trsp, / || /\tlea\trsp, / { frame = 1 }
    /\t(j[a-z]*|ret|int3|ud2)(\t|$)/ { prologue = 0 }
    END { finish() }' | tr -d '<>:' | tr '\n' ' ')
functions=$(llvm-objdump -d "$image" | grep -c '^[0-9a-f]* <.*>:$')
[ -z "$missing" ] || fail "no unwind data (.pdata) for: $missing"
echo "check-driver-image: $image: native PE32+, entry DriverEntry, imports: $imports; checksum correct;" \
     "unwind data for every non-leaf function ($(wc -w <<<"$pdata") entries, $functions functions)"
