# wine-checks.sh - what the Wine test scripts share (sourced after wine-env.sh).
# check NAME COMMAND... prints PASS or FAIL (with the command's output) for one check.
bin=$BUILD/windows
lbkctl() { wine "$bin/lbkctl.exe" "$@"; }
check() { # PASS when the command succeeds within 120 s (a hang fails)
    local name=$1; shift
    [ "$(type -t "$1")" = function ] || set -- timeout 120 "$@"
    if "$@" >"$BUILD/check.out" 2>&1 </dev/null; then echo "PASS wine: $name"; else echo "FAIL wine: $name"; sed 's/^/  /' "$BUILD/check.out"; fi
}
# Runs with TraceLevel >= 2 log "no pool held" at each unload; a leak is logged at any level.
# unloads_clean TOTAL: TOTAL unloads expected since the run began. It judges only what was logged
# since its previous call, and prints what it counted, so one odd unload fails one check, with
# the evidence, rather than every later one.
unload_log_mark=0
unload_expected_mark=0
unloads_clean() {
    local segment=$BUILD/unload-segment.log expected=$(($1 - unload_expected_mark)) clean
    driver_log | tail -n +"$((unload_log_mark + 1))" >"$segment"
    unload_log_mark=$((unload_log_mark + $(wc -l <"$segment")))
    unload_expected_mark=$1
    clean=$(grep -c 'unload: no pool held' "$segment")
    echo "$clean clean unloads logged since the previous check, $expected expected"
    if grep 'still held' "$segment"; then return 1; fi
    [ "$clean" -eq "$expected" ] && return 0
    grep -E 'loaded|unload|not loading' "$segment" # the loads and unloads it saw
    return 1
}
no_leak_logged() { ! driver_log | grep 'still held' >/dev/null; }
# grep without -q reads to the end: with pipefail, -q's early exit would fail the pipeline by SIGPIPE.
lines_in_log() { driver_log | grep -F "$1" >/dev/null; }
# Services that a run which was interrupted may have left behind.
remove_stale_services() {
    local stale
    for stale in "$@"; do
        lbkctl stop --name "$stale" >/dev/null 2>&1
        lbkctl uninstall --name "$stale" >/dev/null 2>&1
    done
}
# CPU time (clock ticks) of this prefix's winedevice.exe processes: read by pid, never by name.
winedevice_cpu_ticks() {
    local total=0 dir fields
    for dir in /proc/[0-9]*; do
        tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -q 'winedevice\.exe' || continue
        tr '\0' '\n' <"$dir/environ" 2>/dev/null | grep -qxF "WINEPREFIX=$WINEPREFIX" || continue
        read -ra fields <<<"$(sed 's/^.*) //' "$dir/stat")"
        total=$((total + fields[11] + fields[12])) # utime and stime
    done
    echo "$total"
}
