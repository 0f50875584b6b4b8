/*
 * dispatch.c - the IRP_MJ_* dispatch routines (kernel mode, PASSIVE_LEVEL, caller's context).
 * Each routine completes its IRP in one place at its end, unless the IRP was queued, in which
 * case it returns STATUS_PENDING and never touches the IRP again.
 */
#include "lbk_driver.h"

static NTSTATUS LbkCompleteIrp(PIRP irp, NTSTATUS status, ULONG_PTR information)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

_Use_decl_annotations_
NTSTATUS LbkDispatchCreate(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = deviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    PLBK_FILE_CONTEXT context;
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status = STATUS_SUCCESS;

    /* The device has no namespace: \\.\LBK\anything is not an object of ours. */
    if (stack->FileObject->FileName.Length != 0) {
        status = STATUS_OBJECT_NAME_NOT_FOUND;
        goto End;
    }
    context = LbkAllocate(sizeof(*context), LBK_TAG_FILE);
    if (context == NULL) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto End;
    }
    context->FileObject = stack->FileObject;
    stack->FileObject->FsContext = context;
    KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
    InsertTailList(&ext->OpenFiles, &context->Link);
    ext->OpenHandles++;
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: open %p\n", ext->Name, stack->FileObject);
End:
    return LbkCompleteIrp(irp, status, 0);
}

/* Cancels what this handle still has queued (Windows sends CLEANUP when its last handle closes). */
static VOID LbkFlushFile(PLBK_DEVICE_EXTENSION ext, PFILE_OBJECT fileObject)
{
    KLOCK_QUEUE_HANDLE lockHandle;
    LIST_ENTRY done;

    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
    LbkFlushLocked(ext, fileObject, STATUS_CANCELLED, &done);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(ext, &done);
}

_Use_decl_annotations_
NTSTATUS LbkDispatchCleanup(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    LbkFlushFile(deviceObject->DeviceExtension, IoGetCurrentIrpStackLocation(irp)->FileObject);
    return LbkCompleteIrp(irp, STATUS_SUCCESS, 0);
}

/*
 * On Windows every IRP of the file object is done by now. Wine sends no CLEANUP and may send
 * CLOSE while IRPs of the handle are still queued, so CLOSE flushes again before it frees the
 * handle's context, which those IRPs would otherwise point at.
 */
_Use_decl_annotations_
NTSTATUS LbkDispatchClose(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = deviceObject->DeviceExtension;
    PFILE_OBJECT fileObject = IoGetCurrentIrpStackLocation(irp)->FileObject;
    PLBK_FILE_CONTEXT context = fileObject->FsContext;
    KLOCK_QUEUE_HANDLE lockHandle;

    LbkFlushFile(ext, fileObject);
    if (context != NULL) {
        KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
        RemoveEntryList(&context->Link);
        ext->OpenHandles--;
        KeReleaseInStackQueuedSpinLock(&lockHandle);
        fileObject->FsContext = NULL;
        LbkFree(context, LBK_TAG_FILE);
    }
    LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: close %p\n", ext->Name, fileObject);
    return LbkCompleteIrp(irp, STATUS_SUCCESS, 0);
}

/*
 * READ and WRITE share one shape: count the request, complete zero lengths at once, find the
 * data, then under the lock either finish now or queue, and let the pump serve whoever waits.
 */
static NTSTATUS LbkDispatchTransfer(PDEVICE_OBJECT deviceObject, PIRP irp, BOOLEAN isWrite)
{
    PLBK_DEVICE_EXTENSION ext = deviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    ULONG length = isWrite ? stack->Parameters.Write.Length : stack->Parameters.Read.Length;
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    KLOCK_QUEUE_HANDLE lockHandle;
    LIST_ENTRY done;
    NTSTATUS status = STATUS_SUCCESS;
    BOOLEAN queued = FALSE;

    InitializeListHead(&done);
    irp->IoStatus.Information = 0;
    irp->Tail.Overlay.DriverContext[1] = NULL;
    if (context == NULL) {
        status = STATUS_INVALID_DEVICE_STATE; /* its CREATE failed; Wine opened it anyway */
    } else if (length != 0) {
        status = LbkPrepareTransfer(ext, irp, length, isWrite);
    }

    KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
    if (isWrite)
        ext->WriteRequests++;
    else
        ext->ReadRequests++;
    if (NT_SUCCESS(status) && length != 0) {
        BOOLEAN mustWait = TRUE;

        if (isWrite && IsListEmpty(&ext->PendingWrites)) {
            SIZE_T n = lbk_ring_write(&ext->Ring, LBK_IRP_DATA(irp), length);

            irp->IoStatus.Information = n;
            context->BytesIn += n;
            mustWait = n < length;
        } else if (!isWrite && lbk_ring_count(&ext->Ring) != 0) {
            SIZE_T n = lbk_ring_read(&ext->Ring, LBK_IRP_DATA(irp), LbkTransferLength(ext, irp));

            irp->IoStatus.Information = n;
            context->BytesOut += n;
            mustWait = FALSE;
        }
        if (mustWait) {
            queued = LbkEnqueueLocked(ext, irp);
            if (!queued)
                status = STATUS_CANCELLED;
        }
        LbkPumpLocked(ext, &done);
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);

    LbkCompleteList(ext, &done);
    if (queued)
        return STATUS_PENDING;
    LbkCompleteTransfer(ext, irp, status);
    return status;
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

static NTSTATUS LbkGetStats(PLBK_DEVICE_EXTENSION ext, PIRP irp, PULONG_PTR information)
{
    lbk_stats *stats = irp->AssociatedIrp.SystemBuffer;
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    KLOCK_QUEUE_HANDLE lockHandle;

    RtlZeroMemory(stats, sizeof(*stats));
    stats->struct_size = sizeof(*stats);
    stats->io_method = (lbk_u32)ext->IoMethod;
    stats->pool_bytes = LbkPoolBytesOutstanding();
    KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
    stats->capacity = ext->Ring.capacity;
    stats->bytes_queued = lbk_ring_count(&ext->Ring);
    stats->bytes_in = ext->Ring.bytes_in;
    stats->bytes_out = ext->Ring.bytes_out - ext->BytesDropped;
    stats->bytes_purged = ext->Ring.bytes_purged + ext->BytesDropped;
    stats->write_requests = ext->WriteRequests;
    stats->read_requests = ext->ReadRequests;
    stats->cancelled_requests = ext->CancelledRequests;
    stats->pending_reads = ext->PendingReadCount;
    stats->pending_writes = ext->PendingWriteCount;
    stats->open_handles = ext->OpenHandles;
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
    LIST_ENTRY done;
    SIZE_T purged;

    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
    purged = lbk_ring_purge(&ext->Ring);
    LbkPumpLocked(ext, &done);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(ext, &done);

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

static NTSTATUS LbkPeek(PLBK_DEVICE_EXTENSION ext, PIRP irp, ULONG outputLength, PULONG_PTR information)
{
    KLOCK_QUEUE_HANDLE lockHandle;
    PUCHAR buffer;

    if (outputLength == 0)
        return STATUS_SUCCESS;
    buffer = LbkDirectBuffer(irp);
    if (buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
    *information = lbk_ring_peek(&ext->Ring, buffer, outputLength);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    return STATUS_SUCCESS;
}

static NTSTATUS LbkWriteAtomic(PLBK_DEVICE_EXTENSION ext, PIRP irp, ULONG length, PULONG_PTR information)
{
    PLBK_FILE_CONTEXT context = LbkFileContext(irp);
    KLOCK_QUEUE_HANDLE lockHandle;
    NTSTATUS status = STATUS_SUCCESS;
    LIST_ENTRY done;
    PUCHAR buffer;

    if (length == 0)
        return STATUS_SUCCESS;
    if (context == NULL)
        return STATUS_INVALID_DEVICE_STATE;
    buffer = LbkDirectBuffer(irp);
    if (buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
    if (!IsListEmpty(&ext->PendingWrites) || lbk_ring_room(&ext->Ring) < length) {
        status = STATUS_DEVICE_BUSY;
    } else {
        *information = lbk_ring_write(&ext->Ring, buffer, length);
        context->BytesIn += length;
        LbkPumpLocked(ext, &done);
    }
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(ext, &done);
    return status;
}

/* METHOD_NEITHER: the output pointer is the caller's own, valid only in this context. */
static NTSTATUS LbkGetInfo(PLBK_DEVICE_EXTENSION ext, PIRP irp, PULONG_PTR information)
{
    PVOID userBuffer = irp->UserBuffer;
    NTSTATUS status = STATUS_SUCCESS;
    lbk_device_info info;

    RtlZeroMemory(&info, sizeof(info));
    info.struct_size = sizeof(info);
    info.protocol_version = LBK_PROTOCOL_VERSION;
    info.io_method = (lbk_u32)ext->IoMethod;
    info.capacity = (lbk_u32)ext->Ring.capacity;
    RtlCopyMemory(info.name, ext->Name, sizeof(ext->Name));
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

_Use_decl_annotations_
NTSTATUS LbkDispatchDeviceControl(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = deviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
    ULONG outputLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    ULONG_PTR information = 0;
    NTSTATUS status;

    /* Lengths first, by the contract's one table; the handlers below can trust them. */
    switch (lbk_control_check(code, stack->Parameters.DeviceIoControl.InputBufferLength, outputLength,
                              ext->Ring.capacity)) {
    case LBK_CONTROL_OK:
        break;
    case LBK_CONTROL_BUFFER_TOO_SMALL:
        return LbkCompleteIrp(irp, STATUS_BUFFER_TOO_SMALL, 0);
    case LBK_CONTROL_INVALID_PARAMETER:
        return LbkCompleteIrp(irp, STATUS_INVALID_PARAMETER, 0);
    case LBK_CONTROL_UNKNOWN_CODE:
    default:
        LbkTrace(LBK_TRACE_VERBOSE, "lbk: %ls: unknown IOCTL 0x%08lx\n", ext->Name, code);
        return LbkCompleteIrp(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }

    switch (code) {
    case IOCTL_LBK_GET_STATS:
        status = LbkGetStats(ext, irp, &information);
        break;
    case IOCTL_LBK_PURGE:
        status = LbkPurge(ext, irp, outputLength, &information);
        break;
    case IOCTL_LBK_PEEK:
        status = LbkPeek(ext, irp, outputLength, &information);
        break;
    case IOCTL_LBK_WRITE_ATOMIC:
        status = LbkWriteAtomic(ext, irp, outputLength, &information);
        break;
    case IOCTL_LBK_GET_INFO:
        status = LbkGetInfo(ext, irp, &information);
        break;
    default: /* lbk_control_check knows no other code */
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    return LbkCompleteIrp(irp, status, information);
}

_Use_decl_annotations_
NTSTATUS LbkDispatchUnsupported(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    UNREFERENCED_PARAMETER(deviceObject);
    return LbkCompleteIrp(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
}
