#!/usr/bin/env bash
# Static analysis and the second compiler (make lint; make test runs it too):
#   clang-tidy with .clang-tidy over the core, the driver, the library and the tools;
#   cppcheck over every C file, tests included;
#   the driver and core checked by mingw gcc, the user-mode code by clang, warnings as errors.
# (The build itself uses the other compiler of each pair: clang for the driver, which needs SEH,
# and mingw gcc for user mode.) Prints one PASS/FAIL line per check. Usage: lint.sh BUILD_DIR
set -uo pipefail
BUILD=$1
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
out=$BUILD/lint
mkdir -p "$out"
DDK=${DDK_INC:-/usr/share/mingw-w64/include/ddk}
warn=(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla)
kernel=(-std=gnu11 -ffreestanding -isystem "$DDK" -D_AMD64_ -DNTDDI_VERSION=0x0A000000 -D_WIN32_WINNT=0x0A00)
user=(--target=x86_64-w64-windows-gnu -std=gnu11 -DUNICODE -D_UNICODE -D_WIN32_WINNT=0x0A00)
driver_sources=(windows/driver/*.c core/*.c tests/windows/pnpprobe/*.c)
user_sources=(windows/lib/*.c windows/tool/*.c tests/windows/stress.c bench/windows/*.c)

result() { # result NAME LOG STATUS: PASS when the tool exited 0 and the log has no finding
    if [ "$3" -ne 0 ] || [ -s "$2" ]; then
        echo "FAIL lint: $1 (exit status $3)"; sed 's/^/  /' "$2" | head -40
    else
        echo "PASS lint: $1"
    fi
}

# clang-tidy: the driver as the WDK headers see it, user mode as the SDK headers see it.
clang-tidy -quiet "${driver_sources[@]}" -- --target=x86_64-w64-windows-gnu -fms-extensions "${kernel[@]}" \
    -Wno-microsoft-anon-tag -Wno-language-extension-token -Wno-unknown-pragmas -Wno-pragma-pack \
    >"$out/tidy-driver.raw" 2>&1
status=$?
grep -E '(warning|error):' "$out/tidy-driver.raw" >"$out/tidy-driver.log"
result "clang-tidy: driver and core (${#driver_sources[@]} files)" "$out/tidy-driver.log" $status
clang-tidy -quiet "${user_sources[@]}" -- "${user[@]}" >"$out/tidy-user.raw" 2>&1
status=$?
grep -E '(warning|error):' "$out/tidy-user.raw" >"$out/tidy-user.log"
result "clang-tidy: library and tools (${#user_sources[@]} files)" "$out/tidy-user.log" $status

# The host build tools: clang-tidy, and gcc as the second compiler (the build uses clang).
clang-tidy -quiet tools/*.c -- -std=c11 "${warn[@]}" >"$out/tidy-tools.raw" 2>&1
status=$?
grep -E '(warning|error):' "$out/tidy-tools.raw" >"$out/tidy-tools.log"
gcc -std=c11 -fsyntax-only "${warn[@]}" tools/*.c >>"$out/tidy-tools.log" 2>&1 || status=1
result "clang-tidy and gcc -Werror: host tools" "$out/tidy-tools.log" $status

cppcheck -q --enable=warning,style,performance,portability --inline-suppr --std=c11 --platform=win64 \
    -D_WIN64 -D_AMD64_ -DUNICODE --suppress=missingIncludeSystem --error-exitcode=1 \
    core windows bench tools tests/core tests/fuzz tests/windows tests/tutorials >"$out/cppcheck.log" 2>&1
result "cppcheck: every C file" "$out/cppcheck.log" $?

# gcc has no __try/__except: for this check only they become plain blocks (the build uses clang).
: >"$out/gcc-driver.log"
status=0
for f in "${driver_sources[@]}"; do
    x86_64-w64-mingw32-gcc -fsyntax-only "${kernel[@]}" "${warn[@]}" -Wno-unknown-pragmas \
        '-D__try=if (1)' '-D__except(...)=else if (0)' "$f" >>"$out/gcc-driver.log" 2>&1 || status=1
done
result "mingw gcc -Werror: driver and core" "$out/gcc-driver.log" $status
: >"$out/clang-user.log"
status=0
for f in windows/lib/*.c windows/tool/*.c bench/windows/*.c tests/windows/*.c tests/tutorials/*.c; do
    extra=()
    [[ $f == tests/* ]] && extra=(-Wno-missing-prototypes)
    clang -fsyntax-only "${user[@]}" "${warn[@]}" "${extra[@]}" "$f" >>"$out/clang-user.log" 2>&1 || status=1
done
result "clang -Werror: library, tools and Windows tests" "$out/clang-user.log" $status
