#!/usr/bin/env bash
# Puts what an INF install needs into BUILD/package: the test-signed image (from sign.sh),
# lbk.inf and lbkport.inf (the serial bus's ends), and checks them there. The catalogs (lbk.cat
# and lbkport.cat, named by the INFs) cannot be made on this
# machine: Inf2Cat and MakeCat are Windows SDK tools; the note printed says how to make and sign
# it on Windows. Prints PASS/FAIL lines. Usage: package.sh BUILD_DIR
set -uo pipefail
BUILD=$1
out=$BUILD/package
result() { if [ "$1" -eq 0 ]; then echo "PASS package: $2"; else echo "FAIL package: $2"; fi; }

rm -rf "$out"
mkdir -p "$out"
cp "$BUILD/sign/lbk.sys" "$BUILD/windows/lbk.inf" "$BUILD/windows/lbkport.inf" "$BUILD/sign/lbk-test.cer" "$out/" 2>/dev/null
result $? "build/package holds lbk.sys, lbk.inf, lbkport.inf and the test certificate"
osslsigncode verify -CAfile "$BUILD/sign/lbk-test.pem" -in "$out/lbk.sys" >"$BUILD/package-verify.log" 2>&1
result $? "the packaged lbk.sys carries a valid test signature"
for inf in lbk lbkport; do
    "$BUILD/tools/inf_check" "$out/$inf.inf" >"$BUILD/package-$inf-inf.log" 2>&1
    result $? "the packaged $inf.inf passes inf_check"
done
cat <<NOTE
package: $out holds lbk.sys (test-signed), lbk.inf and lbkport.inf. The catalogs lbk.cat and
lbkport.cat are made on Windows, from a Developer Command Prompt, in that folder:
    Inf2Cat /driver:. /os:10_X64
    signtool sign /fd SHA256 /f lbk-test.pfx lbk.cat lbkport.cat      (lbk-test.pfx: build/sign/)
(docs/install.md).
NOTE
