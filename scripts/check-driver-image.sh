#!/usr/bin/env bash
# Checks that a built driver image is what Windows and Wine load as a kernel driver, for x64 or
# ARM64: a PE32+ image of that machine for the native subsystem whose entry point is DriverEntry
# and which imports from ntoskrnl.exe (and HAL.dll) only, and only the routines the project's
# lists name (windows/driver/imports/, each checked against every supported Windows); and what
# only Windows checks: a correct PE checksum, no section both writable and executable (memory
# integrity, on by default on many ARM64 machines, refuses such a driver), and unwind data
# (.pdata) for every function that needs it, without which stack walks fail and an exception
# unwinding through it bugchecks. On ARM64 also: x18 (the kernel's processor control region)
# is never used.
# Usage: check-driver-image.sh IMAGE [PE_CHECKSUM_TOOL [x64|arm64 [IMPORT_LIST_DIR|-]]]
#   IMPORT_LIST_DIR "-": any routine of those two modules (the test driver pnpprobe.sys).
set -euo pipefail
image=$1
here=$(cd "$(dirname "$0")" && pwd)
checksum_tool=${2:-$here/../build/tools/pe_checksum}
arch=${3:-x64}
lists=${4:-$here/../windows/driver/imports}
fail() { echo "check-driver-image: $image: $*" >&2; exit 1; }

headers=$(llvm-readobj --file-headers "$image") || fail "not a PE image"
field() { awk -v f="$1:" '$1 == f {print $2; exit}' <<<"$headers"; }
case $arch in
    x64) machine=0x8664 ;;
    arm64) machine=0xAA64 ;;
    *) fail "unknown architecture $arch (x64 or arm64)" ;;
esac
grep -q "^ *Machine: .*($machine)$" <<<"$headers" || fail "not an $arch image (machine $machine)"
[ "$(field Magic)" = 0x20B ] || fail "not a PE32+ image"
grep -q '^ *Subsystem: IMAGE_SUBSYSTEM_NATIVE (0x1)$' <<<"$headers" || fail "subsystem is not native (1)"
grep -q 'IMAGE_DLL_CHARACTERISTICS_NX_COMPAT' <<<"$headers" || fail "not marked NX compatible"

entry=$(field AddressOfEntryPoint)
base=$(field ImageBase)
addr=$(llvm-nm "$image" 2>/dev/null | awk '$3 == "DriverEntry" {print $1}')
[ -n "$addr" ] || fail "no DriverEntry symbol"
[ $((16#$addr - base)) -eq $((entry)) ] || fail "entry point $entry is not DriverEntry ($addr - $base)"

# Imports: module, then routine, one pair a line.
imported=$(llvm-readobj --coff-imports "$image" | awk '/^ *Name: / {dll = $2} /^ *Symbol: / {print dll, $2}')
grep -qi '^ntoskrnl.exe ' <<<"$imported" || fail "does not import ntoskrnl.exe"
while read -r dll routine; do
    case ${dll,,} in
        ntoskrnl.exe) list=ntoskrnl.def ;;
        hal.dll) list=hal.def ;;
        *) fail "imports $dll (only ntoskrnl.exe and HAL.dll are allowed)" ;;
    esac
    [ "$lists" = - ] || grep -qx "$routine" "$lists/$list" ||
        fail "imports $dll!$routine, which $lists/$list does not list"
done <<<"$imported"
imports=$(awk '{print tolower($1)}' <<<"$imported" | sort -u | tr '\n' ' ')

"$checksum_tool" verify "$image" >/dev/null || fail "wrong PE checksum (Windows will not load it)"

wx=$(llvm-readobj --sections "$image" | awk '
    /^ *Name: / { name = $2 } /IMAGE_SCN_MEM_EXECUTE/ { x[name] = 1 } /IMAGE_SCN_MEM_WRITE/ { w[name] = 1 }
    END { for (n in x) if (n in w) print n }')
[ -z "$wx" ] || fail "section $wx is both writable and executable"

unwind=$(llvm-readobj --unwind "$image")
if [ "$arch" = x64 ]; then
    # LLVM does not shrink-wrap functions with Win64 unwind data, so a frame is set up before the
    # first branch: read each function only up to there (what follows may be a jump table, not
    # code). Those that push, move rsp or call need a RUNTIME_FUNCTION that starts at their address.
    pdata=$(sed -n 's/^ *StartAddress: .*(0x\([0-9A-Fa-f]*\))$/\1/p' <<<"$unwind" | tr 'A-F' 'a-f')
    missing=$(llvm-objdump -d --no-show-raw-insn -M intel "$image" | awk -v pdata="$pdata" '
        BEGIN { n = split(pdata, list, "\n"); for (i = 1; i <= n; i++) { a = list[i]; sub(/^0+/, "", a); has[a] = 1 } }
        function finish() { if (name != "" && frame && !(addr in has)) print name }
        /^[0-9a-f]+ <[^>]+>:$/ { finish(); addr = $1; sub(/^0+/, "", addr); name = $2; frame = 0; prologue = 1; next }
        !prologue { next }
        /\t(call|push)\t/ || /\t(sub|add|and)\trsp, / || /\tlea\trsp, / { frame = 1 }
        /\t(j[a-z]*|ret|int3|ud2)(\t|$)/ { prologue = 0 }
        END { finish() }' | tr -d '<>:' | tr '\n' ' ')
    entries=$(wc -w <<<"$pdata")
else
    # Every instruction that moves sp, stores with sp write-back or calls must lie inside a
    # RUNTIME_FUNCTION's range (start, FunctionLength bytes), whatever branch it follows; ARM64
    # jump tables live in .rdata, so the whole of .text is code.
    ranges=$(awk '/^ *Function: .*\(0x[0-9A-Fa-f]+\)$/ { s = $NF; gsub(/[()]/, "", s); start = s; next }
                  /^ *FunctionLength: / && start != "" { print start, $2; start = "" }' <<<"$unwind")
    disassembly=$(llvm-objdump -d --no-show-raw-insn "$image")
    missing=$(awk -v ranges="$ranges" '
        function hex(s,    v, i) { s = tolower(s); sub(/^0x/, "", s); v = 0
                                  for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
                                  return v }
        BEGIN { n = split(ranges, list, "\n")
                for (i = 1; i <= n; i++) { split(list[i], r, " "); lo[i] = hex(r[1]); hi[i] = lo[i] + r[2] } }
        /^[0-9a-f]+ <[^>]+>:$/ { name = $2; next }
        /^ *[0-9a-f]+: *\t/ {
            text = $0; sub(/^ *[0-9a-f]+: *\t/, "", text); sub(/:$/, "", $1)
            if (text !~ /^(bl|blr)\t/ && text !~ /^(sub|add|mov)\tsp, / && text !~ /\[sp, #-?[0-9]+\]!/ && text !~ /\[sp\], #/) next
            a = hex($1); covered = 0
            for (i = 1; i <= n && !covered; i++) covered = a >= lo[i] && a < hi[i]
            if (!covered && !(name in told)) { told[name] = 1; print name }
        }' <<<"$disassembly" | tr -d '<>:' | tr '\n' ' ')
    entries=$(grep -c . <<<"$ranges" || true)
    # x18 holds the kernel's processor control region: the driver never touches it.
    x18=$(grep -P '^ *[0-9a-f]+: *\t.*(?<![0-9A-Za-z+#])[xw]18\b' <<<"$disassembly" | head -n 3 || true)
    [ -z "$x18" ] || fail "uses x18: $x18"
fi
[ -z "$missing" ] || fail "no unwind data (.pdata) for: $missing"
# Windows finds the unwind entries through the exception directory, not by section name.
[ "$arch" = x64 ] && entry_size=12 || entry_size=8
[ "$(field ExceptionTableRVA)" = "$(llvm-readobj --sections "$image" | awk '/^ *Name: / {n = $2} n == ".pdata" && /VirtualAddress:/ {print $2; exit}')" ] &&
    [ $(($(field ExceptionTableSize))) -eq $((entries * entry_size)) ] ||
    fail "the exception directory does not hold the $entries unwind entries of .pdata"
functions=$(llvm-objdump -d "$image" | grep -c '^[0-9a-f]* <.*>:$')
echo "check-driver-image: $image: native PE32+ ($arch), entry DriverEntry, imports: $imports$([ "$lists" = - ] || echo "(each routine listed)");" \
     "checksum correct; no writable code; unwind data for every function with a frame ($entries entries, $functions functions)"
