/*
 * test_main.h - a minimal named-test harness for the native core tests (user mode, host).
 * TEST(name) defines a test; ASSERT_EQ and friends record a failure and end that test.
 */
#ifndef LBK_TEST_MAIN_H
#define LBK_TEST_MAIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int lbk_test_failed;

#define TEST(name) void test_##name(void); void test_##name(void)

#define ASSERT_TRUE(cond)                                                            \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "  %s:%d: expected %s\n", __FILE__, __LINE__, #cond);    \
            lbk_test_failed = 1;                                                     \
            return;                                                                  \
        }                                                                            \
    } while (0)

#define ASSERT_EQ(expected, actual)                                                  \
    do {                                                                             \
        unsigned long long e_ = (unsigned long long)(expected);                      \
        unsigned long long a_ = (unsigned long long)(actual);                        \
        if (e_ != a_) {                                                              \
            fprintf(stderr, "  %s:%d: %s == %s: expected %llu, got %llu\n", __FILE__, \
                    __LINE__, #expected, #actual, e_, a_);                           \
            lbk_test_failed = 1;                                                     \
            return;                                                                  \
        }                                                                            \
    } while (0)

/* ASCII -> UTF-16 into out; returns the length in characters. */
static inline size_t lbk_test_utf16(const char *text, uint16_t *out)
{
    size_t i;

    for (i = 0; text[i] != '\0'; i++)
        out[i] = (uint16_t)(unsigned char)text[i];
    return i;
}

#endif
