#!/usr/bin/env bash
# make bench: the device against the host's floor and against pipes under Wine, and the core's
# instruction counts under Callgrind; writes build/bench/results.json, results.md and PNG plots.
# Usage: bench.sh BUILD_DIR [full|quick]   (quick: few, short trials; make test uses it as a smoke run)
set -uo pipefail
BUILD=$1
form=${2:-full}
# Every Wine process of the run shares CPU 0 (the client, wineserver, services.exe and each
# winedevice.exe inherit this), so the figures do not depend on where the scheduler puts them.
if [ -z "${LBK_BENCH_PINNED:-}" ]; then
    export LBK_BENCH_PINNED=1
    exec taskset -c 0 "$0" "$@"
fi
. "$(dirname "$0")/wine-env.sh"
. "$(dirname "$0")/wine-checks.sh"
. "$(dirname "$0")/bench-profile.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
out=$BUILD/bench
rm -rf "$out"
mkdir -p "$out"
case $form in
full)  args=(--trials 11 --trial-ms 50); core_mib=64 ;;
quick) args=(--sizes 1,4096,1048576 --trials 3 --trial-ms 2); core_mib=4 ;;
*) echo "usage: bench.sh BUILD_DIR full|quick" >&2; exit 1 ;;
esac

# A wineserver of this prefix left by an earlier run would not be pinned: stop it first.
wine_down
: >"$LBK_DRIVER_LOG"
wine_up
image=$(win_path "$bin/lbk.sys")
services=(BenchBuffered BenchDirect BenchNeither)
methods=(buffered direct neither)
remove_stale_services "${services[@]}"
unload() { for s in "${services[@]}"; do lbkctl stop --name "$s" >/dev/null 2>&1; lbkctl uninstall --name "$s" >/dev/null 2>&1; done; }
trap 'unload; wine_down' EXIT
# One device per I/O method, loaded side by side so that their trials can interleave. The same
# 1 MiB of buffer as the pipes they are compared with; no tracing.
for i in 0 1 2; do
    lbkctl install --name "${services[$i]}" --image "$image" --io-method "${methods[$i]}" \
        --buffer-size 1048576 >/dev/null && lbkctl start --name "${services[$i]}" >/dev/null ||
        { echo "bench: cannot load ${services[$i]}" >&2; exit 1; }
done
echo "bench: Wine $(wine --version), $(nproc) CPUs, pinned to CPU $(taskset -cp $$ | sed 's/.*: //')" >&2
timeout 3600 wine "$bin/lbkbench.exe" --devices "$(IFS=,; echo "${services[*]}")" --out "$(win_path "$out")" \
    --label "$(wine --version), taskset -c 0" "${args[@]}" || { echo "bench: lbkbench failed" >&2; exit 1; }
[ "$form" = quick ] || profile_devices "$out" "${services[@]}"
unload
trap wine_down EXIT

"$root/scripts/bench-core.sh" "$BUILD" "$core_mib" && "$root/scripts/bench-report.sh" "$BUILD"
