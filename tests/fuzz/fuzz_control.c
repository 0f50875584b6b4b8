/*
 * fuzz_control.c - libFuzzer target: the IOCTL length rules (host, ASan/UBSan).
 * Input: code, input length, output length (32 bits each) and capacity (64 bits). An accepted
 * request must be one the handler can serve: a known code with room for its reply.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/lbk_control.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_known(uint32_t code)
{
    return code == IOCTL_LBK_GET_STATS || code == IOCTL_LBK_PURGE || code == IOCTL_LBK_PEEK ||
           code == IOCTL_LBK_WRITE_ATOMIC || code == IOCTL_LBK_GET_INFO || code == IOCTL_LBK_GET_HANDLE_OPTIONS ||
           code == IOCTL_LBK_SET_HANDLE_OPTIONS || code == IOCTL_LBK_SET_MESSAGE_MODE || code == IOCTL_LBK_WAIT ||
           code == IOCTL_LBK_NOP || code == IOCTL_LBK_ECHO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t code, input_length, output_length;
    uint64_t capacity;
    enum lbk_control_verdict verdict;

    if (size < 20)
        return 0;
    memcpy(&code, data, 4);
    memcpy(&input_length, data + 4, 4);
    memcpy(&output_length, data + 8, 4);
    memcpy(&capacity, data + 12, 8);
    /* Half the inputs use the device's own type, so the fuzzer need not guess it. */
    if (size > 20 && (data[20] & 1))
        code = (code & 0xFFFFu) | (LBK_DEVICE_TYPE << 16);
    verdict = lbk_control_check(code, input_length, output_length, capacity);
    switch (verdict) {
    case LBK_CONTROL_OK:
        CHECK(is_known(code));
        CHECK(code != IOCTL_LBK_GET_STATS || output_length >= sizeof(lbk_stats));
        CHECK(code != IOCTL_LBK_GET_INFO || output_length >= sizeof(lbk_device_info));
        CHECK(code != IOCTL_LBK_PURGE || output_length == 0 || output_length >= sizeof(lbk_purge_result));
        CHECK(code != IOCTL_LBK_WRITE_ATOMIC || output_length <= capacity);
        CHECK(code != IOCTL_LBK_GET_HANDLE_OPTIONS || output_length >= sizeof(lbk_handle_options));
        CHECK(code != IOCTL_LBK_SET_HANDLE_OPTIONS || input_length == sizeof(lbk_handle_options));
        CHECK(code != IOCTL_LBK_SET_MESSAGE_MODE || input_length == sizeof(lbk_u32));
        CHECK(code != IOCTL_LBK_WAIT ||
              (input_length == sizeof(lbk_wait_request) && output_length >= sizeof(lbk_wait_result)));
        break;
    case LBK_CONTROL_UNKNOWN_CODE:
        CHECK(!is_known(code));
        break;
    case LBK_CONTROL_BUFFER_TOO_SMALL:
    case LBK_CONTROL_INVALID_PARAMETER:
        break;
    default:
        abort();
    }
    return 0;
}
