/* test_time.c - unit tests of the deadline arithmetic at its extremes (host, ASan/UBSan). */
#include <stdint.h>

#include "../../core/lbk_time.h"
#include "test_main.h"

/* Exact ceil(a * b / d) with the compiler's 128-bit arithmetic, saturated, as the reference. */
static uint64_t reference(uint64_t a, uint64_t b, uint64_t d)
{
    unsigned __int128 product = (unsigned __int128)a * b;
    unsigned __int128 q = product / d + (product % d != 0);

    return q > INT64_MAX ? (uint64_t)INT64_MAX : (uint64_t)q;
}

static const uint64_t frequencies[] = {
    1, 1000, 32768, 3579545, 10000000, 2400000000ull, 3000000000ull, 1000000000000ull, 1ull << 40,
    10000000000000000ull, (uint64_t)INT64_MAX, UINT64_MAX,
};
static const uint32_t timeouts[] = { 0, 1, 999, 1000, 1001, 90000000u, 2147483647u, 4294967294u, 4294967295u };

TEST(time_ms_to_ticks_is_exact_and_never_wraps)
{
    size_t f, t;

    for (f = 0; f < sizeof(frequencies) / sizeof(frequencies[0]); f++)
        for (t = 0; t < sizeof(timeouts) / sizeof(timeouts[0]); t++)
            ASSERT_EQ(reference(timeouts[t], frequencies[f], 1000), lbk_ms_to_ticks(timeouts[t], frequencies[f]));
}

/* The defect this replaced: (ticks * 10^7) / frequency wrapped after ~25 h at 10 MHz. */
TEST(time_ticks_to_100ns_holds_for_every_accepted_timeout)
{
    size_t f, t;

    for (f = 0; f < sizeof(frequencies) / sizeof(frequencies[0]); f++) {
        for (t = 0; t < sizeof(timeouts) / sizeof(timeouts[0]); t++) {
            uint64_t ticks = lbk_ms_to_ticks(timeouts[t], frequencies[f]);
            uint64_t wait = lbk_ticks_to_100ns(ticks, frequencies[f]);

            ASSERT_EQ(reference(ticks, 10000000u, frequencies[f]), wait);
            /* Never shorter than the timeout, so a wait never ends before its deadline (where the
               ticks themselves fit a 64-bit counter: below about 2 THz for 49.7 days). */
            if (ticks < (uint64_t)INT64_MAX)
                ASSERT_TRUE(wait >= (uint64_t)timeouts[t] * 10000u);
            ASSERT_TRUE(wait <= INT64_MAX);
        }
    }
    /* 49.7 days at 10 MHz: 4.29e13 ticks, whose product with 10^7 does not fit 64 bits. */
    ASSERT_EQ(42949672950000ull, lbk_ticks_to_100ns(42949672950000ull, 10000000u));
    ASSERT_EQ((uint64_t)INT64_MAX, lbk_ticks_to_100ns(UINT64_MAX, 1));
    ASSERT_EQ(1, lbk_ticks_to_100ns(1, UINT64_MAX));
    ASSERT_EQ(0, lbk_ticks_to_100ns(0, 3));
}

TEST(time_deadline_saturates_instead_of_wrapping)
{
    ASSERT_EQ(1010000, lbk_deadline_after(1000000, 1, 10000000));
    ASSERT_EQ(INT64_MAX, lbk_deadline_after(INT64_MAX - 5, 1, 10000000));
    ASSERT_EQ(INT64_MAX, lbk_deadline_after(0, 4294967295u, UINT64_MAX));
    ASSERT_EQ(INT64_MAX - 5, lbk_deadline_after(INT64_MAX - 5, 0, 10000000));
    /* 49.7 days from a counter already a year up, at 3 GHz. */
    ASSERT_EQ(94608000000000000ll + 12884901885000000ll,
              lbk_deadline_after(94608000000000000ll, 4294967295u, 3000000000ull));
}

TEST(time_mul_div_random_against_reference)
{
    uint64_t state = 0x9E3779B97F4A7C15ull;
    int i;

    for (i = 0; i < 200000; i++) {
        uint64_t ticks, frequency;

        state ^= state << 13; state ^= state >> 7; state ^= state << 17;
        ticks = state >> (state & 63);
        state ^= state << 13; state ^= state >> 7; state ^= state << 17;
        frequency = (state >> (state & 63)) | 1;
        ASSERT_EQ(reference(ticks, 10000000u, frequency), lbk_ticks_to_100ns(ticks, frequency));
        ASSERT_EQ(reference((uint32_t)ticks, frequency, 1000), lbk_ms_to_ticks((uint32_t)ticks, frequency));
    }
}
