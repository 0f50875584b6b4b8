#!/usr/bin/env bash
# Puts what an INF install needs into BUILD/package: the test-signed images (from sign.sh), x64
# in amd64/ and ARM64 in arm64/ as lbk.inf's SourceDisksFiles.<arch> say, lbk.inf and lbkport.inf
# (the serial bus's ends), and checks them there. The catalogs (lbk.cat
# and lbkport.cat, named by the INFs) cannot be made on this
# machine: Inf2Cat and MakeCat are Windows SDK tools; the note printed says how to make and sign
# it on Windows. Prints PASS/FAIL lines. Usage: package.sh BUILD_DIR
set -uo pipefail
BUILD=$1
out=$BUILD/package
result() { if [ "$1" -eq 0 ]; then echo "PASS package: $2"; else echo "FAIL package: $2"; fi; }

rm -rf "$out"
mkdir -p "$out"
mkdir -p "$out/amd64" "$out/arm64"
cp "$BUILD/windows/lbk.inf" "$BUILD/windows/lbkport.inf" "$BUILD/sign/lbk-test.cer" "$out/" 2>/dev/null &&
    cp "$BUILD/sign/lbk.sys" "$out/amd64/" && cp "$BUILD/sign/arm64/lbk.sys" "$out/arm64/"
result $? "build/package holds amd64/lbk.sys, arm64/lbk.sys, lbk.inf, lbkport.inf and the test certificate"
for arch in amd64 arm64; do
    # Where lbk.inf says the image of this architecture is: SourceDisksFiles.<arch>'s folder.
    folder=$(awk -v section="$([ $arch = amd64 ] && echo "[sourcedisksfiles]" || echo "[sourcedisksfiles.$arch]")" '
        /^\[/ { inside = tolower($0) == section; next }
        inside && /^lbk.sys *=/ { sub(/^[^,]*,[ ]*/, ""); print; exit }' "$out/lbk.inf")
    [ "$arch" = amd64 ] && machine=x64 || machine=arm64
    [ "$folder" = "$arch" ] && [ -f "$out/$folder/lbk.sys" ] &&
        osslsigncode verify -CAfile "$BUILD/sign/lbk-test.pem" -in "$out/$folder/lbk.sys" >"$BUILD/package-verify-$arch.log" 2>&1 &&
        "$(dirname "$0")/check-driver-image.sh" "$out/$folder/lbk.sys" "$BUILD/tools/pe_checksum" "$machine" >>"$BUILD/package-verify-$arch.log" 2>&1
    result $? "lbk.inf's $arch image ($folder/lbk.sys) is a test-signed $machine driver"
done
for inf in lbk lbkport; do
    "$BUILD/tools/inf_check" "$out/$inf.inf" >"$BUILD/package-$inf-inf.log" 2>&1
    result $? "the packaged $inf.inf passes inf_check"
done
cat <<NOTE
package: $out holds amd64/lbk.sys and arm64/lbk.sys (test-signed), lbk.inf and lbkport.inf. The catalogs lbk.cat and
lbkport.cat are made on Windows, from a Developer Command Prompt, in that folder:
    Inf2Cat /driver:. /os:10_X64,10_RS3_ARM64
    signtool sign /fd SHA256 /f lbk-test.pfx lbk.cat lbkport.cat      (lbk-test.pfx: build/sign/)
(docs/install.md).
NOTE
