/* test_limits.c - what pending requests may hold: the admission rule, its ranges and the
   Pending* Parameters values. */
#include "test_main.h"
#include "../../core/lbk_limits.h"
#include "../../core/lbk_config.h"

static struct lbk_limits small_limits(void)
{
    struct lbk_limits limits = { 4, 0x20000, 8, 0x30000 };

    return limits;
}

TEST(limits_admit_up_to_each_limit_and_no_further)
{
    struct lbk_limits limits = small_limits();
    struct lbk_held handle = { 0, 0 }, device = { 0, 0 };

    ASSERT_EQ(0, lbk_limits_check(&limits));
    ASSERT_EQ(1, lbk_limits_admit(&limits, &handle, &device, 0x20000)); /* a whole handle's worth */
    ASSERT_EQ(0, lbk_limits_admit(&limits, &handle, &device, 0x20001));
    handle.requests = 3;
    device.requests = 3;
    ASSERT_EQ(1, lbk_limits_admit(&limits, &handle, &device, 0));
    handle.requests = 4; /* the handle's fourth waits: no fifth */
    ASSERT_EQ(0, lbk_limits_admit(&limits, &handle, &device, 0));
    handle.requests = 0;
    device.requests = 8; /* other handles hold the device's eight */
    ASSERT_EQ(0, lbk_limits_admit(&limits, &handle, &device, 0));
    device.requests = 0;
    handle.bytes = 0x1FFFF;
    ASSERT_EQ(1, lbk_limits_admit(&limits, &handle, &device, 1));
    ASSERT_EQ(0, lbk_limits_admit(&limits, &handle, &device, 2));
    handle.bytes = 0;
    device.bytes = 0x2FFFF;
    ASSERT_EQ(1, lbk_limits_admit(&limits, &handle, &device, 1));
    ASSERT_EQ(0, lbk_limits_admit(&limits, &handle, &device, 2));
}

TEST(limits_admit_cannot_wrap)
{
    struct lbk_limits limits = small_limits();
    struct lbk_held handle = { 0, 0 }, device = { 0, 0 };

    ASSERT_EQ(0, lbk_limits_admit(&limits, &handle, &device, UINT64_MAX));
    handle.bytes = UINT64_MAX; /* a count past the limit, however it got there */
    ASSERT_EQ(0, lbk_limits_admit(&limits, &handle, &device, 1));
    handle.bytes = 0;
    device.bytes = UINT64_MAX - 1;
    ASSERT_EQ(0, lbk_limits_admit(&limits, &handle, &device, 2));
}

TEST(limits_check_ranges_and_order)
{
    struct lbk_limits limits;

    lbk_limits_default(&limits);
    ASSERT_EQ(0, lbk_limits_check(&limits));
    ASSERT_EQ(LBK_DEFAULT_PENDING_REQUESTS_PER_HANDLE, limits.handle_requests);
    ASSERT_EQ(LBK_DEFAULT_PENDING_BYTES_PER_DEVICE, limits.device_bytes);
    limits.handle_requests = 0;
    ASSERT_EQ(-1, lbk_limits_check(&limits));
    lbk_limits_default(&limits);
    limits.device_requests = LBK_MAX_PENDING_REQUESTS + 1;
    ASSERT_EQ(-1, lbk_limits_check(&limits));
    limits.device_requests = LBK_MAX_PENDING_REQUESTS;
    ASSERT_EQ(0, lbk_limits_check(&limits));
    lbk_limits_default(&limits);
    limits.handle_bytes = LBK_MIN_PENDING_BYTES - 1;
    ASSERT_EQ(-1, lbk_limits_check(&limits));
    lbk_limits_default(&limits);
    limits.handle_requests = limits.device_requests + 1; /* a handle may not have more than its device */
    ASSERT_EQ(-1, lbk_limits_check(&limits));
    lbk_limits_default(&limits);
    limits.handle_bytes = limits.device_bytes + 1;
    ASSERT_EQ(-1, lbk_limits_check(&limits));
}

TEST(config_pending_values_apply_and_are_checked_whole)
{
    struct lbk_config config;
    uint16_t path[16];
    size_t chars = lbk_test_utf16("\\Services\\LBK", path);
    uint32_t value;

    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_init(&config, path, chars));
    ASSERT_EQ(LBK_DEFAULT_PENDING_BYTES_PER_HANDLE, config.limits.handle_bytes);
    value = 16;
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PENDING_REQUESTS_PER_HANDLE, LBK_REG_DWORD, &value, 4));
    ASSERT_EQ(16, config.limits.handle_requests);
    value = 0;
    ASSERT_EQ(LBK_CONFIG_BAD_PENDING_LIMIT,
              lbk_config_apply(&config, LBK_PARAM_ID_PENDING_REQUESTS_PER_DEVICE, LBK_REG_DWORD, &value, 4));
    value = 0xFFFF;
    ASSERT_EQ(LBK_CONFIG_BAD_PENDING_LIMIT,
              lbk_config_apply(&config, LBK_PARAM_ID_PENDING_BYTES_PER_HANDLE, LBK_REG_DWORD, &value, 4));
    ASSERT_EQ(LBK_CONFIG_WRONG_TYPE,
              lbk_config_apply(&config, LBK_PARAM_ID_PENDING_BYTES_PER_HANDLE, LBK_REG_SZ, &value, 4));
    value = 0x100000;
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PENDING_BYTES_PER_DEVICE, LBK_REG_DWORD, &value, 4));
    ASSERT_EQ(0x100000, config.limits.device_bytes);
    /* The handle's 256 MiB default is now above its device's 1 MiB: the whole is refused. */
    ASSERT_EQ(LBK_CONFIG_BAD_PENDING_LIMIT, lbk_config_check_whole(&config));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_PENDING_BYTES_PER_HANDLE, LBK_REG_DWORD, &value, 4));
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_check_whole(&config));
    /* A buffer larger than what a handle may keep waiting: a neither read of all of it never could. */
    value = 0x100001;
    ASSERT_EQ(LBK_CONFIG_OK, lbk_config_apply(&config, LBK_PARAM_ID_BUFFER_SIZE, LBK_REG_DWORD, &value, 4));
    ASSERT_EQ(LBK_CONFIG_BAD_PENDING_LIMIT, lbk_config_check_whole(&config));
}
