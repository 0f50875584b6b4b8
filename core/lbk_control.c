/*
 * lbk_control.c - length rules of the device-control requests (any mode, any OS).
 */
#include "lbk_control.h"

enum lbk_control_verdict lbk_control_check(uint32_t code, uint32_t input_length, uint32_t output_length,
                                           uint64_t capacity)
{
    switch (code) {
    case IOCTL_LBK_GET_STATS:
        return output_length < sizeof(lbk_stats) ? LBK_CONTROL_BUFFER_TOO_SMALL : LBK_CONTROL_OK;
    case IOCTL_LBK_PURGE:
        /* The result is optional: no output at all is a plain purge. */
        if (output_length != 0 && output_length < sizeof(lbk_purge_result))
            return LBK_CONTROL_BUFFER_TOO_SMALL;
        return LBK_CONTROL_OK;
    case IOCTL_LBK_PEEK:
        return LBK_CONTROL_OK;
    case IOCTL_LBK_WRITE_ATOMIC:
        /* All or nothing: more than the ring holds could never go in. */
        return output_length > capacity ? LBK_CONTROL_INVALID_PARAMETER : LBK_CONTROL_OK;
    case IOCTL_LBK_GET_INFO:
        return output_length < sizeof(lbk_device_info) ? LBK_CONTROL_BUFFER_TOO_SMALL : LBK_CONTROL_OK;
    case IOCTL_LBK_GET_HANDLE_OPTIONS:
        return output_length < sizeof(lbk_handle_options) ? LBK_CONTROL_BUFFER_TOO_SMALL : LBK_CONTROL_OK;
    case IOCTL_LBK_SET_HANDLE_OPTIONS:
        return input_length != sizeof(lbk_handle_options) ? LBK_CONTROL_INVALID_PARAMETER : LBK_CONTROL_OK;
    case IOCTL_LBK_SET_MESSAGE_MODE:
        return input_length != sizeof(lbk_u32) ? LBK_CONTROL_INVALID_PARAMETER : LBK_CONTROL_OK;
    case IOCTL_LBK_WAIT:
        if (input_length != sizeof(lbk_wait_request))
            return LBK_CONTROL_INVALID_PARAMETER;
        return output_length < sizeof(lbk_wait_result) ? LBK_CONTROL_BUFFER_TOO_SMALL : LBK_CONTROL_OK;
    case IOCTL_LBK_NOP:
    case IOCTL_LBK_ECHO:
        return LBK_CONTROL_OK;
    default:
        return LBK_CONTROL_UNKNOWN_CODE;
    }
}
