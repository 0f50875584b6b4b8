/*
 * lbk_driver.h - private declarations of the loopback WDM driver (kernel mode, x64 Windows).
 *
 * Locking: each unit (a loopback device, or the two ends of a pair) has one spin lock,
 * LBK_UNIT.Lock, that guards its channels, their queues and its devices' counters. Nothing pageable is touched and no IRP is completed while it is held:
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
#include "../../core/lbk_channel.h"
#include "../../core/lbk_time.h"
#include "../../core/lbk_pnp.h"
#include "../../core/lbk_serial.h"
#include "../../core/lbk_flow.h"

/* A load that the loads after it cannot pass (Windows' ReadAcquire), for a value shared between
   CPUs without a lock when what is read next depends on it: ARM64 may reorder two plain loads
   (x64 does not). */
#define LbkReadAcquire(pointer) __atomic_load_n((pointer), __ATOMIC_ACQUIRE)

/* mingw-w64 defines the other SAL role annotations as empty but not this one. */
#ifndef _Dispatch_type_
#define _Dispatch_type_(type)
#endif
#ifndef MdlMappingNoExecute
#define MdlMappingNoExecute 0x40000000
#endif

/* Pool tags read as "LbkR", "LbkF", "LbkB", "LbkN", "LbkU", "LbkL", "LbkW" in pool dumps. */
#define LBK_TAG(a, b, c, d) ((ULONG)(a) | ((ULONG)(b) << 8) | ((ULONG)(c) << 16) | ((ULONG)(d) << 24))
#define LBK_TAG_RING LBK_TAG('L', 'b', 'k', 'R')
#define LBK_TAG_FILE LBK_TAG('L', 'b', 'k', 'F')
#define LBK_TAG_BOUNCE LBK_TAG('L', 'b', 'k', 'B')
#define LBK_TAG_NAME LBK_TAG('L', 'b', 'k', 'N')
#define LBK_TAG_UNIT LBK_TAG('L', 'b', 'k', 'U')
#define LBK_TAG_REMOVE_LOCK LBK_TAG('L', 'b', 'k', 'L') /* the tag IoAcquireRemoveLock records */
#define LBK_TAG_WORK LBK_TAG('L', 'b', 'k', 'W')        /* a neither read's copy-out, in a work item */
#define LBK_TAG_PNP LBK_TAG('L', 'b', 'k', 'P')         /* IDs, texts and relations for the PnP manager */
#define LBK_TAG_BUS LBK_TAG('L', 'b', 'k', 'S')         /* a bus's pair */

/* A device keeps at most this many bounce buffers of at most this size between requests: as
   many as requests a client usually has in flight (docs/performance.md). */
#define LBK_SPARE_BOUNCES 4
#define LBK_SPARE_BOUNCE_MAX_BYTES 0x100000u
/*
 * Neither I/O: the bounce buffers of a device's reads in flight hold at most
 * max(LBK_NEITHER_PIN_FLOOR, 2 x BufferSize) bytes, and so do its writes'; a request past that
 * fails at once with STATUS_QUOTA_EXCEEDED (ERROR_NOT_ENOUGH_QUOTA). Two budgets, so that writes
 * waiting with the whole of theirs never keep a reader from draining them.
 */
#define LBK_NEITHER_PIN_FLOOR 0x1000000u /* 16 MiB */

/*
 * The most payload bytes the driver copies in one hold of a unit's lock, at DISPATCH_LEVEL: a
 * longer transfer is moved in pieces of this size, with the lock dropped in between (see the
 * pump in queue.c). At memory speed this is some microseconds.
 */
#define LBK_LOCKED_COPY_BYTES 0x10000u /* 64 KiB */

/*
 * How long after a waiting write is cancelled the timer thread pumps its unit, so that what
 * waited behind it goes on. Not at once: a client that cancels several requests (CancelIoEx of
 * a handle) gets them all cancelled first, rather than some completed by that pump meanwhile,
 * and under Wine completing a request whose cancel is already on its way crashes Wine's
 * IoCancelIrp (docs/reliability.md, Wine finding 1).
 */
#define LBK_PUMP_AFTER_CANCEL_MS 10u

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

/* IRPs waiting in arrival order, linked by Tail.Overlay.ListEntry. */
typedef struct _LBK_QUEUE {
    LIST_ENTRY Irps;
    ULONG Count;
    ULONG Nonblocking; /* of Count, those with LBK_IRP_NONBLOCKING */
} LBK_QUEUE, *PLBK_QUEUE;

struct _LBK_DEVICE_EXTENSION;

/*
 * A serial end's COM port state (Parameters\Serial; docs/serial.md). Guarded by the unit lock.
 * Its DTR and RTS are up only while it has a handle open; its peer reads them as DSR and DCD,
 * and CTS (lbk_serial_modem_status).
 */
typedef struct _LBK_SERIAL {
    struct lbk_serial_settings Settings;
    BOOLEAN Dtr;          /* what the handflow and EscapeCommFunction ask of the line */
    BOOLEAN Rts;
    BOOLEAN Break;        /* SetCommBreak: the peer saw a break */
    BOOLEAN TxBusy;       /* a write went out since the last EV_TXEMPTY */
    BOOLEAN RxAbove80;    /* the input was 80 % full at the last look (EV_RX80FULL) */
    BOOLEAN Paced;        /* its writes cross at its baud rate (Parameters\BaudEmulation) */
    BOOLEAN ImmediatePending; /* TransmitCommChar's byte, which the pump sends ahead of waiting writes */
    UCHAR ImmediateChar;
    ULONG WaitMask;       /* SetCommMask */
    ULONG Events;         /* events of WaitMask since a WaitCommEvent last took them */
    ULONG Errors;         /* SERIAL_ERROR_* since ClearCommError last took them */
    ULONG ModemStatus;    /* the peer's lines as this end last saw them */
    LBK_QUEUE MaskWaits;  /* the pending WaitCommEvent (IOCTL_SERIAL_WAIT_ON_MASK), at most one */
    /* The handshake (flow.c): how its modem inputs are wired, its XON/XOFF and input-limit
       state, the holds of its output at the last look, and GET_STATS's counts since it opened. */
    struct lbk_flow_wiring Wiring;
    struct lbk_flow Flow;
    ULONG TxHolds;
    struct lbk_serial_perf_stats Stats;
    ULONG ModemControl;   /* SET_MODEM_CONTROL's OUT1, OUT2 and LOOP bits, kept and reported */
    /* The pending IOCTL_SERIAL_XOFF_COUNTER, at most one: its XoffChar goes once the writes
       before it (numbered up to XoffCounterAfter) have gone, and later writes wait for it; then
       it ends when XoffCounterLeft more characters came, a later write came, or its timeout
       (XoffCounterDeadline, performance-counter ticks, 0 for none) passed. */
    LBK_QUEUE XoffCounters;
    ULONG64 XoffCounterAfter;
    LONGLONG XoffCounterDeadline;
    LONG XoffCounterLeft;
    BOOLEAN XoffCounterSent;
    USHORT Port;          /* its COM<n> (PortNames), 0 for none */
    BOOLEAN PortLinked;   /* \DosDevices\Global\COM<n> is ours (the name was free) */
    UNICODE_STRING PortLink; /* \DosDevices\Global\COM<n>; Buffer from pool */
} LBK_SERIAL, *PLBK_SERIAL;

/* One direction of data: its writer's WRITEs wait here, its reader's READs too. */
typedef struct _LBK_CHANNEL {
    lbk_channel_t Data;
    LBK_QUEUE Reads;  /* the reader's; they wait only while nothing is queued */
    LBK_QUEUE Writes; /* the writer's; only the head may have moved bytes, so writes never interleave */
    struct _LBK_DEVICE_EXTENSION *Writer;
    struct _LBK_DEVICE_EXTENSION *Reader; /* the writer itself on a loopback device */
    /* The number the last WRITE queued here got (in its stack location's ByteOffset): a FLUSH
       waits until no write numbered up to the last one before it is still queued. */
    ULONG64 WriteSequence;
    struct lbk_pacer Pacer;  /* baud-rate emulation of a serial pair: when the line is free */
    BOOLEAN PaceLimited;     /* the pacer let fewer bytes through than were waiting */
    /* A work item will pump the unit attached to the head write's requestor, whose next window
       no other context may copy (LbkServableLocked). */
    BOOLEAN ContextPumpQueued;
} LBK_CHANNEL, *PLBK_CHANNEL;

/*
 * A loopback device (one channel) or a pair (two, A->B and B->A). One lock guards the whole unit:
 * every field of its channels and of its ends' extensions below Lock's comment.
 */
typedef struct _LBK_UNIT {
    KSPIN_LOCK Lock;
    ULONG Index; /* its slot in LbkUnits */
    ULONG ChannelCount;
    LBK_CHANNEL Channels[2];
    struct _LBK_DEVICE_EXTENSION *Ends[2]; /* [1] is NULL for a loopback device */
    LBK_QUEUE Controls; /* PEEK and WRITE_ATOMIC IRPs, which the pump serves in order */
    /* One thread at a time pumps a unit (it may drop the lock between pieces); others that
       have something for it set PumpAgain and leave it to that thread. */
    BOOLEAN Pumping;
    BOOLEAN PumpAgain;
    ULONG MaxLockedCopy; /* the most bytes the pump copied in one hold (GET_STATS) */
    /* The timer thread pumps the unit at this time, in performance-counter ticks (0: no such
       pump wanted), for what may not pump where it happens: a waiting write went (cancelled,
       timed out), an XOFF_COUNTER request's timeout came, SET_OPTIONS changed the wiring or
       pacing. A writer keeps an earlier due time; every writer and the timer hold the unit lock. */
    LONGLONG PumpDue;
    /* The timer thread is visiting the unit (interlocked): it took the unit from its slot under
       LbkUnitsLock, and works on it without that mutex. REMOVE waits for this to be 0 once it has
       taken the unit out of its slot. */
    volatile LONG TimerVisits;
} LBK_UNIT, *PLBK_UNIT;

/*
 * What a device object's extension starts with: the driver's devices are loopback devices and
 * pair ends (LBK_DEVICE_EXTENSION) and buses (LBK_BUS_EXTENSION, bus.c), and the dispatch
 * routines of driver.c send each IRP to the routines of its kind.
 */
#define LBK_KIND_END LBK_TAG('L', 'b', 'k', 'E')
#define LBK_KIND_BUS LBK_TAG('L', 'b', 'k', 'S')

struct _LBK_BUS_PAIR;

/* One per device object. */
typedef struct _LBK_DEVICE_EXTENSION {
    ULONG Kind; /* LBK_KIND_END */
    PDEVICE_OBJECT DeviceObject;
    /* Every IRP the driver takes holds it from dispatch to completion (LbkEnterIo, and the
       completion routines), so that REMOVE_DEVICE can wait until none is left. */
    IO_REMOVE_LOCK RemoveLock;
    /* Plug and Play only: the device the FDO is attached to (NULL for a legacy device), and
       the device interface registered on the physical device (Buffer from the system). */
    PDEVICE_OBJECT LowerDevice;
    UNICODE_STRING InterfaceName;
    BOOLEAN InterfaceEnabled;
    UNICODE_STRING LinkName;            /* \DosDevices\Global\<Name>; Buffer from pool */
    WCHAR Name[LBK_MAX_NAME_CHARS + 1]; /* NUL-terminated */
    enum lbk_io_method IoMethod;
    enum lbk_role Role;
    enum lbk_peer_closed WhenPeerClosed;
    PLBK_UNIT Unit;
    PLBK_CHANNEL In;  /* what this device's readers read */
    PLBK_CHANNEL Out; /* where this device's writers write */
    struct _LBK_DEVICE_EXTENSION *Peer; /* the end that reads Out; itself on a loopback device */
    /*
     * Neither I/O: up to LBK_SPARE_BOUNCES bounce buffers of the buffer size (at most
     * LBK_SPARE_BOUNCE_MAX_BYTES each), made as requests need them and kept between requests
     * (interlocked, no lock), so a request of up to that size does not pay the pool each time.
     */
    PVOID volatile SpareBounces[LBK_SPARE_BOUNCES]; /* the spares not in use now */
    LONG SpareBouncesMade;
    volatile LONG64 PinnedBytes[2]; /* bounce bytes that reads [0] and writes [1] in flight hold */
    /* Its requests pending now, of every handle, and the bytes their buffers hold (interlocked;
       lbk_limits.h bounds both): counted with each handle's InFlight and HeldBytes. */
    volatile LONG HeldRequests;
    volatile LONG64 HeldBytes;

    BOOLEAN IsSerial; /* an end of a serial pair: Serial below holds its port state */
    /* An end of a bus's pair: its own physical device (a PDO the bus reported), whose pair
       this is (bus.c; port.c answers its Plug and Play requests), and which end (0 A, 1 B). */
    struct _LBK_BUS_PAIR *BusPair;
    ULONG BusEnd;

    /* Guarded by Unit->Lock: */
    LBK_SERIAL Serial;
    struct lbk_pnp Pnp; /* its Plug and Play state, by the core's rules (core/lbk_pnp.h) */
    LBK_QUEUE Waits;      /* IOCTL_LBK_WAIT IRPs */
    LBK_QUEUE Flushes;    /* IRP_MJ_FLUSH_BUFFERS waiting for the writes before them (LbkEndFlushesLocked) */
    LBK_QUEUE Held;       /* requests that came during a Plug and Play stop, sent again at START (pnp.c) */
    /* START or CANCEL_STOP is sending the held requests again: some new ones are held behind
       them (interlocked; set before the state says started, cleared once Held is empty). */
    volatile LONG Replaying;
    /* The handle whose held request is going through its dispatch routine again now: its new
       requests wait behind it. Compared only, never touched through. */
    struct _LBK_FILE_CONTEXT *ReplayingContext;
    BOOLEAN ReplayActive; /* a replay runs (on the PnP thread or in its work item) */
    LIST_ENTRY OpenFiles; /* LBK_FILE_CONTEXT.Link of every open handle */
    ULONG OpenHandles;
    ULONG64 ReadRequests;
    ULONG64 WriteRequests;
    ULONG64 CancelledRequests;
    ULONG64 TimedOutRequests;
    ULONG64 BytesDiscarded;
} LBK_DEVICE_EXTENSION, *PLBK_DEVICE_EXTENSION;

/* One per open handle (FILE_OBJECT->FsContext), freed at IRP_MJ_CLOSE. Guarded by the unit lock. */
typedef struct _LBK_FILE_CONTEXT {
    LIST_ENTRY Link;
    PFILE_OBJECT FileObject;
    /* Set by CLEANUP: its last handle is gone, so nothing may be queued for it any more (on a
       many-CPU kernel a request of it may still be in dispatch while CLEANUP flushes). */
    BOOLEAN CleanedUp;
    /* Its requests that went pending and have not completed, and the bytes their buffers hold
       (interlocked; lbk_limits.h bounds both). Only under Wine can CLOSE come while some are,
       and it waits for them before it frees this context. */
    volatile LONG InFlight;
    volatile LONG64 HeldBytes;
    /* What the handle was granted at CREATE: the driver checks it for requests whose code does
       not let the I/O manager do so (the serial ones, which are FILE_ANY_ACCESS, and FLUSH). */
    BOOLEAN CanRead;
    BOOLEAN CanWrite;
    ULONG HeldRequests; /* of its requests, those on the device's Held queue */
    ULONG64 BytesIn;
    ULONG64 BytesOut;
    lbk_handle_options Options;
} LBK_FILE_CONTEXT, *PLBK_FILE_CONTEXT;

/*
 * What a queued IRP keeps in itself while the driver owns it:
 * DriverContext[0]  READ/WRITE: the system address of its data (SystemBuffer, the MDL's mapping,
 *                   or, with neither I/O, the bounce buffer to give back at completion)
 * DriverContext[1]  LBK_IRP_* flags in the low 4 bits; above them, for a neither-I/O write, which
 *                   window of its buffer the bounce holds (window k starts at byte k x window)
 * DriverContext[2]  the LBK_QUEUE that holds it, NULL once off every queue
 * DriverContext[3]  its deadline in performance-counter ticks, 0 for none
 * IoStatus.Information  READ/WRITE: bytes transferred so far
 * IoStatus.Status   while LBK_IRP_REFILLING: STATUS_PENDING, or the status someone asked it to end with
 */
#define LBK_IRP_NONBLOCKING 0x1u /* its handle is non-blocking: the pump ends it rather than leave it waiting */
#define LBK_IRP_REFILLING 0x2u   /* a neither write whose bounce the pump refills, lock dropped */
#define LBK_IRP_COUNTED 0x4u     /* counted in what its handle and device hold until it completes */
#define LBK_IRP_DATA(irp) ((PUCHAR)(irp)->Tail.Overlay.DriverContext[0])
/* A serial end's READ under COMMTIMEOUTS that completes only when full, or when its total or
   interval timeout passes (lbk_serial.h's FILL plan); see LbkSerialReadGotBytesLocked. */
#define LBK_IRP_FILL 0x8u
#define LBK_IRP_FLAGS(irp) ((ULONG)((ULONG_PTR)(irp)->Tail.Overlay.DriverContext[1] & 0xFu))
#define LBK_IRP_WINDOW(irp) ((ULONG_PTR)(irp)->Tail.Overlay.DriverContext[1] >> 4)
#define LBK_IRP_QUEUE(irp) ((PLBK_QUEUE)(irp)->Tail.Overlay.DriverContext[2])
#define LBK_IRP_DEADLINE(irp) ((LONGLONG)(LONG_PTR)(irp)->Tail.Overlay.DriverContext[3])

static inline VOID LbkSetIrpContext1(PIRP irp, ULONG_PTR window, ULONG flags)
{
    irp->Tail.Overlay.DriverContext[1] = (PVOID)((window << 4) | flags);
}

/*
 * One call of the pump (queue.c). The pump runs with the unit lock held but may drop and retake
 * it between pieces of a transfer, so it carries the lock handle, and the IRP being dispatched
 * ("fresh"), which it arms before the first drop so that it can be cancelled meanwhile.
 */
typedef struct _LBK_PUMP {
    PLBK_UNIT Unit;
    PKLOCK_QUEUE_HANDLE LockHandle;
    PLIST_ENTRY Done;
    PIRP Fresh;            /* queued, not armed; NULL once armed or when there is none */
    ULONG FreshTimeoutMs;  /* its timeout, for arming */
    BOOLEAN FreshPending;  /* it was marked pending: its dispatch routine returns STATUS_PENDING */
    LONGLONG FreshDeadline;
    SIZE_T Budget;         /* bytes this hold of the lock may still copy */
    /* The address space this pump runs in: the only requestor whose user buffer it may copy a
       neither write's next window from (the caller's in dispatch, the system's in the timer
       thread, the attached requestor's in a context pump). */
    PEPROCESS Context;
} LBK_PUMP, *PLBK_PUMP;
/* A deadline in a pointer-sized slot: this driver is built for 64-bit Windows only. */
C_ASSERT(sizeof(PVOID) == sizeof(LONGLONG));

static inline PLBK_DEVICE_EXTENSION LbkExtension(PDEVICE_OBJECT deviceObject)
{
    return (PLBK_DEVICE_EXTENSION)deviceObject->DeviceExtension;
}

/* pool.c: tagged non-paged allocations whose bytes are counted, so unload can report leaks. */
VOID LbkPoolInitialize(VOID);                /* DriverEntry: finds ExAllocatePool2 if the kernel has it */
PVOID LbkAllocate(SIZE_T bytes, ULONG tag);  /* zeroed; NULL when the pool is exhausted */
/* Not zeroed: for data buffers whose every byte is written before it is read. */
PVOID LbkAllocateBuffer(SIZE_T bytes, ULONG tag);
/* Like LbkAllocateBuffer, charged to the current process's pool quota: NULL past it. */
PVOID LbkAllocateCharged(SIZE_T bytes, ULONG tag);
SIZE_T LbkBlockBytes(PVOID block);           /* what the block was allocated with */
BOOLEAN LbkBlockCharged(PVOID block);        /* made by LbkAllocateCharged */
VOID LbkFree(PVOID block, ULONG tag);        /* NULL is allowed */
PVOID LbkAllocateForSystem(SIZE_T bytes, ULONG tag); /* paged, zeroed, uncounted: the PnP manager frees it */
ULONG64 LbkPoolBytesOutstanding(VOID);
ULONG64 LbkPoolAllocationsOutstanding(VOID);

/*
 * User memory is touched below DISPATCH_LEVEL only. Checked in DBG builds (make CHECKED=1): on x64
 * Wine emulates KeGetCurrentIrql with a trap, too dear for every request.
 */
#if DBG
#define LbkAssertUserMemoryIrql() NT_ASSERT(KeGetCurrentIrql() <= APC_LEVEL)
#else
#define LbkAssertUserMemoryIrql() ((VOID)0)
#endif

/*
 * What a completion hands back never exceeds the caller's buffer: the I/O manager copies
 * Information bytes of a buffered reply, and Wine reports it as the count returned, unchecked.
 * Checked in DBG builds at the two places an IRP the driver took completes (LbkCompleteIrp,
 * LbkCompleteTransfer); make test runs the Wine suites against such a build too.
 */
#if DBG
static inline VOID LbkAssertReplyFits(PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    ULONG_PTR limit = 0;

    switch (stack->MajorFunction) {
    case IRP_MJ_READ:
        limit = stack->Parameters.Read.Length;
        break;
    case IRP_MJ_WRITE:
        limit = stack->Parameters.Write.Length;
        break;
    case IRP_MJ_DEVICE_CONTROL:
        limit = stack->Parameters.DeviceIoControl.OutputBufferLength;
        break;
    default:
        break;
    }
    NT_ASSERT(irp->IoStatus.Information <= limit);
}
#else
#define LbkAssertReplyFits(irp) ((VOID)0)
#endif

/*
 * What a neither-I/O request's bounce buffer starts with, before its data (LBK_IRP_DATA points
 * past it): the process whose address space its user buffer is in, referenced from dispatch to
 * completion, so that a copy attached to it later never meets a process that is gone (I/O on a
 * completion port is not tied to a thread whose rundown would wait for it). NULL for a request
 * from kernel mode, whose buffer is in system space.
 */
typedef struct _LBK_BOUNCE {
    PEPROCESS Requestor;
    PVOID Reserved; /* keeps the data 16-byte aligned */
} LBK_BOUNCE, *PLBK_BOUNCE;

static inline PLBK_BOUNCE LbkBounceOf(PVOID data)
{
    return (PLBK_BOUNCE)data - 1;
}

/* Copies through a real call, so the compiler keeps it inside the caller's __try (see pool.c). */
VOID LbkCopyUserMemory(PVOID destination, const VOID *source, SIZE_T bytes);

/*
 * usercopy.c: neither I/O's bounce buffers and the copies to and from user buffers, only in the
 * requestor's address space. LbkPrepareTransfer finds any request's data (in dispatch).
 */
NTSTATUS LbkPrepareTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, ULONG length, BOOLEAN isWrite);
SIZE_T LbkWindowBytes(PLBK_DEVICE_EXTENSION ext);           /* a neither write's bounce window */
SIZE_T LbkBounceBytes(PLBK_DEVICE_EXTENSION ext, PIRP irp); /* a neither request's bounce size */
VOID LbkGiveBackBounce(PLBK_DEVICE_EXTENSION ext, PVOID data, SIZE_T bytes, BOOLEAN isWrite);
/* The next window of a neither write, from its writer's buffer; PASSIVE_LEVEL, no lock. */
NTSTATUS LbkRefillWindow(PLBK_DEVICE_EXTENSION writer, PIRP write);
/* A finished neither read's bytes to its user buffer; PASSIVE_LEVEL, no lock. */
NTSTATUS LbkCopyBounceToUser(PLBK_DEVICE_EXTENSION ext, PIRP irp, SIZE_T bytes);
/* Whether a finished neither read's bytes go to its user buffer: a success, and also a read
   ended by cancellation or a closed peer after it got bytes, which it reports. */
static inline BOOLEAN LbkReadDelivers(PIRP irp, NTSTATUS status)
{
    return IoGetCurrentIrpStackLocation(irp)->MajorFunction == IRP_MJ_READ && irp->IoStatus.Information != 0 &&
           (!NT_ERROR(status) || status == STATUS_CANCELLED || status == STATUS_PIPE_DISCONNECTED);
}
/* TRUE when a work item copies the read out and completes it (LbkFinishTransfer) instead. */
BOOLEAN LbkCopyOutLater(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status);
/* Has a work item pump channel's unit attached to requestor; FALSE when it cannot. Lock held. */
BOOLEAN LbkContextPumpLocked(PLBK_CHANNEL channel, PEPROCESS requestor);

/* queue.c */
VOID LbkQueueInitialize(PLBK_QUEUE queue);
VOID LbkInsertLocked(PLBK_QUEUE queue, PIRP irp);
/* Whether one more request of irp's handle may wait (lbk_limits.h): STATUS_SUCCESS or
   STATUS_QUOTA_EXCEEDED. Then LbkHoldLocked counts it once it waits, until it completes. */
NTSTATUS LbkAdmitLocked(PIRP irp);
VOID LbkHoldLocked(PIRP irp);
VOID LbkUnholdIrp(PLBK_DEVICE_EXTENSION ext, PIRP irp); /* gives back what LbkHoldLocked counted */
VOID LbkUnlinkLocked(PIRP irp);
/* Takes a queued IRP off its queue and claims it; FALSE when its cancel routine has it. */
BOOLEAN LbkClaimLocked(PIRP irp, PIRP fresh);
/* Moves an IRP the caller owns to done with status, for LbkCompleteList after the lock. */
VOID LbkFinishLocked(PIRP irp, NTSTATUS status, PLIST_ENTRY done);
BOOLEAN LbkArmLocked(PIRP irp, LONGLONG deadline);
NTSTATUS LbkEarlyStatusLocked(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status);
VOID LbkPumpInit(PLBK_PUMP pump, PLBK_UNIT unit, PKLOCK_QUEUE_HANDLE lockHandle, PLIST_ENTRY done);
VOID LbkPumpLocked(PLBK_PUMP pump);
NTSTATUS LbkSubmitLocked(PLBK_PUMP pump, PLBK_QUEUE queue, PIRP irp, ULONG timeoutMs, BOOLEAN *pending);
SIZE_T LbkPieceLocked(PLBK_PUMP pump, SIZE_T want);
VOID LbkServeControlLocked(PLBK_PUMP pump, PIRP irp); /* dispatch.c: a claimed PEEK or WRITE_ATOMIC */
VOID LbkFlushLocked(PLBK_DEVICE_EXTENSION ext, PFILE_OBJECT fileObject, NTSTATUS status, PLIST_ENTRY done);
VOID LbkFlushQueueLocked(PLBK_DEVICE_EXTENSION ext, PLBK_QUEUE queue, PFILE_OBJECT fileObject, NTSTATUS status,
                         PLIST_ENTRY done);
VOID LbkWaitForRequestsLocked(PLBK_DEVICE_EXTENSION ext, PKLOCK_QUEUE_HANDLE lockHandle, PFILE_OBJECT fileObject,
                              NTSTATUS status, PLIST_ENTRY done);
VOID LbkPeerClosedLocked(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done);
/* The write sequence number a WRITE queued on channel gets, and whether one up to target waits. */
VOID LbkNumberWriteLocked(PLBK_CHANNEL channel, PIRP write);
BOOLEAN LbkWritesWaitUpToLocked(PLBK_CHANNEL channel, ULONG64 target);
BOOLEAN LbkPeerGoneLocked(PLBK_DEVICE_EXTENSION ext);
ULONG LbkReadyEventsLocked(PLBK_DEVICE_EXTENSION ext, ULONG events, ULONG minRoom, lbk_wait_result *result);
NTSTATUS LbkCompleteTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status);
/* LbkCompleteTransfer without handing a copy-out to a work item: the copy is made here. */
NTSTATUS LbkFinishTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status);
VOID LbkCompleteList(PLIST_ENTRY done);
LONGLONG LbkExpireLocked(PLBK_UNIT unit, LONGLONG now, PLIST_ENTRY done);
PLBK_FILE_CONTEXT LbkFileContext(PIRP irp);
SIZE_T LbkTransferLength(PLBK_DEVICE_EXTENSION ext, PIRP irp);
LONGLONG LbkDeadline(ULONG timeoutMs);

/*
 * timer.c: one system thread completes requests whose deadline passed. It finds the units in
 * LbkUnits, a slot per unit (NULL when free), under LbkUnitsLock, which whoever adds or takes
 * away a unit holds too (PASSIVE_LEVEL), and visits them after releasing it (TimerVisits).
 */
NTSTATUS LbkTimerStart(VOID);
VOID LbkTimerStop(VOID);
VOID LbkTimerWake(VOID);
/* A unit taken out of its slot: waits until the timer thread has left it. PASSIVE_LEVEL. */
VOID LbkTimerWaitForVisit(PLBK_UNIT unit);
extern PLBK_UNIT LbkUnits[LBK_MAX_DEVICE_COUNT];
extern ULONG LbkUnitCount; /* units in LbkUnits */
extern FAST_MUTEX LbkUnitsLock;

/*
 * serial.c: the COM port personality of a serial pair's ends. The pump calls
 * LbkSerialReceivedLocked for bytes it moves to a serial reader, and LbkSerialUpdateLocked when
 * it is done, which turns line and queue changes into events and completes a WaitCommEvent.
 */
VOID LbkSerialInitialize(PLBK_DEVICE_EXTENSION ext, USHORT port, BOOLEAN paced);
/* A bus end's options (bus.c), at once; the timer thread then pumps the unit: events for the
   inputs its new wiring changes, output a hold kept back goes. IRQL <= DISPATCH_LEVEL (bus.c
   calls it with the bus's lock held); takes the unit lock, completes nothing, copies nothing. */
VOID LbkSerialSetOptions(PLBK_DEVICE_EXTENSION ext, const struct lbk_flow_wiring *wiring, BOOLEAN paced);
/* How many of want bytes the writer may send now: none while its handshake holds it or its
   reader's input is at its XOFF limit (flow.c), then as many as its line lets through under
   baud-rate emulation (Parameters\BaudEmulation); and the record of those that went. */
SIZE_T LbkSerialPaceAllowedLocked(PLBK_CHANNEL channel, SIZE_T want);
VOID LbkSerialPaceSentLocked(PLBK_CHANNEL channel, SIZE_T count);
NTSTATUS LbkSerialControl(PLBK_DEVICE_EXTENSION ext, PIRP irp, PULONG_PTR information, BOOLEAN *queued);
VOID LbkSerialReceivedLocked(PLBK_CHANNEL channel, const UCHAR *bytes, SIZE_T count);
/* The same in two steps, for bytes that reach the reader only later (a WRITE_ATOMIC put in
   pieces): the events those bytes make, then, once they are readable, posting them. */
ULONG LbkSerialReceivedEventsLocked(PLBK_CHANNEL channel, const UCHAR *bytes, SIZE_T count);
VOID LbkSerialPostReceivedLocked(PLBK_CHANNEL channel, ULONG events);
/* The pump, between its other transfers: sends each end's TransmitCommChar byte that has room. */
VOID LbkSerialSendImmediateLocked(PLBK_UNIT unit);
VOID LbkSerialUpdateLocked(PLBK_UNIT unit, PLIST_ENTRY done);
VOID LbkSerialOpenedLocked(PLBK_DEVICE_EXTENSION ext);
VOID LbkSerialPrepareTransfer(PIRP irp, ULONG length, const struct lbk_serial_timeouts *timeouts, ULONG *flags,
                              ULONG *timeoutMs);
BOOLEAN LbkSerialReadGotBytesLocked(PLBK_DEVICE_EXTENSION ext, PIRP read);
NTSTATUS LbkSerialLinkPort(PLBK_DEVICE_EXTENSION ext);
VOID LbkSerialUnlinkPort(PLBK_DEVICE_EXTENSION ext);

/*
 * flow.c: the handshake of a serial end (docs/serial.md, "Handshake"); the rules are the core's
 * (core/lbk_flow.c). Everything runs under the unit lock. The pump asks LbkSerialPaceAllowedLocked
 * how much a writer may send, passes what crosses through LbkFlowPassLocked, and calls
 * LbkFlowUpdateLocked after each pass over the channels, which pumps again when a hold ends.
 */
VOID LbkFlowInitialize(PLBK_DEVICE_EXTENSION ext, const struct lbk_flow_wiring *wiring);
VOID LbkFlowOpenedLocked(PLBK_DEVICE_EXTENSION ext);
ULONG LbkFlowLinesLocked(PLBK_DEVICE_EXTENSION ext);       /* LBK_FLOW_DTR | LBK_FLOW_RTS it drives now */
ULONG LbkFlowModemStatusLocked(PLBK_DEVICE_EXTENSION ext); /* what it reads, through its wiring */
ULONG LbkFlowTxHoldsLocked(PLBK_DEVICE_EXTENSION ext);
ULONG LbkFlowHoldReasonsLocked(PLBK_DEVICE_EXTENSION ext); /* SERIAL_STATUS.HoldReasons but break */
SIZE_T LbkFlowAllowedLocked(PLBK_CHANNEL channel, SIZE_T want);
/* Of count bytes at source about to cross channel, how many reach the reader as they are: those
   before its first XON/XOFF when it has fOutX. 0 with *consumed set when the first bytes are
   taken off the line instead (the XON/XOFF it acts on, or all while DSR sensitivity ignores
   them): the caller counts them as sent and goes on. */
SIZE_T LbkFlowPassLocked(PLBK_CHANNEL channel, const UCHAR *source, SIZE_T count, SIZE_T *consumed);
/* Whether sender's peer takes c off the line (fOutX acting on it, or DSR sensitivity). */
BOOLEAN LbkFlowTakenByPeerLocked(PLBK_DEVICE_EXTENSION sender, UCHAR c);
VOID LbkFlowSendLocked(PLBK_DEVICE_EXTENSION ext); /* its waiting XON, XOFF or counter's XOFF, between transfers */
VOID LbkFlowUpdateLocked(PLBK_UNIT unit);
/* IOCTL_SERIAL_XOFF_COUNTER (its Counter checked): queued, *queued TRUE, or a failure status. */
NTSTATUS LbkFlowXoffCounterLocked(PLBK_DEVICE_EXTENSION ext, PIRP irp, BOOLEAN *queued, PLIST_ENTRY done);
VOID LbkFlowPurgeTxLocked(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done); /* PURGE_TXABORT: ends the XOFF counter */
/* At the end of a pump: ends the XOFF counter that is done, or has the timer pump at its timeout. */
VOID LbkFlowCheckXoffCounterLocked(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done);
/* count characters came into ext's input: they count down its XOFF counter. */
VOID LbkFlowCountReceivedLocked(PLBK_DEVICE_EXTENSION ext, SIZE_T count);

/* driver.c */
extern struct lbk_config LbkConfig;
/* A free slot of LbkUnits, kept from others until LbkReleaseSlot or the unit fills it and is
   taken out again: LBK_MAX_DEVICE_COUNT when none is free. PASSIVE_LEVEL. */
ULONG LbkReserveSlot(VOID);
VOID LbkReleaseSlot(ULONG slot);
NTSTATUS LbkCreatePortPair(PDRIVER_OBJECT driverObject, ULONG slot, ULONG pair, const USHORT ports[2],
                           PLBK_UNIT *result);
/* Takes a unit out of its slot and waits until the timer thread has left it. PASSIVE_LEVEL. */
VOID LbkTakeUnitOut(PLBK_UNIT unit);
NTSTATUS LbkBuildName(PCWSTR prefix, PCWSTR name, PUNICODE_STRING result); /* prefix + name, from pool */ /* as DriverEntry read it from Parameters */
NTSTATUS LbkCreateUnit(PDRIVER_OBJECT driverObject, ULONG slot, PDEVICE_OBJECT pdo, PLBK_UNIT *result);
VOID LbkDestroyUnit(PLBK_UNIT unit, BOOLEAN removeLockReleased);

/*
 * pnp.c. Every dispatch routine but PnP, power and WMI starts with LbkEnterIo, which takes the
 * remove lock for the IRP and says whether the device's state lets it in; whoever completes the
 * IRP then calls LbkLeaveIo. During a Plug and Play stop it holds the request instead and returns
 * STATUS_PENDING, which its dispatch routine returns at once: START sends it through that routine
 * again. LbkRefusedLocked is the same state check under the unit lock, where a request is queued,
 * so that none is queued after SURPRISE_REMOVAL or REMOVE has flushed.
 */
NTSTATUS LbkEnterIo(PLBK_DEVICE_EXTENSION ext, PIRP irp);
/* dispatch.c: completes an IRP that holds no remove lock (refused at entry) with status. */
NTSTATUS LbkRefuseIrp(PIRP irp, NTSTATUS status);
static inline VOID LbkLeaveIo(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    IoReleaseRemoveLock(&ext->RemoveLock, irp);
}
NTSTATUS LbkRefusedLocked(PLBK_DEVICE_EXTENSION ext, PLBK_FILE_CONTEXT context);
/* The state after removal (SURPRISE_REMOVAL or REMOVE), and every queued request completed. */
VOID LbkEndEveryRequest(PLBK_DEVICE_EXTENSION ext, enum lbk_pnp_event removal);
NTSTATUS LbkAttachToStack(PLBK_DEVICE_EXTENSION ext, PDEVICE_OBJECT pdo);
/* Sends the IRP to lower and waits for the drivers there to finish it; the caller completes it. */
NTSTATUS LbkSendDownAndWait(PDEVICE_OBJECT lower, PIRP irp);
/* For port.c, which runs a bus end's states by the same rules as a function device's. */
BOOLEAN LbkApplyStart(PLBK_DEVICE_EXTENSION ext, enum lbk_pnp_event event);
VOID LbkReplayHeld(PLBK_DEVICE_EXTENSION ext, BOOLEAN pnpThread);
VOID LbkApplyPnp(PLBK_DEVICE_EXTENSION ext, enum lbk_pnp_event event);
VOID LbkSetInterface(PLBK_DEVICE_EXTENSION ext, BOOLEAN enable);
DRIVER_ADD_DEVICE LbkAddDevice;
DRIVER_DISPATCH LbkDispatchPnp;
DRIVER_DISPATCH LbkDispatchPower;
DRIVER_DISPATCH LbkDispatchSystemControl;

/* dispatch.c */
DRIVER_DISPATCH LbkDispatchCreate;
DRIVER_DISPATCH LbkDispatchCleanup;
DRIVER_DISPATCH LbkDispatchClose;
DRIVER_DISPATCH LbkDispatchRead;
DRIVER_DISPATCH LbkDispatchWrite;
DRIVER_DISPATCH LbkDispatchDeviceControl;
DRIVER_DISPATCH LbkDispatchFlush;
DRIVER_DISPATCH LbkDispatchUnsupported;
DRIVER_DISPATCH LbkDispatchKeepStatus;

/*
 * bus.c: the serial port bus. A root device node with hardware id LBK_BUS_HARDWARE_ID gets a bus
 * (AddDevice), which holds pairs, each two PDOs it reports to the PnP manager; the PDOs are serial
 * ends, served by the dispatch routines above, whose PnP requests port.c answers. Every pair of
 * every bus is in LbkBusPairs, under the bus lock (LbkBusAcquire), which keeps the thread at
 * PASSIVE_LEVEL: it is held while devices are created and deleted and the registry is written.
 */
typedef struct _LBK_BUS_EXTENSION {
    ULONG Kind; /* LBK_KIND_BUS */
    PDEVICE_OBJECT DeviceObject;
    PDEVICE_OBJECT LowerDevice;
    PDEVICE_OBJECT Pdo;
    IO_REMOVE_LOCK RemoveLock;
    UNICODE_STRING InterfaceName; /* LBK_BUS_INTERFACE_GUID on Pdo; Buffer from the system */
    BOOLEAN InterfaceEnabled;
    BOOLEAN Started;              /* under the bus lock */
    BOOLEAN Removed;              /* under the bus lock: REMOVE came; no pair may be added */
} LBK_BUS_EXTENSION, *PLBK_BUS_EXTENSION;

typedef struct _LBK_BUS_PAIR {
    PLBK_BUS_EXTENSION Bus;
    ULONG Number;                 /* its index in LbkBusPairs */
    PLBK_UNIT Unit;
    BOOLEAN Present;              /* reported from now on; FALSE once REMOVE_PAIR took it away */
    BOOLEAN Reported;             /* a BusRelations reply listed its ends */
    BOOLEAN EndRemoved[2];        /* REMOVE_DEVICE came for the end once it was not present */
    BOOLEAN EndStarted[2];        /* START came, and no removal since: its COM name is linked */
    /* The PnP manager sent the end a request: it knows the PDO, whose device key may be opened
       now (IoOpenDeviceRegistryKey on a PDO it has not seen bugchecks 0xCA). */
    BOOLEAN EndKnown[2];
} LBK_BUS_PAIR, *PLBK_BUS_PAIR;

VOID LbkBusInitialize(VOID);
VOID LbkBusAcquire(VOID);
VOID LbkBusRelease(VOID);
/* AddDevice's part for a bus node: STATUS_NOT_FOUND when pdo is not one, a failure when
   its hardware ids cannot be read (the node is then not attached at all). */
NTSTATUS LbkBusAddDevice(PDRIVER_OBJECT driverObject, PDEVICE_OBJECT pdo);
NTSTATUS LbkBusDispatch(PDEVICE_OBJECT deviceObject, PIRP irp);
/* Bus lock held: the end of any bus's pair that has COM<port>, other than except (NULL for none),
   and the pair's Pair<n> value written again in its bus's device key. */
PLBK_DEVICE_EXTENSION LbkBusPortOwnerLocked(USHORT port, const LBK_DEVICE_EXTENSION *except);
VOID LbkBusSavePairLocked(PLBK_BUS_PAIR pair);
/* port.c: REMOVE_DEVICE of an end the bus no longer has: the pair goes once both ends went. */
VOID LbkBusEndRemoved(PLBK_DEVICE_EXTENSION ext);
/* port.c */
NTSTATUS LbkDispatchPortPnp(PDEVICE_OBJECT deviceObject, PIRP irp);
NTSTATUS LbkDispatchPortPower(PDEVICE_OBJECT deviceObject, PIRP irp);
/* Writes an end's PortName into its device key (deleting it for none); PASSIVE_LEVEL. */
VOID LbkPortWritePortName(PLBK_DEVICE_EXTENSION ext);

#endif /* LBK_DRIVER_H */
