#!/usr/bin/env bash
# Puts a benchmark run together: BUILD/bench/results.json (the Wine tables and the core's
# counts), results.md, and PNG plots drawn by gnuplot from the tables' data files.
# Prints the goals each part judged. Usage: bench-report.sh BUILD_DIR
set -uo pipefail
BUILD=$1
out=$BUILD/bench
for f in wine.json wine.md core.json core.md pair.dat stream.dat overlapped.dat ratios.dat; do
    [ -s "$out/$f" ] || { echo "bench-report: $out/$f is missing" >&2; exit 1; }
done
tr -d '\r' <"$out/wine.json" >"$out/wine.json.tmp" && mv "$out/wine.json.tmp" "$out/wine.json"
tr -d '\r' <"$out/wine.md" >"$out/wine.md.tmp" && mv "$out/wine.md.tmp" "$out/wine.md"

commit=$(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
    printf '{\n  "date": "%s",\n  "commit": "%s",\n  "cpu": "%s",\n  "cpus": %s,\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$commit" "$cpu" "$(nproc --all)"
    printf '  "wine": '; sed '1!s/^/  /' "$out/wine.json"
    if [ -s "$out/profile.json" ]; then printf '  ,\n  "profile": '; sed '1!s/^/  /' "$out/profile.json"; fi
    printf '  ,\n  "core": '; sed '1!s/^/  /' "$out/core.json"
    printf '}\n'
} >"$out/results.json"

# Core goals: at most 1.10 x the two memcpy calls at 64 KiB chunks, at most 2 x at 100 bytes.
core_goals=$(awk -F'[:,}]' '/"chunk"/ {
        for (i = 1; i <= NF; i++) { if ($i ~ /"chunk"/) c = $(i + 1); if ($i ~ /"channel_over_memcpy"/) r = $(i + 1) }
        limit = c + 0 == 65536 ? 1.10 : 2.00
        printf "| core | %d-byte chunks: channel <= %.2f x memcpy twice | %.3f | %s |\n", c, limit, r, r + 0 <= limit ? "met" : "**not met**"
    }' "$out/core.json")
{
    echo "### Benchmark results"
    echo
    echo "Commit $commit, $(date -u +%Y-%m-%d), $cpu, $(nproc --all) CPUs; Wine processes pinned to CPU 0."
    echo
    cat "$out/wine.md"
    echo "$core_goals"
    echo
    [ -s "$out/profile.md" ] && cat "$out/profile.md"
    cat "$out/core.md"
} >"$out/results.md"

# ---- plots ----------------------------------------------------------------------------------
# The data files' second line names the columns: "# size name(median,min,max) ...".
plot_lines() { # plot_lines FILE: one gnuplot plot clause per variant, with min-max bars
    local file=$1 names k=0 clauses=()
    read -r -a names <<<"$(sed -n '2s/^# size //p' "$file" | sed 's/(median,min,max)//g')"
    for name in "${names[@]}"; do
        local col=$((2 + 3 * k)) style=linespoints
        case $name in nop/* | empty/* | carry/*) style='linespoints dashtype 2' ;; esac
        clauses+=("'$file' using 1:$col:$((col + 1)):$((col + 2)) with yerrorbars notitle lc $((k + 1)) pt 7 ps 0.4, '' using 1:$col with $style lc $((k + 1)) title '$name'")
        k=$((k + 1))
    done
    (IFS=,; echo "${clauses[*]}")
}
methods=$(sed -n 's/^    "\([a-z]*\)": \[$/\1/p' "$out/wine.json" | tr '\n' ' ')
ratio_clauses=()
k=0
for m in $methods; do
    base=$((2 + 5 * k))
    ratio_clauses+=("'$out/ratios.dat' using 1:$base with linespoints lc $((k + 1)) pt 7 title '$m: pair / 2 NOP'")
    ratio_clauses+=("'$out/ratios.dat' using 1:$((base + 1)) with linespoints dashtype 3 lc $((k + 1)) pt 6 title '$m: pair / (NOP + ECHO)'")
    ratio_clauses+=("'$out/ratios.dat' using 1:$((base + 2)) with linespoints dashtype 2 lc $((k + 1)) pt 5 title '$m: stream / ECHO'")
    k=$((k + 1))
done
gnuplot <<GNUPLOT || { echo "bench-report: gnuplot failed" >&2; exit 1; }
set terminal pngcairo size 1000,650 font ",10"
set logscale x 2
set format x "%.0b%B"
set xlabel "bytes per request"
set grid
set key outside right top
set logscale y
set output "$out/pair.png"
set title "Write+read pairs on one thread, and the host's floors (median, min-max bars)"
set ylabel "us per operation"
plot $(plot_lines "$out/pair.dat")
set output "$out/stream.png"
set title "Streaming: writer and reader threads, synchronous (median, min-max bars)"
set ylabel "MiB/s"
plot $(plot_lines "$out/stream.dat")
set output "$out/overlapped.png"
set title "Streaming with requests in flight (median, min-max bars)"
plot $(plot_lines "$out/overlapped.dat")
unset logscale y
set output "$out/ratios.png"
set title "The device against the host's floor (goals: pair <= 1.05 at 4 KiB, stream >= 0.9 at 1 MiB)"
set ylabel "ratio"
set yrange [0:2] # pair / 2 NOP grows with the bytes carried, far off this scale past 4 KiB
plot $(IFS=,; echo "${ratio_clauses[*]}"), 1.05 with lines lc rgb "gray" dashtype 3 title "1.05", 0.9 with lines lc rgb "black" dashtype 3 title "0.9"
GNUPLOT

# Per size: the driver against the floors and the named pipe, and the direct hand-off share.
sed -n '/^#### Ratios/,/^#### Goals/p' "$out/wine.md" | grep '^|'
echo
[ -s "$out/profile.md" ] && grep '^|' "$out/profile.md" && echo
sed -n '/^#### Goals/,$p' "$out/wine.md" | grep '^|'
echo "$core_goals"
echo "bench: results in $out/results.json, results.md and $(cd "$out" && ls -- *.png | tr '\n' ' ')"
