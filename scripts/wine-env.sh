# wine-env.sh - a private Wine prefix for one build tree (sourced by the demo and test scripts).
#
# wine_up starts a wineserver that stays up for the whole run (Wine stops it, and every driver,
# when its last client exits) and starts services.exe with stderr going to $LBK_DRIVER_LOG, so
# winedevice.exe, which inherits it, writes the driver's DbgPrint output there.
# wine_down stops that wineserver only: `wineserver -k` with this WINEPREFIX, never by name.

: "${BUILD:?BUILD must name the build directory}"
export WINEPREFIX="$(cd "$BUILD" && pwd)/wineprefix"
export WINEARCH=win64
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko installers in a headless prefix
unset DISPLAY WAYLAND_DISPLAY
LBK_DRIVER_LOG="$(cd "$BUILD" && pwd)/winedevice.log"

# Z: maps to /, so a Linux path becomes a Windows one.
win_path() { printf 'Z:%s' "$(realpath "$1" | tr / '\\')"; }

wine_up() {
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
        echo "wine: creating prefix $WINEPREFIX" >&2
        wineboot -i >"$BUILD/wineboot.log" 2>&1 || { cat "$BUILD/wineboot.log" >&2; return 1; }
        wineserver -w # let the first server finish, or the new prefix's SCM may answer 1055
    fi
    wineserver -p >/dev/null 2>&1
    trap wine_down EXIT
    # services.exe (and its winedevice.exe) inherit this stderr; warn+debugstr shows DbgPrint.
    WINEDEBUG=warn+debugstr wine wineboot >/dev/null 2>>"$LBK_DRIVER_LOG" </dev/null
}

# Where one of Wine's own 64-bit DLLs is (Debian's layout first), or nothing.
wine_dll_path() {
    local dir
    for dir in /usr/lib/x86_64-linux-gnu/wine/x86_64-windows /usr/lib/wine/x86_64-windows /usr/lib64/wine/x86_64-windows; do
        [ -f "$dir/$1" ] && { echo "$dir/$1"; return 0; }
    done
    return 1
}

wine_down() {
    wineserver -k >/dev/null 2>&1 || true
    wineserver -w >/dev/null 2>&1 || true
}

# The driver's own lines in the log ("lbk: ..."), without Wine's prefix.
driver_log() { sed -n 's/^.*vDbgPrintExWithPrefix [0-9a-f:]*: //p' "$LBK_DRIVER_LOG"; }
