/*
 * lbk_time.h - deadline arithmetic in a counter's ticks, free of overflow for every timeout the
 * contract accepts (any mode, any OS).
 *
 * A timeout is up to 2^32 - 1 ms (49.7 days) and a counter runs at any frequency from 1 Hz to
 * the 10 MHz of Windows' QueryPerformanceCounter and beyond: (ticks * 10^7) overflows 64 bits
 * after about 25 hours at 10 MHz, and a wrapped wait is one that returns at once, over and over.
 * These functions split every product so that none can overflow, and saturate where a result
 * itself would not fit.
 */
#ifndef LBK_TIME_H
#define LBK_TIME_H

#include "lbk_base.h"

/* Ticks of a frequency-Hz counter in ms milliseconds, rounded up; 0 for 0 ms. frequency > 0. */
uint64_t lbk_ms_to_ticks(uint32_t ms, uint64_t frequency);

/*
 * 100-ns units (the kernel's wait unit) in ticks ticks, rounded up so that a wait of that long
 * ends at or after the deadline; saturates at INT64_MAX. frequency > 0.
 */
uint64_t lbk_ticks_to_100ns(uint64_t ticks, uint64_t frequency);

/* now + ms, in ticks, saturating at INT64_MAX; now must be >= 0. */
int64_t lbk_deadline_after(int64_t now, uint32_t ms, uint64_t frequency);

#endif /* LBK_TIME_H */
