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
 * may claim it without one; the pump arms it before it first drops the lock (see the pump below).
 */
#include "lbk_driver.h"

static DRIVER_CANCEL LbkCancel;

VOID LbkQueueInitialize(PLBK_QUEUE queue)
{
    InitializeListHead(&queue->Irps);
    queue->Count = 0;
    queue->Nonblocking = 0;
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
    /* A serial read that waits until it is full keeps the whole length: the pin limit bounds it. */
    if (ext->IoMethod != LBK_IO_NEITHER || (LBK_IRP_FLAGS(irp) & LBK_IRP_FILL))
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

/* Links the IRP into queue, at its tail or (given back by the pump) at its head. Lock held. */
static VOID LbkLinkLocked(PLBK_QUEUE queue, PIRP irp, BOOLEAN atHead)
{
    if (atHead)
        InsertHeadList(&queue->Irps, &irp->Tail.Overlay.ListEntry);
    else
        InsertTailList(&queue->Irps, &irp->Tail.Overlay.ListEntry);
    queue->Count++;
    if (LBK_IRP_FLAGS(irp) & LBK_IRP_NONBLOCKING)
        queue->Nonblocking++;
    if (queue == &LbkIrpDevice(irp)->Held)
        LbkFileContext(irp)->HeldRequests++;
    irp->Tail.Overlay.DriverContext[2] = queue;
}

VOID LbkInsertLocked(PLBK_QUEUE queue, PIRP irp)
{
    LbkLinkLocked(queue, irp, FALSE);
}

/* The bytes a waiting request keeps the system holding for it: a buffered request's system
   buffer, a direct one's locked pages, a neither one's bounce buffer. */
static SIZE_T LbkHeldBytes(PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    PLBK_DEVICE_EXTENSION ext = LbkIrpDevice(irp);

    switch (stack->MajorFunction) {
    case IRP_MJ_READ:
    case IRP_MJ_WRITE:
        return ext->IoMethod == LBK_IO_NEITHER ? LbkBounceBytes(ext, irp) : LbkTransferLength(ext, irp);
    case IRP_MJ_DEVICE_CONTROL:
        return max(stack->Parameters.DeviceIoControl.InputBufferLength,
                   stack->Parameters.DeviceIoControl.OutputBufferLength);
    default:
        return 0;
    }
}

NTSTATUS LbkAdmitLocked(PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkIrpDevice(irp);
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    struct lbk_held handle, device;

    handle.requests = (uint64_t)InterlockedCompareExchange(&context->InFlight, 0, 0);
    handle.bytes = (uint64_t)InterlockedCompareExchange64(&context->HeldBytes, 0, 0);
    device.requests = (uint64_t)InterlockedCompareExchange(&ext->HeldRequests, 0, 0);
    device.bytes = (uint64_t)InterlockedCompareExchange64(&ext->HeldBytes, 0, 0);
    if (lbk_limits_admit(&LbkConfig.limits, &handle, &device, LbkHeldBytes(irp)))
        return STATUS_SUCCESS;
    /* Under the unit's spin lock: no %ls, whose conversion DbgPrintEx allows at PASSIVE_LEVEL only. */
    LbkTrace(LBK_TRACE_WARNING, "lbk: unit %lu: a request past the pending limits is refused\n", ext->Unit->Index);
    return STATUS_QUOTA_EXCEEDED;
}

VOID LbkHoldLocked(PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkIrpDevice(irp);
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    LONG64 bytes = (LONG64)LbkHeldBytes(irp);

    InterlockedIncrement(&context->InFlight);
    InterlockedAdd64(&context->HeldBytes, bytes);
    InterlockedIncrement(&ext->HeldRequests);
    InterlockedAdd64(&ext->HeldBytes, bytes);
    LbkSetIrpContext1(irp, LBK_IRP_WINDOW(irp), LBK_IRP_FLAGS(irp) | LBK_IRP_COUNTED);
}

/* Gives back what LbkHoldLocked counted: the last touch of the handle's context. */
VOID LbkUnholdIrp(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    LONG64 bytes = (LONG64)LbkHeldBytes(irp);

    InterlockedAdd64(&ext->HeldBytes, -bytes);
    InterlockedDecrement(&ext->HeldRequests);
    InterlockedAdd64(&context->HeldBytes, -bytes);
    InterlockedDecrement(&context->InFlight);
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
    if (LBK_IRP_FLAGS(irp) & LBK_IRP_NONBLOCKING)
        queue->Nonblocking--;
    if (queue == &LbkIrpDevice(irp)->Held)
        LbkFileContext(irp)->HeldRequests--;
    irp->Tail.Overlay.DriverContext[2] = NULL;
}

/*
 * Takes the IRP off its queue and claims its completion. Lock held.
 * Returns FALSE when its cancel routine is already on its way: LbkCancel completes it then.
 */
BOOLEAN LbkClaimLocked(PIRP irp, PIRP fresh)
{
    LbkUnlinkLocked(irp);
    return irp == fresh || IoSetCancelRoutine(irp, NULL) != NULL;
}

/*
 * Gives a queued IRP its cancel routine and deadline and marks it pending; the pump also arms
 * again an IRP it gives back to its queue. Lock held. Returns FALSE, with the IRP unlinked (and
 * not marked pending, unless it was before), when it was cancelled before its cancel routine
 * could be set: the caller completes it.
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
    if (status == STATUS_CANCELLED && (LbkMajor(irp) == IRP_MJ_READ || LbkMajor(irp) == IRP_MJ_WRITE))
        ext->CancelledRequests++;
    return status;
}

/*
 * What a READ or WRITE that timed out ends with: STATUS_TIMEOUT, a success status with the bytes
 * it moved. A serial end's end with STATUS_SUCCESS instead: on Windows the two look the same
 * through ReadFile, WriteFile and GetOverlappedResult, but Wine's GetOverlappedResult fails on
 * STATUS_TIMEOUT (ERROR_TIMEOUT), which serial programs waiting on an overlapped read do not
 * expect (docs/serial.md).
 */
static NTSTATUS LbkTimedOutStatus(PLBK_DEVICE_EXTENSION ext)
{
    return ext->IsSerial ? STATUS_SUCCESS : STATUS_TIMEOUT;
}

VOID LbkFinishLocked(PIRP irp, NTSTATUS status, PLIST_ENTRY done)
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

/*
 * The pump. One thread at a time runs it for a unit (Unit->Pumping); a thread that finds it
 * running leaves what it queued to that thread (PumpAgain). It copies at most
 * LBK_LOCKED_COPY_BYTES per hold of the lock and drops the lock between pieces (LbkYieldLocked),
 * so between pieces every state it leaves must be one that others may see and change:
 *   - a READ that has started to take bytes is claimed (off its queue, not cancellable) until it
 *     finishes, and its bytes were counted as read when it started (lbk_channel_take);
 *   - a message goes into the ring opened, put in pieces and closed, its WRITE claimed; a message
 *     handed straight to a READ has both claimed;
 *   - a byte-stream WRITE stays queued and cancellable between pieces: each piece is whole;
 *   - a neither-I/O WRITE longer than its bounce window stays queued with LBK_IRP_REFILLING
 *     while its next window is copied from the writer's buffer: others who would end it leave
 *     their status in it, and the pump ends it with that status once the refill is done.
 * Only the pumping thread moves bytes in or out of a unit's channels, so what it took, opened or
 * is peeking at cannot change under it; others only purge, which keeps taken and open bytes.
 */

static PIRP LbkHead(PLBK_QUEUE queue)
{
    return IsListEmpty(&queue->Irps) ? NULL : CONTAINING_RECORD(queue->Irps.Flink, IRP, Tail.Overlay.ListEntry);
}

VOID LbkPumpInit(PLBK_PUMP pump, PLBK_UNIT unit, PKLOCK_QUEUE_HANDLE lockHandle, PLIST_ENTRY done)
{
    RtlZeroMemory(pump, sizeof(*pump));
    pump->Unit = unit;
    pump->LockHandle = lockHandle;
    pump->Done = done;
    pump->Budget = LBK_LOCKED_COPY_BYTES;
    pump->Context = PsGetCurrentProcess();
}

/*
 * Before the lock is first dropped: the fresh IRP, if still queued, gets its cancel routine and
 * deadline; if it is the pump's (in progress or finished) it is marked pending. Either way its
 * dispatch routine then returns STATUS_PENDING. Lock held.
 */
static VOID LbkSettleFreshLocked(PLBK_PUMP pump)
{
    PIRP fresh = pump->Fresh;

    if (fresh == NULL)
        return;
    pump->Fresh = NULL;
    pump->FreshPending = TRUE;
    /* From here another thread may have it, with the lock dropped: CLOSE must wait for it. A
       request done within its dispatch, the common case, is never counted. */
    LbkHoldLocked(fresh);
    if (LBK_IRP_QUEUE(fresh) != NULL) {
        LONGLONG early = LBK_IRP_DEADLINE(fresh); /* a serial read's interval timeout, if it got bytes */

        pump->FreshDeadline = LbkDeadline(pump->FreshTimeoutMs);
        if (early != 0 && (pump->FreshDeadline == 0 || early < pump->FreshDeadline))
            pump->FreshDeadline = early;
        if (LbkArmLocked(fresh, pump->FreshDeadline))
            return;
        LbkFinishLocked(fresh, LbkEarlyStatusLocked(LbkIrpDevice(fresh), fresh, STATUS_CANCELLED), pump->Done);
    }
    IoMarkIrpPending(fresh);
}

/* Ends a hold of the lock's copying: records what it copied and gives the next hold its share. */
static VOID LbkEndHoldLocked(PLBK_PUMP pump)
{
    ULONG copied = (ULONG)(LBK_LOCKED_COPY_BYTES - pump->Budget);

    if (copied > pump->Unit->MaxLockedCopy)
        pump->Unit->MaxLockedCopy = copied;
    pump->Budget = LBK_LOCKED_COPY_BYTES;
}

/* Drops the lock and takes it again, so that this hold's copying ends. */
static VOID LbkYieldLocked(PLBK_PUMP pump)
{
    LbkSettleFreshLocked(pump);
    LbkEndHoldLocked(pump);
    KeReleaseInStackQueuedSpinLock(pump->LockHandle);
    KeAcquireInStackQueuedSpinLock(&pump->Unit->Lock, pump->LockHandle);
}

/* How much of want this hold may still copy (0 once it has copied its share), taken from its share. */
static SIZE_T LbkTakeBudget(PLBK_PUMP pump, SIZE_T want)
{
    SIZE_T n = min(want, pump->Budget);

    pump->Budget -= n;
    return n;
}

/* For copies from state that a yield cannot change: yields first if this hold has copied its share. */
SIZE_T LbkPieceLocked(PLBK_PUMP pump, SIZE_T want)
{
    if (pump->Budget == 0)
        LbkYieldLocked(pump);
    return LbkTakeBudget(pump, want);
}

/* A neither-I/O write's bounce window: its first byte, and the bytes of the write in it. */
static SIZE_T LbkWindowStart(PLBK_DEVICE_EXTENSION writer, PIRP write)
{
    return writer->IoMethod == LBK_IO_NEITHER ? LBK_IRP_WINDOW(write) * LbkWindowBytes(writer) : 0;
}

/* Where a WRITE's next byte is, with how many follow it in memory the driver can read now. */
static PUCHAR LbkWriteSource(PLBK_DEVICE_EXTENSION writer, PIRP write, SIZE_T *available)
{
    SIZE_T sent = write->IoStatus.Information;
    SIZE_T length = LbkTransferLength(writer, write);
    SIZE_T start = LbkWindowStart(writer, write);

    if (writer->IoMethod == LBK_IO_NEITHER)
        length = min(length, start + LbkWindowBytes(writer));
    *available = length - sent;
    return LBK_IRP_DATA(write) + (sent - start);
}

/* What a write that only a closed peer could read becomes, by WhenPeerClosed. Lock held. */
static VOID LbkEndForClosedPeerLocked(PLBK_DEVICE_EXTENSION writer, PIRP write, PLIST_ENTRY done)
{
    if (writer->WhenPeerClosed == LBK_PEER_CLOSED_DISCARD) {
        SIZE_T rest = LbkTransferLength(writer, write) - write->IoStatus.Information;

        /* Counted as a write discarded at arrival is (LbkPeerClosedWriteLocked). */
        writer->BytesDiscarded += rest;
        LbkFileContext(write)->BytesIn += rest;
        write->IoStatus.Information += rest;
        LbkFinishLocked(write, STATUS_SUCCESS, done);
    } else {
        LbkFinishLocked(write, STATUS_PIPE_DISCONNECTED, done);
    }
}

/* Gives a claimed IRP back its place at the head of its queue, armed again. Lock held. */
static VOID LbkRequeueLocked(PLBK_PUMP pump, PLBK_QUEUE queue, PIRP irp)
{
    LbkLinkLocked(queue, irp, TRUE);
    if (irp == pump->Fresh)
        return; /* armed when it has to wait */
    if (!LbkArmLocked(irp, LBK_IRP_DEADLINE(irp)))
        LbkFinishLocked(irp, LbkEarlyStatusLocked(LbkIrpDevice(irp), irp, STATUS_CANCELLED), pump->Done);
}

/*
 * A write has used its bounce window and has more: refills it, with the lock dropped. A claimed
 * write is the pump's and just refills. A queued one stays queued with LBK_IRP_REFILLING and is
 * armed again after, or ended as someone asked meanwhile. Returns FALSE when the write has left
 * its queue (ended, or its cancel routine has it) or the refill faulted (then it is ended). Lock held.
 */
static BOOLEAN LbkRefillLocked(PLBK_PUMP pump, PLBK_CHANNEL channel, PIRP write, BOOLEAN claimed)
{
    PLBK_DEVICE_EXTENSION writer = channel->Writer;
    NTSTATUS status, wanted;

    LbkSettleFreshLocked(pump);
    if (!claimed) {
        if (IoSetCancelRoutine(write, NULL) == NULL) {
            LbkUnlinkLocked(write); /* cancelled: LbkCancel completes it */
            return FALSE;
        }
        LbkSetIrpContext1(write, LBK_IRP_WINDOW(write), LBK_IRP_FLAGS(write) | LBK_IRP_REFILLING);
        write->IoStatus.Status = STATUS_PENDING;
    }
    LbkEndHoldLocked(pump);
    KeReleaseInStackQueuedSpinLock(pump->LockHandle);
    status = LbkRefillWindow(writer, write);
    KeAcquireInStackQueuedSpinLock(&pump->Unit->Lock, pump->LockHandle);
    if (claimed) {
        if (NT_SUCCESS(status))
            return TRUE;
        LbkFinishLocked(write, status, pump->Done);
        return FALSE;
    }
    LbkSetIrpContext1(write, LBK_IRP_WINDOW(write), LBK_IRP_FLAGS(write) & ~LBK_IRP_REFILLING);
    wanted = write->IoStatus.Status;
    if (!NT_SUCCESS(status) || wanted != STATUS_PENDING) {
        LbkUnlinkLocked(write);
        if (!NT_SUCCESS(status)) {
            LbkFinishLocked(write, status, pump->Done);
        } else {
            if (wanted == LbkTimedOutStatus(writer))
                writer->TimedOutRequests++;
            LbkFinishLocked(write, LbkEarlyStatusLocked(writer, write, wanted), pump->Done);
        }
        return FALSE;
    }
    if (LbkPeerGoneLocked(writer) && writer->WhenPeerClosed != LBK_PEER_CLOSED_PEND) {
        /* Its peer closed meanwhile, and LbkPeerClosedLocked left it to us. */
        LbkUnlinkLocked(write);
        LbkEndForClosedPeerLocked(writer, write, pump->Done);
        return FALSE;
    }
    if (!LbkArmLocked(write, LBK_IRP_DEADLINE(write))) { /* cancelled meanwhile */
        LbkFinishLocked(write, LbkEarlyStatusLocked(writer, write, STATUS_CANCELLED), pump->Done);
        return FALSE;
    }
    return TRUE;
}

/*
 * Whether this pump may serve write now. Not when the write's next bytes must first be copied
 * from its requestor's user buffer (a neither write whose window is used up; with whole, a message
 * that will need any further window) and the pump runs outside that requestor's address space:
 * copying would attach this thread to another client's process and stall it, and the unit, on
 * that client's page faults. Then a work item pumps the unit again attached to the requestor, and
 * this pump leaves the channel's writes alone. Lock held.
 */
static BOOLEAN LbkServableLocked(PLBK_PUMP pump, PLBK_CHANNEL channel, PIRP write, BOOLEAN whole)
{
    PLBK_DEVICE_EXTENSION writer = channel->Writer;
    SIZE_T length, available;
    PEPROCESS requestor;

    if (writer->IoMethod != LBK_IO_NEITHER)
        return TRUE;
    requestor = LbkBounceOf(LBK_IRP_DATA(write))->Requestor;
    if (requestor == NULL || requestor == pump->Context)
        return TRUE;
    length = LbkTransferLength(writer, write);
    LbkWriteSource(writer, write, &available);
    if (whole ? write->IoStatus.Information + available >= length
              : available != 0 || write->IoStatus.Information == length)
        return TRUE;
    return !LbkContextPumpLocked(channel, requestor);
}

/*
 * The source of a write's next bytes: *available of them at the returned address, refilling a
 * used-up window first. NULL when the write left its queue meanwhile (see LbkRefillLocked).
 */
static PUCHAR LbkNextSourceLocked(PLBK_PUMP pump, PLBK_CHANNEL channel, PIRP write, BOOLEAN claimed,
                                  SIZE_T *available)
{
    PUCHAR source = LbkWriteSource(channel->Writer, write, available);

    if (*available != 0 || write->IoStatus.Information == LbkTransferLength(channel->Writer, write))
        return source;
    if (!LbkRefillLocked(pump, channel, write, claimed))
        return NULL;
    return LbkWriteSource(channel->Writer, write, available);
}

static VOID LbkCountMoved(PIRP read, PIRP write, SIZE_T n)
{
    if (read != NULL) {
        read->IoStatus.Information += n;
        LbkFileContext(read)->BytesOut += n;
    }
    if (write != NULL) {
        write->IoStatus.Information += n;
        LbkFileContext(write)->BytesIn += n;
    }
}

static BOOLEAN LbkWriteDone(PLBK_CHANNEL channel, PIRP write)
{
    return write->IoStatus.Information == LbkTransferLength(channel->Writer, write);
}

/*
 * Byte stream, a claimed READ with room left and nothing queued: goes on from the oldest waiting
 * writes, finishing each write it empties. Lock held.
 */
static VOID LbkReadFromWritesLocked(PLBK_PUMP pump, PLBK_CHANNEL channel, PIRP read)
{
    SIZE_T length = LbkTransferLength(channel->Reader, read);
    SIZE_T consumed;
    PIRP write;

    while (read->IoStatus.Information < length && lbk_channel_queued(&channel->Data) == 0 &&
           (write = LbkHead(&channel->Writes)) != NULL) {
        SIZE_T available, n;
        PUCHAR source;

        if (pump->Budget == 0) {
            LbkYieldLocked(pump); /* then look again: the write may have gone */
            continue;
        }
        if (!LbkServableLocked(pump, channel, write, FALSE))
            break; /* a context pump goes on from here */
        source = LbkNextSourceLocked(pump, channel, write, FALSE, &available);
        if (source == NULL)
            continue;
        n = LbkSerialPaceAllowedLocked(channel, min(available, length - read->IoStatus.Information));
        if (n == 0)
            break; /* the line is busy or held: the timer thread or the handshake pumps again */
        n = LbkFlowPassLocked(channel, source, min(n, pump->Budget), &consumed);
        if (consumed != 0) { /* the reader's port took them off the line (flow.c) */
            LbkCountMoved(NULL, write, LbkTakeBudget(pump, consumed));
            if (LbkWriteDone(channel, write) && LbkClaimLocked(write, pump->Fresh))
                LbkFinishLocked(write, STATUS_SUCCESS, pump->Done);
            continue;
        }
        n = LbkTakeBudget(pump, n);
        lbk_channel_hand_off(&channel->Data, LBK_IRP_DATA(read) + read->IoStatus.Information, n, source, n, NULL);
        LbkSerialPaceSentLocked(channel, n);
        LbkSerialReceivedLocked(channel, source, n);
        LbkCountMoved(read, write, n);
        if (LbkWriteDone(channel, write) && LbkClaimLocked(write, pump->Fresh))
            LbkFinishLocked(write, STATUS_SUCCESS, pump->Done);
    }
}

/*
 * A claimed READ that got bytes: done, unless it is a serial read waiting to be full, which goes
 * back to the head of its queue with its interval timeout started again. Lock held.
 */
static VOID LbkEndReadLocked(PLBK_PUMP pump, PLBK_CHANNEL channel, PIRP read, NTSTATUS status)
{
    if ((LBK_IRP_FLAGS(read) & LBK_IRP_FILL) && LbkSerialReadGotBytesLocked(channel->Reader, read))
        LbkRequeueLocked(pump, &channel->Reads, read);
    else
        LbkFinishLocked(read, status, pump->Done);
}

/*
 * A claimed READ takes what is queued, then (byte stream) goes on from waiting writes. It goes on
 * from where it stopped: a serial read that waits to be full comes back here with bytes already
 * in its buffer. Lock held.
 */
static VOID LbkReadFromRingLocked(PLBK_PUMP pump, PLBK_CHANNEL channel, PIRP read)
{
    lbk_channel_t *data = &channel->Data;
    int messageLeft = 0;
    SIZE_T filled = read->IoStatus.Information;
    SIZE_T n = lbk_channel_take(data, LbkTransferLength(channel->Reader, read) - filled, &messageLeft);
    SIZE_T copied = 0;

    while (copied < n)
        copied += lbk_channel_copy_taken(data, LBK_IRP_DATA(read) + filled + copied, LbkPieceLocked(pump, n - copied));
    LbkCountMoved(read, NULL, n);
    if (!data->message_mode)
        LbkReadFromWritesLocked(pump, channel, read);
    LbkEndReadLocked(pump, channel, read, messageLeft ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS);
}

/*
 * Message mode: puts the rest of a claimed WRITE into the ring as one message, which no reader
 * sees until it is whole, and finishes the write. The caller knows it fits. Lock held.
 */
static VOID LbkPutMessageLocked(PLBK_PUMP pump, PLBK_CHANNEL channel, PIRP write)
{
    SIZE_T length = LbkTransferLength(channel->Writer, write);
    SIZE_T first = write->IoStatus.Information;

    lbk_channel_open(&channel->Data, length - first);
    while (write->IoStatus.Information < length) {
        SIZE_T available, n;
        PUCHAR source = LbkNextSourceLocked(pump, channel, write, TRUE, &available);

        if (source == NULL) {
            /* The writer's buffer faulted and the write is ended: its message must not appear. */
            lbk_channel_abandon(&channel->Data);
            LbkFileContext(write)->BytesIn -= write->IoStatus.Information - first;
            return;
        }
        n = LbkPieceLocked(pump, available);
        lbk_channel_put(&channel->Data, source, n);
        LbkCountMoved(NULL, write, n);
    }
    lbk_channel_close(&channel->Data);
    LbkFinishLocked(write, STATUS_SUCCESS, pump->Done);
}

/*
 * Message mode, nothing queued: hands the head WRITE's message to the head READ, both claimed;
 * a rest that did not fit the read becomes the next message. Lock held.
 */
static VOID LbkHandOffMessageLocked(PLBK_PUMP pump, PLBK_CHANNEL channel, PIRP read, PIRP write)
{
    SIZE_T readLength = LbkTransferLength(channel->Reader, read);
    SIZE_T writeLength = LbkTransferLength(channel->Writer, write);
    SIZE_T n = min(readLength, writeLength);

    if (!LbkClaimLocked(write, pump->Fresh))
        return; /* its cancel routine has it; look again */
    if (!LbkClaimLocked(read, pump->Fresh)) {
        LbkRequeueLocked(pump, &channel->Writes, write);
        return;
    }
    while (read->IoStatus.Information < n) {
        SIZE_T available, piece;
        PUCHAR source = LbkNextSourceLocked(pump, channel, write, TRUE, &available);

        if (source == NULL) {
            /* The writer's buffer faulted and the write is ended: the read gets no part of it. */
            lbk_channel_count_lost(&channel->Data, read->IoStatus.Information);
            LbkFileContext(read)->BytesOut -= read->IoStatus.Information;
            read->IoStatus.Information = 0;
            LbkRequeueLocked(pump, &channel->Reads, read);
            return;
        }
        piece = LbkPieceLocked(pump, min(available, n - read->IoStatus.Information));
        lbk_channel_hand_off(&channel->Data, LBK_IRP_DATA(read) + read->IoStatus.Information, piece, source, piece,
                             NULL);
        LbkCountMoved(read, write, piece);
    }
    LbkFinishLocked(read, writeLength > readLength ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS, pump->Done);
    if (writeLength > readLength)
        LbkPutMessageLocked(pump, channel, write); /* the channel is empty, so it fits whole */
    else
        LbkFinishLocked(write, STATUS_SUCCESS, pump->Done);
}

/* No reader waits: the head WRITE fills the ring as far as it can. Returns FALSE when it moved nothing. Lock held. */
static BOOLEAN LbkFillFromWriteLocked(PLBK_PUMP pump, PLBK_CHANNEL channel, PIRP write)
{
    lbk_channel_t *data = &channel->Data;
    BOOLEAN moved = FALSE;
    SIZE_T consumed;

    if (data->message_mode) {
        if (LbkTransferLength(channel->Writer, write) > lbk_channel_room(data) ||
            !LbkServableLocked(pump, channel, write, TRUE))
            return FALSE;
        if (LbkClaimLocked(write, pump->Fresh))
            LbkPutMessageLocked(pump, channel, write);
        return TRUE;
    }
    while (lbk_channel_room(data) != 0 && LbkHead(&channel->Reads) == NULL && LbkHead(&channel->Writes) == write) {
        SIZE_T available, n;
        PUCHAR source;

        if (pump->Budget == 0) {
            LbkYieldLocked(pump); /* then look again: the write may have gone, a reader come */
            moved = TRUE;
            continue;
        }
        if (!LbkServableLocked(pump, channel, write, FALSE))
            break; /* a context pump goes on from here */
        source = LbkNextSourceLocked(pump, channel, write, FALSE, &available);
        if (source == NULL)
            return TRUE;
        if (LbkHead(&channel->Reads) != NULL)
            return TRUE; /* a reader came while the window was refilled: it goes first */
        n = LbkSerialPaceAllowedLocked(channel, min(available, lbk_channel_room(data)));
        if (n == 0)
            break; /* the line is busy or held: the timer thread or the handshake pumps again */
        n = LbkFlowPassLocked(channel, source, min(n, pump->Budget), &consumed);
        if (consumed != 0) { /* the reader's port took them off the line (flow.c) */
            LbkCountMoved(NULL, write, LbkTakeBudget(pump, consumed));
            moved = TRUE;
            if (LbkWriteDone(channel, write)) {
                if (LbkClaimLocked(write, pump->Fresh))
                    LbkFinishLocked(write, STATUS_SUCCESS, pump->Done);
                break;
            }
            continue;
        }
        n = lbk_channel_write(data, source, LbkTakeBudget(pump, n));
        LbkSerialPaceSentLocked(channel, n);
        LbkSerialReceivedLocked(channel, source, n);
        LbkCountMoved(NULL, write, n);
        moved = TRUE;
        if (LbkWriteDone(channel, write)) {
            if (LbkClaimLocked(write, pump->Fresh))
                LbkFinishLocked(write, STATUS_SUCCESS, pump->Done);
            break;
        }
    }
    return moved;
}

static VOID LbkPumpChannelLocked(PLBK_PUMP pump, PLBK_CHANNEL channel)
{
    lbk_channel_t *data = &channel->Data;
    BOOLEAN moved;

    do {
        PIRP read, write;

        moved = FALSE;
        /* Readers take what is queued, oldest first. */
        while ((read = LbkHead(&channel->Reads)) != NULL && lbk_channel_queued(data) != 0) {
            if (LbkClaimLocked(read, pump->Fresh))
                LbkReadFromRingLocked(pump, channel, read);
            moved = TRUE;
        }
        /* Nothing queued, a reader and a writer both waiting: straight across. */
        while (lbk_channel_queued(data) == 0 && (read = LbkHead(&channel->Reads)) != NULL &&
               (write = LbkHead(&channel->Writes)) != NULL && LbkSerialPaceAllowedLocked(channel, 1) != 0) {
            if (!LbkServableLocked(pump, channel, write, data->message_mode))
                break; /* a context pump goes on from here */
            if (data->message_mode) {
                LbkHandOffMessageLocked(pump, channel, read, write);
            } else if (pump->Budget == 0) {
                LbkYieldLocked(pump); /* before claiming the read, so that it gets bytes at once */
            } else if (LbkClaimLocked(read, pump->Fresh)) {
                LbkReadFromWritesLocked(pump, channel, read);
                if (read->IoStatus.Information != 0)
                    LbkEndReadLocked(pump, channel, read, STATUS_SUCCESS);
                else
                    LbkRequeueLocked(pump, &channel->Reads, read); /* the write went meanwhile */
            }
            moved = TRUE;
        }
        /* Writers fill the ring while no reader waits. */
        while (LbkHead(&channel->Reads) == NULL && (write = LbkHead(&channel->Writes)) != NULL) {
            if (!LbkFillFromWriteLocked(pump, channel, write))
                break;
            moved = TRUE;
        }
    } while (moved);
}

/* Ends every request of queue that its non-blocking handle would not have it wait. Lock held. */
static VOID LbkEndNonblockingLocked(PLBK_PUMP pump, PLBK_QUEUE queue, NTSTATUS status)
{
    PLIST_ENTRY entry = queue->Irps.Flink;

    while (queue->Nonblocking != 0 && entry != &queue->Irps) {
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);

        entry = entry->Flink;
        if ((LBK_IRP_FLAGS(irp) & LBK_IRP_NONBLOCKING) && LbkClaimLocked(irp, pump->Fresh))
            /* A serial read with MAXDWORD, 0, 0 timeouts returns what it has, maybe nothing. */
            LbkFinishLocked(irp, LbkIrpDevice(irp)->IsSerial ? STATUS_SUCCESS : status, pump->Done);
    }
}

VOID LbkNumberWriteLocked(PLBK_CHANNEL channel, PIRP write)
{
    IoGetCurrentIrpStackLocation(write)->Parameters.Write.ByteOffset.QuadPart = (LONGLONG)++channel->WriteSequence;
}

/* Writes wait in arrival order (one given back goes to the head): the head has the lowest number. */
BOOLEAN LbkWritesWaitUpToLocked(PLBK_CHANNEL channel, ULONG64 target)
{
    PIRP head = LbkHead(&channel->Writes);

    return head != NULL &&
           (ULONG64)IoGetCurrentIrpStackLocation(head)->Parameters.Write.ByteOffset.QuadPart <= target;
}

/* Completes the FLUSHes whose writes (and TransmitCommChar byte) have all gone. Lock held, at the
   end of a pump: nothing is claimed by it. */
static VOID LbkEndFlushesLocked(PLBK_PUMP pump)
{
    ULONG i;

    for (i = 0; i < RTL_NUMBER_OF(pump->Unit->Ends); i++) {
        PLBK_DEVICE_EXTENSION ext = pump->Unit->Ends[i];
        PLIST_ENTRY entry;

        if (ext == NULL)
            continue;
        entry = ext->Flushes.Irps.Flink;
        while (entry != &ext->Flushes.Irps) {
            PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
            ULONG64 target = (ULONG64)(ULONG_PTR)IoGetCurrentIrpStackLocation(irp)->Parameters.Others.Argument1;

            entry = entry->Flink;
            if (!LbkWritesWaitUpToLocked(ext->Out, target) && !ext->Serial.ImmediatePending &&
                LbkClaimLocked(irp, pump->Fresh))
                LbkFinishLocked(irp, STATUS_SUCCESS, pump->Done);
        }
    }
}

/* Completes the WAITs whose events hold now. Lock held. */
static VOID LbkWakeWaitsLocked(PLBK_PUMP pump)
{
    ULONG i;

    for (i = 0; i < RTL_NUMBER_OF(pump->Unit->Ends); i++) {
        PLBK_DEVICE_EXTENSION ext = pump->Unit->Ends[i];
        PLIST_ENTRY entry;

        if (ext == NULL)
            continue;
        entry = ext->Waits.Irps.Flink;
        while (entry != &ext->Waits.Irps) {
            PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
            const lbk_wait_request *request = irp->AssociatedIrp.SystemBuffer;

            entry = entry->Flink;
            if (LbkReadyEventsLocked(ext, request->events, request->min_room, NULL) != 0 &&
                LbkClaimLocked(irp, pump->Fresh))
                LbkFinishWaitLocked(ext, irp, FALSE, pump->Done);
        }
    }
}

/*
 * Serves whoever can be served on the unit: PEEKs and WRITE_ATOMICs in order, then each
 * channel; once nothing more arrived meanwhile, ends what non-blocking handles would not have
 * wait and wakes WAITs (neither drops the lock). Lock held on entry and on return.
 */
VOID LbkPumpLocked(PLBK_PUMP pump)
{
    PLBK_UNIT unit = pump->Unit;
    PIRP control;
    ULONG i;

    if (unit->Pumping) {
        unit->PumpAgain = TRUE; /* the thread pumping serves it once it has the lock again */
        return;
    }
    unit->Pumping = TRUE;
    do {
        unit->PumpAgain = FALSE;
        while ((control = LbkHead(&unit->Controls)) != NULL) {
            if (LbkClaimLocked(control, pump->Fresh))
                LbkServeControlLocked(pump, control);
        }
        LbkSerialSendImmediateLocked(unit);
        for (i = 0; i < unit->ChannelCount; i++)
            LbkPumpChannelLocked(pump, &unit->Channels[i]);
        LbkFlowUpdateLocked(unit); /* a serial pair's handshake: again when a hold ended */
    } while (unit->PumpAgain);
    for (i = 0; i < unit->ChannelCount; i++) {
        LbkEndNonblockingLocked(pump, &unit->Channels[i].Reads, STATUS_PIPE_EMPTY);
        LbkEndNonblockingLocked(pump, &unit->Channels[i].Writes, STATUS_SUCCESS);
    }
    LbkWakeWaitsLocked(pump);
    LbkEndFlushesLocked(pump);
    LbkSerialUpdateLocked(unit, pump->Done);
    LbkEndHoldLocked(pump);
    unit->Pumping = FALSE;
}

/*
 * Queues a READ, WRITE, PEEK or WRITE_ATOMIC that is being dispatched and pumps. Returns with
 * *pending TRUE when the request was marked pending (its dispatch routine returns STATUS_PENDING
 * and touches it no more); otherwise it is no longer queued and this returns its status. Lock held.
 */
NTSTATUS LbkSubmitLocked(PLBK_PUMP pump, PLBK_QUEUE queue, PIRP irp, ULONG timeoutMs, BOOLEAN *pending)
{
    /* Before it is queued: past the limits it is refused even if it could be served now, so
       that what a handle may keep waiting never depends on timing. */
    NTSTATUS status = LbkAdmitLocked(irp);

    if (!NT_SUCCESS(status))
        return status;
    LbkInsertLocked(queue, irp);
    pump->Fresh = irp;
    pump->FreshTimeoutMs = timeoutMs;
    LbkPumpLocked(pump);
    if (!pump->FreshPending && LBK_IRP_QUEUE(irp) == NULL) {
        pump->Fresh = NULL;
        RemoveEntryList(&irp->Tail.Overlay.ListEntry); /* the pump finished it: it is on Done */
        return irp->IoStatus.Status;
    }
    /* Still queued: it waits, or another thread is pumping and serves it. */
    LbkSettleFreshLocked(pump);
    *pending = TRUE;
    return STATUS_PENDING;
}

/* The queues that can hold requests issued through ext (the unit's controls: of either end). */
#define LBK_QUEUES_PER_DEVICE 8
static ULONG LbkQueuesOf(PLBK_DEVICE_EXTENSION ext, PLBK_QUEUE queues[LBK_QUEUES_PER_DEVICE])
{
    queues[7] = &ext->Serial.XoffCounters; /* a serial end's only: LbkSerialInitialize makes it */
    queues[6] = &ext->Held;
    queues[0] = &ext->In->Reads;
    queues[1] = &ext->Out->Writes;
    queues[2] = &ext->Waits;
    queues[3] = &ext->Unit->Controls;
    queues[4] = &ext->Serial.MaskWaits; /* empty unless a serial end */
    queues[5] = &ext->Flushes;
    return ext->IsSerial ? LBK_QUEUES_PER_DEVICE : LBK_QUEUES_PER_DEVICE - 1;
}

/*
 * Takes a queued IRP so as to end it with status. FALSE when that is not for the caller to do:
 * its cancel routine is on its way (it completes the IRP), or the pump is refilling it with the
 * lock dropped (it leaves status in the IRP for the pump, which ends it so). Lock held.
 */
static BOOLEAN LbkTakeToEndLocked(PIRP irp, NTSTATUS status)
{
    if (LBK_IRP_FLAGS(irp) & LBK_IRP_REFILLING) {
        if (irp->IoStatus.Status == STATUS_PENDING)
            irp->IoStatus.Status = status;
        return FALSE;
    }
    return LbkClaimLocked(irp, NULL);
}

/*
 * Takes every queued request of one file object of ext (or all of ext's, when fileObject is NULL)
 * off the queues and moves those it can claim to done with the given status. Lock held.
 */
VOID LbkFlushLocked(PLBK_DEVICE_EXTENSION ext, PFILE_OBJECT fileObject, NTSTATUS status, PLIST_ENTRY done)
{
    PLBK_QUEUE queues[LBK_QUEUES_PER_DEVICE];
    ULONG i, count = LbkQueuesOf(ext, queues);

    for (i = 0; i < count; i++)
        LbkFlushQueueLocked(ext, queues[i], fileObject, status, done);
}

/* LbkFlushLocked for one queue: what ext's requests (of fileObject, unless NULL) have in it. */
VOID LbkFlushQueueLocked(PLBK_DEVICE_EXTENSION ext, PLBK_QUEUE queue, PFILE_OBJECT fileObject, NTSTATUS status,
                         PLIST_ENTRY done)
{
    PLIST_ENTRY entry = queue->Irps.Flink;

    while (entry != &queue->Irps) {
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);

        entry = entry->Flink;
        if (LbkIrpDevice(irp) != ext ||
            (fileObject != NULL && IoGetCurrentIrpStackLocation(irp)->FileObject != fileObject))
            continue;
        if (!LbkTakeToEndLocked(irp, status))
            continue;
        LbkFinishLocked(irp, LbkEarlyStatusLocked(ext, irp, status), done);
    }
}

/*
 * Flushes what fileObject (NULL: all of ext's) has queued with status, and waits, dropping the
 * lock and completing done meanwhile, until none of that handle's requests is in flight (for
 * NULL: until no thread is pumping the unit), flushing again each time, as the pumping thread
 * may give back a request it had claimed. Only under Wine can this wait: its CLOSE and its
 * unload do not wait for requests in flight, which the pumping thread may hold claimed, pointing
 * at the handle's context or the device. On Windows a CLOSE has no request left, so it never
 * waits here, however busy the unit is. PASSIVE_LEVEL; the lock is held on entry and on return.
 */
VOID LbkWaitForRequestsLocked(PLBK_DEVICE_EXTENSION ext, PKLOCK_QUEUE_HANDLE lockHandle, PFILE_OBJECT fileObject,
                              NTSTATUS status, PLIST_ENTRY done)
{
    PLBK_FILE_CONTEXT context = fileObject != NULL ? fileObject->FsContext : NULL;

    for (;;) {
        LARGE_INTEGER interval;

        LbkFlushLocked(ext, fileObject, status, done);
        /* InFlight drops outside the lock (interlocked), after the request's last touch of the
           context: read it likewise, so that nothing after this is done before it. */
        if (context != NULL ? InterlockedCompareExchange(&context->InFlight, 0, 0) == 0 && IsListEmpty(done)
                            : !ext->Unit->Pumping)
            return;
        KeReleaseInStackQueuedSpinLock(lockHandle);
        LbkCompleteList(done);
        interval.QuadPart = -10000; /* 1 ms */
        KeDelayExecutionThread(KernelMode, FALSE, &interval);
        KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, lockHandle);
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
    PLIST_ENTRY entry = channel->Writes.Irps.Flink;

    if (writer == ext || writer->WhenPeerClosed == LBK_PEER_CLOSED_PEND)
        return;
    /* A TransmitCommChar byte still waiting for room goes as the waiting writes go. */
    if (writer->Serial.ImmediatePending) {
        writer->Serial.ImmediatePending = FALSE;
        if (writer->WhenPeerClosed == LBK_PEER_CLOSED_DISCARD)
            writer->BytesDiscarded++;
    }
    while (entry != &channel->Writes.Irps) {
        PIRP write = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);

        entry = entry->Flink;
        /* A write being refilled is left to the pump, which applies this when it is done. */
        if ((LBK_IRP_FLAGS(write) & LBK_IRP_REFILLING) || !LbkClaimLocked(write, NULL))
            continue;
        LbkEndForClosedPeerLocked(writer, write, done);
    }
}

/* Runs with the global cancel spin lock held, which it releases first (lock order: never both). */
static VOID LbkCancel(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status;
    BOOLEAN wasWrite;

    IoReleaseCancelSpinLock(irp->CancelIrql);

    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    wasWrite = LBK_IRP_QUEUE(irp) == &ext->Out->Writes;
    LbkUnlinkLocked(irp);
    status = LbkEarlyStatusLocked(ext, irp, STATUS_CANCELLED);
    if (wasWrite && ext->Unit->PumpDue == 0)
        ext->Unit->PumpDue = LbkDeadline(LBK_PUMP_AFTER_CANCEL_MS);
    KeReleaseInStackQueuedSpinLock(&lockHandle);

    /* Before the completion, which releases the IRP's remove lock: after it REMOVE_DEVICE may
       finish and the image unload, so no code of the driver may run past that release. */
    if (wasWrite)
        LbkTimerWake();
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
        PLBK_QUEUE queues[LBK_QUEUES_PER_DEVICE];
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
                if (!LbkTakeToEndLocked(irp, LbkTimedOutStatus(ext)))
                    continue;
                if (LbkMajor(irp) == IRP_MJ_DEVICE_CONTROL) {
                    LbkFinishWaitLocked(ext, irp, TRUE, done);
                } else {
                    ext->TimedOutRequests++;
                    if (LbkMajor(irp) == IRP_MJ_WRITE)
                        unit->PumpDue = now; /* the timer thread pumps after this */
                    LbkFinishLocked(irp, LbkEarlyStatusLocked(ext, irp, LbkTimedOutStatus(ext)), done);
                }
            }
        }
    }
    return next;
}

/* LbkCompleteTransfer's work: the copy-out of a neither read, then the completion itself. */
NTSTATUS LbkFinishTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status)
{
    BOOLEAN transfer = LbkMajor(irp) == IRP_MJ_READ || LbkMajor(irp) == IRP_MJ_WRITE;
    PVOID bounce = transfer && ext->IoMethod == LBK_IO_NEITHER ? LBK_IRP_DATA(irp) : NULL;

    if (bounce != NULL && LbkReadDelivers(irp, status)) {
        if (status != STATUS_CANCELLED || KeGetCurrentIrql() <= APC_LEVEL) {
            NTSTATUS copyStatus = LbkCopyBounceToUser(ext, irp, irp->IoStatus.Information);

            if (!NT_SUCCESS(copyStatus))
                status = copyStatus;
        } else {
            /* Cancelled at DISPATCH_LEVEL without a work item to copy it: the bytes are lost,
               and counted as such, not reported. */
            KLOCK_QUEUE_HANDLE lockHandle;

            KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
            lbk_channel_count_lost(&ext->In->Data, irp->IoStatus.Information);
            KeReleaseInStackQueuedSpinLock(&lockHandle);
            irp->IoStatus.Information = 0;
        }
    }
    if (bounce != NULL) {
        irp->Tail.Overlay.DriverContext[0] = NULL;
        LbkGiveBackBounce(ext, bounce, LbkBounceBytes(ext, irp), LbkMajor(irp) == IRP_MJ_WRITE);
    }
    if (NT_ERROR(status) && status != STATUS_CANCELLED && status != STATUS_PIPE_DISCONNECTED)
        irp->IoStatus.Information = 0;
    irp->IoStatus.Status = status;
    LbkAssertReplyFits(irp);
    if (LBK_IRP_FLAGS(irp) & LBK_IRP_COUNTED)
        LbkUnholdIrp(ext, irp);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    LbkLeaveIo(ext, irp); /* the last touch of the device: REMOVE_DEVICE may be waiting for it */
    return status;
}

/*
 * Completes a request that the caller owns and that no queue holds, and returns its final status
 * (a neither read copied out by a work item completes there, a moment later). Not under the
 * lock: neither I/O may touch user memory here. IoStatus.Information holds the bytes
 * transferred; an error reports none, except cancellation and a disconnected peer, which report
 * what went through before.
 */
NTSTATUS LbkCompleteTransfer(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status)
{
    if (LbkCopyOutLater(ext, irp, status))
        return status;
    return LbkFinishTransfer(ext, irp, status);
}

/* Completes every IRP that a *Locked routine moved to done. Lock not held. */
VOID LbkCompleteList(PLIST_ENTRY done)
{
    while (!IsListEmpty(done)) {
        PIRP irp = CONTAINING_RECORD(RemoveHeadList(done), IRP, Tail.Overlay.ListEntry);

        LbkCompleteTransfer(LbkIrpDevice(irp), irp, irp->IoStatus.Status);
    }
}
