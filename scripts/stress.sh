#!/usr/bin/env bash
# Load, cancellation and bad-input runs of the driver under Wine, for every I/O method, then
# service cycles; after each unload the driver must hold no pool. Prints PASS/FAIL lines with
# the figures. Usage: stress.sh BUILD_DIR short|long   (make test runs short, make stress long)
set -uo pipefail
BUILD=$1
form=$2
. "$(dirname "$0")/wine-env.sh"
. "$(dirname "$0")/wine-checks.sh"
case $form in
short) bytes=$((16 << 20)); requests=4000;  kills=10;  cycles=100; codes_after_first=near ;;
long)  bytes=$((256 << 20)); requests=40000; kills=100; cycles=300; codes_after_first=all ;;
*) echo "usage: stress.sh BUILD_DIR short|long" >&2; exit 1 ;;
esac
stress() { timeout 1800 wine "$bin/lbkstress.exe" "$@" 2>&1 | tr -d '\r'; }

: >"$LBK_DRIVER_LOG"
wine_up
image=$(win_path "$bin/lbk.sys")
remove_stale_services LBK LBKCYCLE
unloads=0
codes=all
for method in buffered direct neither; do
    # 4096 bytes: a small ring wraps often, and is a multiple of the stream test's 16-byte cells.
    lbkctl install --image "$image" --io-method "$method" --buffer-size 4096 --trace-level 2 >/dev/null &&
        lbkctl start >/dev/null || { echo "FAIL stress: cannot load the driver[$method]"; continue; }
    stress stream --device LBK --bytes "$bytes" --label "$method"
    stress cancel --device LBK --requests "$requests" --kills "$kills" --label "$method"
    stress timeouts --device LBK --requests "$requests" --label "$method"
    stress ioctls --device LBK --codes "$codes" --label "$method"
    stress badbuffers --device LBK --label "$method"
    codes=$codes_after_first
    lbkctl stop >/dev/null
    unloads=$((unloads + 1))
    check "stress_leaves_no_pool[$method]" unloads_clean "$unloads"
    lbkctl uninstall >/dev/null
done
stress cycles --image "$image" --count "$cycles" --label mixed
unloads=$((unloads + cycles))
check "no_pool_left_by_any_of_${cycles}_cycles" unloads_clean "$unloads"
