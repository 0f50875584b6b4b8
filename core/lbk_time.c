/*
 * lbk_time.c - overflow-free deadline arithmetic (any mode, any OS). See lbk_time.h.
 */
#include "lbk_time.h"

#define INT64_LIMIT 0x7FFFFFFFFFFFFFFFull

/*
 * x * y / d rounded up for x < d, by shift and add keeping quotient and remainder, so that no
 * intermediate exceeds 64 bits whatever the sizes; saturates at INT64_LIMIT.
 */
static uint64_t mul_div_up_small(uint64_t x, uint64_t y, uint64_t d)
{
    uint64_t quotient = 0, remainder = 0; /* remainder < d throughout */
    int bit;

    for (bit = 63; bit >= 0; bit--) {
        if (quotient > INT64_LIMIT / 2)
            return INT64_LIMIT;
        quotient *= 2;
        if (remainder >= d - remainder) { /* 2 * remainder >= d */
            remainder -= d - remainder;
            quotient++;
        } else {
            remainder *= 2;
        }
        if ((y >> bit) & 1u) {
            if (remainder >= d - x) { /* remainder + x >= d */
                remainder -= d - x;
                quotient++;
            } else {
                remainder += x;
            }
        }
    }
    if (remainder != 0)
        quotient++;
    return quotient > INT64_LIMIT ? INT64_LIMIT : quotient;
}

/* a * b / d rounded up, saturating at INT64_LIMIT. d > 0. */
static uint64_t mul_div_up(uint64_t a, uint64_t b, uint64_t d)
{
    uint64_t whole = a / d, rest = a % d, result, part;

    /* a * b / d = whole * b + rest * b / d, with rest < d. */
    if (whole != 0 && b > INT64_LIMIT / whole)
        return INT64_LIMIT;
    result = whole * b;
    if (rest == 0)
        return result;
    if (b <= UINT64_MAX / rest)
        part = rest * b / d + (rest * b % d != 0);
    else
        part = mul_div_up_small(rest, b, d);
    if (part > INT64_LIMIT - result)
        return INT64_LIMIT;
    return result + part;
}

uint64_t lbk_ms_to_ticks(uint32_t ms, uint64_t frequency)
{
    return mul_div_up(ms, frequency, 1000);
}

uint64_t lbk_ticks_to_100ns(uint64_t ticks, uint64_t frequency)
{
    return mul_div_up(ticks, 10000000u, frequency);
}

int64_t lbk_deadline_after(int64_t now, uint32_t ms, uint64_t frequency)
{
    uint64_t ticks = lbk_ms_to_ticks(ms, frequency);

    if (ticks > INT64_LIMIT - (uint64_t)now)
        return (int64_t)INT64_LIMIT;
    return now + (int64_t)ticks;
}
