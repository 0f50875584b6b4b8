#!/usr/bin/env bash
# Generates the test list from the TEST(...) lines, builds the core tests for the host with
# ASan and UBSan, runs them and prints one PASS/FAIL line per test.
# Usage: run_core_tests.sh BUILD_DIR
set -euo pipefail
out=$1/core-tests
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
sources=("$here"/test_*.c)
names=$(sed -n 's/^TEST(\([a-z0-9_]*\)).*/\1/p' "${sources[@]}")
{
    echo '#include <stdio.h>'
    echo '#include "test_main.h"'
    echo 'int lbk_test_failed;'
    for n in $names; do echo "void test_$n(void);"; done
    echo 'int main(void) { int passed = 0, failed = 0;'
    for n in $names; do
        echo "  lbk_test_failed = 0; test_$n(); if (lbk_test_failed) { failed++; printf(\"FAIL core: $n\\n\"); } else { passed++; printf(\"PASS core: $n\\n\"); }"
    done
    echo '  return failed != 0; }'
} >"$out/main.c"
${HOST_CC:-clang} -std=c11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
    -I"$here" -o "$out/core_tests" "$out/main.c" "${sources[@]}" "$here/../../core/lbk_ring.c" "$here/../../core/lbk_config.c"
"$out/core_tests"
