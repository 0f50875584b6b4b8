/*
 * lbk_limits.c - the limits on what pending requests hold (any mode, any OS). See lbk_limits.h.
 */
#include "lbk_limits.h"
#include "../include/lbk_ioctl.h"

void lbk_limits_default(struct lbk_limits *limits)
{
    limits->handle_requests = LBK_DEFAULT_PENDING_REQUESTS_PER_HANDLE;
    limits->handle_bytes = LBK_DEFAULT_PENDING_BYTES_PER_HANDLE;
    limits->device_requests = LBK_DEFAULT_PENDING_REQUESTS_PER_DEVICE;
    limits->device_bytes = LBK_DEFAULT_PENDING_BYTES_PER_DEVICE;
}

static int requests_in_range(uint32_t requests)
{
    return requests >= 1 && requests <= LBK_MAX_PENDING_REQUESTS;
}

int lbk_limits_check(const struct lbk_limits *limits)
{
    if (!requests_in_range(limits->handle_requests) || !requests_in_range(limits->device_requests))
        return -1;
    /* Below 64 KiB a default-sized device could not have one buffer's worth waiting. */
    if (limits->handle_bytes < LBK_MIN_PENDING_BYTES || limits->device_bytes < LBK_MIN_PENDING_BYTES)
        return -1;
    if (limits->handle_requests > limits->device_requests || limits->handle_bytes > limits->device_bytes)
        return -1;
    return 0;
}

int lbk_limits_admit(const struct lbk_limits *limits, const struct lbk_held *handle, const struct lbk_held *device,
                     uint64_t bytes)
{
    /* Written as "what is left", so that no sum can wrap whatever the counts are. */
    if (handle->requests >= limits->handle_requests || device->requests >= limits->device_requests)
        return 0;
    if (handle->bytes > limits->handle_bytes || bytes > limits->handle_bytes - handle->bytes)
        return 0;
    if (device->bytes > limits->device_bytes || bytes > limits->device_bytes - device->bytes)
        return 0;
    return 1;
}
