#!/usr/bin/env bash
# The core's benchmark: instructions Callgrind counts to move MIB MiB through the channel (the
# driver's byte path) and the bare ring, in 64 KiB and 100-byte chunks, against plain memcpy of
# the same bytes twice. Instruction counts do not depend on the machine's load, so one run is
# enough. Writes BUILD/bench/core.json and core.md. Usage: bench-core.sh BUILD_DIR [MIB]
set -uo pipefail
BUILD=$1
mib=${2:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$BUILD/bench
mkdir -p "$out"
# Optimised as the driver is (-O2), with the host's clang.
${HOST_CC:-clang} -O2 -std=c11 -Wall -Wextra -Werror -o "$out/core_bench" "$root/bench/core/core_bench.c" \
    "$root"/core/*.c || { echo "bench-core: core_bench does not build" >&2; exit 1; }

count() { # count MODE CHUNK: instructions in move_bytes and what it calls
    local file=$out/callgrind.$1.$2
    valgrind --tool=callgrind --callgrind-out-file="$file" --toggle-collect=move_bytes \
        "$out/core_bench" "$1" "$2" "$mib" >/dev/null 2>"$file.log" || { cat "$file.log" >&2; return 1; }
    sed -n 's/^summary: //p' "$file"
}

json="{\n  \"mib\": $mib,\n  \"runs\": ["
md="#### Core: instructions to move $mib MiB (Callgrind; lower is better)\n\n| chunk | channel | ring | memcpy x2 | channel / memcpy | ring / memcpy |\n|---:|---:|---:|---:|---:|---:|\n"
first=1
for chunk in 65536 100; do
    channel=$(count channel $chunk) && ring=$(count ring $chunk) && plain=$(count memcpy $chunk) ||
        { echo "bench-core: a Callgrind run failed" >&2; exit 1; }
    ratio_channel=$(awk -v a="$channel" -v b="$plain" 'BEGIN { printf "%.4f", a / b }')
    ratio_ring=$(awk -v a="$ring" -v b="$plain" 'BEGIN { printf "%.4f", a / b }')
    [ $first -eq 1 ] || json+=","
    first=0
    json+="\n    {\"chunk\": $chunk, \"channel\": $channel, \"ring\": $ring, \"memcpy_twice\": $plain, \"channel_over_memcpy\": $ratio_channel, \"ring_over_memcpy\": $ratio_ring}"
    md+="| $chunk B | $channel | $ring | $plain | $ratio_channel | $ratio_ring |\n"
    echo "bench-core: $chunk-byte chunks: channel $ratio_channel x, ring $ratio_ring x the two memcpy calls" >&2
done
printf "%b\n  ]\n}\n" "$json" >"$out/core.json"
printf "%b\n" "$md" >"$out/core.md"
