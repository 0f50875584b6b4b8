#!/usr/bin/env bash
# Puts what an INF install needs into BUILD/package: the test-signed image (from sign.sh) and
# lbk.inf, and checks both there. The catalog (lbk.cat, named by the INF) cannot be made on this
# machine: Inf2Cat and MakeCat are Windows SDK tools; the note printed says how to make and sign
# it on Windows. Prints PASS/FAIL lines. Usage: package.sh BUILD_DIR
set -uo pipefail
BUILD=$1
out=$BUILD/package
result() { if [ "$1" -eq 0 ]; then echo "PASS package: $2"; else echo "FAIL package: $2"; fi; }

rm -rf "$out"
mkdir -p "$out"
cp "$BUILD/sign/lbk.sys" "$BUILD/windows/lbk.inf" "$BUILD/sign/lbk-test.cer" "$out/" 2>/dev/null
result $? "build/package holds lbk.sys, lbk.inf and the test certificate"
osslsigncode verify -CAfile "$BUILD/sign/lbk-test.pem" -in "$out/lbk.sys" >"$BUILD/package-verify.log" 2>&1
result $? "the packaged lbk.sys carries a valid test signature"
"$BUILD/tools/inf_check" "$out/lbk.inf" >"$BUILD/package-inf.log" 2>&1
result $? "the packaged lbk.inf passes inf_check"
cat <<NOTE
package: $out holds lbk.sys (test-signed) and lbk.inf. The catalog lbk.cat is made on Windows,
from a Developer Command Prompt, in that folder:
    Inf2Cat /driver:. /os:10_X64
    signtool sign /fd SHA256 /f lbk-test.pfx lbk.cat      (lbk-test.pfx: build/sign/)
(docs/install.md).
NOTE
