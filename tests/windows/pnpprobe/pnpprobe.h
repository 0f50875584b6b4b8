/*
 * pnpprobe.h - the contract of the test driver pnpprobe.sys (tests only, user and kernel mode).
 *
 * Wine's Plug and Play manager sends a device START_DEVICE, SURPRISE_REMOVAL and REMOVE_DEVICE
 * only. pnpprobe sends the loopback driver's device the other PnP and power IRPs the way the
 * PnP manager would, so that the integration suite can check what the driver does with them
 * under Wine. It finds the device through the driver object (\Driver\<service>), which only works
 * when both drivers run in one winedevice process: their services share a load order group.
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
    lbk_u32 reserved;
    lbk_u16 service[32];    /* the driver's service name, NUL-terminated: its first device gets the IRP */
} lbk_probe_request;

typedef struct lbk_probe_result {
    lbk_u32 status;         /* the IRP's final status (an NTSTATUS) */
    lbk_u32 reserved;
    lbk_u16 text[128];      /* IRP_MN_QUERY_ID: the id the stack returned, NUL-terminated */
} lbk_probe_result;

#endif /* LBK_PNPPROBE_H */
