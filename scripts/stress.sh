#!/usr/bin/env bash
# Load, cancellation and bad-input runs of the driver under Wine, and a serial pair's handshakes
# streaming both ways, for every I/O method, then service cycles; after each unload the driver
# must hold no pool. Prints PASS/FAIL lines with the figures.
# Usage: stress.sh BUILD_DIR short|long   (make test runs short, make stress long)
set -uo pipefail
BUILD=$1
form=$2
. "$(dirname "$0")/wine-env.sh"
. "$(dirname "$0")/wine-checks.sh"
case $form in
short) bytes=$((16 << 20)); requests=4000;  kills=10;  cycles=100; codes_after_first=near; serial_bytes=$((1 << 20)) ;;
long)  bytes=$((256 << 20)); requests=40000; kills=100; cycles=300; codes_after_first=all; serial_bytes=$((8 << 20)) ;;
*) echo "usage: stress.sh BUILD_DIR short|long" >&2; exit 1 ;;
esac
# A run killed by its timeout, or a crash (an exit code above 1), prints no FAIL of its own.
stress() {
    local rc
    timeout 1800 wine "$bin/lbkstress.exe" "$@" >"$BUILD/stress.out" 2>&1; rc=$?
    tr -d '\r' <"$BUILD/stress.out"
    [ "$rc" -le 1 ] || echo "FAIL stress: lbkstress $1 exited with $rc (killed by its timeout, or crashed)"
}
load() {
    lbkctl install --image "$image" --io-method "$1" --buffer-size 4096 --trace-level 2 >/dev/null &&
        lbkctl start >/dev/null
}

# Wine finding 1 (docs/reliability.md): Wine's own IoCancelIrp may run on an IRP that Wine freed
# once the driver completed it, and crash winedevice; the long cancellation storm with neither
# I/O hits it in about half the runs, at this project's earlier commits too. That crash, and only
# that one (a page fault inside Wine's IoCancelIrp), restarts Wine and runs the storm again, at
# most twice, saying so. Any other crash, or a third one, fails as it is.
ntoskrnl=$(wine_dll_path ntoskrnl.exe)
io_cancel_irp=$([ -n "$ntoskrnl" ] && x86_64-w64-mingw32-objdump -d "$ntoskrnl" 2>/dev/null |
    awk '/^[0-9a-f]+ <.*>:$/ { if (start) { print start, $1; exit } if ($2 == "<IoCancelIrp>:") start = $1 }')
crashed_in_io_cancel_irp() { # $1: the log's line count before the run
    local address
    [ -n "$io_cancel_irp" ] || return 1
    address=$(tail -n +"$(($1 + 1))" "$LBK_DRIVER_LOG" | sed -n 's/^wine: Unhandled page fault .* at address \([0-9A-Fa-f]*\) .*/\1/p' | head -1)
    [ -n "$address" ] || return 1
    set -- $io_cancel_irp
    (( 0x$address >= 0x$1 && 0x$address < 0x$2 ))
}
cancel_storm() { # $1: the I/O method; the device is loaded
    local attempt out mark
    for attempt in 1 2 3; do
        mark=$(wc -l <"$LBK_DRIVER_LOG")
        out=$(stress cancel --device LBK --requests "$requests" --kills "$kills" --label "$1")
        if [ "$attempt" -lt 3 ] && crashed_in_io_cancel_irp "$mark"; then
            echo "  cancel storm[$1], run $attempt: Wine's IoCancelIrp crashed winedevice (Wine finding 1); restarting Wine, running it again"
            sed 's/^/    /' <<<"$out"
            wine_down
            wine_up
            remove_stale_services LBK
            load "$1" || return 1
            continue
        fi
        echo "$out"
        return 0
    done
}

: >"$LBK_DRIVER_LOG"
wine_up
image=$(win_path "$bin/lbk.sys")
remove_stale_services LBK LBKCYCLE SERIAL
unloads=0
codes=all
for method in buffered direct neither; do
    # 4096 bytes: a small ring wraps often, and is a multiple of the stream test's 16-byte cells.
    load "$method" || { echo "FAIL stress: cannot load the driver[$method]"; continue; }
    stress stream --device LBK --bytes "$bytes" --label "$method"
    cancel_storm "$method" || { echo "FAIL stress: cannot load the driver again[$method]"; continue; }
    stress timeouts --device LBK --requests "$requests" --label "$method"
    stress ioctls --device LBK --codes "$codes" --label "$method"
    stress badbuffers --device LBK --label "$method"
    codes=$codes_after_first
    lbkctl stop >/dev/null
    unloads=$((unloads + 1))
    check "stress_leaves_no_pool[$method]" unloads_clean "$unloads"
    lbkctl uninstall >/dev/null
    # A serial pair: each handshake holding and releasing both ends' writers, serial_bytes each
    # way at once (none: no handshake, nothing may be held). rts-handshake and dtr-handshake are
    # the cts and dsr runs (lbkstress serial says why).
    if lbkctl install --name SERIAL --device-name SER --image "$image" --io-method "$method" --buffer-size 4096 \
        --trace-level 2 --pairs 1 --serial 1 >/dev/null && lbkctl start --name SERIAL >/dev/null; then
        for mode in cts dsr xonxoff none; do
            stress serial --port-a '\\.\SERA' --port-b '\\.\SERB' --bytes "$serial_bytes" --mode "$mode" --label "$method"
        done
        lbkctl stop --name SERIAL >/dev/null
        unloads=$((unloads + 1))
        check "serial_stress_leaves_no_pool[$method]" unloads_clean "$unloads"
    else
        echo "FAIL stress: cannot load a serial pair[$method]"
    fi
    lbkctl uninstall --name SERIAL >/dev/null
done
stress cycles --image "$image" --count "$cycles" --label mixed
unloads=$((unloads + cycles))
check "no_pool_left_by_any_of_${cycles}_cycles" unloads_clean "$unloads"
