#!/usr/bin/env bash
# The ARM64 image is built with copies of mingw-w64's DDK headers that were written for x64 (and
# 32-bit ARM): a structure they lay out differently for ARM64 than Windows does is a driver that
# reads the wrong field of an IRP. Windows lays out the kernel structures a driver touches the
# same on x64 and ARM64 (both LLP64, naturally aligned), and the x64 layouts are the ones Wine,
# ReactOS and the tests have run. So: every structure the driver's sources lay out for both
# targets (clang's record layout dump) must be laid out the same; only those that are
# architecture-specific by nature may differ. Fails the build, naming each one that differs.
# Usage: check-arm64-layouts.sh BUILD_DIR "X64_CC FLAGS" "ARM64_CC FLAGS" SOURCE...
set -euo pipefail
out=$1/arm64/layouts
x64_cc=$2
arm64_cc=$3
shift 3
mkdir -p "$out"

# Structures whose layout is the architecture's by definition: register state, setjmp buffers,
# the processor's own blocks, and the lookaside lists, aligned to the cache line (64 bytes on x64,
# 128 on ARM64, as in the WDK). None is used by the driver.
arch_specific='^(struct|union) _?(GENERAL_LOOKASIDE|NPAGED_LOOKASIDE_LIST|PAGED_LOOKASIDE_LIST|CONTEXT|ARM64_NT_CONTEXT|KNONVOLATILE_CONTEXT_POINTERS|XSAVE_FORMAT|XSTATE_|XSAVE_AREA|JUMP_BUFFER|SETJMP_FLOAT128|_?M128A|NEON128|ARM64_|DISPATCHER_CONTEXT|KPCR|KFLOATING_SAVE|UNWIND_HISTORY_TABLE|RUNTIME_FUNCTION|IMAGE_ARM64_RUNTIME_FUNCTION_ENTRY|_IMAGE_RUNTIME_FUNCTION_ENTRY|EXCEPTION_REGISTRATION_RECORD|LDT_ENTRY|WOW64_|FLOATING_SAVE_AREA)'

# One line per record: its name, then each field's offset, type and name, then size and alignment.
layouts() { # CC FLAGS -> stdout
    local source
    for source in "${@:2}"; do
        # shellcheck disable=SC2086
        $1 -fsyntax-only -w -Xclang -fdump-record-layouts "$source"
    done | awk '
        function clean(text) { gsub(/\((unnamed|anonymous)[a-z ]* at [^)]*\)/, "()", text); gsub(/[ ]+/, " ", text); return text }
        /^\*\*\* Dumping AST Record Layout/ { if (name != "") print name "\t" body; name = ""; body = ""; next }
        /^ *[0-9]+(:[0-9-]+)? \| / { line = clean($0)
            if (name == "") { sub(/^ *[0-9]+ \| /, "", line); name = line } else body = body " ;" line; next }
        /\[sizeof=/ { body = body " ;" clean($0) }
        END { if (name != "") print name "\t" body }' | sort -u
}
# The WDK gives KDEVICE_QUEUE.Busy a union with a 56-bit Hint on x64 only; on ARM64 it is a
# BOOLEAN alone, at the same offset, in a structure of the same size. Records that hold one
# (KDEVICE_QUEUE, DEVICE_OBJECT) are compared without that union's members.
without_busy_union() {
    awk -F';' '{
        union = index($0, "_KDEVICE_QUEUE::") > 0; line = ""
        for (i = 1; i <= NF; i++) {
            field = $i; gsub(/^ +| +$/, "", field)
            if (union && (field ~ /^[0-9]+ \| (union|struct) _KDEVICE_QUEUE::\(\)$/ ||
                          field ~ /^[0-9]+:0-(7|55) \| LONG64 (Reserved|Hint)$/)) continue
            line = line (i == 1 ? "" : " ; ") field
        }
        print line }'
}
layouts "$x64_cc" "$@" | without_busy_union | sort -u >"$out/x64.tsv"
layouts "$arm64_cc" "$@" | without_busy_union | sort -u >"$out/arm64.tsv"
[ -s "$out/x64.tsv" ] && [ -s "$out/arm64.tsv" ] || { echo "check-arm64-layouts: no record layouts dumped" >&2; exit 1; }

# Names laid out for both; of those, the ones whose layouts (all of them, for unnamed members
# that share a name) differ.
both=$(comm -12 <(cut -f1 "$out/x64.tsv" | sort -u) <(cut -f1 "$out/arm64.tsv" | sort -u))
differ=$(comm -3 "$out/x64.tsv" "$out/arm64.tsv" | sed 's/^\t//' | cut -f1 | sort -u |
    comm -12 - <(echo "$both") | grep -Ev "$arch_specific" || true)
if [ -n "$differ" ]; then
    echo "check-arm64-layouts: laid out differently for ARM64 than for x64 (see $out/*.tsv):" >&2
    sed 's/^/  /' <<<"$differ" >&2
    exit 1
fi
echo "check-arm64-layouts: $(wc -l <<<"$both") structures the driver uses have the same layout for ARM64 as for x64"
