/*
 * usercopy.c - neither I/O: the bounce buffers of READs and WRITEs, and the copies between them
 * and the requestors' user buffers (kernel mode). User memory is copied only in its requestor's
 * address space: in dispatch, in a work item attached to the requestor that copies a finished
 * read out (LbkCopyOutLater), or in a pump that such a work item runs for a write whose next
 * window is wanted (LbkContextPumpLocked). Each bounce holds a reference to its requestor from
 * dispatch to completion (LBK_BOUNCE). Buffered and direct I/O need none of this.
 */
#include "lbk_driver.h"

/* The size of a device's spare bounce buffer: its buffer size, but no more than 1 MiB. */
static SIZE_T LbkSpareBounceBytes(PLBK_DEVICE_EXTENSION ext)
{
    return min(lbk_channel_capacity(&ext->In->Data), (SIZE_T)LBK_SPARE_BOUNCE_MAX_BYTES);
}

/*
 * A neither-I/O write's bounce holds at most this much of its buffer, a window the pump refills
 * from the writer's buffer as it empties, so a waiting write pins no more pool than this however
 * long it is: the spare size, but at least what one lock hold copies.
 */
SIZE_T LbkWindowBytes(PLBK_DEVICE_EXTENSION ext)
{
    return max(LbkSpareBounceBytes(ext), (SIZE_T)LBK_LOCKED_COPY_BYTES);
}

/* The bounce buffer's size for a neither-I/O request: a read's whole length, a write's window. */
SIZE_T LbkBounceBytes(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    SIZE_T length = LbkTransferLength(ext, irp);

    return IoGetCurrentIrpStackLocation(irp)->MajorFunction == IRP_MJ_WRITE ? min(length, LbkWindowBytes(ext)) : length;
}

/* What a device's neither-I/O requests in flight may hold in bounce buffers (lbk_driver.h). */
static LONG64 LbkPinLimit(PLBK_DEVICE_EXTENSION ext)
{
    return (LONG64)max((SIZE_T)LBK_NEITHER_PIN_FLOOR, 2 * lbk_channel_capacity(&ext->In->Data));
}

/*
 * A bounce buffer for bytes bytes: a free spare of the device when it is big enough. Requests
 * that find every spare in use make another, up to LBK_SPARE_BOUNCES; beyond that, and for
 * larger requests, they get a block of their own size, charged to the caller's quota (this runs
 * in its context) and freed when they end. Returns STATUS_SUCCESS, or STATUS_QUOTA_EXCEEDED past
 * the device's pin limit, past the caller's quota, or with the pool itself exhausted (a failed
 * quota allocation does not say which).
 */
static NTSTATUS LbkTakeBounce(PLBK_DEVICE_EXTENSION ext, SIZE_T bytes, BOOLEAN isWrite, PVOID *data)
{
    volatile LONG64 *pinned = &ext->PinnedBytes[isWrite ? 1 : 0];
    SIZE_T spareBytes = LbkSpareBounceBytes(ext);
    PVOID spare = NULL, *bounce = &spare;
    ULONG i;

    *data = NULL;
    if (InterlockedAdd64(pinned, (LONG64)bytes) > LbkPinLimit(ext)) {
        InterlockedAdd64(pinned, -(LONG64)bytes);
        return STATUS_QUOTA_EXCEEDED;
    }
    if (bytes <= spareBytes) {
        for (i = 0; i < LBK_SPARE_BOUNCES && *bounce == NULL; i++)
            *bounce = InterlockedExchangePointer(&ext->SpareBounces[i], NULL);
        /* Spares belong to the device, not to the request that made one: no quota. */
        if (*bounce == NULL && InterlockedIncrement(&ext->SpareBouncesMade) <= LBK_SPARE_BOUNCES) {
            *bounce = LbkAllocateBuffer(sizeof(LBK_BOUNCE) + spareBytes, LBK_TAG_BOUNCE);
            if (*bounce == NULL)
                InterlockedDecrement(&ext->SpareBouncesMade);
        } else if (*bounce == NULL) {
            InterlockedDecrement(&ext->SpareBouncesMade);
        }
    }
    if (*bounce == NULL)
        *bounce = LbkAllocateCharged(sizeof(LBK_BOUNCE) + bytes, LBK_TAG_BOUNCE);
    if (*bounce == NULL) {
        InterlockedAdd64(pinned, -(LONG64)bytes);
        return STATUS_QUOTA_EXCEEDED; /* the caller's quota, or the pool itself */
    }
    ((PLBK_BOUNCE)*bounce)->Requestor = NULL;
    *data = (PLBK_BOUNCE)*bounce + 1;
    return STATUS_SUCCESS;
}

/*
 * Keeps a spare for the next request while there is a free slot; frees any other block, among
 * them those of the spare size that a request made for itself: they are charged to its
 * process's quota, which a spare kept for ever would hold. bytes and isWrite are what
 * LbkTakeBounce was given.
 */
VOID LbkGiveBackBounce(PLBK_DEVICE_EXTENSION ext, PVOID data, SIZE_T bytes, BOOLEAN isWrite)
{
    PLBK_BOUNCE bounce = LbkBounceOf(data);
    PEPROCESS requestor = bounce->Requestor;
    ULONG i;

    if (requestor != NULL) {
        bounce->Requestor = NULL;
        ObDereferenceObject(requestor); /* the request is done with its address space */
    }
    InterlockedAdd64(&ext->PinnedBytes[isWrite ? 1 : 0], -(LONG64)bytes);
    if (!LbkBlockCharged(bounce) && LbkBlockBytes(bounce) == sizeof(LBK_BOUNCE) + LbkSpareBounceBytes(ext)) {
        for (i = 0; i < LBK_SPARE_BOUNCES; i++)
            if (InterlockedCompareExchangePointer(&ext->SpareBounces[i], bounce, NULL) == NULL)
                return;
    }
    LbkFree(bounce, LBK_TAG_BOUNCE);
}

/*
 * Finds a system address for the data of a READ or WRITE of length > 0, in the caller's
 * context, and records it in the IRP. Neither I/O gets a non-paged bounce buffer because the
 * request may be finished from another process's context: a write's first window of bytes is
 * copied in now (probed, inside __try), the pump copies the next ones as it needs them; a read's
 * bytes are copied out when it completes (LbkCompleteTransfer).
 * Returns STATUS_SUCCESS, STATUS_INSUFFICIENT_RESOURCES, or the status of the fault.
 */
NTSTATUS LbkPrepareTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, ULONG length, BOOLEAN isWrite)
{
    NTSTATUS status = STATUS_SUCCESS;
    PVOID data = NULL;
    PVOID bounce = NULL;

    switch (ext->IoMethod) {
    case LBK_IO_BUFFERED:
        data = irp->AssociatedIrp.SystemBuffer;
        break;
    case LBK_IO_DIRECT:
        if (irp->MdlAddress != NULL)
            data = MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority | MdlMappingNoExecute);
        break;
    case LBK_IO_NEITHER: {
        SIZE_T bounceBytes = LbkBounceBytes(ext, irp);

        /* Probe before allocating, so a bad buffer costs the pool nothing; a read's probe also
           fails it before any byte leaves the ring. */
        if (irp->RequestorMode != KernelMode) {
            __try {
                if (isWrite)
                    ProbeForRead(irp->UserBuffer, length, 1);
                else
                    ProbeForWrite(irp->UserBuffer, bounceBytes, 1);
            } __except (status = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
                LbkTrace(LBK_TRACE_WARNING, "lbk: %s a bad user buffer: 0x%08x\n", isWrite ? "write from" : "read into",
                         status);
                return status;
            }
        }
        /*
         * Finished later, maybe in another thread's context, the request copies between its
         * bounce and its requestor's address space then (a read's bytes out, a write's next
         * windows in): a user-mode request with no requestor could not. The requestor is held
         * referenced until the bounce is given back.
         */
        if (irp->RequestorMode != KernelMode && IoGetRequestorProcess(irp) == NULL)
            return STATUS_INVALID_DEVICE_REQUEST;
        status = LbkTakeBounce(ext, bounceBytes, isWrite, &bounce);
        if (!NT_SUCCESS(status))
            return status;
        if (irp->RequestorMode != KernelMode) {
            LbkBounceOf(bounce)->Requestor = IoGetRequestorProcess(irp);
            ObReferenceObject(LbkBounceOf(bounce)->Requestor);
        }
        if (isWrite) {
            LbkAssertUserMemoryIrql();
            __try {
                LbkCopyUserMemory(bounce, irp->UserBuffer, bounceBytes); /* the first window */
            } __except (status = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
                LbkTrace(LBK_TRACE_WARNING, "lbk: write from a bad user buffer: 0x%08x\n", status);
            }
        }
        if (!NT_SUCCESS(status)) {
            LbkGiveBackBounce(ext, bounce, bounceBytes, isWrite);
            return status;
        }
        data = bounce;
        break;
    }
    }
    if (data == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    irp->Tail.Overlay.DriverContext[0] = data;
    return STATUS_SUCCESS;
}

/*
 * Copies bytes between a neither-I/O request's user buffer (at offset) and its bounce buffer, in
 * its requestor's address space: the pump and completion may run in another process's context,
 * so this attaches to the requestor's. The user side is probed first; all inside __try. Runs
 * without the lock, at PASSIVE_LEVEL (or APC_LEVEL). Returns STATUS_SUCCESS or the fault's status.
 */
static NTSTATUS LbkCopyWithRequestor(PIRP irp, SIZE_T offset, SIZE_T bytes, BOOLEAN toUser)
{
    PUCHAR user = (PUCHAR)irp->UserBuffer + offset;
    PEPROCESS requestor = LbkBounceOf(LBK_IRP_DATA(irp))->Requestor; /* held since dispatch */
    BOOLEAN attach = requestor != NULL && requestor != PsGetCurrentProcess();
    NTSTATUS status = STATUS_SUCCESS;
    KAPC_STATE apcState;

    LbkAssertUserMemoryIrql();
    if (attach)
        KeStackAttachProcess((PKPROCESS)requestor, &apcState);
    __try {
        if (irp->RequestorMode != KernelMode) {
            if (toUser)
                ProbeForWrite(user, bytes, 1);
            else
                ProbeForRead(user, bytes, 1);
        }
        if (toUser)
            LbkCopyUserMemory(user, LBK_IRP_DATA(irp), bytes);
        else
            LbkCopyUserMemory(LBK_IRP_DATA(irp), user, bytes);
    } __except (status = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
        LbkTrace(LBK_TRACE_WARNING, "lbk: %Iu bytes lost to a bad user buffer: 0x%08x\n", bytes, status);
    }
    if (attach)
        KeUnstackDetachProcess(&apcState);
    return status;
}

/* Copies a neither-I/O write's next window from its writer's buffer into its bounce. */
NTSTATUS LbkRefillWindow(PLBK_DEVICE_EXTENSION writer, PIRP write)
{
    SIZE_T sent = write->IoStatus.Information;
    SIZE_T bytes = min(LbkTransferLength(writer, write) - sent, LbkWindowBytes(writer));
    NTSTATUS status = LbkCopyWithRequestor(write, sent, bytes, FALSE);

    if (NT_SUCCESS(status))
        LbkSetIrpContext1(write, sent / LbkWindowBytes(writer), LBK_IRP_FLAGS(write));
    return status;
}

/* A pump of a unit in a work item attached to the requestor of a write waiting on channel. */
typedef struct _LBK_CONTEXT_PUMP {
    PIO_WORKITEM Item;
    PLBK_DEVICE_EXTENSION Writer; /* its remove lock is held for the work item */
    PLBK_CHANNEL Channel;
    PEPROCESS Requestor;          /* referenced for the work item */
} LBK_CONTEXT_PUMP, *PLBK_CONTEXT_PUMP;

static IO_WORKITEM_ROUTINE LbkContextPumpWorker;

/* PASSIVE_LEVEL, a system thread attached to the requestor: the pump may copy its windows. */
static VOID LbkContextPumpWorker(PDEVICE_OBJECT deviceObject, PVOID context)
{
    PLBK_CONTEXT_PUMP work = context;
    PLBK_DEVICE_EXTENSION writer = work->Writer;
    PEPROCESS requestor = work->Requestor;
    KLOCK_QUEUE_HANDLE lockHandle;
    KAPC_STATE apcState;
    LBK_PUMP pump;
    LIST_ENTRY done;

    UNREFERENCED_PARAMETER(deviceObject);
    IoFreeWorkItem(work->Item); /* a routine may free its own work item */
    InitializeListHead(&done);
    KeStackAttachProcess((PKPROCESS)requestor, &apcState);
    KeAcquireInStackQueuedSpinLock(&writer->Unit->Lock, &lockHandle);
    work->Channel->ContextPumpQueued = FALSE;
    LbkPumpInit(&pump, writer->Unit, &lockHandle, &done);
    pump.Context = requestor;
    LbkPumpLocked(&pump);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(&done);
    KeUnstackDetachProcess(&apcState);
    LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: pumped in a writer's address space\n", writer->Name);
    ObDereferenceObject(requestor);
    LbkFree(work, LBK_TAG_WORK);
    IoReleaseRemoveLock(&writer->RemoveLock, work); /* the last touch of the device */
}

/*
 * Has a work item pump the unit attached to requestor (one at a time per channel). Returns FALSE
 * when it cannot (no pool, or the device is being removed): the caller copies from here then,
 * attached, as the last resort. Lock held.
 */
BOOLEAN LbkContextPumpLocked(PLBK_CHANNEL channel, PEPROCESS requestor)
{
    PLBK_DEVICE_EXTENSION writer = channel->Writer;
    PLBK_CONTEXT_PUMP work;

    if (channel->ContextPumpQueued)
        return TRUE;
    work = LbkAllocate(sizeof(*work), LBK_TAG_WORK);
    if (work == NULL)
        return FALSE;
    work->Item = IoAllocateWorkItem(writer->DeviceObject);
    if (work->Item == NULL || !NT_SUCCESS(IoAcquireRemoveLock(&writer->RemoveLock, work))) {
        if (work->Item != NULL)
            IoFreeWorkItem(work->Item);
        LbkFree(work, LBK_TAG_WORK);
        return FALSE;
    }
    work->Writer = writer;
    work->Channel = channel;
    work->Requestor = requestor;
    ObReferenceObject(requestor);
    channel->ContextPumpQueued = TRUE;
    IoQueueWorkItem(work->Item, LbkContextPumpWorker, DelayedWorkQueue, work);
    return TRUE;
}

/*
 * Copies a finished neither-I/O read from its bounce buffer to the caller's buffer. Returns
 * STATUS_SUCCESS or the status of the fault; on a fault the bytes are counted as dropped.
 */
NTSTATUS LbkCopyBounceToUser(PLBK_DEVICE_EXTENSION ext, PIRP irp, SIZE_T bytes)
{
    NTSTATUS status = LbkCopyWithRequestor(irp, 0, bytes, TRUE);

    if (!NT_SUCCESS(status)) {
        KLOCK_QUEUE_HANDLE lockHandle;

        KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
        lbk_channel_count_lost(&ext->In->Data, bytes);
        KeReleaseInStackQueuedSpinLock(&lockHandle);
    }
    return status;
}

/* A neither read whose copy-out waits for a work item in its requestor's address space. */
typedef struct _LBK_COPY_OUT {
    PIO_WORKITEM Item;
    PIRP Irp;
    NTSTATUS Status;
} LBK_COPY_OUT, *PLBK_COPY_OUT;

static IO_WORKITEM_ROUTINE LbkCopyOutWorker;

/* PASSIVE_LEVEL, a system thread. The IRP keeps its remove lock until it completes here. */
static VOID LbkCopyOutWorker(PDEVICE_OBJECT deviceObject, PVOID context)
{
    PLBK_COPY_OUT work = context;
    PIRP irp = work->Irp;
    NTSTATUS status = work->Status;

    IoFreeWorkItem(work->Item); /* a routine may free its own work item */
    LbkFree(work, LBK_TAG_WORK);
    LbkFinishTransfer(LbkExtension(deviceObject), irp, status);
}

/*
 * Whether a finished read's copy-out was handed to a work item: a neither read with bytes that
 * finishes outside its requestor's address space (another client's request pumped it, or the
 * timer thread did). Copying there would attach this thread to that process and stall it, and
 * whatever it holds up, on the requestor's page faults; the work item attaches instead. Without
 * pool for the work item, FALSE: the copy is made here, attached, as the last resort.
 */
BOOLEAN LbkCopyOutLater(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status)
{
    PLBK_COPY_OUT work;
    PEPROCESS requestor;

    /* Only a request that went pending: one finished within its dispatch is completed there,
       and its dispatch routine returns the final status. */
    if (ext->IoMethod != LBK_IO_NEITHER || !LbkReadDelivers(irp, status) ||
        !(IoGetCurrentIrpStackLocation(irp)->Control & SL_PENDING_RETURNED))
        return FALSE;
    requestor = LbkBounceOf(LBK_IRP_DATA(irp))->Requestor;
    /* A cancelled read is completed by its cancel routine, maybe at DISPATCH_LEVEL, where the
       caller's buffer (user or kernel) may not be touched: always a work item then. */
    if (status != STATUS_CANCELLED && (requestor == NULL || requestor == PsGetCurrentProcess()))
        return FALSE;
    work = LbkAllocate(sizeof(*work), LBK_TAG_WORK);
    if (work == NULL)
        return FALSE;
    work->Item = IoAllocateWorkItem(ext->DeviceObject);
    if (work->Item == NULL) {
        LbkFree(work, LBK_TAG_WORK);
        return FALSE;
    }
    work->Irp = irp;
    work->Status = status;
    IoQueueWorkItem(work->Item, LbkCopyOutWorker, DelayedWorkQueue, work);
    return TRUE;
}
