#!/usr/bin/env bash
# Runs every test and ends with "N passed, N failed". Usage: test.sh BUILD_DIR
set -uo pipefail
BUILD=$1
here=$(dirname "$0")
log=$BUILD/test.log
mkdir -p "$BUILD"
: >"$log"

{
    "$here/../tests/core/run_core_tests.sh" "$BUILD" 2>&1 || echo "FAIL core: the core tests did not run to the end"
    "$here/../tests/image/run_image_tests.sh" "$BUILD" 2>&1
    "$here/../tests/inf/run_inf_tests.sh" "$BUILD" "$BUILD/tools/inf_check" 2>&1
    "$here/fuzz.sh" "$BUILD" "${LBK_FUZZ_SECONDS:-60}" 2>&1
    "$here/lint.sh" "$BUILD" 2>&1
    "$here/sign.sh" "$BUILD" 2>&1
    "$here/package.sh" "$BUILD" 2>&1
    "$here/test-wine.sh" "$BUILD" 2>&1
    "$here/test-wine-checked.sh" "$BUILD" 2>&1
    "$here/test-wine-arm64.sh" "$BUILD" 2>&1
    "$here/stress.sh" "$BUILD" short 2>&1
    "$here/bench-smoke.sh" "$BUILD" 2>&1
} | tee -a "$log"

passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
