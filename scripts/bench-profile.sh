#!/usr/bin/env bash
# Where the CPU goes during 4 KiB write+read pairs on each device: perf samples CPU 0 (where
# bench.sh pins every Wine process) and sorts them by process and image. The driver's own share
# is the samples in its code: Wine relocates lbk.sys into anonymous memory of winedevice.exe,
# which perf names "[JIT] tid N". Sourced by bench.sh with the devices loaded and the Wine
# environment set; writes BUILD/bench/profile.md, profile.json and perf.<service>.data (for
# `perf report -i`, e.g. --sort dso,sym). Optional: without a working
# `perf record` it says why and writes nothing.
# Usage (from bench.sh): profile_devices OUT_DIR SERVICE...
profile_devices() {
    local out=$1 service data report
    shift
    if ! perf record -q -o "$out/perf.check" -C 0 -- true >/dev/null 2>&1; then
        echo "bench: no profile: perf cannot record here (install linux-perf; needs root or perf_event_paranoid <= 0)" >&2
        return 0
    fi
    rm -f "$out/perf.check"
    mkdir -p "$out/profile"
    local md="#### Where the CPU goes: 4 KiB write+read pairs, perf samples on CPU 0\n\n| device | samples | driver code | Wine's ntoskrnl.exe | rest of winedevice.exe | wineserver | client | other |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
    local json="[" first=1
    for service in "$@"; do
        data=$out/perf.$service.data
        perf record -q -o "$data" -F 4999 -C 0 -- wine "$bin/lbkbench.exe" --devices "$service" --tables pair \
            --devices-only --sizes 4096 --trials 3 --trial-ms 1000 --out "$(win_path "$out")\\profile" \
            >/dev/null 2>&1 || { echo "bench: perf record of $service failed" >&2; continue; }
        report=$(perf report -i "$data" --stdio -n --sort comm,dso --field-separator=';' 2>/dev/null | grep -v '^#' | grep ';')
        # comm names: lbkbench.exe (client), wineserver*, and winedevice.exe's threads, which are
        # the ones with samples in ntoskrnl.exe.
        read -r total driver ntoskrnl device server client other < <(awk -F';' '
            function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
            { n = trim($2) + 0; comm = trim($3); dso = trim($4); total += n; rows[NR] = comm; dsos[NR] = dso; count[NR] = n
              if (dso == "ntoskrnl.exe") device_comm[comm] = 1 }
            END {
                for (i = 1; i <= NR; i++) {
                    c = rows[i]; d = dsos[i]; n = count[i]
                    if (c == "lbkbench.exe") client += n
                    else if (c ~ /^wineserver/) server += n
                    else if (c in device_comm || c == "winedevice.exe") {
                        if (d ~ /^\[JIT\]/) driver += n; else if (d == "ntoskrnl.exe") nt += n; else device += n
                    } else other += n
                }
                printf "%d %d %d %d %d %d %d\n", total, driver, nt, device, server, client, other
            }' <<<"$report")
        [ "${total:-0}" -gt 0 ] || continue
        pct() { awk -v a="$1" -v b="$total" 'BEGIN { printf "%.2f", 100 * a / b }'; }
        md+="| $service | $total | $(pct "$driver") % | $(pct "$ntoskrnl") % | $(pct "$device") % | $(pct "$server") % | $(pct "$client") % | $(pct "$other") % |\n"
        [ $first -eq 1 ] || json+=","
        first=0
        json+="\n  {\"device\": \"$service\", \"samples\": $total, \"driver\": $driver, \"ntoskrnl\": $ntoskrnl, \"winedevice_rest\": $device, \"wineserver\": $server, \"client\": $client, \"other\": $other}"
    done
    printf "%b\n]\n" "$json" >"$out/profile.json"
    printf "%b\n" "$md" >"$out/profile.md"
}
