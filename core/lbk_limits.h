/*
 * lbk_limits.h - what requests waiting in a driver may hold, per handle and per device, so that
 * no client can make it hold unbounded kernel memory (any mode, any OS). The driver counts what
 * its pending requests hold and asks lbk_limits_admit before it lets one more wait.
 */
#ifndef LBK_LIMITS_H
#define LBK_LIMITS_H

#include "lbk_base.h"

struct lbk_limits {
    uint32_t handle_requests;
    uint32_t handle_bytes;
    uint32_t device_requests;
    uint32_t device_bytes;
};

/* What the pending requests of one handle, or of one device, hold now. */
struct lbk_held {
    uint64_t requests;
    uint64_t bytes;
};

/* The defaults (lbk_ioctl.h's LBK_DEFAULT_PENDING_*). */
void lbk_limits_default(struct lbk_limits *limits);

/* 0 when every value is in its range and each handle limit is at most its device's, else -1. */
int lbk_limits_check(const struct lbk_limits *limits);

/*
 * 1 when one more request holding bytes may wait: after it the handle and the device stay within
 * their limits. 0 otherwise. A request larger than a whole limit is never admitted.
 */
int lbk_limits_admit(const struct lbk_limits *limits, const struct lbk_held *handle, const struct lbk_held *device,
                     uint64_t bytes);

#endif /* LBK_LIMITS_H */
