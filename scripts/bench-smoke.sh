#!/usr/bin/env bash
# make test's check that the benchmark still runs end to end: a quick run (few, short trials),
# whose figures mean nothing, must check every byte it streams and write every output.
# Timing is never asserted here (see docs/performance.md). Usage: bench-smoke.sh BUILD_DIR
set -uo pipefail
BUILD=$1
out=$BUILD/bench
if "$(dirname "$0")/bench.sh" "$BUILD" quick >"$BUILD/bench-smoke.log" 2>&1; then
    echo "PASS bench: quick run of every table and variant, every streamed byte checked"
else
    echo "FAIL bench: the quick run failed"; tail -n 20 "$BUILD/bench-smoke.log" | sed 's/^/  /'
fi
missing=()
for f in results.json results.md pair.png stream.png overlapped.png ratios.png; do
    [ -s "$out/$f" ] || missing+=("$f")
done
# Each device method and both pipes in the JSON, every table, and the core's two chunk sizes.
for key in '"name": "device/buffered"' '"name": "device/direct"' '"name": "device/neither"' \
    '"name": "named-pipe"' '"name": "anonymous-pipe"' '"name": "overlapped"' '"chunk": 100' '"goals"'; do
    grep -qF "$key" "$out/results.json" 2>/dev/null || missing+=("$key in results.json")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "PASS bench: results.json, results.md and 4 plots written"
else
    echo "FAIL bench: missing ${missing[*]}"
fi
