#!/usr/bin/env bash
# The ARM64 driver under Debian's arm64 Wine, run by qemu's user-mode emulation: the ARM64 image
# loads as a kernel service, the ARM64 smoke client (tests/windows/arm64/smoke.c) moves data
# through it, then the loopback suite (wine-checks.sh's loopback_suites: integration, sweep,
# feedtest, pairs, serial pairs, large and limited devices) runs once per I/O method, its programs
# and lbkctl built for ARM64 (tests/windows/arm64/runtime.c). Debian's arm64 Wine runs only ARM64
# programs. Prints PASS/FAIL lines, the suite's tagged "arm64". Usage: test-wine-arm64.sh BUILD_DIR
#
# Wine's processes start one another, so the kernel must run aarch64 programs by itself: a
# binfmt_misc entry for qemu-aarch64 ("lbk-aarch64"), registered here (as root) when missing.
set -uo pipefail
BUILD=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
home=$BUILD/wine-arm64
root=$home/root
result() { if [ "$1" -eq 0 ]; then echo "PASS wine-arm64: $2"; else echo "FAIL wine-arm64: $2"; fi; }

# Debian's arm64 Wine and what its loader needs, unpacked (not installed) under the build tree.
if [ ! -x "$root/usr/lib/wine/wine64" ]; then
    rm -rf "$home" && mkdir -p "$home/debs" "$root/lib"
    (cd "$home/debs" && apt-get download wine64:arm64 libwine:arm64 libunwind8:arm64 liblzma5:arm64) \
        >"$home/download.log" 2>&1 &&
        for deb in "$home"/debs/*.deb; do dpkg -x "$deb" "$root" || exit 1; done &&
        cp -a /usr/aarch64-linux-gnu/lib/. "$root/lib/"
    result $? "Debian's arm64 Wine unpacked under the build tree" || true
fi
[ -x "$root/usr/lib/wine/wine64" ] || { result 1 "no arm64 Wine (see $home/download.log)"; exit 0; }
# Wine starts its server through Debian's wrapper script, which names the machine's own (x64)
# wineserver; this Wine needs the arm64 one beside it.
sed -i "s|^wineserver64=.*|wineserver64=$root/usr/lib/wine/wineserver64|; s|^wineserver32=.*|wineserver32=/nonexistent|" \
    "$root/usr/lib/wine/wineserver"

binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/lbk-aarch64" ]; then
    [ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null
    # An aarch64 ELF executable or shared object; F: qemu is opened now, so any process may run it.
    printf '%s' ':lbk-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64:F' \
        >"$binfmt/register" 2>/dev/null
fi
[ -e "$binfmt/lbk-aarch64" ] && grep -q '^enabled' "$binfmt/lbk-aarch64"
result $? "the kernel runs aarch64 programs through qemu-aarch64 (binfmt_misc)" || exit 0

export QEMU_LD_PREFIX=$root
export WINEPREFIX=$home/prefix
export WINESERVER=$root/usr/lib/wine/wineserver64
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
wine=$root/usr/lib/wine/wine64
log=$home/wine.log
: >"$log"
# Wine's complaint that it has no FreeType, on every start, is not the test's business.
run() { timeout 300 "$wine" "$@" 2>>"$log" | tr -d '\r'; return "${PIPESTATUS[0]}"; }
stop_server() { "$WINESERVER" -k 2>/dev/null; }
trap stop_server EXIT

mkdir -p "$WINEPREFIX"
"$WINESERVER" -p
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    timeout 600 "$wine" wineboot -i </dev/null >>"$log" 2>&1
    result $? "wineboot makes the arm64 prefix"
    "$WINESERVER" -k; "$WINESERVER" -p
fi
# The driver's DbgPrint output, through services.exe's stderr, which winedevice.exe inherits.
WINEDEBUG=warn+debugstr timeout 600 "$wine" wineboot </dev/null >>"$log" 2>&1
result $? "wineboot starts the arm64 prefix's services"

cp "$BUILD/sign/arm64/lbk.sys" "$WINEPREFIX/drive_c/lbk.sys" 2>/dev/null || cp "$BUILD/windows/arm64/lbk.sys" "$WINEPREFIX/drive_c/lbk.sys"
run sc delete LBK >/dev/null 2>&1
run sc create LBK type= kernel start= demand binPath= 'C:\lbk.sys' >/dev/null
run sc query LBK | grep -q 'SERVICE_NAME: LBK'
result $? "sc create LBK with the ARM64 image"
# TraceLevel 2: the driver says what it loaded with, and what it does on unload.
run reg add 'HKLM\System\CurrentControlSet\Services\LBK\Parameters' /v TraceLevel /t REG_DWORD /d 2 /f >/dev/null
run sc start LBK >/dev/null
for _ in $(seq 1 50); do run sc query LBK | grep -q 'STATE *: 4 *RUNNING' && break; sleep 0.2; done
run sc query LBK | grep -q 'STATE *: 4 *RUNNING'
result $? "the ARM64 driver loads and starts (DriverEntry under arm64 Wine)"
grep -q 'lbk: LBK: loaded, 1 devices' "$log"
result $? "the driver says it loaded (its DbgPrint)"

run "$BUILD/windows/arm64/smoke.exe" >"$home/smoke.out"
status=$?
cat "$home/smoke.out"
grep -q '^PASS' "$home/smoke.out" && [ "$status" -eq 0 ]
result $? "the ARM64 smoke client ran to the end with no failure"

run sc stop LBK >/dev/null
for _ in $(seq 1 50); do run sc query LBK | grep -q 'STATE *: 1 *STOPPED' && break; sleep 0.2; done
run sc query LBK | grep -q 'STATE *: 1 *STOPPED'
result $? "sc stop LBK unloads the ARM64 driver"
for _ in $(seq 1 25); do grep -q 'lbk: unload: no pool held' "$log" && break; sleep 0.2; done
grep -q 'lbk: unload: no pool held' "$log"
result $? "the unload found no pool still held"
! grep -q 'Unhandled\|EXCEPTION' "$log"
result $? "no exception in Wine's log"

# The loopback suite, through the shared scripts: their `wine` and `wineserver` are this Wine's.
mkdir -p "$home/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$wine" >"$home/bin/wine"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$WINESERVER" >"$home/bin/wineserver"
chmod +x "$home/bin/wine" "$home/bin/wineserver"
export PATH="$home/bin:$PATH"
. "$here/wine-env.sh"
. "$here/wine-checks.sh"
export WINEPREFIX=$home/prefix # wine-env.sh names the x64 prefix
unset WINEARCH
LBK_DRIVER_LOG=$log
# Windows paths: with QEMU_LD_PREFIX, qemu looks for "/" under $root first, so this Wine does not
# see Z: as the Linux root, names a program started by its Linux path "unix\...", and such a
# program cannot start itself again (the suite's child processes).
bin=$(win_path "$BUILD/windows/arm64")
image=$(win_path "$BUILD/windows/arm64/lbk.sys")
cd "$WINEPREFIX/drive_c" || exit 1
remove_stale_services LBK PAIRS SERIAL
unload_log_mark=$(driver_log | wc -l) # the smoke run's unload is not the suite's
unloads=0
{
    for method in buffered direct neither; do
        loopback_suites "$method"
    done
} | sed -u 's/^\(PASS\|FAIL\) /\1 arm64 /'
