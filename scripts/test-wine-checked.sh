#!/usr/bin/env bash
# The Wine tests again, against a DBG build of the driver (make CHECKED=1), whose assertions are
# live: among them that no completion hands back more than the caller's buffer holds
# (LbkAssertReplyFits) and that user memory is touched below DISPATCH_LEVEL. Under Wine a failed
# assertion (int 0x2c) kills winedevice.exe, so every check after it fails. Each line of
# test-wine.sh comes out as "PASS checked ..." or "FAIL checked ...". Usage: test-wine-checked.sh BUILD_DIR
set -uo pipefail
BUILD=$1
checked=$BUILD/checked
if ! make -s CHECKED=1 BUILD="$checked" driver >"$BUILD/checked-build.log" 2>&1; then
    echo "FAIL checked: the DBG driver does not build"; sed 's/^/  /' "$BUILD/checked-build.log"; exit 0
fi
# The same programs, INF and probe driver as the release run; only the image differs.
mkdir -p "$checked/windows" "$checked/tests" "$checked/package/amd64"
for f in "$BUILD"/windows/*.exe; do ln -sf "$(realpath "$f")" "$checked/windows/"; done
ln -sf "$(realpath "$BUILD/tests/pnpprobe.sys")" "$checked/tests/"
cp "$BUILD/package/lbk.inf" "$BUILD/package/lbkport.inf" "$checked/package/"
cp "$checked/windows/lbk.sys" "$checked/package/amd64/"
"$(dirname "$0")/test-wine.sh" "$checked" 2>&1 | sed -E 's/^(PASS|FAIL) /\1 checked /'
