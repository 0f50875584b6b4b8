#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz for the host (ASan + UBSan), replays every kept
# input (the seeds and each crash ever found, now fixed), then fuzzes every target at once for
# SECONDS each. Prints one PASS/FAIL line per replay and per run, with the executions done.
# Usage: fuzz.sh BUILD_DIR SECONDS
set -uo pipefail
BUILD=$1
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
out=$BUILD/fuzz
mkdir -p "$out"
core=("$root"/core/*.c)
flags=(-std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)

targets=()
for source in "$root"/tests/fuzz/fuzz_*.c; do
    name=$(basename "$source" .c)
    name=${name#fuzz_}
    if ! ${HOST_CC:-clang} "${flags[@]}" -o "$out/$name" "$source" "${core[@]}" 2>"$out/$name.build.log"; then
        echo "FAIL fuzz: $name does not build"; sed 's/^/  /' "$out/$name.build.log"; continue
    fi
    targets+=("$name")
done

for name in "${targets[@]}"; do
    kept=("$root/tests/fuzz/corpus/$name"/*)
    if "$out/$name" "${kept[@]}" >"$out/$name.replay.log" 2>&1; then
        echo "PASS fuzz: $name replays its ${#kept[@]} kept inputs"
    else
        echo "FAIL fuzz: $name fails on a kept input"; tail -n 30 "$out/$name.replay.log" | sed 's/^/  /'
    fi
done

# One process per target, side by side; each grows its own working corpus from the seeds.
for name in "${targets[@]}"; do
    mkdir -p "$out/corpus/$name" "$out/artifacts/$name"
    "$out/$name" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=1024 \
        -artifact_prefix="$out/artifacts/$name/" "$out/corpus/$name" "$root/tests/fuzz/corpus/$name" \
        >"$out/$name.log" 2>&1 &
done
wait
for name in "${targets[@]}"; do
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
    crashes=$(find "$out/artifacts/$name" -type f | wc -l)
    if [ -n "$runs" ] && [ "$crashes" -eq 0 ] && ! grep -q '^==[0-9]*==ERROR' "$out/$name.log"; then
        echo "PASS fuzz: $name for ${seconds} s, $runs executions, no crash"
    else
        echo "FAIL fuzz: $name crashed; inputs in $out/artifacts/$name (fix, then keep them in tests/fuzz/corpus/$name)"
        grep -A 20 -m1 'ERROR\|deadly signal' "$out/$name.log" | sed 's/^/  /'
    fi
done
