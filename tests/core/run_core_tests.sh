#!/usr/bin/env bash
# Generates the test list from the TEST(...) lines, builds the core tests for the host twice -
# with ASan and UBSan, and plain for Valgrind's memcheck - and once for aarch64 with UBSan, run
# under qemu's user-mode emulation (the ARM64 driver's core is the same code); runs all three
# and prints one PASS/FAIL line per test and run. Usage: run_core_tests.sh BUILD_DIR
set -euo pipefail
out=$1/core-tests
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
core=$here/../../core
sources=("$here"/test_*.c)
names=$(sed -n 's/^TEST(\([a-z0-9_]*\)).*/\1/p' "${sources[@]}")
{
    echo '#include <stdio.h>'
    echo '#include "test_main.h"'
    echo 'int lbk_test_failed;'
    for n in $names; do echo "void test_$n(void);"; done
    echo 'int main(int argc, char **argv) { int passed = 0, failed = 0;'
    echo '  const char *label = argc > 1 ? argv[1] : "core";'
    for n in $names; do
        echo "  lbk_test_failed = 0; test_$n(); if (lbk_test_failed) { failed++; printf(\"FAIL %s: $n\\n\", label); } else { passed++; printf(\"PASS %s: $n\\n\", label); }"
    done
    echo '  return failed != 0; }'
} >"$out/main.c"
all=("$out/main.c" "${sources[@]}" "$core"/*.c)
cc=${HOST_CC:-clang}
$cc -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
    -I"$here" -o "$out/core_tests" "${all[@]}"
# gcc for the second build, so the core is also checked by the other compiler; DWARF 4 for Valgrind 3.19.
${HOST_CC2:-gcc} -std=c11 -gdwarf-4 -O1 -Wall -Wextra -Werror -I"$here" -o "$out/core_tests_plain" "${all[@]}"
# Static, so that qemu needs no aarch64 root file system.
aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -fsanitize=undefined -fno-sanitize-recover=all \
    -static -I"$here" -o "$out/core_tests_aarch64" "${all[@]}"

status=0
"$out/core_tests" core || status=1
# Memcheck finds what the sanitizers' instrumentation does not see (e.g. uninitialised reads).
if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all --track-origins=yes \
    --log-file="$out/valgrind.log" "$out/core_tests_plain" valgrind-core; then
    echo "PASS valgrind-core: no memory errors or leaks"
else
    echo "FAIL valgrind-core: memcheck found errors (or a test failed)"; sed 's/^/  /' "$out/valgrind.log"; status=1
fi
# Every test again on the weakly ordered, unsigned-char target the ARM64 driver runs on.
qemu-aarch64 "$out/core_tests_aarch64" aarch64-core || status=1
exit $status
