#!/usr/bin/env bash
# Loads the driver in a private Wine prefix, sends a message through it from one handle to
# another, shows the statistics and unloads it. Usage: demo.sh BUILD_DIR
set -euo pipefail
BUILD=$1
. "$(dirname "$0")/wine-env.sh"
lbkctl() { wine "$BUILD/windows/lbkctl.exe" "$@"; }

: >"$LBK_DRIVER_LOG"
wine_up
step() { printf '\n$ lbkctl %s\n' "$*"; lbkctl "$@"; }
lbkctl uninstall >/dev/null 2>&1 || true # a demo interrupted earlier
step install --image "$(win_path "$BUILD/windows/lbk.sys")" --trace-level 2
step start
step write "Hello from user mode!"
printf '\n$ lbkctl read     (another process, so another handle)\n'
lbkctl read
echo
step stats
step stop
step uninstall
echo
echo "driver log:"
driver_log | sed 's/^/  /'
