/*
 * dispatch.c - the IRP_MJ_* dispatch routines (kernel mode, PASSIVE_LEVEL, caller's context).
 * Each routine completes its IRP in one place at its end, unless the IRP was queued, in which
 * case it returns STATUS_PENDING and never touches the IRP again.
 */
#include "lbk_driver.h"

/* Completes an IRP that LbkEnterIo let in, and gives back its hold on the remove lock. */
static NTSTATUS LbkCompleteIrp(PLBK_DEVICE_EXTENSION ext, PIRP irp, NTSTATUS status, ULONG_PTR information)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    LbkAssertReplyFits(irp);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    LbkLeaveIo(ext, irp);
    return status;
}

NTSTATUS LbkRefuseIrp(PIRP irp, NTSTATUS status)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = 0;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

/*
 * The access the I/O manager granted the handle being created: what it checked against the
 * device's DACL (AccessState's PreviouslyGrantedAccess on Windows) with the desired access,
 * whose generic rights are mapped here in case the host left them unmapped. CREATE comes only
 * once the check passed, so the desired access was granted too.
 */
static ACCESS_MASK LbkGrantedAccess(PIO_STACK_LOCATION stack)
{
    PIO_SECURITY_CONTEXT security = stack->Parameters.Create.SecurityContext;
    ACCESS_MASK granted;

    /* Windows always says. Wine 8 never does (its CREATE carries no security context) and
       checks no DACL either: the driver cannot tell there, so it checks nothing more than Wine. */
    if (security == NULL)
        return FILE_ALL_ACCESS;
    granted = security->DesiredAccess & ~(ACCESS_MASK)MAXIMUM_ALLOWED;
    if (security->AccessState != NULL)
        granted |= security->AccessState->PreviouslyGrantedAccess;
    if (granted & (GENERIC_READ | GENERIC_ALL))
        granted |= FILE_GENERIC_READ;
    if (granted & (GENERIC_WRITE | GENERIC_ALL))
        granted |= FILE_GENERIC_WRITE;
    return granted;
}

_Use_decl_annotations_
NTSTATUS LbkDispatchCreate(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    PLBK_FILE_CONTEXT context;
    KLOCK_QUEUE_HANDLE lockHandle;
    LIST_ENTRY done;
    NTSTATUS status = STATUS_SUCCESS;
    ACCESS_MASK access;
    ULONG handles;

    status = LbkEnterIo(ext, irp);
    if (!NT_SUCCESS(status))
        return LbkRefuseIrp(irp, status);
    /* The device has no namespace: \\.\LBK\anything is not an object of ours. */
    if (stack->FileObject->FileName.Length != 0) {
        status = STATUS_OBJECT_NAME_NOT_FOUND;
        goto End;
    }
    /* Charged to the opener's quota: a process that opens handle after handle pays for them. */
    context = LbkAllocateCharged(sizeof(*context), LBK_TAG_FILE);
    if (context == NULL) {
        status = STATUS_QUOTA_EXCEEDED;
        goto End;
    }
    RtlZeroMemory(context, sizeof(*context));
    context->FileObject = stack->FileObject;
    access = LbkGrantedAccess(stack);
    context->CanRead = (access & FILE_READ_DATA) != 0;
    context->CanWrite = (access & (FILE_WRITE_DATA | FILE_APPEND_DATA)) != 0;
    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    /* A COM port is opened by one handle at a time, as serial.sys's are. */
    if (ext->IsSerial && ext->OpenHandles != 0) {
        KeReleaseInStackQueuedSpinLock(&lockHandle);
        LbkFree(context, LBK_TAG_FILE);
        status = STATUS_ACCESS_DENIED;
        goto End;
    }
    stack->FileObject->FsContext = context;
    InsertTailList(&ext->OpenFiles, &context->Link);
    handles = ++ext->OpenHandles;
    if (ext->IsSerial) {
        LBK_PUMP pump;

        LbkSerialOpenedLocked(ext); /* its DTR and RTS go up: the peer's DSR, DCD and CTS */
        LbkPumpInit(&pump, ext->Unit, &lockHandle, &done);
        LbkPumpLocked(&pump);
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(&done);
    LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: open, %lu handles\n", ext->Name, handles);
End:
    return LbkCompleteIrp(ext, irp, status, 0);
}

/*
 * Cancels what this handle still has queued (Windows sends CLEANUP when its last handle closes)
 * and, in the same hold of the lock, marks it cleaned up, so that a READ, WRITE or WAIT of it that
 * another CPU is dispatching now is refused instead of queued where no one could cancel it.
 */
static VOID LbkFlushFile(PLBK_DEVICE_EXTENSION ext, PFILE_OBJECT fileObject)
{
    PLBK_FILE_CONTEXT context = fileObject->FsContext;
    KLOCK_QUEUE_HANDLE lockHandle;
    LBK_PUMP pump;
    LIST_ENTRY done;

    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    if (context != NULL)
        context->CleanedUp = TRUE;
    LbkFlushLocked(ext, fileObject, STATUS_CANCELLED, &done);
    ext->Serial.ImmediatePending = FALSE; /* a TransmitCommChar byte of a port being closed */
    /* What waited behind the handle's writes (other writes, WAITs for room, FLUSHes) goes on. */
    LbkPumpInit(&pump, ext->Unit, &lockHandle, &done);
    LbkPumpLocked(&pump);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(&done);
}

_Use_decl_annotations_
NTSTATUS LbkDispatchCleanup(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);

    if (!NT_SUCCESS(LbkEnterIo(ext, irp)))
        return LbkRefuseIrp(irp, STATUS_SUCCESS); /* removed: the flush of the removal took its requests */
    LbkFlushFile(ext, IoGetCurrentIrpStackLocation(irp)->FileObject);
    return LbkCompleteIrp(ext, irp, STATUS_SUCCESS, 0);
}

/*
 * On Windows every IRP of the file object is done by now. Wine sends no CLEANUP and may send
 * CLOSE while IRPs of the handle are still queued, or claimed by another thread pumping the unit,
 * so CLOSE flushes again, and waits for those in flight, before it frees the handle's context,
 * which those IRPs would otherwise point at.
 */
_Use_decl_annotations_
NTSTATUS LbkDispatchClose(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    PFILE_OBJECT fileObject = IoGetCurrentIrpStackLocation(irp)->FileObject;
    PLBK_FILE_CONTEXT context = fileObject->FsContext;
    KLOCK_QUEUE_HANDLE lockHandle;
    LIST_ENTRY done;

    if (!NT_SUCCESS(LbkEnterIo(ext, irp)))
        return LbkRefuseIrp(irp, STATUS_SUCCESS); /* removed: the removal freed its context */
    LbkFlushFile(ext, fileObject);
    if (context != NULL) {
        InitializeListHead(&done);
        KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
        LbkWaitForRequestsLocked(ext, &lockHandle, fileObject, STATUS_CANCELLED, &done);
        RemoveEntryList(&context->Link);
        /* The last handle of one end changes what the other end's writes and waits see. */
        if (--ext->OpenHandles == 0) {
            LBK_PUMP pump;

            LbkPeerClosedLocked(ext, &done);
            LbkPumpInit(&pump, ext->Unit, &lockHandle, &done);
            LbkPumpLocked(&pump);
        }
        KeReleaseInStackQueuedSpinLock(&lockHandle);
        LbkCompleteList(&done);
        fileObject->FsContext = NULL;
        LbkFree(context, LBK_TAG_FILE);
    }
    LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: close\n", ext->Name); /* no kernel addresses in the log */
    return LbkCompleteIrp(ext, irp, STATUS_SUCCESS, 0);
}

/*
 * What a WRITE or WRITE_ATOMIC does while the other end of a pair has no handle open. Returns
 * TRUE when that decides the request, with *status and *information set. Lock held.
 */
static BOOLEAN LbkPeerClosedWriteLocked(PLBK_DEVICE_EXTENSION ext, PLBK_FILE_CONTEXT context, ULONG length,
                                        NTSTATUS *status, PULONG_PTR information)
{
    if (!LbkPeerGoneLocked(ext))
        return FALSE;
    switch (ext->WhenPeerClosed) {
    case LBK_PEER_CLOSED_FAIL:
        *status = STATUS_PIPE_DISCONNECTED;
        return TRUE;
    case LBK_PEER_CLOSED_DISCARD:
        ext->BytesDiscarded += length;
        context->BytesIn += length;
        *information = length;
        *status = STATUS_SUCCESS;
        return TRUE;
    case LBK_PEER_CLOSED_PEND:
    default:
        return FALSE;
    }
}

/*
 * READ and WRITE share one shape: count the request, complete zero lengths at once, find the
 * data, then under the lock queue it and let the pump serve whoever can be served. If the pump
 * did not finish it, it waits (or, on a non-blocking handle, ends now).
 */
static NTSTATUS LbkDispatchTransfer(PDEVICE_OBJECT deviceObject, PIRP irp, BOOLEAN isWrite)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    ULONG length = isWrite ? stack->Parameters.Write.Length : stack->Parameters.Read.Length;
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    PLBK_QUEUE queue = isWrite ? &ext->Out->Writes : &ext->In->Reads;
    KLOCK_QUEUE_HANDLE lockHandle;
    LBK_PUMP pump;
    LIST_ENTRY done;
    NTSTATUS status = STATUS_SUCCESS;
    BOOLEAN pending = FALSE;
    ULONG flags = 0, timeout = 0;

    status = LbkEnterIo(ext, irp);
    if (status == STATUS_PENDING)
        return status; /* held during a Plug and Play stop */
    if (!NT_SUCCESS(status))
        return LbkRefuseIrp(irp, status);
    InitializeListHead(&done);
    irp->IoStatus.Information = 0;
    irp->Tail.Overlay.DriverContext[0] = NULL;
    irp->Tail.Overlay.DriverContext[2] = NULL;
    irp->Tail.Overlay.DriverContext[3] = NULL;
    /* Before LbkPrepareTransfer: it sizes a neither read's bounce by LbkTransferLength, which
       reads LBK_IRP_FILL, so the IRP's flags must be final by then. */
    if (context != NULL) {
        lbk_handle_options options;
        struct lbk_serial_timeouts serialTimeouts;

        /* The handle's options and a serial end's COMMTIMEOUTS change under the unit lock: copied
           under it, a request racing SET_HANDLE_OPTIONS or SetCommTimeouts gets the old setting
           or the new, never a mix of their fields. */
        KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
        options = context->Options;
        if (ext->IsSerial)
            serialTimeouts = ext->Serial.Settings.timeouts;
        KeReleaseInStackQueuedSpinLock(&lockHandle);
        flags = (options.flags & LBK_HANDLE_NONBLOCKING) ? LBK_IRP_NONBLOCKING : 0;
        timeout = isWrite ? options.write_timeout_ms : options.read_timeout_ms;
        /* A serial end's requests time out by its COMMTIMEOUTS, not by the handle's options. */
        if (ext->IsSerial)
            LbkSerialPrepareTransfer(irp, length, &serialTimeouts, &flags, &timeout);
    }
    LbkSetIrpContext1(irp, 0, flags);
    if (context == NULL) {
        status = STATUS_INVALID_DEVICE_STATE; /* its CREATE failed; Wine opened it anyway */
    } else if (isWrite && length > lbk_channel_max_message(&ext->Out->Data)) {
        /* Before anything is allocated for it; checked again under the lock, as the mode may change. */
        status = STATUS_INVALID_BUFFER_SIZE;
    } else if (length != 0) {
        status = LbkPrepareTransfer(ext, irp, length, isWrite);
    }

    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    if (isWrite)
        ext->WriteRequests++;
    else
        ext->ReadRequests++;
    if (NT_SUCCESS(status) && context != NULL)
        status = LbkRefusedLocked(ext, context);
    if (NT_SUCCESS(status) && length != 0) {
        if (isWrite && ext->IsSerial)
            ext->Serial.TxBusy = TRUE; /* EV_TXEMPTY once no write is left */
        if (isWrite && length > lbk_channel_max_message(&ext->Out->Data)) {
            status = STATUS_INVALID_BUFFER_SIZE;
        } else if (!isWrite ||
                   !LbkPeerClosedWriteLocked(ext, context, length, &status, &irp->IoStatus.Information)) {
            if (isWrite)
                LbkNumberWriteLocked(ext->Out, irp);
            LbkPumpInit(&pump, ext->Unit, &lockHandle, &done);
            status = LbkSubmitLocked(&pump, queue, irp, timeout, &pending);
        }
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);

    LbkCompleteList(&done);
    if (pending) {
        if (pump.FreshDeadline != 0)
            LbkTimerWake();
        return STATUS_PENDING;
    }
    return LbkCompleteTransfer(ext, irp, status);
}

_Use_decl_annotations_
NTSTATUS LbkDispatchRead(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    return LbkDispatchTransfer(deviceObject, irp, FALSE);
}

_Use_decl_annotations_
NTSTATUS LbkDispatchWrite(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    return LbkDispatchTransfer(deviceObject, irp, TRUE);
}

/*
 * FlushFileBuffers: done once every WRITE that came to the device before it has completed (its
 * bytes are in the reader's buffer, or the write ended otherwise), as a port's flush is done once
 * what was written before it has gone out. Waits, cancellable, while some of them wait; the
 * writes that come after it do not hold it.
 */
_Use_decl_annotations_
NTSTATUS LbkDispatchFlush(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status = LbkEnterIo(ext, irp);
    BOOLEAN queued = FALSE;

    if (status == STATUS_PENDING)
        return status; /* held during a Plug and Play stop */
    if (!NT_SUCCESS(status))
        return LbkRefuseIrp(irp, status);
    if (context == NULL)
        return LbkCompleteIrp(ext, irp, STATUS_INVALID_DEVICE_STATE, 0);
    /* Windows' I/O manager asks for write access already; Wine does not (docs/driver.md). */
    if (!context->CanWrite)
        return LbkCompleteIrp(ext, irp, STATUS_ACCESS_DENIED, 0);
    irp->IoStatus.Information = 0;
    irp->Tail.Overlay.DriverContext[0] = NULL;
    LbkSetIrpContext1(irp, 0, 0);
    irp->Tail.Overlay.DriverContext[2] = NULL;
    irp->Tail.Overlay.DriverContext[3] = NULL;
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    status = LbkRefusedLocked(ext, context);
    /* While another thread pumps, a message write it has claimed is on no queue: the FLUSH waits,
       and that pump's end decides (LbkEndFlushesLocked). */
    if (NT_SUCCESS(status) &&
        (ext->Unit->Pumping || ext->Serial.ImmediatePending || LbkWritesWaitUpToLocked(ext->Out, ext->Out->WriteSequence)) &&
        NT_SUCCESS(status = LbkAdmitLocked(irp))) {
        stack->Parameters.Others.Argument1 = (PVOID)(ULONG_PTR)ext->Out->WriteSequence;
        LbkInsertLocked(&ext->Flushes, irp);
        queued = LbkArmLocked(irp, 0);
        if (queued)
            LbkHoldLocked(irp);
        else
            status = STATUS_CANCELLED;
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    if (queued)
        return STATUS_PENDING;
    return LbkCompleteIrp(ext, irp, status, 0);
}

static ULONG LbkStateLocked(PLBK_DEVICE_EXTENSION ext)
{
    ULONG state = 0;

    if (ext->In->Data.message_mode)
        state |= LBK_STATE_MESSAGE_MODE;
    if (ext->Role != LBK_ROLE_LOOPBACK)
        state |= LBK_STATE_PAIRED;
    if (ext->Peer->OpenHandles != 0)
        state |= LBK_STATE_PEER_OPEN;
    if (ext->IsSerial)
        state |= LBK_STATE_SERIAL;
    return state;
}

static NTSTATUS LbkGetStats(PLBK_DEVICE_EXTENSION ext, PIRP irp, PULONG_PTR information)
{
    lbk_stats *stats = irp->AssociatedIrp.SystemBuffer;
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    const lbk_channel_t *in = &ext->In->Data;
    KLOCK_QUEUE_HANDLE lockHandle;

    RtlZeroMemory(stats, sizeof(*stats));
    stats->struct_size = sizeof(*stats);
    stats->io_method = (lbk_u32)ext->IoMethod;
    stats->pool_bytes = LbkPoolBytesOutstanding();
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    stats->capacity = lbk_channel_capacity(in);
    stats->bytes_queued = lbk_channel_queued(in);
    stats->bytes_in = ext->Out->Data.bytes_in;
    stats->bytes_out = in->bytes_out;
    stats->bytes_purged = in->bytes_purged;
    stats->bytes_direct = in->bytes_direct;
    stats->bytes_discarded = ext->BytesDiscarded;
    stats->peer_bytes_queued = lbk_channel_queued(&ext->Out->Data);
    stats->write_requests = ext->WriteRequests;
    stats->read_requests = ext->ReadRequests;
    stats->cancelled_requests = ext->CancelledRequests;
    stats->timed_out_requests = ext->TimedOutRequests;
    stats->pending_reads = ext->In->Reads.Count;
    stats->pending_writes = ext->Out->Writes.Count;
    stats->pending_waits = ext->Waits.Count;
    stats->open_handles = ext->OpenHandles;
    stats->state = LbkStateLocked(ext);
    stats->max_locked_copy = ext->Unit->MaxLockedCopy;
    if (context != NULL) {
        stats->handle_bytes_in = context->BytesIn;
        stats->handle_bytes_out = context->BytesOut;
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    *information = sizeof(*stats);
    return STATUS_SUCCESS;
}

static NTSTATUS LbkPurge(PLBK_DEVICE_EXTENSION ext, PIRP irp, ULONG outputLength, PULONG_PTR information)
{
    lbk_purge_result *result = irp->AssociatedIrp.SystemBuffer;
    KLOCK_QUEUE_HANDLE lockHandle;
    LBK_PUMP pump;
    LIST_ENTRY done;
    SIZE_T purged;

    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    purged = lbk_channel_purge(&ext->In->Data);
    LbkPumpInit(&pump, ext->Unit, &lockHandle, &done);
    LbkPumpLocked(&pump);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(&done);

    LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: purged %Iu bytes\n", ext->Name, purged);
    if (outputLength != 0) {
        result->bytes_purged = purged;
        *information = sizeof(*result);
    }
    return STATUS_SUCCESS;
}

/* The system address of a METHOD_*_DIRECT IOCTL's second buffer; NULL when it has none. */
static PUCHAR LbkDirectBuffer(PIRP irp)
{
    if (irp->MdlAddress == NULL)
        return NULL;
    return MmGetSystemAddressForMdlSafe(irp->MdlAddress, NormalPagePriority | MdlMappingNoExecute);
}

/* PEEK, served by the pump: copies in pieces what a read would take now, consuming nothing. */
static VOID LbkPeekLocked(PLBK_PUMP pump, PLBK_DEVICE_EXTENSION ext, PIRP irp, ULONG outputLength)
{
    lbk_ring_t view;
    SIZE_T n = lbk_channel_peek_start(&ext->In->Data, outputLength, &view);
    SIZE_T copied = 0;

    /* Only the pumping thread writes to the channel, so the viewed bytes stay as they are. */
    while (copied < n)
        copied += lbk_ring_read(&view, LBK_IRP_DATA(irp) + copied, LbkPieceLocked(pump, n - copied));
    irp->IoStatus.Information = n;
}

/* WRITE_ATOMIC, served by the pump: all of it now, in pieces no reader sees apart, or nothing. */
static NTSTATUS LbkWriteAtomicLocked(PLBK_PUMP pump, PLBK_DEVICE_EXTENSION ext, PIRP irp, ULONG length)
{
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    lbk_channel_t *out = &ext->Out->Data;
    NTSTATUS status = STATUS_SUCCESS;
    ULONG events = 0;
    SIZE_T put = 0;

    if (length > lbk_channel_max_message(out))
        return STATUS_INVALID_BUFFER_SIZE;
    if (LbkPeerClosedWriteLocked(ext, context, length, &status, &irp->IoStatus.Information))
        return status;
    if (!IsListEmpty(&ext->Out->Writes.Irps) || lbk_channel_room(out) < length)
        return STATUS_DEVICE_BUSY;
    /* Opened, put in pieces and closed: readers, PEEK and PURGE see all of it or none. */
    lbk_channel_open(out, length);
    while (put < length) {
        SIZE_T piece = lbk_channel_put(out, LBK_IRP_DATA(irp) + put, LbkPieceLocked(pump, length - put));

        /* A serial reader's scan for its event character, piece by piece too. Posted only once
           the bytes are readable: a WaitCommEvent woken between pieces would find nothing to
           read, and wait again for an event already taken. */
        events |= LbkSerialReceivedEventsLocked(ext->Out, LBK_IRP_DATA(irp) + put, piece);
        put += piece;
    }
    lbk_channel_close(out);
    LbkSerialPostReceivedLocked(ext->Out, events);
    context->BytesIn += length;
    irp->IoStatus.Information = length;
    return STATUS_SUCCESS;
}

VOID LbkServeControlLocked(PLBK_PUMP pump, PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    PLBK_DEVICE_EXTENSION ext = LbkExtension(stack->DeviceObject);
    ULONG outputLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    NTSTATUS status = STATUS_SUCCESS;

    if (stack->Parameters.DeviceIoControl.IoControlCode == IOCTL_LBK_PEEK)
        LbkPeekLocked(pump, ext, irp, outputLength);
    else
        status = LbkWriteAtomicLocked(pump, ext, irp, outputLength);
    irp->IoStatus.Status = status;
    InsertTailList(pump->Done, &irp->Tail.Overlay.ListEntry);
}

/*
 * PEEK and WRITE_ATOMIC copy up to the buffer size, so they are served by the pump, which
 * bounds the copying per lock hold. Returns with *pending TRUE when the pump could not serve the
 * request at once (another thread is pumping the unit): it is then pending.
 */
static NTSTATUS LbkSubmitControl(PLBK_DEVICE_EXTENSION ext, PIRP irp, ULONG outputLength, BOOLEAN *pending)
{
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status = STATUS_SUCCESS;
    LBK_PUMP pump;
    LIST_ENTRY done;
    PUCHAR buffer;

    irp->IoStatus.Information = 0;
    if (outputLength == 0)
        return STATUS_SUCCESS;
    if (context == NULL)
        return STATUS_INVALID_DEVICE_STATE;
    buffer = LbkDirectBuffer(irp);
    if (buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    irp->Tail.Overlay.DriverContext[0] = buffer;
    irp->Tail.Overlay.DriverContext[2] = NULL;
    irp->Tail.Overlay.DriverContext[3] = NULL;
    LbkSetIrpContext1(irp, 0, 0);
    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    status = LbkRefusedLocked(ext, context);
    if (NT_SUCCESS(status)) {
        LbkPumpInit(&pump, ext->Unit, &lockHandle, &done);
        status = LbkSubmitLocked(&pump, &ext->Unit->Controls, irp, 0, pending);
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(&done);
    return status;
}

/* A device name up to its terminator, into a zeroed array of the contract's size. */
static VOID LbkCopyName(lbk_u16 destination[LBK_MAX_NAME_CHARS + 1], const WCHAR *name)
{
    ULONG i;

    for (i = 0; i < LBK_MAX_NAME_CHARS && name[i] != L'\0'; i++)
        destination[i] = name[i];
}

/* METHOD_NEITHER: the output pointer is the caller's own, valid only in this context. */
static NTSTATUS LbkGetInfo(PLBK_DEVICE_EXTENSION ext, PIRP irp, PULONG_PTR information)
{
    PVOID userBuffer = irp->UserBuffer;
    NTSTATUS status = STATUS_SUCCESS;
    KLOCK_QUEUE_HANDLE lockHandle;
    lbk_device_info info;

    RtlZeroMemory(&info, sizeof(info));
    info.struct_size = sizeof(info);
    info.protocol_version = LBK_PROTOCOL_VERSION;
    info.io_method = (lbk_u32)ext->IoMethod;
    info.capacity = (lbk_u32)lbk_channel_capacity(&ext->In->Data);
    /* Up to the terminator only: the rest of info, zeroed above, is all the caller sees. */
    LbkCopyName(info.name, ext->Name);
    LbkCopyName(info.peer_name, ext->Peer->Name);
    info.role = (lbk_u32)ext->Role;
    info.unit = ext->Unit->Index;
    info.unit_count = LbkUnitCount;
    info.when_peer_closed = (lbk_u32)ext->WhenPeerClosed;
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    info.state = LbkStateLocked(ext);
    info.max_message = (lbk_u32)min(lbk_channel_max_message(&ext->Out->Data), (SIZE_T)MAXULONG);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    __try {
        if (irp->RequestorMode != KernelMode)
            ProbeForWrite(userBuffer, sizeof(info), sizeof(lbk_u32));
        LbkCopyUserMemory(userBuffer, &info, sizeof(info));
        *information = sizeof(info);
    } __except (status = GetExceptionCode(), EXCEPTION_EXECUTE_HANDLER) {
        LbkTrace(LBK_TRACE_WARNING, "lbk: GET_INFO to a bad user buffer: 0x%08x\n", status);
    }
    return status;
}

static NTSTATUS LbkHandleOptions(PLBK_DEVICE_EXTENSION ext, PIRP irp, BOOLEAN set, PULONG_PTR information)
{
    lbk_handle_options *options = irp->AssociatedIrp.SystemBuffer;
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    KLOCK_QUEUE_HANDLE lockHandle;

    if (context == NULL)
        return STATUS_INVALID_DEVICE_STATE;
    if (set && ((options->flags & ~LBK_HANDLE_VALID_FLAGS) != 0 || options->reserved != 0))
        return STATUS_INVALID_PARAMETER;
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    if (set)
        context->Options = *options;
    else
        *options = context->Options;
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    *information = set ? 0 : sizeof(*options);
    return STATUS_SUCCESS;
}

/* Both directions of a unit change together, and only while none has anything in flight. */
static NTSTATUS LbkSetMessageMode(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    lbk_u32 mode = *(const lbk_u32 *)irp->AssociatedIrp.SystemBuffer;
    PLBK_UNIT unit = ext->Unit;
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status = STATUS_SUCCESS;
    ULONG i;

    if (mode > 1)
        return STATUS_INVALID_PARAMETER;
    if (ext->IsSerial && mode != 0)
        return STATUS_INVALID_DEVICE_REQUEST; /* a serial line carries bytes, not messages */
    KeAcquireInStackQueuedSpinLock(&unit->Lock, &lockHandle);
    /* Not while another thread pumps the unit: what it has claimed is on no queue. */
    if (unit->Pumping)
        status = STATUS_DEVICE_BUSY;
    for (i = 0; i < unit->ChannelCount; i++) {
        if (lbk_ring_count(&unit->Channels[i].Data.ring) != 0 || unit->Channels[i].Writes.Count != 0)
            status = STATUS_DEVICE_BUSY;
    }
    for (i = 0; i < unit->ChannelCount && NT_SUCCESS(status); i++)
        lbk_channel_set_message_mode(&unit->Channels[i].Data, (int)mode);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkTrace(LBK_TRACE_INFO, "lbk: %ls: %s mode: 0x%08x\n", ext->Name, mode ? "message" : "byte-stream", status);
    return status;
}

/*
 * The inverted call: completes now if a requested event holds (or the handle is non-blocking),
 * else waits on ext->Waits until the pump sees one, its timeout passes, or it is cancelled.
 */
static NTSTATUS LbkWait(PLBK_DEVICE_EXTENSION ext, PIRP irp, PULONG_PTR information, BOOLEAN *queued)
{
    lbk_wait_request request = *(const lbk_wait_request *)irp->AssociatedIrp.SystemBuffer;
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    lbk_wait_result result;
    KLOCK_QUEUE_HANDLE lockHandle;
    LONGLONG deadline;
    NTSTATUS status = STATUS_SUCCESS;

    if (context == NULL)
        return STATUS_INVALID_DEVICE_STATE;
    if (request.events == 0 || (request.events & ~LBK_EVENT_VALID) != 0 || request.reserved != 0)
        return STATUS_INVALID_PARAMETER;
    deadline = LbkDeadline(request.timeout_ms);
    irp->IoStatus.Information = 0;
    LbkSetIrpContext1(irp, 0, 0);
    irp->Tail.Overlay.DriverContext[2] = NULL;
    KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
    status = LbkRefusedLocked(ext, context); /* as for READ and WRITE: nothing queued past CLEANUP */
    if (!NT_SUCCESS(status)) {
        /* refused; nothing else to decide */
    } else if (request.min_room > lbk_channel_max_message(&ext->Out->Data) ||
               request.min_room > lbk_channel_capacity(&ext->Out->Data)) {
        status = STATUS_INVALID_PARAMETER; /* room that could never come */
    } else if (LbkReadyEventsLocked(ext, request.events, request.min_room, &result) != 0 ||
               (context->Options.flags & LBK_HANDLE_NONBLOCKING)) {
        /* The same buffer holds the request, which a queued WAIT still needs: write it only now. */
        *(lbk_wait_result *)irp->AssociatedIrp.SystemBuffer = result;
        *information = sizeof(result);
    } else if (NT_SUCCESS(status = LbkAdmitLocked(irp))) {
        LbkInsertLocked(&ext->Waits, irp);
        *queued = LbkArmLocked(irp, deadline);
        if (*queued)
            LbkHoldLocked(irp);
        else
            status = STATUS_CANCELLED;
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    if (*queued && deadline != 0)
        LbkTimerWake();
    return status;
}

_Use_decl_annotations_
NTSTATUS LbkDispatchDeviceControl(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
    ULONG outputLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG_PTR information = 0;
    BOOLEAN queued = FALSE;
    NTSTATUS status = LbkEnterIo(ext, irp);

    if (status == STATUS_PENDING)
        return status; /* held during a Plug and Play stop */
    if (!NT_SUCCESS(status))
        return LbkRefuseIrp(irp, status);
    /* The Win32 communications API's requests, on a serial end only (serial.c). */
    if ((code >> 16) == LBK_SERIAL_DEVICE_TYPE && ext->IsSerial) {
        status = LbkSerialControl(ext, irp, &information, &queued);
        if (queued)
            return STATUS_PENDING;
        return LbkCompleteIrp(ext, irp, status, information);
    }
    /* Lengths first, by the contract's one table; the handlers below can trust them. */
    switch (lbk_control_check(code, stack->Parameters.DeviceIoControl.InputBufferLength, outputLength,
                              lbk_channel_capacity(&ext->Out->Data))) {
    case LBK_CONTROL_OK:
        break;
    case LBK_CONTROL_BUFFER_TOO_SMALL:
        return LbkCompleteIrp(ext, irp, STATUS_BUFFER_TOO_SMALL, 0);
    case LBK_CONTROL_INVALID_PARAMETER:
        return LbkCompleteIrp(ext, irp, STATUS_INVALID_PARAMETER, 0);
    case LBK_CONTROL_UNKNOWN_CODE:
    default:
        LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: unknown IOCTL 0x%08lx\n", ext->Name, code);
        return LbkCompleteIrp(ext, irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }

    switch (code) {
    case IOCTL_LBK_GET_STATS:
        status = LbkGetStats(ext, irp, &information);
        break;
    case IOCTL_LBK_PURGE:
        status = LbkPurge(ext, irp, outputLength, &information);
        break;
    case IOCTL_LBK_PEEK:
    case IOCTL_LBK_WRITE_ATOMIC:
        status = LbkSubmitControl(ext, irp, outputLength, &queued);
        if (queued)
            return STATUS_PENDING;
        information = irp->IoStatus.Information;
        break;
    case IOCTL_LBK_GET_INFO:
        status = LbkGetInfo(ext, irp, &information);
        break;
    case IOCTL_LBK_GET_HANDLE_OPTIONS:
    case IOCTL_LBK_SET_HANDLE_OPTIONS:
        status = LbkHandleOptions(ext, irp, code == IOCTL_LBK_SET_HANDLE_OPTIONS, &information);
        break;
    case IOCTL_LBK_SET_MESSAGE_MODE:
        status = LbkSetMessageMode(ext, irp);
        break;
    case IOCTL_LBK_WAIT:
        status = LbkWait(ext, irp, &information, &queued);
        if (queued)
            return STATUS_PENDING;
        break;
    case IOCTL_LBK_NOP:
        status = STATUS_SUCCESS;
        break;
    case IOCTL_LBK_ECHO:
        /* The input is already where the I/O manager copies the output from. */
        information = min(stack->Parameters.DeviceIoControl.InputBufferLength, outputLength);
        status = STATUS_SUCCESS;
        break;
    default: /* lbk_control_check knows no other code */
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    return LbkCompleteIrp(ext, irp, status, information);
}

/*
 * PnP, power and WMI IRPs carry a status set by whoever sent them (STATUS_NOT_SUPPORTED for PnP),
 * which a driver that does not handle them must leave as it is; Driver Verifier flags a driver
 * that changes it. A legacy device is the bottom of its stack, so it completes them (pnp.c
 * passes those of a Plug and Play device down).
 */
_Use_decl_annotations_
NTSTATUS LbkDispatchKeepStatus(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    NTSTATUS status = irp->IoStatus.Status;

    UNREFERENCED_PARAMETER(deviceObject);
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

_Use_decl_annotations_
NTSTATUS LbkDispatchUnsupported(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    UNREFERENCED_PARAMETER(deviceObject);
    return LbkRefuseIrp(irp, STATUS_INVALID_DEVICE_REQUEST);
}
