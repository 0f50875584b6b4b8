/*
 * queue.c - pending requests, their cancellation, and the pump that moves bytes between waiting
 * writers, the channels and waiting readers, and wakes waiting WAITs (kernel mode).
 *
 * Invariants after every pump, under the unit lock, for each channel:
 *   - reads wait only while nothing is queued; writes wait only while they do not fit;
 *   - requests are served in arrival order, and only the oldest waiting write has moved bytes,
 *     so two writes never interleave; in message mode a waiting write has moved none;
 *   - a read that waits when a write arrives takes the bytes straight from the write's buffer
 *     (hand-off); in byte-stream mode a read that empties the ring goes on straight from the
 *     oldest waiting write.
 *
 * Cancellation without cancel-safe queues (Wine stubs them): a queued IRP carries LbkCancel as its
 * cancel routine. Whoever takes an IRP off a queue first clears that routine. If IoSetCancelRoutine
 * returns NULL, IoCancelIrp has already taken the routine and will call it, so the taker leaves the
 * completion to LbkCancel. DriverContext[2] names the queue holding the IRP, NULL once none does.
 * The one IRP being dispatched ("fresh") is queued before its cancel routine is set, so the pump
 * may claim it without one.
 */
#include "lbk_driver.h"

static DRIVER_CANCEL LbkCancel;

VOID LbkQueueInitialize(PLBK_QUEUE queue)
{
    InitializeListHead(&queue->Irps);
    queue->Count = 0;
}

PLBK_FILE_CONTEXT LbkFileContext(PIRP irp)
{
    PFILE_OBJECT fileObject = IoGetCurrentIrpStackLocation(irp)->FileObject;

    return fileObject != NULL ? (PLBK_FILE_CONTEXT)fileObject->FsContext : NULL;
}

static UCHAR LbkMajor(PIRP irp)
{
    return IoGetCurrentIrpStackLocation(irp)->MajorFunction;
}

static PLBK_DEVICE_EXTENSION LbkIrpDevice(PIRP irp)
{
    return LbkExtension(IoGetCurrentIrpStackLocation(irp)->DeviceObject);
}

/*
 * Bytes a request moves at most. A neither-I/O read gets a bounce buffer of that size, so it is
 * capped at the capacity: more than the ring holds could only come from waiting writes, and a
 * read of any length must not make the driver allocate as much. Other reads use the caller's
 * buffer as it is, and after the ring's bytes may take more straight from a waiting write.
 */
SIZE_T LbkTransferLength(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);

    if (stack->MajorFunction == IRP_MJ_WRITE)
        return stack->Parameters.Write.Length;
    if (ext->IoMethod != LBK_IO_NEITHER)
        return stack->Parameters.Read.Length;
    return min((SIZE_T)stack->Parameters.Read.Length, lbk_channel_capacity(&ext->In->Data));
}

/* Now plus timeoutMs, in performance-counter ticks; 0 (no deadline) for a timeout of 0. */
LONGLONG LbkDeadline(ULONG timeoutMs)
{
    LARGE_INTEGER frequency, now;

    if (timeoutMs == 0)
        return 0;
    now = KeQueryPerformanceCounter(&frequency);
    return lbk_deadline_after(now.QuadPart, timeoutMs, (uint64_t)frequency.QuadPart);
}

/* The size of a device's spare bounce buffer: its buffer size, but no more than 1 MiB. */
static SIZE_T LbkSpareBounceBytes(PLBK_DEVICE_EXTENSION ext)
{
    return min(lbk_channel_capacity(&ext->In->Data), (SIZE_T)LBK_SPARE_BOUNCE_MAX_BYTES);
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
static NTSTATUS LbkTakeBounce(PLBK_DEVICE_EXTENSION ext, SIZE_T bytes, BOOLEAN isWrite, PVOID *bounce)
{
    volatile LONG64 *pinned = &ext->PinnedBytes[isWrite ? 1 : 0];
    SIZE_T spareBytes = LbkSpareBounceBytes(ext);
    ULONG i;

    *bounce = NULL;
    if (InterlockedAdd64(pinned, (LONG64)bytes) > LbkPinLimit(ext)) {
        InterlockedAdd64(pinned, -(LONG64)bytes);
        return STATUS_QUOTA_EXCEEDED;
    }
    if (bytes <= spareBytes) {
        for (i = 0; i < LBK_SPARE_BOUNCES && *bounce == NULL; i++)
            *bounce = InterlockedExchangePointer(&ext->SpareBounces[i], NULL);
        /* Spares belong to the device, not to the request that made one: no quota. */
        if (*bounce == NULL && InterlockedIncrement(&ext->SpareBouncesMade) <= LBK_SPARE_BOUNCES) {
            *bounce = LbkAllocateBuffer(spareBytes, LBK_TAG_BOUNCE);
            if (*bounce == NULL)
                InterlockedDecrement(&ext->SpareBouncesMade);
        } else if (*bounce == NULL) {
            InterlockedDecrement(&ext->SpareBouncesMade);
        }
    }
    if (*bounce == NULL)
        *bounce = LbkAllocateCharged(bytes, LBK_TAG_BOUNCE);
    if (*bounce == NULL) {
        InterlockedAdd64(pinned, -(LONG64)bytes);
        return STATUS_QUOTA_EXCEEDED; /* the caller's quota, or the pool itself */
    }
    return STATUS_SUCCESS;
}

/* Keeps a spare-sized block for the next request while there is a free slot; frees any other.
   bytes and isWrite are what LbkTakeBounce was given. */
static VOID LbkGiveBackBounce(PLBK_DEVICE_EXTENSION ext, PVOID bounce, SIZE_T bytes, BOOLEAN isWrite)
{
    ULONG i;

    InterlockedAdd64(&ext->PinnedBytes[isWrite ? 1 : 0], -(LONG64)bytes);
    if (LbkBlockBytes(bounce) == LbkSpareBounceBytes(ext)) {
        for (i = 0; i < LBK_SPARE_BOUNCES; i++)
            if (InterlockedCompareExchangePointer(&ext->SpareBounces[i], bounce, NULL) == NULL)
                return;
    }
    LbkFree(bounce, LBK_TAG_BOUNCE);
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
         * A read is finished later, maybe in another thread's context, and copies out into its
         * requestor's address space then; a user-mode read with no requestor could not. No
         * reference is taken: the requestor's thread cannot finish exiting while its IRP is
         * outstanding (thread rundown cancels and waits for it, and the cancel routine completes
         * at once), and under Wine an ObReferenceObject/ObDereferenceObject pair on the process
         * that IoGetRequestorProcess returns frees it, as Wine holds no reference of its own.
         */
        if (!isWrite && irp->RequestorMode != KernelMode && IoGetRequestorProcess(irp) == NULL)
            return STATUS_INVALID_DEVICE_REQUEST;
        status = LbkTakeBounce(ext, bounceBytes, isWrite, &bounce);
        if (!NT_SUCCESS(status))
            return status;
        if (isWrite) {
            LbkAssertUserMemoryIrql();
            __try {
                LbkCopyUserMemory(bounce, irp->UserBuffer, length);
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

VOID LbkInsertLocked(PLBK_QUEUE queue, PIRP irp)
{
    InsertTailList(&queue->Irps, &irp->Tail.Overlay.ListEntry);
    queue->Count++;
    irp->Tail.Overlay.DriverContext[2] = queue;
}

/* Takes the IRP off its queue if a queue still holds it. Lock held. */
VOID LbkUnlinkLocked(PIRP irp)
{
    PLBK_QUEUE queue = LBK_IRP_QUEUE(irp);

    if (queue == NULL)
        return;
    RemoveEntryList(&irp->Tail.Overlay.ListEntry);
    InitializeListHead(&irp->Tail.Overlay.ListEntry);
    queue->Count--;
    irp->Tail.Overlay.DriverContext[2] = NULL;
}

/*
 * Takes the IRP off its queue and claims its completion. Lock held.
 * Returns FALSE when its cancel routine is already on its way: LbkCancel completes it then.
 */
static BOOLEAN LbkClaimLocked(PIRP irp, PIRP fresh)
{
    LbkUnlinkLocked(irp);
    return irp == fresh || IoSetCancelRoutine(irp, NULL) != NULL;
}

/*
 * Gives a queued IRP its cancel routine and deadline and marks it pending. Lock held.
 * Returns FALSE, with the IRP unlinked and not marked pending, when it was cancelled before its
 * cancel routine could be set: the caller completes it.
 */
BOOLEAN LbkArmLocked(PIRP irp, LONGLONG deadline)
{
    irp->Tail.Overlay.DriverContext[3] = (PVOID)(LONG_PTR)deadline;
    IoSetCancelRoutine(irp, LbkCancel);
    if (irp->Cancel && IoSetCancelRoutine(irp, NULL) != NULL) {
        LbkUnlinkLocked(irp);
        return FALSE;
    }
    /* Before the lock is released: from then on another thread may complete it. */
    IoMarkIrpPending(irp);
    return TRUE;
}

/*
 * Status of a request that leaves its queue early with status: a write whose bytes are all in
 * counts as done. Counts the READs and WRITEs that end cancelled. Lock held.
 */
NTSTATUS LbkEarlyStatusLocked(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status)
{
    if (LbkMajor(irp) == IRP_MJ_WRITE &&
        irp->IoStatus.Information == IoGetCurrentIrpStackLocation(irp)->Parameters.Write.Length)
        return STATUS_SUCCESS;
    if (status == STATUS_CANCELLED && LbkMajor(irp) != IRP_MJ_DEVICE_CONTROL)
        ext->CancelledRequests++;
    return status;
}

static VOID LbkFinishLocked(PIRP irp, NTSTATUS status, PLIST_ENTRY done)
{
    irp->IoStatus.Status = status;
    InsertTailList(done, &irp->Tail.Overlay.ListEntry);
}

BOOLEAN LbkPeerGoneLocked(PLBK_DEVICE_EXTENSION ext)
{
    return ext->Peer != ext && ext->Peer->OpenHandles == 0;
}

/* Which of events hold for ext now; fills result. Lock held. */
ULONG LbkReadyEventsLocked(PLBK_DEVICE_EXTENSION ext, ULONG events, ULONG minRoom, lbk_wait_result *result)
{
    lbk_channel_t *in = &ext->In->Data;
    lbk_channel_t *out = &ext->Out->Data;
    SIZE_T room = lbk_channel_room(out);
    ULONG ready = 0;

    if (minRoom == 0)
        minRoom = 1;
    if ((events & LBK_EVENT_READABLE) && lbk_channel_queued(in) != 0)
        ready |= LBK_EVENT_READABLE;
    if ((events & LBK_EVENT_WRITABLE) &&
        ((LbkPeerGoneLocked(ext) && ext->WhenPeerClosed != LBK_PEER_CLOSED_PEND) ||
         (IsListEmpty(&ext->Out->Writes.Irps) && room >= minRoom)))
        ready |= LBK_EVENT_WRITABLE;
    if (result != NULL) {
        result->events = ready;
        result->next_message = in->message_mode ? (lbk_u32)lbk_channel_next_length(in) : 0;
        result->bytes_readable = lbk_channel_next_length(in); /* all that is queued, in a byte stream */
        result->room = room;
    }
    return ready;
}

/* Completes a WAIT with the events that hold now (none after a timeout). Lock held. */
static VOID LbkFinishWaitLocked(PLBK_DEVICE_EXTENSION ext, PIRP irp, BOOLEAN timedOut, PLIST_ENTRY done)
{
    lbk_wait_request request = *(const lbk_wait_request *)irp->AssociatedIrp.SystemBuffer;
    lbk_wait_result *result = irp->AssociatedIrp.SystemBuffer;

    LbkReadyEventsLocked(ext, request.events, request.min_room, result);
    if (timedOut)
        result->events = 0;
    irp->IoStatus.Information = sizeof(*result);
    LbkFinishLocked(irp, STATUS_SUCCESS, done);
}

/* Moves what a READ can take from the head WRITE straight across. Lock held. */
static SIZE_T LbkHandOffLocked(PLBK_CHANNEL channel, PIRP read, PIRP write, int *messageLeft)
{
    SIZE_T readOffset = read->IoStatus.Information;
    SIZE_T writeOffset = write->IoStatus.Information;
    SIZE_T n = lbk_channel_hand_off(&channel->Data, LBK_IRP_DATA(read) + readOffset,
                                    LbkTransferLength(channel->Reader, read) - readOffset,
                                    LBK_IRP_DATA(write) + writeOffset,
                                    LbkTransferLength(channel->Writer, write) - writeOffset, messageLeft);

    read->IoStatus.Information = readOffset + n;
    write->IoStatus.Information = writeOffset + n;
    LbkFileContext(read)->BytesOut += n;
    LbkFileContext(write)->BytesIn += n;
    return n;
}

/* Appends what fits of the head WRITE to the channel; finishes it once all is in. Lock held. */
static BOOLEAN LbkFillFromWriteLocked(PLBK_CHANNEL channel, PIRP write, PIRP fresh, PLIST_ENTRY done)
{
    SIZE_T sent = write->IoStatus.Information;
    SIZE_T length = LbkTransferLength(channel->Writer, write);
    SIZE_T n = lbk_channel_write(&channel->Data, LBK_IRP_DATA(write) + sent, length - sent);

    if (n == 0)
        return FALSE;
    write->IoStatus.Information = sent + n;
    LbkFileContext(write)->BytesIn += n;
    if (sent + n == length && LbkClaimLocked(write, fresh))
        LbkFinishLocked(write, STATUS_SUCCESS, done);
    return TRUE;
}

static PIRP LbkHead(PLBK_QUEUE queue)
{
    return IsListEmpty(&queue->Irps) ? NULL : CONTAINING_RECORD(queue->Irps.Flink, IRP, Tail.Overlay.ListEntry);
}

static VOID LbkPumpChannelLocked(PLBK_CHANNEL channel, PIRP fresh, PLIST_ENTRY done)
{
    lbk_channel_t *data = &channel->Data;
    BOOLEAN moved;

    do {
        PIRP read, write;

        moved = FALSE;
        /* Readers take what is queued, oldest first. */
        while ((read = LbkHead(&channel->Reads)) != NULL && lbk_channel_queued(data) != 0) {
            int messageLeft = 0;

            if (!LbkClaimLocked(read, fresh))
                continue;
            read->IoStatus.Information = lbk_channel_read(data, LBK_IRP_DATA(read),
                                                          LbkTransferLength(channel->Reader, read), &messageLeft);
            LbkFileContext(read)->BytesOut += read->IoStatus.Information;
            /* A byte stream: go on from the oldest waiting write, past the ring. */
            while (!data->message_mode && lbk_channel_queued(data) == 0 &&
                   read->IoStatus.Information < LbkTransferLength(channel->Reader, read) &&
                   (write = LbkHead(&channel->Writes)) != NULL) {
                LbkHandOffLocked(channel, read, write, NULL);
                if (write->IoStatus.Information == LbkTransferLength(channel->Writer, write) &&
                    LbkClaimLocked(write, fresh))
                    LbkFinishLocked(write, STATUS_SUCCESS, done);
                else
                    break;
            }
            LbkFinishLocked(read, messageLeft ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS, done);
            moved = TRUE;
        }
        /* Nothing queued, a reader and a writer both waiting: straight across. */
        while (lbk_channel_queued(data) == 0 && (read = LbkHead(&channel->Reads)) != NULL &&
               (write = LbkHead(&channel->Writes)) != NULL) {
            int messageLeft = 0;

            if (!LbkClaimLocked(read, fresh))
                continue;
            LbkHandOffLocked(channel, read, write, &messageLeft);
            LbkFinishLocked(read, messageLeft ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS, done);
            /* The rest of a message that did not fit the read becomes the next message; the
               channel is empty, so it fits whole. A stream write's rest waits for the next read. */
            if (messageLeft)
                LbkFillFromWriteLocked(channel, write, fresh, done);
            else if (write->IoStatus.Information == LbkTransferLength(channel->Writer, write) &&
                     LbkClaimLocked(write, fresh))
                LbkFinishLocked(write, STATUS_SUCCESS, done);
            moved = TRUE;
        }
        /* Writers fill the ring while no reader waits. */
        while (LbkHead(&channel->Reads) == NULL && (write = LbkHead(&channel->Writes)) != NULL) {
            if (!LbkFillFromWriteLocked(channel, write, fresh, done))
                break;
            moved = TRUE;
        }
    } while (moved);
}

VOID LbkPumpLocked(PLBK_UNIT unit, PIRP fresh, PLIST_ENTRY done)
{
    ULONG i;

    for (i = 0; i < unit->ChannelCount; i++)
        LbkPumpChannelLocked(&unit->Channels[i], fresh, done);
    for (i = 0; i < RTL_NUMBER_OF(unit->Ends); i++) {
        PLBK_DEVICE_EXTENSION ext = unit->Ends[i];
        PLIST_ENTRY entry;

        if (ext == NULL)
            continue;
        entry = ext->Waits.Irps.Flink;
        while (entry != &ext->Waits.Irps) {
            PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
            const lbk_wait_request *request = irp->AssociatedIrp.SystemBuffer;

            entry = entry->Flink;
            if (LbkReadyEventsLocked(ext, request->events, request->min_room, NULL) != 0 &&
                LbkClaimLocked(irp, fresh))
                LbkFinishWaitLocked(ext, irp, FALSE, done);
        }
    }
}

/* The queues that can hold requests issued through ext. */
static ULONG LbkQueuesOf(PLBK_DEVICE_EXTENSION ext, PLBK_QUEUE queues[3])
{
    queues[0] = &ext->In->Reads;
    queues[1] = &ext->Out->Writes;
    queues[2] = &ext->Waits;
    return 3;
}

/*
 * Takes every queued request of one file object of ext (or all of ext's, when fileObject is NULL)
 * off the queues and moves those it can claim to done with the given status. Lock held.
 */
VOID LbkFlushLocked(PLBK_DEVICE_EXTENSION ext, PFILE_OBJECT fileObject, NTSTATUS status, PLIST_ENTRY done)
{
    PLBK_QUEUE queues[3];
    ULONG i, count = LbkQueuesOf(ext, queues);

    for (i = 0; i < count; i++) {
        PLIST_ENTRY entry = queues[i]->Irps.Flink;

        while (entry != &queues[i]->Irps) {
            PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
            entry = entry->Flink;
            if (fileObject != NULL && IoGetCurrentIrpStackLocation(irp)->FileObject != fileObject)
                continue;
            if (!LbkClaimLocked(irp, NULL))
                continue;
            LbkFinishLocked(irp, LbkEarlyStatusLocked(ext, irp, status), done);
        }
    }
}

/*
 * ext's last handle has closed: the peer's waiting writes, which only ext could have read, now
 * follow WhenPeerClosed. Lock held.
 */
VOID LbkPeerClosedLocked(PLBK_DEVICE_EXTENSION ext, PLIST_ENTRY done)
{
    PLBK_CHANNEL channel = ext->In;
    PLBK_DEVICE_EXTENSION writer = channel->Writer;
    PIRP write;

    if (writer == ext || writer->WhenPeerClosed == LBK_PEER_CLOSED_PEND)
        return;
    while ((write = LbkHead(&channel->Writes)) != NULL) {
        SIZE_T rest = LbkTransferLength(writer, write) - write->IoStatus.Information;

        if (!LbkClaimLocked(write, NULL))
            continue;
        if (writer->WhenPeerClosed == LBK_PEER_CLOSED_DISCARD) {
            /* Counted as a write discarded at arrival is (LbkPeerClosedWriteLocked). */
            writer->BytesDiscarded += rest;
            LbkFileContext(write)->BytesIn += rest;
            write->IoStatus.Information += rest;
            LbkFinishLocked(write, STATUS_SUCCESS, done);
        } else {
            LbkFinishLocked(write, STATUS_PIPE_DISCONNECTED, done);
        }
    }
}

/* Runs with the global cancel spin lock held, which it releases first (lock order: never both). */
static VOID LbkCancel(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status;

    IoReleaseCancelSpinLock(irp->CancelIrql);

    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    LbkUnlinkLocked(irp);
    status = LbkEarlyStatusLocked(ext, irp, STATUS_CANCELLED);
    KeReleaseInStackQueuedSpinLock(&lockHandle);

    LbkCompleteTransfer(ext, irp, status);
}

/*
 * Completes every queued request of unit whose deadline is at or before now, and returns the
 * earliest deadline still pending (0: none). Lock held.
 */
LONGLONG LbkExpireLocked(PLBK_UNIT unit, LONGLONG now, PLIST_ENTRY done)
{
    LONGLONG next = 0;
    ULONG e;

    for (e = 0; e < RTL_NUMBER_OF(unit->Ends); e++) {
        PLBK_DEVICE_EXTENSION ext = unit->Ends[e];
        PLBK_QUEUE queues[3];
        ULONG i, count;

        if (ext == NULL)
            continue;
        count = LbkQueuesOf(ext, queues);
        for (i = 0; i < count; i++) {
            PLIST_ENTRY entry = queues[i]->Irps.Flink;

            while (entry != &queues[i]->Irps) {
                PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
                LONGLONG deadline = LBK_IRP_DEADLINE(irp);

                entry = entry->Flink;
                if (deadline == 0)
                    continue;
                if (deadline > now) {
                    next = (next == 0 || deadline < next) ? deadline : next;
                    continue;
                }
                if (!LbkClaimLocked(irp, NULL))
                    continue;
                if (LbkMajor(irp) == IRP_MJ_DEVICE_CONTROL) {
                    LbkFinishWaitLocked(ext, irp, TRUE, done);
                } else {
                    ext->TimedOutRequests++;
                    LbkFinishLocked(irp, LbkEarlyStatusLocked(ext, irp, STATUS_TIMEOUT), done);
                }
            }
        }
    }
    return next;
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

    LbkAssertUserMemoryIrql();
    if (attach)
        KeStackAttachProcess((PKPROCESS)requestor, &apcState);
    __try {
        if (irp->RequestorMode != KernelMode)
            ProbeForWrite(irp->UserBuffer, bytes, 1);
        LbkCopyUserMemory(irp->UserBuffer, LBK_IRP_DATA(irp), bytes);
    } __except (status = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
        LbkTrace(LBK_TRACE_WARNING, "lbk: %Iu bytes lost to a bad user buffer: 0x%08x\n", bytes, status);
    }
    if (attach)
        KeUnstackDetachProcess(&apcState);

    if (!NT_SUCCESS(status)) {
        KLOCK_QUEUE_HANDLE lockHandle;

        KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
        lbk_channel_count_lost(&ext->In->Data, bytes);
        KeReleaseInStackQueuedSpinLock(&lockHandle);
    }
    return status;
}

/*
 * Completes a request that the caller owns and that no queue holds, and returns its final status.
 * Not under the lock: neither I/O may touch user memory here. IoStatus.Information holds the
 * bytes transferred; an error reports none, except cancellation and a disconnected peer, which
 * report what went through before.
 */
NTSTATUS LbkCompleteTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status)
{
    PVOID bounce = LbkMajor(irp) != IRP_MJ_DEVICE_CONTROL && ext->IoMethod == LBK_IO_NEITHER ? LBK_IRP_DATA(irp)
                                                                                               : NULL;

    if (bounce != NULL) {
        if (LbkMajor(irp) == IRP_MJ_READ && !NT_ERROR(status) && irp->IoStatus.Information != 0) {
            NTSTATUS copyStatus = LbkCopyBounceToUser(ext, irp, irp->IoStatus.Information);

            if (!NT_SUCCESS(copyStatus))
                status = copyStatus;
        }
        irp->Tail.Overlay.DriverContext[0] = NULL;
        LbkGiveBackBounce(ext, bounce, LbkTransferLength(ext, irp), LbkMajor(irp) == IRP_MJ_WRITE);
    }
    if (NT_ERROR(status) && status != STATUS_CANCELLED && status != STATUS_PIPE_DISCONNECTED)
        irp->IoStatus.Information = 0;
    irp->IoStatus.Status = status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

/* Completes every IRP that a *Locked routine moved to done. Lock not held. */
VOID LbkCompleteList(PLIST_ENTRY done)
{
    while (!IsListEmpty(done)) {
        PIRP irp = CONTAINING_RECORD(RemoveHeadList(done), IRP, Tail.Overlay.ListEntry);

        LbkCompleteTransfer(LbkIrpDevice(irp), irp, irp->IoStatus.Status);
    }
}
