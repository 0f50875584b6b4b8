#!/usr/bin/env bash
# Loads the driver in a private Wine prefix, sends a message through it from one handle to
# another, shows the statistics and unloads it; then loads it again as a cross-connected pair in
# message mode and sends one message each way; then installs it from its INF as a Plug and Play
# device, found by its device interface, and removes it; then installs the serial port bus, adds
# a pair of COM ports, finds them as a port picker does, sends a line each way through them and
# removes the bus. Usage: demo.sh BUILD_DIR
set -euo pipefail
BUILD=$1
. "$(dirname "$0")/wine-env.sh"
lbkctl() { wine "$BUILD/windows/lbkctl.exe" "$@"; }

: >"$LBK_DRIVER_LOG"
wine_up
step() { printf '\n$ lbkctl %s\n' "$*"; lbkctl "$@"; }
lbkctl uninstall >/dev/null 2>&1 || true # a demo interrupted earlier
lbkctl uninstall --name CABLE >/dev/null 2>&1 || true
lbkctl pnp-remove >/dev/null 2>&1 || true
lbkctl bus-remove >/dev/null 2>&1 || true
step install --image "$(win_path "$BUILD/windows/lbk.sys")" --trace-level 2
step start
step write "Hello from user mode!"
printf '\n$ lbkctl read     (another process, so another handle)\n'
lbkctl read
echo
step stats
step stop
step uninstall

step install --name CABLE --image "$(win_path "$BUILD/windows/lbk.sys")" --pairs 1 --message-mode 1 --trace-level 2
step start --name CABLE
step list
step write --device CABLEA "request from A"
step write --device CABLEB "reply from B"
printf '\n$ lbkctl read --device CABLEB\n'
lbkctl read --device CABLEB
printf '\n$ lbkctl read --device CABLEA\n'
lbkctl read --device CABLEA
echo
step stop --name CABLE
step uninstall --name CABLE

# The INF install: the build's lbk.inf with its x64 image in amd64/, as in a driver package.
mkdir -p "$BUILD/demo-pnp/amd64"
cp "$BUILD/windows/lbk.inf" "$BUILD/demo-pnp/" && cp "$BUILD/windows/lbk.sys" "$BUILD/demo-pnp/amd64/"
step pnp-install "$(win_path "$BUILD/demo-pnp/lbk.inf")"
step list
step write --device LBK0 "through Plug and Play"
printf '\n$ lbkctl read --device LBK0\n'
lbkctl read --device LBK0
echo
step pnp-remove
step stop
step uninstall

# The serial port bus: COM ports that Windows enumerates. (Wine's SetupCopyOEMInf wants a catalog
# that only Windows can make, so the demo's lbkport.inf names none.)
mkdir -p "$BUILD/demo-bus/amd64"
cp "$BUILD/windows/lbk.inf" "$BUILD/demo-bus/" && cp "$BUILD/windows/lbk.sys" "$BUILD/demo-bus/amd64/"
sed '/^CatalogFile/d' "$BUILD/windows/lbkport.inf" >"$BUILD/demo-bus/lbkport.inf"
step bus-install "$(win_path "$BUILD/demo-bus/lbk.inf")"
step pair add --port-names COM7,COM8
step pair list
printf '\n$ portfinder list     (the ports as pyserial and Device Manager find them)\n'
wine "$BUILD/windows/portfinder.exe" list
step write --device COM7 "a line from COM7"
printf '\n$ lbkctl read --device COM8\n'
lbkctl read --device COM8
step write --device COM8 "a line back from COM8"
printf '\n$ lbkctl read --device COM7\n'
lbkctl read --device COM7
echo
step bus-remove
lbkctl stop >/dev/null 2>&1 || true
lbkctl uninstall >/dev/null 2>&1 || true
echo
echo "driver log:"
driver_log | sed 's/^/  /'
