#!/usr/bin/env bash
# Test-signs the driver for a Windows machine in test mode: makes a self-signed code-signing
# certificate once (build/sign/, never committed), signs a copy of each image with SHA-256 (x64:
# sign/lbk.sys, ARM64: sign/arm64/lbk.sys), sets its checksum again and checks the signature, the
# checksum and the whole image (check-driver-image.sh). Prints PASS/FAIL lines and the commands
# that load the result on Windows. Usage: sign.sh BUILD_DIR
set -uo pipefail
BUILD=$1
out=$BUILD/sign
mkdir -p "$out"
checksum=$BUILD/tools/pe_checksum
result() { if [ "$1" -eq 0 ]; then echo "PASS sign: $2"; else echo "FAIL sign: $2"; fi; }

if [ ! -f "$out/lbk-test.key" ] || [ ! -f "$out/lbk-test.pem" ]; then
    openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 3650 -subj "/CN=lbk test signing (not trusted)" \
        -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=codeSigning" \
        -keyout "$out/lbk-test.key" -out "$out/lbk-test.pem" >"$out/openssl.log" 2>&1
    openssl x509 -in "$out/lbk-test.pem" -outform der -out "$out/lbk-test.cer" 2>>"$out/openssl.log"
fi
# For signtool on Windows (the INF install's catalog): the same key and certificate, no password.
[ -s "$out/lbk-test.pfx" ] || openssl pkcs12 -export -inkey "$out/lbk-test.key" -in "$out/lbk-test.pem" \
    -out "$out/lbk-test.pfx" -passout pass: 2>>"$out/openssl.log"
openssl x509 -in "$out/lbk-test.pem" -noout -ext extendedKeyUsage 2>/dev/null | grep -q 'Code Signing' &&
    [ -s "$out/lbk-test.cer" ]
result $? "the test certificate is for code signing, in PEM and DER"
sign_image() { # image signed arch
    local image=$1 signed=$2 arch=$3 ours theirs stored
    mkdir -p "$(dirname "$signed")"
    rm -f "$signed"
    osslsigncode sign -certs "$out/lbk-test.pem" -key "$out/lbk-test.key" -h sha256 -n "lbk loopback driver" \
        -in "$image" -out "$signed" >"$out/sign-$arch.log" 2>&1
    result $? "osslsigncode signs the $arch lbk.sys with SHA-256"
    # The checksum is outside what the signature hashes; set it over the signed file.
    "$checksum" set "$signed" >/dev/null
    osslsigncode verify -CAfile "$out/lbk-test.pem" -in "$signed" >"$out/verify-$arch.log" 2>&1 &&
        grep -q '^Signature verification: ok' "$out/verify-$arch.log"
    result $? "osslsigncode verify: the $arch signature checks against the test certificate"
    # osslsigncode computes the checksum too, and warns only when it differs from the stored one.
    ours=$("$checksum" verify "$signed" | sed -n 's/.*checksum 0x\([0-9a-f]*\) is correct/\1/p' | tr a-f A-F)
    # 2.9 prints "PE checksum : X" when it agrees; 2.5 (Debian bookworm) prints Current and Calculated.
    theirs=$(sed -n 's/^\(Calculated \)\{0,1\}PE checksum *: *//p' "$out/verify-$arch.log" | head -n 1)
    stored=$(sed -n 's/^Current PE checksum *: *//p' "$out/verify-$arch.log")
    [ -n "$ours" ] && [ "$ours" = "$theirs" ] && { [ -z "$stored" ] || [ "$stored" = "$theirs" ]; } &&
        ! grep -q 'invalid PE checksum' "$out/verify-$arch.log"
    result $? "the signed $arch image's checksum is correct by osslsigncode's count and by ours (0x$theirs)"
    # Signing adds a certificate table; the image must still pass every rule.
    "$(dirname "$0")/check-driver-image.sh" "$signed" "$checksum" "$arch" >"$out/check-$arch.log" 2>&1
    result $? "the signed $arch image passes check-driver-image.sh"
}
sign_image "$BUILD/windows/lbk.sys" "$out/lbk.sys" x64
sign_image "$BUILD/windows/arm64/lbk.sys" "$out/arm64/lbk.sys" arm64
cat <<EOT

Signed images: $out/lbk.sys (x64), $out/arm64/lbk.sys (ARM64)
Test certificate: $out/lbk-test.cer (self-signed; trust it on test machines only)
On a 64-bit Windows machine in test mode (bcdedit /set testsigning on, then reboot), as administrator,
with the image of its architecture:
    certutil -addstore -f Root lbk-test.cer
    lbkctl install --image C:\\path\\to\\lbk.sys && lbkctl start
EOT
