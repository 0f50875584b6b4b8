/*
 * lbk_control.h - the rules every device-control request must pass before its handler runs
 * (any mode, any OS). The buffer lengths of an IOCTL come from the caller; deciding here, in
 * one table, keeps the handlers free of length checks and lets the rules be fuzzed natively.
 */
#ifndef LBK_CONTROL_H
#define LBK_CONTROL_H

#include "lbk_base.h"
#include "../include/lbk_ioctl.h"

enum lbk_control_verdict {
    LBK_CONTROL_OK = 0,
    LBK_CONTROL_UNKNOWN_CODE,      /* not one of the device's codes: STATUS_INVALID_DEVICE_REQUEST */
    LBK_CONTROL_BUFFER_TOO_SMALL,  /* output shorter than the reply: STATUS_BUFFER_TOO_SMALL */
    LBK_CONTROL_INVALID_PARAMETER  /* a request no device state could satisfy: STATUS_INVALID_PARAMETER */
};

/*
 * Checks a request's code and lengths against the contract in lbk_ioctl.h. capacity is the
 * device's ring size. An input structure must have exactly its size, so that a later, longer
 * version of it is refused rather than read in part.
 */
enum lbk_control_verdict lbk_control_check(uint32_t code, uint32_t input_length, uint32_t output_length,
                                           uint64_t capacity);

#endif /* LBK_CONTROL_H */
