/* test_control.c - unit tests of the IOCTL length rules (host, ASan/UBSan). */
#include <stdint.h>

#include "../../core/lbk_control.h"
#include "test_main.h"

TEST(control_reply_sizes_are_the_structures)
{
    ASSERT_EQ(LBK_CONTROL_BUFFER_TOO_SMALL, lbk_control_check(IOCTL_LBK_GET_STATS, 0, 0, 16));
    ASSERT_EQ(LBK_CONTROL_BUFFER_TOO_SMALL, lbk_control_check(IOCTL_LBK_GET_STATS, 0, sizeof(lbk_stats) - 1, 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_GET_STATS, 0, sizeof(lbk_stats), 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_GET_STATS, UINT32_MAX, UINT32_MAX, 16));
    ASSERT_EQ(LBK_CONTROL_BUFFER_TOO_SMALL, lbk_control_check(IOCTL_LBK_GET_INFO, 0, sizeof(lbk_device_info) - 1, 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_GET_INFO, 0, sizeof(lbk_device_info), 16));
}

TEST(control_purge_result_is_optional)
{
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_PURGE, 0, 0, 16));
    ASSERT_EQ(LBK_CONTROL_BUFFER_TOO_SMALL, lbk_control_check(IOCTL_LBK_PURGE, 0, 1, 16));
    ASSERT_EQ(LBK_CONTROL_BUFFER_TOO_SMALL, lbk_control_check(IOCTL_LBK_PURGE, 0, sizeof(lbk_purge_result) - 1, 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_PURGE, 0, sizeof(lbk_purge_result), 16));
}

TEST(control_atomic_write_bounded_by_capacity)
{
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_WRITE_ATOMIC, 0, 0, 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_WRITE_ATOMIC, 0, 16, 16));
    ASSERT_EQ(LBK_CONTROL_INVALID_PARAMETER, lbk_control_check(IOCTL_LBK_WRITE_ATOMIC, 0, 17, 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_PEEK, 0, UINT32_MAX, 16));
}

TEST(control_only_the_exact_codes_are_known)
{
    static const uint32_t known[] = { IOCTL_LBK_GET_STATS, IOCTL_LBK_PURGE, IOCTL_LBK_PEEK,
                                      IOCTL_LBK_WRITE_ATOMIC, IOCTL_LBK_GET_INFO,
                                      IOCTL_LBK_GET_HANDLE_OPTIONS, IOCTL_LBK_SET_HANDLE_OPTIONS,
                                      IOCTL_LBK_SET_MESSAGE_MODE, IOCTL_LBK_WAIT, IOCTL_LBK_NOP,
                                      IOCTL_LBK_ECHO };
    uint32_t function, method, access, i, hits = 0;

    /* Every function of the device type, with every method and access: only the eleven answer. */
    for (function = 0; function < 0x1000; function++)
        for (method = 0; method < 4; method++)
            for (access = 0; access < 4; access++) {
                uint32_t code = LBK_CTL_CODE(function, method, access);
                int is_known = 0;

                for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                    is_known |= code == known[i];
                if (lbk_control_check(code, 0, UINT32_MAX, 16) != LBK_CONTROL_UNKNOWN_CODE) {
                    ASSERT_TRUE(is_known);
                    hits++;
                }
            }
    ASSERT_EQ(11, hits);
    ASSERT_EQ(LBK_CONTROL_UNKNOWN_CODE, lbk_control_check(IOCTL_LBK_GET_STATS ^ 0x00010000u, 0, 4096, 16));
    ASSERT_EQ(LBK_CONTROL_UNKNOWN_CODE, lbk_control_check(0, 0, 0, 16));
}

TEST(control_benchmark_floor_codes_take_any_lengths)
{
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_NOP, 0, 0, 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_NOP, UINT32_MAX, UINT32_MAX, 0));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_ECHO, 0, 0, 16));
    /* ECHO never touches the ring, so its lengths are not bounded by the capacity. */
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_ECHO, 1u << 20, 1u << 20, 16));
}

TEST(control_input_structures_must_have_their_exact_size)
{
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_SET_HANDLE_OPTIONS, sizeof(lbk_handle_options), 0, 16));
    ASSERT_EQ(LBK_CONTROL_INVALID_PARAMETER, lbk_control_check(IOCTL_LBK_SET_HANDLE_OPTIONS, 0, 0, 16));
    ASSERT_EQ(LBK_CONTROL_INVALID_PARAMETER,
              lbk_control_check(IOCTL_LBK_SET_HANDLE_OPTIONS, sizeof(lbk_handle_options) + 1, 0, 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_SET_MESSAGE_MODE, 4, 0, 16));
    ASSERT_EQ(LBK_CONTROL_INVALID_PARAMETER, lbk_control_check(IOCTL_LBK_SET_MESSAGE_MODE, 8, 0, 16));
    ASSERT_EQ(LBK_CONTROL_INVALID_PARAMETER, lbk_control_check(IOCTL_LBK_WAIT, 4, sizeof(lbk_wait_result), 16));
    ASSERT_EQ(LBK_CONTROL_BUFFER_TOO_SMALL,
              lbk_control_check(IOCTL_LBK_WAIT, sizeof(lbk_wait_request), sizeof(lbk_wait_result) - 1, 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_WAIT, sizeof(lbk_wait_request), sizeof(lbk_wait_result), 16));
    ASSERT_EQ(LBK_CONTROL_BUFFER_TOO_SMALL,
              lbk_control_check(IOCTL_LBK_GET_HANDLE_OPTIONS, 0, sizeof(lbk_handle_options) - 1, 16));
    ASSERT_EQ(LBK_CONTROL_OK, lbk_control_check(IOCTL_LBK_GET_HANDLE_OPTIONS, 0, sizeof(lbk_handle_options), 16));
}
