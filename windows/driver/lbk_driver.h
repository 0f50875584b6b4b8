/*
 * lbk_driver.h - private declarations of the loopback WDM driver (kernel mode, x64 Windows).
 *
 * Locking: each device has one spin lock, LBK_DEVICE_EXTENSION.Lock, that guards its ring, its two
 * queues and its counters. Nothing pageable is touched and no IRP is completed while it is held:
 * routines that finish requests under the lock move them to a caller's "done" list, and the caller
 * completes that list after releasing the lock (LbkCompleteList).
 */
#ifndef LBK_DRIVER_H
#define LBK_DRIVER_H

/* mingw-w64's intrin-impl.h and ddk/wdm.h both define these two; under clang the pair becomes
   an external definition in every object file. Keep only wdm.h's static inline one. */
#define __INTRINSIC_DEFINED_InterlockedBitTestAndSet
#define __INTRINSIC_DEFINED_InterlockedBitTestAndReset
#include <ntifs.h>

#include "../../include/lbk_ioctl.h"
#include "../../core/lbk_config.h"
#include "../../core/lbk_control.h"
#include "../../core/lbk_ring.h"

/* mingw-w64 defines the other SAL role annotations as empty but not this one. */
#ifndef _Dispatch_type_
#define _Dispatch_type_(type)
#endif
#ifndef MdlMappingNoExecute
#define MdlMappingNoExecute 0x40000000
#endif

/* Pool tags read as "LbkR", "LbkF", "LbkB", "LbkN" in pool dumps. */
#define LBK_TAG(a, b, c, d) ((ULONG)(a) | ((ULONG)(b) << 8) | ((ULONG)(c) << 16) | ((ULONG)(d) << 24))
#define LBK_TAG_RING LBK_TAG('L', 'b', 'k', 'R')
#define LBK_TAG_FILE LBK_TAG('L', 'b', 'k', 'F')
#define LBK_TAG_BOUNCE LBK_TAG('L', 'b', 'k', 'B')
#define LBK_TAG_NAME LBK_TAG('L', 'b', 'k', 'N')

/* Trace levels (Parameters\TraceLevel). Errors are always printed. */
#define LBK_TRACE_ERROR 0u
#define LBK_TRACE_WARNING 1u
#define LBK_TRACE_INFO 2u
#define LBK_TRACE_VERBOSE 3u

extern ULONG LbkTraceLevel;

/* A function, not an expression, so that "0 <= level" for errors draws no compiler warning. */
static inline BOOLEAN LbkTraceEnabled(ULONG level)
{
    return level <= LbkTraceLevel;
}

#define LbkTrace(level, ...)                                                                 \
    do {                                                                                     \
        if (LbkTraceEnabled(level))                                                          \
            DbgPrintEx(DPFLTR_IHVDRIVER_ID,                                                  \
                       (level) == LBK_TRACE_ERROR ? DPFLTR_ERROR_LEVEL : DPFLTR_INFO_LEVEL,  \
                       __VA_ARGS__);                                                         \
    } while (0)

/* One per device object. */
typedef struct _LBK_DEVICE_EXTENSION {
    PDEVICE_OBJECT DeviceObject;
    UNICODE_STRING LinkName;            /* \DosDevices\<Name>; Buffer from pool */
    WCHAR Name[LBK_MAX_NAME_CHARS + 1]; /* NUL-terminated */
    enum lbk_io_method IoMethod;

    KSPIN_LOCK Lock; /* guards every field below */
    lbk_ring_t Ring;
    LIST_ENTRY PendingReads;  /* IRPs linked by Tail.Overlay.ListEntry, oldest first */
    LIST_ENTRY PendingWrites; /* likewise; only the head has bytes in the ring */
    ULONG PendingReadCount;
    ULONG PendingWriteCount;
    LIST_ENTRY OpenFiles; /* LBK_FILE_CONTEXT.Link of every open handle */
    ULONG OpenHandles;
    ULONG64 ReadRequests;
    ULONG64 WriteRequests;
    ULONG64 CancelledRequests;
    ULONG64 BytesDropped; /* left the ring for a reader whose buffer then faulted */
} LBK_DEVICE_EXTENSION, *PLBK_DEVICE_EXTENSION;

/* One per open handle (FILE_OBJECT->FsContext), freed at IRP_MJ_CLOSE. Guarded by the device lock. */
typedef struct _LBK_FILE_CONTEXT {
    LIST_ENTRY Link;
    PFILE_OBJECT FileObject;
    ULONG64 BytesIn;
    ULONG64 BytesOut;
} LBK_FILE_CONTEXT, *PLBK_FILE_CONTEXT;

/*
 * What a queued READ or WRITE keeps in its IRP while the driver owns it:
 * DriverContext[0]  the system address of its data (SystemBuffer, the MDL's mapping, or a bounce buffer)
 * DriverContext[1]  the bounce buffer to free at completion (neither I/O), else NULL
 * IoStatus.Information  bytes transferred so far
 */
#define LBK_IRP_DATA(irp) ((PUCHAR)(irp)->Tail.Overlay.DriverContext[0])
#define LBK_IRP_BOUNCE(irp) ((irp)->Tail.Overlay.DriverContext[1])

/* pool.c: tagged non-paged allocations whose bytes are counted, so unload can report leaks. */
PVOID LbkAllocate(SIZE_T bytes, ULONG tag);  /* zeroed; NULL when the pool is exhausted */
VOID LbkFree(PVOID block, ULONG tag);        /* NULL is allowed */
ULONG64 LbkPoolBytesOutstanding(VOID);
ULONG64 LbkPoolAllocationsOutstanding(VOID);

/* Copies through a real call, so the compiler keeps it inside the caller's __try (see pool.c). */
VOID LbkCopyUserMemory(PVOID destination, const VOID *source, SIZE_T bytes);

/* queue.c */
VOID LbkQueueInitialize(PLBK_DEVICE_EXTENSION ext, PVOID storage, SIZE_T capacity);
NTSTATUS LbkPrepareTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, ULONG length, BOOLEAN isWrite);
BOOLEAN LbkEnqueueLocked(PLBK_DEVICE_EXTENSION ext, PIRP irp);
VOID LbkPumpLocked(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done);
VOID LbkFlushLocked(PLBK_DEVICE_EXTENSION ext, PFILE_OBJECT fileObject, NTSTATUS status,
                    PLIST_ENTRY done);
VOID LbkCompleteTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status);
VOID LbkCompleteList(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done);
PLBK_FILE_CONTEXT LbkFileContext(PIRP irp);
SIZE_T LbkTransferLength(PLBK_DEVICE_EXTENSION ext, PIRP irp);

/* dispatch.c */
DRIVER_DISPATCH LbkDispatchCreate;
DRIVER_DISPATCH LbkDispatchCleanup;
DRIVER_DISPATCH LbkDispatchClose;
DRIVER_DISPATCH LbkDispatchRead;
DRIVER_DISPATCH LbkDispatchWrite;
DRIVER_DISPATCH LbkDispatchDeviceControl;
DRIVER_DISPATCH LbkDispatchUnsupported;

#endif /* LBK_DRIVER_H */
