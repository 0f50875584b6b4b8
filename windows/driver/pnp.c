/*
 * pnp.c - the Plug and Play side (kernel mode, PASSIVE_LEVEL): AddDevice, IRP_MJ_PNP, IRP_MJ_POWER,
 * IRP_MJ_SYSTEM_CONTROL, and the remove lock and state check that every other request passes.
 *
 * Loaded by the INF (Parameters\PlugAndPlay = 1), the driver creates no device at DriverEntry;
 * each root-enumerated device node gets one loopback device, the functional device object (FDO)
 * attached to the node's physical device object (PDO), named <Name><slot> and found by clients
 * through the LBK_INTERFACE_GUID device interface, which is enabled while the device is started.
 *
 * The state rules are the core's (core/lbk_pnp.h, tested natively for every state and request);
 * what the driver does at each request (docs/driver.md, "Plug and Play"):
 *   START             lower drivers first, then Started and the interface enabled
 *   QUERY_STOP, STOP  new requests of open handles are held, cancellable, and sent through
 *                     their dispatch routines again at START or CANCEL_STOP (those whose buffer
 *                     is a bare user address fail with STATUS_DEVICE_NOT_READY, as do new
 *                     handles); queued ones stay queued, cancellable, and go on after the next
 *                     START (a software device has no resources to give up, so a stop loses nothing)
 *   QUERY_REMOVE      no new handle (STATUS_DELETE_PENDING); open handles work on
 *   CANCEL_*          back to the state before the query
 *   SURPRISE_REMOVAL  interface disabled, every queued request completed (STATUS_DEVICE_REMOVED),
 *                     every new one refused; CLEANUP and CLOSE still work
 *   REMOVE            the same, then the IRP goes down, the remove lock is waited for (no IRP
 *                     of ours outlives the device), and the device is detached and deleted
 * Every other PnP IRP, and every power and WMI IRP, goes down the stack untouched.
 */
#include "lbk_driver.h"

static PCSTR LbkPnpMinorName(UCHAR minor)
{
    switch (minor) {
    case IRP_MN_START_DEVICE: return "START_DEVICE";
    case IRP_MN_QUERY_STOP_DEVICE: return "QUERY_STOP_DEVICE";
    case IRP_MN_STOP_DEVICE: return "STOP_DEVICE";
    case IRP_MN_CANCEL_STOP_DEVICE: return "CANCEL_STOP_DEVICE";
    case IRP_MN_QUERY_REMOVE_DEVICE: return "QUERY_REMOVE_DEVICE";
    case IRP_MN_CANCEL_REMOVE_DEVICE: return "CANCEL_REMOVE_DEVICE";
    case IRP_MN_SURPRISE_REMOVAL: return "SURPRISE_REMOVAL";
    case IRP_MN_REMOVE_DEVICE: return "REMOVE_DEVICE";
    case IRP_MN_QUERY_CAPABILITIES: return "QUERY_CAPABILITIES";
    }
    return NULL;
}

/*
 * Whether a request can be sent through its dispatch routine again later, from another thread:
 * not one whose buffer is a bare user address, valid only in its caller's context (neither I/O,
 * METHOD_NEITHER), which the driver must copy before it may wait.
 */
static BOOLEAN LbkReplayable(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);

    switch (stack->MajorFunction) {
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
        return ext->IoMethod != LBK_IO_NEITHER;
    case IRP_MJ_DEVICE_CONTROL:
        return (stack->Parameters.DeviceIoControl.IoControlCode & 3) != METHOD_NEITHER;
    default:
        return TRUE;
    }
}

/*
 * How many held requests START or CANCEL_STOP sends again, beyond those held when it came, before
 * new ones stop being held behind them: a client that issues its next request while its last is
 * being sent again would otherwise keep the replay, and START with it, going for ever.
 */
#define LBK_REPLAY_SLACK 256u

/* Marks a held IRP sent through its dispatch routine again, so that LbkEnterIo lets it through. */
static VOID LbkMarkReplayed(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    irp->Tail.Overlay.DriverContext[1] = ext;
    irp->Tail.Overlay.DriverContext[2] = &ext->Held;
}

static BOOLEAN LbkTakeReplayedMark(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    BOOLEAN marked = irp->Tail.Overlay.DriverContext[1] == ext && irp->Tail.Overlay.DriverContext[2] == &ext->Held;

    if (marked)
        RtlZeroMemory(irp->Tail.Overlay.DriverContext, sizeof(irp->Tail.Overlay.DriverContext));
    return marked;
}

/* The status that refuses a request the state does not let in (NOT_READY or DELETE_PENDING). */
static NTSTATUS LbkRefusal(enum lbk_pnp_admission admission)
{
    return admission == LBK_PNP_NOT_READY ? STATUS_DEVICE_NOT_READY : STATUS_DELETE_PENDING;
}

/*
 * While held requests are sent again, whether a new one of a started device must wait behind
 * them: one of a handle that has some held or being sent again (its own order), and a FLUSH
 * (every write before it). Others go at once; so do those that could not be held (a bare user
 * address), rather than fail on a started device. Lock held.
 */
static BOOLEAN LbkBehindReplayLocked(PLBK_DEVICE_EXTENSION ext, PLBK_FILE_CONTEXT context, PIRP irp)
{
    if (!ext->Replaying || !LbkReplayable(ext, irp))
        return FALSE;
    return IoGetCurrentIrpStackLocation(irp)->MajorFunction == IRP_MJ_FLUSH_BUFFERS || context->HeldRequests != 0 ||
           context == ext->ReplayingContext;
}

/*
 * A request of an open handle that comes while the device is stopping or stopped waits on
 * ext->Held, cancellable and counted in the Pending* limits, until START or CANCEL_STOP sends it
 * through its dispatch routine again (LbkReplayHeld); it keeps its remove lock meanwhile. So
 * does one that must wait behind those (LbkBehindReplayLocked). Returns STATUS_PENDING when
 * held, STATUS_SUCCESS when it may be served now, or the status to refuse it with.
 */
static NTSTATUS LbkHoldUntilStart(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    enum lbk_pnp_admission admission;
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status;

    if (context == NULL)
        return STATUS_DEVICE_NOT_READY; /* its CREATE failed (Wine opens it anyway): nothing to hold */
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    /* Again under the lock, where START changes the state: a request held after START's
       replay would wait for the next START. */
    switch (admission = lbk_pnp_admit(ext->Pnp.state, LBK_PNP_IO)) {
    case LBK_PNP_ADMIT: /* pending: held behind the replay */
        status = LbkBehindReplayLocked(ext, context, irp) ? STATUS_PENDING : STATUS_SUCCESS;
        break;
    case LBK_PNP_HOLD:
        status = LbkReplayable(ext, irp) ? STATUS_PENDING : STATUS_DEVICE_NOT_READY;
        break;
    default:
        status = LbkRefusal(admission);
        break;
    }
    if (status == STATUS_PENDING) {
        RtlZeroMemory(irp->Tail.Overlay.DriverContext, sizeof(irp->Tail.Overlay.DriverContext));
        status = LbkRefusedLocked(ext, context);
        if (NT_SUCCESS(status))
            status = LbkAdmitLocked(irp);
        if (NT_SUCCESS(status)) {
            LbkInsertLocked(&ext->Held, irp); /* counted in context->HeldRequests */
            if (LbkArmLocked(irp, 0)) {
                LbkHoldLocked(irp);
                status = STATUS_PENDING;
            } else {
                status = STATUS_CANCELLED;
            }
        }
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    return status;
}

/*
 * START, or a CANCEL_STOP that starts the device again: the state after event, and, if requests
 * are held, Replaying set in the same hold of the lock, before the state says started, so that
 * whoever sees the new state sees that too. Returns TRUE when LbkReplayHeld must run.
 */
BOOLEAN LbkApplyStart(PLBK_DEVICE_EXTENSION ext, enum lbk_pnp_event event)
{
    KLOCK_QUEUE_HANDLE lockHandle;
    struct lbk_pnp next;
    BOOLEAN replay;

    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    next = ext->Pnp;
    lbk_pnp_apply(&next, event);
    replay = next.state == LBK_PNP_STARTED && ext->Held.Count != 0;
    if (replay)
        InterlockedExchange(&ext->Replaying, 1);
    ext->Pnp = next;
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: now %s\n", ext->Name, lbk_pnp_state_name(next.state));
    return replay;
}

static IO_WORKITEM_ROUTINE LbkReplayWorker;

/* The replay that START handed over, in a system thread, holding the remove lock (tag: Held). */
static VOID LbkReplayWorker(PDEVICE_OBJECT deviceObject, PVOID context)
{
    PIO_WORKITEM item = context;
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);

    IoFreeWorkItem(item); /* a routine may free its own work item */
    LbkReplayHeld(ext, FALSE);
    IoReleaseRemoveLock(&ext->RemoveLock, &ext->Held); /* the last touch of the device */
}

/* Has a work item go on with the replay; FALSE when it cannot (no pool, being removed). Lock held. */
static BOOLEAN LbkHandOverReplayLocked(PLBK_DEVICE_EXTENSION ext)
{
    PIO_WORKITEM item = IoAllocateWorkItem(ext->DeviceObject);

    if (item == NULL)
        return FALSE;
    if (!NT_SUCCESS(IoAcquireRemoveLock(&ext->RemoveLock, &ext->Held))) {
        IoFreeWorkItem(item);
        return FALSE;
    }
    IoQueueWorkItem(item, LbkReplayWorker, DelayedWorkQueue, item);
    return TRUE;
}

/*
 * Sends the held requests through their dispatch routines again, one at a time in arrival order,
 * and those held behind them meanwhile, until none is left or the device is no longer started
 * (a new stop keeps the rest for the next START). One replay at a time (ReplayActive). On the
 * PnP thread, past LBK_REPLAY_SLACK more than were held, it hands the rest to a work item, so
 * that START ends however busy the clients keep it; without one, new requests stop waiting
 * behind the rest. PASSIVE_LEVEL.
 */
VOID LbkReplayHeld(PLBK_DEVICE_EXTENSION ext, BOOLEAN pnpThread)
{
    KLOCK_QUEUE_HANDLE lockHandle;
    ULONG budget;

    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    if (ext->ReplayActive) {
        KeReleaseInStackQueuedSpinLock(&lockHandle); /* the one under way goes on */
        return;
    }
    ext->ReplayActive = TRUE;
    budget = pnpThread ? ext->Held.Count + LBK_REPLAY_SLACK : MAXULONG;
    for (;;) {
        PDEVICE_OBJECT deviceObject = ext->DeviceObject;
        PIRP irp;

        if (ext->Pnp.state != LBK_PNP_STARTED || IsListEmpty(&ext->Held.Irps)) {
            InterlockedExchange(&ext->Replaying, 0); /* in the hold that saw it end */
            break;
        }
        if (budget-- == 0) {
            if (LbkHandOverReplayLocked(ext))
                break; /* Replaying stays set: the work item goes on */
            InterlockedExchange(&ext->Replaying, 0); /* no new one waits behind the rest */
            budget = MAXULONG;
        }
        irp = CONTAINING_RECORD(ext->Held.Irps.Flink, IRP, Tail.Overlay.ListEntry);
        if (!LbkClaimLocked(irp, NULL))
            continue; /* its cancel routine completes it */
        ext->ReplayingContext = LbkFileContext(irp); /* compared, never touched, after its dispatch */
        KeReleaseInStackQueuedSpinLock(&lockHandle);
        /* As it came: its dispatch routine counts it and takes the remove lock again, which the
           replay's own hold keeps from being the last (START's IRP, or the work item's). */
        LbkUnholdIrp(ext, irp);
        LbkLeaveIo(ext, irp);
        LbkMarkReplayed(ext, irp);
        deviceObject->DriverObject->MajorFunction[IoGetCurrentIrpStackLocation(irp)->MajorFunction](deviceObject, irp);
        KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
        ext->ReplayingContext = NULL;
    }
    ext->ReplayActive = FALSE;
    KeReleaseInStackQueuedSpinLock(&lockHandle);
}

NTSTATUS LbkEnterIo(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    UCHAR major = IoGetCurrentIrpStackLocation(irp)->MajorFunction;
    enum lbk_pnp_request request = major == IRP_MJ_CREATE                                   ? LBK_PNP_OPEN
                                   : (major == IRP_MJ_CLEANUP || major == IRP_MJ_CLOSE) ? LBK_PNP_CLOSE
                                                                                        : LBK_PNP_IO;
    BOOLEAN replayed = LbkTakeReplayedMark(ext, irp);
    NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, irp);
    enum lbk_pnp_admission admission;

    if (!NT_SUCCESS(status))
        return status; /* STATUS_DELETE_PENDING: REMOVE is waiting for the lock */
    /* Read without the lock: a request racing a state change may see either state, and the
       queueing paths check again under the lock (LbkRefusedLocked). An acquire load, so that
       Replaying below is read after it, as it was set before the state changed. */
    admission = lbk_pnp_admit(LbkReadAcquire(&ext->Pnp.state), request);
    /* Held ones being sent again: LbkHoldUntilStart decides, under the lock, whether this one
       waits behind them. */
    if (admission == LBK_PNP_ADMIT && request == LBK_PNP_IO && !replayed &&
        InterlockedCompareExchange(&ext->Replaying, 0, 0) != 0)
        admission = LBK_PNP_HOLD;
    switch (admission) {
    case LBK_PNP_ADMIT:
        return STATUS_SUCCESS;
    case LBK_PNP_HOLD:
        status = LbkHoldUntilStart(ext, irp);
        if (status == STATUS_SUCCESS || status == STATUS_PENDING)
            return status; /* held: it keeps the remove lock */
        break;
    default:
        status = LbkRefusal(admission);
        break;
    }
    LbkLeaveIo(ext, irp);
    return status;
}

NTSTATUS LbkRefusedLocked(PLBK_DEVICE_EXTENSION ext, PLBK_FILE_CONTEXT context)
{
    if (context->CleanedUp)
        return STATUS_FILE_CLOSED; /* CLEANUP ran while this was in dispatch: no one could cancel it */
    if (lbk_pnp_is_removed(ext->Pnp.state))
        return STATUS_DELETE_PENDING; /* the flush of the removal has run or is about to */
    return STATUS_SUCCESS;
}

/* The state after event, by the core's rules; under the lock, where the queueing paths read it. */
VOID LbkApplyPnp(PLBK_DEVICE_EXTENSION ext, enum lbk_pnp_event event)
{
    KLOCK_QUEUE_HANDLE lockHandle;
    enum lbk_pnp_state state;

    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    state = lbk_pnp_apply(&ext->Pnp, event);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: now %s\n", ext->Name, lbk_pnp_state_name(state));
}

VOID LbkSetInterface(PLBK_DEVICE_EXTENSION ext, BOOLEAN enable)
{
    NTSTATUS status;

    if (ext->InterfaceName.Buffer == NULL || ext->InterfaceEnabled == enable)
        return;
    status = IoSetDeviceInterfaceState(&ext->InterfaceName, enable);
    if (NT_SUCCESS(status))
        ext->InterfaceEnabled = enable;
    else
        LbkTrace(LBK_TRACE_ERROR, "lbk: %ls: the device interface cannot be %s: 0x%08x\n", ext->Name,
                 enable ? "enabled" : "disabled", status);
}

/* SURPRISE_REMOVAL or REMOVE: new requests refused, every queued one completed (STATUS_DEVICE_REMOVED). */
VOID LbkEndEveryRequest(PLBK_DEVICE_EXTENSION ext, enum lbk_pnp_event removal)
{
    KLOCK_QUEUE_HANDLE lockHandle;
    LIST_ENTRY done;

    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    lbk_pnp_apply(&ext->Pnp, removal);
    LbkWaitForRequestsLocked(ext, &lockHandle, NULL, STATUS_DEVICE_REMOVED, &done);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(&done);
}

static IO_COMPLETION_ROUTINE LbkSignalLowerDone;

/* The lower drivers are done with the IRP: wake the thread that sent it down, and keep the IRP. */
static NTSTATUS LbkSignalLowerDone(PDEVICE_OBJECT deviceObject, PIRP irp, PVOID context)
{
    UNREFERENCED_PARAMETER(deviceObject);
    UNREFERENCED_PARAMETER(irp);
    KeSetEvent((PKEVENT)context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

NTSTATUS LbkSendDownAndWait(PDEVICE_OBJECT lower, PIRP irp)
{
    KEVENT event;
    NTSTATUS status;

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(irp);
    IoSetCompletionRoutine(irp, LbkSignalLowerDone, &event, TRUE, TRUE, TRUE);
    status = IoCallDriver(lower, irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = irp->IoStatus.Status;
    }
    return status;
}

static NTSTATUS LbkForwardAndWait(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    return LbkSendDownAndWait(ext->LowerDevice, irp);
}

/* Passes the IRP down as it is, with the status it carries or the one set here. */
static NTSTATUS LbkPassDown(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    NTSTATUS status;

    IoSkipCurrentIrpStackLocation(irp);
    status = IoCallDriver(ext->LowerDevice, irp);
    LbkLeaveIo(ext, irp);
    return status;
}

static NTSTATUS LbkCompleteHere(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status)
{
    irp->IoStatus.Status = status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    LbkLeaveIo(ext, irp);
    return status;
}

/* QUERY_STOP, STOP, QUERY_REMOVE: the driver agrees, then the drivers below have their say. */
static NTSTATUS LbkSucceedAndPassDown(PLBK_DEVICE_EXTENSION ext, PIRP irp, enum lbk_pnp_event event)
{
    LbkApplyPnp(ext, event);
    irp->IoStatus.Status = STATUS_SUCCESS;
    return LbkPassDown(ext, irp);
}

/*
 * CANCEL_STOP, CANCEL_REMOVE: the drivers below first, then back to the state before the query.
 * A cancel must succeed: a lower driver that does not handle it keeps STATUS_SUCCESS, rather than
 * the STATUS_NOT_SUPPORTED it came with (Wine's root PDO handles neither).
 */
static NTSTATUS LbkCancelQuery(PLBK_DEVICE_EXTENSION ext, PIRP irp, enum lbk_pnp_event event)
{
    NTSTATUS status;

    irp->IoStatus.Status = STATUS_SUCCESS;
    status = LbkForwardAndWait(ext, irp);
    if (NT_SUCCESS(status)) {
        /* CANCEL_STOP may start it again, with requests held; CANCEL_REMOVE holds none. */
        if (LbkApplyStart(ext, event))
            LbkReplayHeld(ext, TRUE);
    }
    return LbkCompleteHere(ext, irp, status);
}

/* REMOVE_DEVICE: after this returns, nothing of the device is left. */
static NTSTATUS LbkRemoveDevice(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    PLBK_UNIT unit = ext->Unit;
    NTSTATUS status;

    LbkSetInterface(ext, FALSE);
    LbkEndEveryRequest(ext, LBK_PNP_REMOVE);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(irp);
    status = IoCallDriver(ext->LowerDevice, irp);
    /* Waits for every IRP that still holds the lock: those in dispatch now, which find the
       device deleted and complete, and those whose cancel routine is running. */
    IoReleaseRemoveLockAndWait(&ext->RemoveLock, irp);

    LbkTakeUnitOut(unit);
    LbkTrace(LBK_TRACE_INFO, "lbk: %ls: removed\n", ext->Name);
    LbkDestroyUnit(unit, TRUE);
    return status;
}

_Use_decl_annotations_
NTSTATUS LbkDispatchPnp(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    UCHAR minor = IoGetCurrentIrpStackLocation(irp)->MinorFunction;
    PCSTR minorName = LbkPnpMinorName(minor);
    NTSTATUS status;

    if (ext->BusPair != NULL)
        return LbkDispatchPortPnp(deviceObject, irp); /* a bus's end is the bottom of its stack */
    if (ext->LowerDevice == NULL)
        return LbkDispatchKeepStatus(deviceObject, irp); /* a legacy device has no stack below */
    status = IoAcquireRemoveLock(&ext->RemoveLock, irp);
    if (!NT_SUCCESS(status))
        return LbkRefuseIrp(irp, status); /* REMOVE is waiting for the lock */
    if (minorName != NULL)
        LbkTrace(LBK_TRACE_INFO, "lbk: %ls: %s\n", ext->Name, minorName);

    switch (minor) {
    case IRP_MN_START_DEVICE:
        status = LbkForwardAndWait(ext, irp);
        if (NT_SUCCESS(status)) {
            BOOLEAN replay = LbkApplyStart(ext, LBK_PNP_START);

            LbkSetInterface(ext, TRUE);
            if (replay)
                LbkReplayHeld(ext, TRUE);
        }
        return LbkCompleteHere(ext, irp, status);
    case IRP_MN_QUERY_STOP_DEVICE:
        return LbkSucceedAndPassDown(ext, irp, LBK_PNP_QUERY_STOP);
    case IRP_MN_CANCEL_STOP_DEVICE:
        return LbkCancelQuery(ext, irp, LBK_PNP_CANCEL_STOP);
    case IRP_MN_STOP_DEVICE:
        return LbkSucceedAndPassDown(ext, irp, LBK_PNP_STOP);
    case IRP_MN_QUERY_REMOVE_DEVICE:
        return LbkSucceedAndPassDown(ext, irp, LBK_PNP_QUERY_REMOVE);
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        return LbkCancelQuery(ext, irp, LBK_PNP_CANCEL_REMOVE);
    case IRP_MN_SURPRISE_REMOVAL:
        LbkSetInterface(ext, FALSE);
        LbkEndEveryRequest(ext, LBK_PNP_SURPRISE_REMOVAL);
        irp->IoStatus.Status = STATUS_SUCCESS;
        return LbkPassDown(ext, irp);
    case IRP_MN_REMOVE_DEVICE:
        return LbkRemoveDevice(ext, irp);
    case IRP_MN_QUERY_CAPABILITIES:
        /* A software device: Windows need not warn about removing it without asking. */
        status = LbkForwardAndWait(ext, irp);
        if (NT_SUCCESS(status))
            IoGetCurrentIrpStackLocation(irp)->Parameters.DeviceCapabilities.Capabilities->SurpriseRemovalOK = TRUE;
        return LbkCompleteHere(ext, irp, status);
    default:
        return LbkPassDown(ext, irp); /* with the status it arrived with */
    }
}

/*
 * The device has no power states of its own: every power IRP goes to the PDO. PoStartNextPowerIrp
 * first, as Windows before Vista requires of every driver in the stack (later ones ignore it).
 */
_Use_decl_annotations_
NTSTATUS LbkDispatchPower(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    NTSTATUS status;

    if (ext->BusPair != NULL)
        return LbkDispatchPortPower(deviceObject, irp);
    if (ext->LowerDevice == NULL) {
        PoStartNextPowerIrp(irp);
        return LbkDispatchKeepStatus(deviceObject, irp);
    }
    status = IoAcquireRemoveLock(&ext->RemoveLock, irp);
    PoStartNextPowerIrp(irp);
    if (!NT_SUCCESS(status))
        return LbkRefuseIrp(irp, status); /* REMOVE is waiting for the lock */
    IoSkipCurrentIrpStackLocation(irp);
    status = PoCallDriver(ext->LowerDevice, irp);
    LbkLeaveIo(ext, irp);
    return status;
}

/* WMI: the driver registers no WMI data, so every such IRP is for the drivers below. */
_Use_decl_annotations_
NTSTATUS LbkDispatchSystemControl(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    NTSTATUS status;

    if (ext->LowerDevice == NULL)
        return LbkDispatchKeepStatus(deviceObject, irp);
    status = IoAcquireRemoveLock(&ext->RemoveLock, irp);
    if (!NT_SUCCESS(status))
        return LbkRefuseIrp(irp, status); /* REMOVE is waiting for the lock */
    return LbkPassDown(ext, irp);
}

/* AddDevice's part: the FDO onto the PDO's stack, and the interface registered (not enabled). */
NTSTATUS LbkAttachToStack(PLBK_DEVICE_EXTENSION ext, PDEVICE_OBJECT pdo)
{
    static const GUID interfaceGuid = LBK_INTERFACE_GUID_FIELDS;
    PDEVICE_OBJECT fdo = ext->DeviceObject;
    NTSTATUS status;

    ext->LowerDevice = IoAttachDeviceToDeviceStack(fdo, pdo);
    if (ext->LowerDevice == NULL) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: %ls: cannot attach to the physical device\n", ext->Name);
        return STATUS_NO_SUCH_DEVICE;
    }
    status = IoRegisterDeviceInterface(pdo, &interfaceGuid, NULL, &ext->InterfaceName);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: %ls: IoRegisterDeviceInterface: 0x%08x\n", ext->Name, status);
        return status;
    }
    /* The power IRPs come at PASSIVE_LEVEL, as the PDO below (a root device) wants them. */
    fdo->Flags |= DO_POWER_PAGABLE;
    return STATUS_SUCCESS;
}

/* One device node: a bus (bus.c), or one loopback device in the first free slot. */
_Use_decl_annotations_
NTSTATUS LbkAddDevice(PDRIVER_OBJECT driverObject, PDEVICE_OBJECT pdo)
{
    PLBK_UNIT unit;
    ULONG slot;
    NTSTATUS status;

    if (!LbkConfig.plug_and_play) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: %ls: a device node was added, but the service runs its own devices "
                                  "(Parameters\\PlugAndPlay is 0): not attaching\n", LbkConfig.name);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    if (pdo->DriverObject == driverObject) {
        /* A bus's end is its own device: its INF installs no function driver for it. */
        LbkTrace(LBK_TRACE_ERROR, "lbk: %ls: a serial end has no function driver: not attaching\n",
                 LbkExtension(pdo)->Name);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    status = LbkBusAddDevice(driverObject, pdo);
    if (status != STATUS_NOT_FOUND)
        return status;
    slot = LbkReserveSlot();
    if (slot == LBK_MAX_DEVICE_COUNT) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: %ls: not adding a device node: all %u slots are in use\n", LbkConfig.name,
                 LBK_MAX_DEVICE_COUNT);
        return STATUS_TOO_MANY_NODES;
    }
    status = LbkCreateUnit(driverObject, slot, pdo, &unit);
    if (!NT_SUCCESS(status)) {
        LbkReleaseSlot(slot);
        return status;
    }
    LbkTrace(LBK_TRACE_INFO, "lbk: %ls: added, %lu-byte buffer, %s mode\n", unit->Ends[0]->Name,
             LbkConfig.buffer_size, LbkConfig.message_mode ? "message" : "byte-stream");
    return STATUS_SUCCESS;
}
