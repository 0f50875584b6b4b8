/*
 * pnpprobe.h - the contract of the test driver pnpprobe.sys (tests only, user and kernel mode).
 *
 * Wine's Plug and Play manager sends a device START_DEVICE, SURPRISE_REMOVAL and REMOVE_DEVICE
 * only. pnpprobe sends the loopback driver's device the other PnP and power IRPs the way the
 * PnP manager would, so that the integration suite can check what the driver does with them
 * under Wine. It finds the device through the driver object (\Driver\<service>), which only works
 * when both drivers run in one winedevice process: their services share a load order group.
 *
 * Wine's CREATE also carries no security context, so a driver cannot learn what access a handle
 * was granted, and grants all. IOCTL_LBK_PROBE_ACCESS opens a serial end the way Windows' I/O
 * manager does, on a file object of the probe's own, with the access under test in
 * Parameters.Create.SecurityContext, and sends it serial requests, FLUSH, CLEANUP and CLOSE.
 */
#ifndef LBK_PNPPROBE_H
#define LBK_PNPPROBE_H

#include "../../../include/lbk_ioctl.h"

#define LBK_PROBE_DEVICE_TYPE 0x8B4Cu
#define LBK_PROBE_USER_PATH L"\\\\.\\LbkPnpProbe"

/* The WDK's numbers for what the tests send (wdm.h), for user mode, which has no wdm.h. */
#define LBK_PROBE_MJ_POWER 0x16u
#define LBK_PROBE_MJ_PNP 0x1bu
#define LBK_PROBE_MN_START_DEVICE 0x00u
#define LBK_PROBE_MN_QUERY_REMOVE_DEVICE 0x01u
#define LBK_PROBE_MN_CANCEL_REMOVE_DEVICE 0x03u
#define LBK_PROBE_MN_STOP_DEVICE 0x04u
#define LBK_PROBE_MN_QUERY_STOP_DEVICE 0x05u
#define LBK_PROBE_MN_CANCEL_STOP_DEVICE 0x06u
#define LBK_PROBE_MN_QUERY_ID 0x13u
#define LBK_PROBE_MN_QUERY_PNP_DEVICE_STATE 0x14u
#define LBK_PROBE_MN_QUERY_POWER 0x03u /* IRP_MJ_POWER */
#define LBK_PROBE_BUS_QUERY_DEVICE_ID 0u

/* Input lbk_probe_request, output lbk_probe_result. */
#define IOCTL_LBK_PROBE_SEND \
    (((lbk_u32)LBK_PROBE_DEVICE_TYPE << 16) | ((lbk_u32)LBK_ANY_ACCESS << 14) | (0x900u << 2) | LBK_METHOD_BUFFERED)

typedef struct lbk_probe_request {
    lbk_u32 major;          /* IRP_MJ_PNP (0x1b) or IRP_MJ_POWER (0x16) */
    lbk_u32 minor;          /* IRP_MN_*; for power, IRP_MN_QUERY_POWER or IRP_MN_SET_POWER (system working) */
    lbk_u32 id_type;        /* IRP_MN_QUERY_ID: BusQueryDeviceID and so on */
    lbk_u32 flags;          /* LBK_PROBE_TO_BUS, or 0 */
    lbk_u16 service[32];    /* the driver's service name, NUL-terminated: its first device gets the IRP */
    lbk_u16 device[32];     /* or, when not empty, its device of that kernel name (\Device\LBKP0A, a bus's end) */
} lbk_probe_request;

typedef struct lbk_probe_result {
    lbk_u32 status;         /* the IRP's final status (an NTSTATUS) */
    lbk_u32 reserved;
    lbk_u16 text[128];      /* IRP_MN_QUERY_ID: the id the stack returned, NUL-terminated */
} lbk_probe_result;

/* lbk_probe_request.flags: the IRP goes to the driver's serial port bus (its one
   FILE_DEVICE_BUS_EXTENDER device, which has no name), not to its first or named device. For
   Wine only, like the probe: on Windows a SURPRISE_REMOVAL sent this way would reach the root
   enumerator's PDO, which the PnP manager still thinks started. */
#define LBK_PROBE_TO_BUS 0x1u

/*
 * Input lbk_probe_bus_request, output lbk_probe_bus_result: one IOCTL_LBK_BUS_* request sent to
 * the driver's bus as a kernel-mode caller sends it, on no handle: for a bus the PnP manager
 * under Wine never surprise-removes, whose interface is gone once the probe has.
 */
#define IOCTL_LBK_PROBE_BUS_CONTROL \
    (((lbk_u32)LBK_PROBE_DEVICE_TYPE << 16) | ((lbk_u32)LBK_ANY_ACCESS << 14) | (0x902u << 2) | LBK_METHOD_BUFFERED)
#define LBK_PROBE_BUS_BYTES 16u
typedef struct lbk_probe_bus_request {
    lbk_u32 code;                      /* IOCTL_LBK_BUS_*, METHOD_BUFFERED */
    lbk_u32 input_length;              /* of input, at most LBK_PROBE_BUS_BYTES */
    lbk_u32 output_length;             /* at most LBK_PROBE_BUS_BYTES */
    lbk_u32 reserved;
    lbk_u16 service[32];               /* the driver's service name, NUL-terminated */
    lbk_u8 input[LBK_PROBE_BUS_BYTES];
} lbk_probe_bus_request;
typedef struct lbk_probe_bus_result {
    lbk_u32 status;                     /* the request's final status (an NTSTATUS) */
    lbk_u32 reserved;
    lbk_u8 output[LBK_PROBE_BUS_BYTES]; /* what it returned, when it succeeded */
} lbk_probe_bus_result;

/* Input lbk_probe_access_request, output lbk_probe_access_result. */
#define IOCTL_LBK_PROBE_ACCESS \
    (((lbk_u32)LBK_PROBE_DEVICE_TYPE << 16) | ((lbk_u32)LBK_ANY_ACCESS << 14) | (0x901u << 2) | LBK_METHOD_BUFFERED)

/* What IOCTL_LBK_PROBE_ACCESS sends, in this order, all on one file object: result.status[step]. */
#define LBK_PROBE_STEP_CREATE 0u         /* always; with a failed CREATE nothing else is sent */
#define LBK_PROBE_STEP_GET_COMMSTATUS 1u /* result.in_queue: what the end had received */
#define LBK_PROBE_STEP_IMMEDIATE_CHAR 2u /* request.immediate_char, to the peer */
#define LBK_PROBE_STEP_PURGE_RXCLEAR 3u
#define LBK_PROBE_STEP_PURGE_TXABORT 4u
#define LBK_PROBE_STEP_SET_DTR 5u
#define LBK_PROBE_STEP_SET_BAUD_RATE 6u /* request.baud_rate */
#define LBK_PROBE_STEP_GET_BAUD_RATE 7u /* result.baud_rate */
#define LBK_PROBE_STEP_SET_WAIT_MASK 8u /* EV_RXCHAR */
#define LBK_PROBE_STEP_FLUSH 9u         /* IRP_MJ_FLUSH_BUFFERS */
#define LBK_PROBE_STEP_CLEANUP 10u      /* always after a CREATE that succeeded, then CLOSE */
#define LBK_PROBE_STEP_CLOSE 11u
#define LBK_PROBE_STEPS 12u
#define LBK_PROBE_STEPS_ALL 0x3FEu     /* request.steps: every step between CREATE and CLEANUP */
#define LBK_PROBE_NOT_SENT 0xFFFFFFFFu /* result.status[step] of a step not sent */

/* request.flags */
#define LBK_PROBE_ACCESS_STATE 0x1u /* pass an ACCESS_STATE too, as Windows' I/O manager does: granted_access
                                       in its PreviouslyGrantedAccess, desired_access as what remains */

typedef struct lbk_probe_access_request {
    lbk_u32 desired_access; /* SecurityContext->DesiredAccess of the CREATE (generic rights unmapped) */
    lbk_u32 granted_access; /* with LBK_PROBE_ACCESS_STATE: AccessState->PreviouslyGrantedAccess */
    lbk_u32 flags;          /* LBK_PROBE_ACCESS_* */
    lbk_u32 steps;          /* which LBK_PROBE_STEP_* to send: bit (1 << step); CREATE, CLEANUP, CLOSE always */
    lbk_u32 baud_rate;      /* what SET_BAUD_RATE asks for */
    lbk_u32 immediate_char; /* the byte IMMEDIATE_CHAR sends (its low 8 bits) */
    lbk_u16 service[32];    /* the driver's service name, NUL-terminated */
    lbk_u16 device[64];     /* the device's kernel name, NUL-terminated: L"\\Device\\SERA" */
} lbk_probe_access_request;

typedef struct lbk_probe_access_result {
    lbk_u32 status[LBK_PROBE_STEPS]; /* each request's final status (an NTSTATUS), or LBK_PROBE_NOT_SENT */
    lbk_u32 in_queue;                /* GET_COMMSTATUS's AmountInInQueue, when it succeeded */
    lbk_u32 baud_rate;               /* GET_BAUD_RATE's BaudRate, when it succeeded */
} lbk_probe_access_result;

LBK_STATIC_ASSERT(sizeof(lbk_probe_access_request) == 216, "the probe's contract, user and kernel mode");
LBK_STATIC_ASSERT(sizeof(lbk_probe_access_result) == 56, "the probe's contract, user and kernel mode");
LBK_STATIC_ASSERT(sizeof(lbk_probe_bus_request) == 96, "the probe's contract, user and kernel mode");
LBK_STATIC_ASSERT(sizeof(lbk_probe_bus_result) == 24, "the probe's contract, user and kernel mode");

#endif /* LBK_PNPPROBE_H */
