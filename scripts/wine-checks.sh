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
# tests/windows/sweep.c: every request at every output length into patterned buffers, and every
# request under every access. A crash or a hang is one more FAIL.
sweep() { # LABEL ARGS...
    local label=$1 rc; shift
    timeout 300 wine "$bin/sweep.exe" --label "$label" --host wine "$@" >"$BUILD/sweep.out" 2>&1; rc=$?
    tr -d '\r' <"$BUILD/sweep.out" | grep -v ' passed, '
    [ "$rc" -le 1 ] || echo "FAIL sweep[$label]: exited with $rc"
}
# A test program's run: its lines, without its closing count. The tests it did not reach print
# nothing, so a run killed by its timeout, or a crash (an exit code above 1), is one more FAIL.
suite() { # SECONDS PROGRAM ARGS...
    local seconds=$1 program=$2 rc; shift 2
    timeout "$seconds" wine "$bin/$program" "$@" >"$BUILD/suite.out" 2>&1; rc=$?
    tr -d '\r' <"$BUILD/suite.out" | grep -v ' passed, '
    [ "$rc" -le 1 ] || echo "FAIL wine: $program $* exited with $rc (killed by its timeout, or crashed)"
}
# The loopback suite for one I/O method, as test-wine.sh and test-wine-arm64.sh run it: a 4 KiB
# device (integration.c, sweep.c, feedtest.c), two pairs under each peer-closed policy, a serial
# pair (plain, wired as loopback plugs, paced), a 16 MiB device and small Pending* limits, with
# the pool released at every unload. Uses $image and counts unloads in $unloads.
loopback_suites() { # METHOD
    local method=$1
    lbkctl uninstall >/dev/null 2>&1
    lbkctl install --image "$image" --io-method "$method" --buffer-size 4096 --trace-level 2 >/dev/null &&
        lbkctl start >/dev/null || { echo "FAIL wine[$method]: cannot load the driver"; return; }
    suite 600 integration.exe --device LBK --service LBK --method "$method"
    sweep "$method,plain" --kind plain --device '\\.\LBK'
    suite 300 feedtest.exe "$method,loop" loop '\\.\LBK'
    lbkctl stop >/dev/null
    unloads=$((unloads + 2)) # the suite's own stop/start, then this stop
    check "pool_released_at_every_unload[$method]" unloads_clean "$unloads"
    lbkctl uninstall >/dev/null
    # Two cross-connected pairs, once per policy for writes to an end nobody has open.
    for policy in pend fail discard; do
        lbkctl install --name PAIRS --device-name PAIR --image "$image" --io-method "$method" --buffer-size 4096 \
            --trace-level 2 --device-count 2 --pairs 1 --when-peer-closed "$policy" >/dev/null &&
            lbkctl start --name PAIRS >/dev/null || { echo "FAIL wine[$method]: cannot load pairs ($policy)"; continue; }
        suite 300 integration.exe --suite pairs --device PAIR --method "$method,$policy"
        if [ "$policy" = pend ]; then
            sweep "$method,pair" --kind pair --device '\\.\PAIR0A' --peer '\\.\PAIR0B'
            suite 300 feedtest.exe "$method,pair" pair '\\.\PAIR0A' '\\.\PAIR0B'
        fi
        lbkctl stop --name PAIRS >/dev/null
        unloads=$((unloads + 1))
        lbkctl uninstall --name PAIRS >/dev/null
    done
    check "pool_released_after_pairs[$method]" unloads_clean "$unloads"
    # A serial pair as COM5/COM6, checked by a program that uses only the Win32 comm API.
    lbkctl install --name SERIAL --device-name SER --image "$image" --io-method "$method" --buffer-size 4096 \
        --trace-level 2 --pairs 1 --serial 1 --port-names COM5,COM6 >/dev/null &&
        lbkctl start --name SERIAL >/dev/null || echo "FAIL wine[$method]: cannot load a serial pair"
    suite 300 serialtest.exe COM5 COM6 "$method"
    sweep "$method,serial" --kind serial --device '\\.\COM5' --peer '\\.\COM6'
    suite 300 feedtest.exe "$method,serial" serial '\\.\SERA' '\\.\SERB'
    lbkctl stop --name SERIAL >/dev/null
    unloads=$((unloads + 1))
    lbkctl uninstall --name SERIAL >/dev/null
    # Both ends wired as loopback plugs (Parameters\Wiring): each reads its own RTS and DTR.
    lbkctl install --name SERIAL --device-name SER --image "$image" --io-method "$method" --buffer-size 4096 \
        --trace-level 2 --pairs 1 --serial 1 >/dev/null &&
        wine reg add 'HKLM\System\CurrentControlSet\Services\SERIAL\Parameters' /f /v Wiring /t REG_SZ \
            /d 'loopback;loopback' >/dev/null 2>&1 &&
        lbkctl start --name SERIAL >/dev/null || echo "FAIL wine[$method]: cannot load a serial pair wired as loopback plugs"
    suite 60 serialtest.exe '\\.\SERA' '\\.\SERB' "$method,loopback" loopback
    lbkctl stop --name SERIAL >/dev/null
    unloads=$((unloads + 1))
    lbkctl uninstall --name SERIAL >/dev/null
    # The same with baud-rate emulation: bytes cross no faster than 9600 baud would carry them.
    lbkctl install --name SERIAL --device-name SER --image "$image" --io-method "$method" --buffer-size 4096 \
        --trace-level 2 --pairs 1 --serial 1 --baud-emulation 1 >/dev/null &&
        lbkctl start --name SERIAL >/dev/null || echo "FAIL wine[$method]: cannot load a paced serial pair"
    suite 120 serialtest.exe '\\.\SERA' '\\.\SERB' "$method,paced" paced
    lbkctl stop --name SERIAL >/dev/null
    unloads=$((unloads + 1))
    lbkctl uninstall --name SERIAL >/dev/null
    check "pool_released_after_serial[$method]" unloads_clean "$unloads"
    # Transfers of many MiB on a 16 MiB device: every path copies at most 64 KiB per lock hold.
    lbkctl install --image "$image" --io-method "$method" --buffer-size 16777216 --trace-level 2 >/dev/null &&
        lbkctl start >/dev/null || { echo "FAIL wine[$method]: cannot load a 16 MiB device"; return; }
    suite 300 integration.exe --suite large --device LBK --method "$method"
    lbkctl stop >/dev/null
    unloads=$((unloads + 1))
    check "pool_released_after_large[$method]" unloads_clean "$unloads"
    lbkctl uninstall >/dev/null
    # Small Pending* limits, so that the requests past them are few (integration.c says which).
    lbkctl install --image "$image" --io-method "$method" --buffer-size 4096 --trace-level 2 \
        --pending-requests-per-handle 8 --pending-bytes-per-handle 262144 \
        --pending-requests-per-device 12 --pending-bytes-per-device 524288 >/dev/null &&
        lbkctl start >/dev/null || { echo "FAIL wine[$method]: cannot load a device with small limits"; return; }
    suite 300 integration.exe --suite limits --device LBK --method "$method"
    lbkctl stop >/dev/null
    unloads=$((unloads + 1))
    check "pool_released_after_limits[$method]" unloads_clean "$unloads"
    lbkctl uninstall >/dev/null
}
