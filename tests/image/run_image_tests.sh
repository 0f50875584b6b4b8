#!/usr/bin/env bash
# The image check (scripts/check-driver-image.sh) holds each rule: both built images pass it, and
# a copy broken in one way fails it for that reason. Prints PASS/FAIL lines.
# Usage: run_image_tests.sh BUILD_DIR
set -uo pipefail
BUILD=$1
here=$(cd "$(dirname "$0")" && pwd)
check=$here/../../scripts/check-driver-image.sh
checksum=$BUILD/tools/pe_checksum
x64=$BUILD/windows/lbk.sys
arm64=$BUILD/windows/arm64/lbk.sys
work=$BUILD/image-tests
rm -rf "$work"
mkdir -p "$work"
result() { if [ "$1" -eq 0 ]; then echo "PASS image: $2"; else echo "FAIL image: $2"; fi; }

# Little-endian fields of a PE file, read and written in place.
get() { od -An -tu"$3" -j "$2" -N "$3" "$1" | tr -d ' '; }
put() { # file offset bytes value
    local i v=$4 bytes=""
    for ((i = 0; i < $3; i++)); do bytes+=$(printf '\\x%02x' $((v & 255))); v=$((v >> 8)); done
    printf "$bytes" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
optional() { echo $(($(get "$1" 60 4) + 24)); }
section_header() { # file name: the offset of its section header
    local pe opt count i name
    pe=$(get "$1" 60 4); opt=$((pe + 24)); count=$(get "$1" $((pe + 6)) 2)
    for ((i = 0; i < count; i++)); do
        name=$(dd if="$1" bs=1 skip=$((opt + $(get "$1" $((pe + 20)) 2) + 40 * i)) count=8 status=none | tr -d '\0')
        [ "$name" = "$2" ] && { echo $((opt + $(get "$1" $((pe + 20)) 2) + 40 * i)); return; }
    done
    return 1
}
# A broken copy must fail the check, and say why.
fails_for() { # label image arch lists expected-words
    local out
    if out=$("$check" "$2" "$checksum" "$3" "$4" 2>&1); then result 1 "$1 (the check passed it)"; return; fi
    grep -q -- "$5" <<<"$out"
    result $? "$1 ($out)"
}
resum() { "$checksum" set "$1" >/dev/null; }

for arch in x64 arm64; do
    image=${!arch}
    "$check" "$image" "$checksum" "$arch" >"$work/$arch.log" 2>&1
    result $? "the built $arch image passes every rule"
done

fails_for "the x64 image is not taken for ARM64" "$x64" arm64 "" "not an arm64 image"
fails_for "the ARM64 image is not taken for x64" "$arm64" x64 "" "not an x64 image"

for arch in x64 arm64; do
    image=${!arch}
    opt=$(optional "$image")

    cp "$image" "$work/$arch-checksum.sys"
    put "$work/$arch-checksum.sys" $((opt + 64)) 4 $(($(get "$image" $((opt + 64)) 4) ^ 1))
    fails_for "$arch: a checksum one bit off" "$work/$arch-checksum.sys" "$arch" "" "wrong PE checksum"

    mkdir -p "$work/$arch-lists"
    grep -vx 'KeSetEvent' "$here/../../windows/driver/imports/ntoskrnl.def" >"$work/$arch-lists/ntoskrnl.def"
    cp "$here/../../windows/driver/imports/hal.def" "$work/$arch-lists/"
    fails_for "$arch: a routine missing from the import list" "$image" "$arch" "$work/$arch-lists" "ntoskrnl.exe!KeSetEvent"

    cp "$image" "$work/$arch-wx.sys"
    text=$(section_header "$image" .text)
    put "$work/$arch-wx.sys" $((text + 36)) 4 $(($(get "$image" $((text + 36)) 4) | 0x80000000))
    resum "$work/$arch-wx.sys"
    fails_for "$arch: .text made writable" "$work/$arch-wx.sys" "$arch" "" "writable and executable"

    cp "$image" "$work/$arch-nx.sys"
    put "$work/$arch-nx.sys" $((opt + 70)) 2 $(($(get "$image" $((opt + 70)) 2) & ~0x100))
    resum "$work/$arch-nx.sys"
    fails_for "$arch: NX compatibility cleared" "$work/$arch-nx.sys" "$arch" "" "not marked NX compatible"

    # The exception directory (data directory 3) cut to its first entry (12 bytes on x64, 8 on ARM64).
    cp "$image" "$work/$arch-pdata.sys"
    [ "$arch" = x64 ] && entry=12 || entry=8
    put "$work/$arch-pdata.sys" $((opt + 112 + 3 * 8 + 4)) 4 $entry
    resum "$work/$arch-pdata.sys"
    fails_for "$arch: an exception directory that names one unwind entry" "$work/$arch-pdata.sys" "$arch" "" "exception directory does not hold"
done

# A driver built without unwind tables: each function that calls has no RUNTIME_FUNCTION.
cat >"$work/no-unwind.c" <<'EOF'
unsigned long DbgPrintEx(unsigned long component, unsigned long level, const char *format, ...);
long DriverEntry(void *driver, void *path);
__attribute__((noinline)) static long Announce(int value)
{
    DbgPrintEx(0, 0, "%d\n", value);
    return value;
}
long DriverEntry(void *driver, void *path)
{
    (void)driver; (void)path;
    return Announce(3) - 3;
}
EOF
for arch in x64 arm64; do
    [ "$arch" = x64 ] && target=x86_64 || target=aarch64
    clang --target=$target-w64-windows-gnu -O2 -fno-unwind-tables -fno-asynchronous-unwind-tables -nostdlib \
        -shared -fuse-ld=lld -Wl,--subsystem,native -Wl,--entry,DriverEntry -o "$work/$arch-no-unwind.sys" \
        "$work/no-unwind.c" -L"$BUILD/arm64/lib" -lntoskrnl >"$work/$arch-no-unwind.log" 2>&1 &&
        resum "$work/$arch-no-unwind.sys"
    result $? "$arch: a driver without unwind tables builds (for the next check)"
    fails_for "$arch: a driver without unwind tables" "$work/$arch-no-unwind.sys" "$arch" "" "no unwind data (.pdata) for: DriverEntry"
done

# x18 holds the kernel's processor control region on ARM64: an image that writes it fails.
cat >"$work/x18.c" <<'EOF'
unsigned long DbgPrintEx(unsigned long component, unsigned long level, const char *format, ...);
long DriverEntry(void *driver, void *path);
long DriverEntry(void *driver, void *path)
{
    (void)driver; (void)path;
    __asm__ __volatile__("mov x18, #0" ::: "memory");
    DbgPrintEx(0, 0, "x18 is gone\n");
    return 0;
}
EOF
clang --target=aarch64-w64-windows-gnu -O2 -nostdlib -shared -fuse-ld=lld -Wl,--subsystem,native \
    -Wl,--entry,DriverEntry -o "$work/x18.sys" "$work/x18.c" -L"$BUILD/arm64/lib" -lntoskrnl >"$work/x18.log" 2>&1 &&
    resum "$work/x18.sys"
result $? "a driver that writes x18 builds (for the next check)"
fails_for "arm64: an image that writes x18" "$work/x18.sys" arm64 "" "uses x18: .*mov.x18"
