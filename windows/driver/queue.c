/*
 * queue.c - pending READ/WRITE requests, their cancellation, and the pump that moves bytes
 * between waiting writers, the ring and waiting readers (kernel mode).
 *
 * Invariants after every pump, under the device lock:
 *   - reads wait only while the ring is empty; writes wait only while it is full;
 *   - requests are served in arrival order, and only the oldest waiting write has bytes in the
 *     ring, so two writes never interleave.
 *
 * Cancellation without cancel-safe queues (Wine stubs them): a queued IRP carries LbkCancel as its
 * cancel routine. Whoever takes an IRP off a queue first clears that routine. If IoSetCancelRoutine
 * returns NULL, IoCancelIrp has already taken the routine and will call it, so the taker leaves the
 * completion to LbkCancel. An IRP off the queue has its list entry pointing at itself, which tells
 * LbkCancel that the queue no longer holds it.
 */
#include "lbk_driver.h"

static DRIVER_CANCEL LbkCancel;

VOID LbkQueueInitialize(PLBK_DEVICE_EXTENSION ext, PVOID storage, SIZE_T capacity)
{
    KeInitializeSpinLock(&ext->Lock);
    lbk_ring_init(&ext->Ring, storage, capacity);
    InitializeListHead(&ext->PendingReads);
    InitializeListHead(&ext->PendingWrites);
    InitializeListHead(&ext->OpenFiles);
}

PLBK_FILE_CONTEXT LbkFileContext(PIRP irp)
{
    PFILE_OBJECT fileObject = IoGetCurrentIrpStackLocation(irp)->FileObject;

    return fileObject != NULL ? (PLBK_FILE_CONTEXT)fileObject->FsContext : NULL;
}

static BOOLEAN LbkIsWrite(PIRP irp)
{
    return IoGetCurrentIrpStackLocation(irp)->MajorFunction == IRP_MJ_WRITE;
}

/*
 * Bytes a request moves at most. A read can never get more than the ring holds, so its
 * transfer (and its bounce buffer) is capped at the capacity.
 */
SIZE_T LbkTransferLength(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);

    if (stack->MajorFunction == IRP_MJ_WRITE)
        return stack->Parameters.Write.Length;
    return min((SIZE_T)stack->Parameters.Read.Length, ext->Ring.capacity);
}

/*
 * Finds a system address for the data of a READ or WRITE of length > 0, in the caller's
 * context, and records it in the IRP. Neither I/O gets a non-paged bounce buffer because the
 * request may be finished from another process's context: a write's bytes are copied in now
 * (probed, inside __try); a read's are copied out when it completes (LbkCompleteTransfer).
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
        SIZE_T bounceBytes = isWrite ? length : LbkTransferLength(ext, irp);

        bounce = LbkAllocate(bounceBytes, LBK_TAG_BOUNCE);
        if (bounce == NULL)
            break;
        if (isWrite) {
            __try {
                if (irp->RequestorMode != KernelMode)
                    ProbeForRead(irp->UserBuffer, length, 1);
                LbkCopyUserMemory(bounce, irp->UserBuffer, length);
            } __except (status = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
                LbkTrace(LBK_TRACE_WARNING, "lbk: write from a bad user buffer: 0x%08x\n", status);
            }
        } else if (irp->RequestorMode != KernelMode) {
            /* Probe now, so a bad buffer fails before any byte leaves the ring. */
            __try {
                ProbeForWrite(irp->UserBuffer, bounceBytes, 1);
            } __except (status = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
                LbkTrace(LBK_TRACE_WARNING, "lbk: read into a bad user buffer: 0x%08x\n", status);
            }
        }
        if (!NT_SUCCESS(status)) {
            LbkFree(bounce, LBK_TAG_BOUNCE);
            return status;
        }
        data = bounce;
        break;
    }
    }
    if (data == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    irp->Tail.Overlay.DriverContext[0] = data;
    irp->Tail.Overlay.DriverContext[1] = bounce;
    return STATUS_SUCCESS;
}

/* Takes the IRP off its queue if a queue still holds it. Lock held. */
static VOID LbkUnlinkLocked(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    PLIST_ENTRY entry = &irp->Tail.Overlay.ListEntry;

    if (entry->Flink == entry)
        return;
    RemoveEntryList(entry);
    InitializeListHead(entry);
    if (LbkIsWrite(irp))
        ext->PendingWriteCount--;
    else
        ext->PendingReadCount--;
}

/*
 * Takes the IRP off its queue and claims its completion. Lock held.
 * Returns FALSE when its cancel routine is already on its way: LbkCancel completes it then.
 */
static BOOLEAN LbkClaimLocked(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    LbkUnlinkLocked(ext, irp);
    return IoSetCancelRoutine(irp, NULL) != NULL;
}

/*
 * Queues a READ or WRITE that cannot finish now, and marks it pending. Lock held.
 * Returns FALSE, with the IRP not queued and not marked pending, when it was cancelled before
 * its cancel routine could be set: the caller completes it with STATUS_CANCELLED.
 */
BOOLEAN LbkEnqueueLocked(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    BOOLEAN isWrite = LbkIsWrite(irp);

    InsertTailList(isWrite ? &ext->PendingWrites : &ext->PendingReads, &irp->Tail.Overlay.ListEntry);
    if (isWrite)
        ext->PendingWriteCount++;
    else
        ext->PendingReadCount++;
    IoSetCancelRoutine(irp, LbkCancel);
    if (irp->Cancel && IoSetCancelRoutine(irp, NULL) != NULL) {
        LbkUnlinkLocked(ext, irp);
        ext->CancelledRequests++;
        return FALSE;
    }
    /* Before the lock is released: from then on another thread may complete it. */
    IoMarkIrpPending(irp);
    return TRUE;
}

/* Status of an IRP that leaves the queue early: a write whose bytes are all in counts as done. */
static NTSTATUS LbkEarlyStatus(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status)
{
    if (LbkIsWrite(irp) && irp->IoStatus.Information == LbkTransferLength(ext, irp))
        return STATUS_SUCCESS;
    return status;
}

static VOID LbkFinishLocked(PIRP irp, NTSTATUS status, PLIST_ENTRY done)
{
    irp->IoStatus.Status = status;
    InsertTailList(done, &irp->Tail.Overlay.ListEntry);
}

VOID LbkPumpLocked(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done)
{
    lbk_ring_t *ring = &ext->Ring;
    BOOLEAN moved;

    do {
        moved = FALSE;
        while (!IsListEmpty(&ext->PendingWrites) && lbk_ring_room(ring) != 0) {
            PIRP irp = CONTAINING_RECORD(ext->PendingWrites.Flink, IRP, Tail.Overlay.ListEntry);
            SIZE_T sent = irp->IoStatus.Information;
            SIZE_T n = lbk_ring_write(ring, LBK_IRP_DATA(irp) + sent, LbkTransferLength(ext, irp) - sent);

            irp->IoStatus.Information = sent + n;
            LbkFileContext(irp)->BytesIn += n;
            moved = TRUE;
            if (irp->IoStatus.Information == LbkTransferLength(ext, irp) && LbkClaimLocked(ext, irp))
                LbkFinishLocked(irp, STATUS_SUCCESS, done);
        }
        while (!IsListEmpty(&ext->PendingReads) && lbk_ring_count(ring) != 0) {
            PIRP irp = CONTAINING_RECORD(ext->PendingReads.Flink, IRP, Tail.Overlay.ListEntry);
            SIZE_T n;

            if (!LbkClaimLocked(ext, irp))
                continue;
            n = lbk_ring_read(ring, LBK_IRP_DATA(irp), LbkTransferLength(ext, irp));
            irp->IoStatus.Information = n;
            LbkFileContext(irp)->BytesOut += n;
            LbkFinishLocked(irp, STATUS_SUCCESS, done);
            moved = TRUE;
        }
    } while (moved);
}

/*
 * Takes every queued request of one file object (or of all, when fileObject is NULL) off the
 * queues and moves those it can claim to done with the given status. Lock held.
 */
VOID LbkFlushLocked(PLBK_DEVICE_EXTENSION ext, PFILE_OBJECT fileObject, NTSTATUS status, PLIST_ENTRY done)
{
    PLIST_ENTRY queues[2] = { &ext->PendingReads, &ext->PendingWrites };
    ULONG i;

    for (i = 0; i < RTL_NUMBER_OF(queues); i++) {
        PLIST_ENTRY entry = queues[i]->Flink;

        while (entry != queues[i]) {
            PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
            NTSTATUS irpStatus;

            entry = entry->Flink;
            if (fileObject != NULL && IoGetCurrentIrpStackLocation(irp)->FileObject != fileObject)
                continue;
            if (!LbkClaimLocked(ext, irp))
                continue;
            irpStatus = LbkEarlyStatus(ext, irp, status);
            if (irpStatus == STATUS_CANCELLED)
                ext->CancelledRequests++;
            LbkFinishLocked(irp, irpStatus, done);
        }
    }
}

/* Runs with the global cancel spin lock held, which it releases first (lock order: never both). */
static VOID LbkCancel(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = deviceObject->DeviceExtension;
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status;

    IoReleaseCancelSpinLock(irp->CancelIrql);

    KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
    LbkUnlinkLocked(ext, irp);
    status = LbkEarlyStatus(ext, irp, STATUS_CANCELLED);
    if (status == STATUS_CANCELLED)
        ext->CancelledRequests++;
    KeReleaseInStackQueuedSpinLock(&lockHandle);

    LbkCompleteTransfer(ext, irp, status);
}

/*
 * Copies a finished neither-I/O read from its bounce buffer to the caller's buffer. The request
 * may finish in another process's context, so this attaches to the requestor's address space.
 * Returns STATUS_SUCCESS or the status of the fault; on a fault the bytes are counted as dropped.
 */
static NTSTATUS LbkCopyBounceToUser(PLBK_DEVICE_EXTENSION ext, PIRP irp, SIZE_T bytes)
{
    PEPROCESS requestor = IoGetRequestorProcess(irp);
    BOOLEAN attach = requestor != NULL && requestor != PsGetCurrentProcess();
    NTSTATUS status = STATUS_SUCCESS;
    KAPC_STATE apcState;

    if (attach)
        KeStackAttachProcess((PKPROCESS)requestor, &apcState);
    __try {
        if (irp->RequestorMode != KernelMode)
            ProbeForWrite(irp->UserBuffer, bytes, 1);
        LbkCopyUserMemory(irp->UserBuffer, LBK_IRP_BOUNCE(irp), bytes);
    } __except (status = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
        LbkTrace(LBK_TRACE_WARNING, "lbk: %Iu bytes lost to a bad user buffer: 0x%08x\n", bytes, status);
    }
    if (attach)
        KeUnstackDetachProcess(&apcState);

    if (!NT_SUCCESS(status)) {
        KLOCK_QUEUE_HANDLE lockHandle;

        KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
        ext->BytesDropped += bytes;
        KeReleaseInStackQueuedSpinLock(&lockHandle);
    }
    return status;
}

/*
 * Completes a READ or WRITE that the caller owns and that no queue holds. Not under the lock:
 * neither I/O may touch user memory here. IoStatus.Information holds the bytes transferred; an
 * error other than cancellation reports none.
 */
VOID LbkCompleteTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status)
{
    PVOID bounce = LBK_IRP_BOUNCE(irp);

    if (bounce != NULL) {
        if (!LbkIsWrite(irp) && NT_SUCCESS(status) && irp->IoStatus.Information != 0)
            status = LbkCopyBounceToUser(ext, irp, irp->IoStatus.Information);
        irp->Tail.Overlay.DriverContext[1] = NULL;
        LbkFree(bounce, LBK_TAG_BOUNCE);
    }
    if (!NT_SUCCESS(status) && status != STATUS_CANCELLED)
        irp->IoStatus.Information = 0;
    irp->IoStatus.Status = status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
}

/* Completes every IRP that a *Locked routine moved to done. Lock not held. */
VOID LbkCompleteList(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done)
{
    while (!IsListEmpty(done)) {
        PIRP irp = CONTAINING_RECORD(RemoveHeadList(done), IRP, Tail.Overlay.ListEntry);

        LbkCompleteTransfer(ext, irp, irp->IoStatus.Status);
    }
}
