/*
 * pnpprobe.c - a test driver (kernel mode, PASSIVE_LEVEL; tests only, never shipped) that sends
 * PnP and power IRPs to another driver's device, as the PnP manager would: see pnpprobe.h.
 * \\.\LbkPnpProbe takes IOCTL_LBK_PROBE_SEND; the IRP goes to the top of the stack of the named
 * driver's first device, and the IOCTL returns its final status. It also takes
 * IOCTL_LBK_PROBE_ACCESS: a serial end opened with a chosen access, as the I/O manager would open
 * it, and the statuses of the requests sent on that handle. IOCTL_LBK_PROBE_BUS_CONTROL sends the
 * driver's bus one of its requests on no handle, as a kernel-mode caller would.
 */
#define __INTRINSIC_DEFINED_InterlockedBitTestAndSet
#define __INTRINSIC_DEFINED_InterlockedBitTestAndReset
#include <ntifs.h>
#include <ntddser.h>

#include "pnpprobe.h"

/* Exported by ntoskrnl (and Wine's), declared by no mingw-w64 header. */
extern POBJECT_TYPE NTSYSAPI *IoDriverObjectType;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ProbeUnload;
static DRIVER_DISPATCH ProbeCreateClose;
static DRIVER_DISPATCH ProbeDeviceControl;
static IO_COMPLETION_ROUTINE ProbeCallDone;

/* Pool tags, as the WDK's four-character tags read in a pool dump, without multi-character constants. */
#define PROBE_TAG(a, b, c, d) ((ULONG)(a) | ((ULONG)(b) << 8) | ((ULONG)(c) << 16) | ((ULONG)(d) << 24))
#define PROBE_TAG_FILE PROBE_TAG('P', 'r', 'b', 'F') /* the file objects it opens the target with */
#define PROBE_TAG_CALL PROBE_TAG('P', 'r', 'b', 'C') /* a request in flight: PROBE_CALL */

/* How long the probe waits for one request it sent, then for its cancel: 2 s each. */
#define PROBE_WAIT_100NS (2LL * 10 * 1000 * 1000)
/* What ProbeCall returns for a request still in the driver's hands after its cancel. */
#define PROBE_STATUS_ABANDONED STATUS_IO_TIMEOUT

/* The exported PsGetCurrentThread: mingw-w64's inline one reads gs:[0x188], Windows' KPCR,
   which under Wine is a field of the TEB. The I/O manager puts the caller's thread in an IRP. */
typedef PETHREAD (NTAPI *PROBE_CURRENT_THREAD)(VOID);
static PROBE_CURRENT_THREAD ProbeCurrentThread;

static UNICODE_STRING ProbeDeviceName = RTL_CONSTANT_STRING(L"\\Device\\LbkPnpProbe");
static UNICODE_STRING ProbeLinkName = RTL_CONSTANT_STRING(L"\\DosDevices\\LbkPnpProbe");

static NTSTATUS ProbeComplete(PIRP irp, NTSTATUS status, ULONG_PTR information)
{
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = information;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

static NTSTATUS ProbeCreateClose(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    UNREFERENCED_PARAMETER(deviceObject);
    return ProbeComplete(irp, STATUS_SUCCESS, 0);
}

/* \Driver\<service>, referenced; NULL if there is none. */
static PDRIVER_OBJECT ProbeDriver(const lbk_u16 *service, NTSTATUS *status)
{
    WCHAR buffer[8 + 32];
    UNICODE_STRING name;
    PDRIVER_OBJECT driver;
    ULONG i;

    RtlCopyMemory(buffer, L"\\Driver\\", 8 * sizeof(WCHAR));
    for (i = 0; i < 31 && service[i] != 0; i++)
        buffer[8 + i] = service[i];
    buffer[8 + i] = L'\0';
    RtlInitUnicodeString(&name, buffer);
    *status = ObReferenceObjectByName(&name, OBJ_CASE_INSENSITIVE, NULL, 0, *IoDriverObjectType, KernelMode, NULL,
                                      (PVOID *)&driver);
    return NT_SUCCESS(*status) ? driver : NULL;
}

/* The top of the stack of \Driver\<service>'s first device, referenced; NULL if there is none. */
static PDEVICE_OBJECT ProbeTarget(const lbk_u16 *service, NTSTATUS *status)
{
    PDRIVER_OBJECT driver = ProbeDriver(service, status);
    PDEVICE_OBJECT top = NULL;

    if (driver == NULL)
        return NULL;
    if (driver->DeviceObject != NULL)
        top = IoGetAttachedDeviceReference(driver->DeviceObject);
    else
        *status = STATUS_NO_SUCH_DEVICE;
    ObDereferenceObject(driver);
    return top;
}

static PDEVICE_OBJECT ProbeNamedDevice(const lbk_u16 *service, const lbk_u16 *deviceName, NTSTATUS *status);

/* The driver's bus device (FILE_DEVICE_BUS_EXTENDER: it has no name), referenced; NULL if none.
   The driver's list is read as ProbeNamedDevice reads it. */
static PDEVICE_OBJECT ProbeBus(const lbk_u16 *service, NTSTATUS *status)
{
    PDRIVER_OBJECT driver = ProbeDriver(service, status);
    PDEVICE_OBJECT device, found = NULL;

    if (driver == NULL)
        return NULL;
    for (device = driver->DeviceObject; device != NULL && found == NULL; device = device->NextDevice) {
        if (device->DeviceType == FILE_DEVICE_BUS_EXTENDER) {
            ObReferenceObject(device);
            found = device;
        }
    }
    ObDereferenceObject(driver);
    if (found == NULL)
        *status = STATUS_NO_SUCH_DEVICE;
    return found;
}

static NTSTATUS ProbeSend(const lbk_probe_request *request, lbk_probe_result *result)
{
    IO_STATUS_BLOCK ioStatus;
    PIO_STACK_LOCATION stack;
    PDEVICE_OBJECT top;
    KEVENT event;
    PIRP irp;
    NTSTATUS status;

    if (request->major != IRP_MJ_PNP && request->major != IRP_MJ_POWER)
        return STATUS_INVALID_PARAMETER;
    if (request->major == IRP_MJ_PNP && request->minor == IRP_MN_QUERY_CAPABILITIES)
        return STATUS_INVALID_PARAMETER; /* it needs a buffer of the sender's; not probed */
    if (request->flags & LBK_PROBE_TO_BUS) {
        PDEVICE_OBJECT bus = ProbeBus(request->service, &status);

        if (bus == NULL)
            return status;
        top = IoGetAttachedDeviceReference(bus);
        ObDereferenceObject(bus);
    } else if (request->device[0] != 0) {
        PDEVICE_OBJECT named = ProbeNamedDevice(request->service, request->device, &status);

        if (named == NULL)
            return status;
        top = IoGetAttachedDeviceReference(named);
        ObDereferenceObject(named);
    } else {
        top = ProbeTarget(request->service, &status);
        if (top == NULL)
            return status;
    }
    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildSynchronousFsdRequest(request->major, top, NULL, 0, NULL, &event, &ioStatus);
    if (irp == NULL) {
        ObDereferenceObject(top);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    stack = IoGetNextIrpStackLocation(irp);
    stack->MinorFunction = (UCHAR)request->minor;
    if (request->major == IRP_MJ_PNP && request->minor == IRP_MN_QUERY_ID)
        stack->Parameters.QueryId.IdType = (BUS_QUERY_ID_TYPE)request->id_type;
    if (request->major == IRP_MJ_POWER) {
        stack->Parameters.Power.Type = SystemPowerState;
        stack->Parameters.Power.State.SystemState = PowerSystemWorking;
    }
    /* What the PnP manager sets before it sends a PnP IRP; a driver that does not handle one keeps it. */
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    irp->IoStatus.Information = 0;
    status = IoCallDriver(top, irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = ioStatus.Status;
    }
    result->status = (lbk_u32)status;
    if (request->major == IRP_MJ_PNP && request->minor == IRP_MN_QUERY_ID && NT_SUCCESS(status) &&
        ioStatus.Information != 0) {
        const WCHAR *id = (const WCHAR *)ioStatus.Information;
        ULONG i;

        for (i = 0; i + 1 < RTL_NUMBER_OF(result->text) && id[i] != L'\0'; i++)
            result->text[i] = id[i];
        result->text[i] = 0;
        ExFreePool((PVOID)ioStatus.Information);
    }
    ObDereferenceObject(top);
    return STATUS_SUCCESS;
}

/* ---- IOCTL_LBK_PROBE_ACCESS: a serial end opened with a chosen access --------------------- */

/*
 * The device that \Driver\<service> made under that kernel name, referenced; NULL if none. Found
 * by asking each of the driver's devices its name: under Wine 8 IoGetDeviceObjectPointer is a
 * stub that hands back a device of its own, ObReferenceObjectByName finds driver objects only,
 * and IoEnumerateDeviceObjectList is a stub. So the driver's list is read as it is, without the
 * reference each entry would get from IoEnumerateDeviceObjectList: a test stops no service while
 * it probes one.
 */
static PDEVICE_OBJECT ProbeNamedDevice(const lbk_u16 *service, const lbk_u16 *deviceName, NTSTATUS *status)
{
    struct {
        OBJECT_NAME_INFORMATION Info;
        WCHAR Chars[96];
    } name;
    UNICODE_STRING wanted;
    PDRIVER_OBJECT driver = ProbeDriver(service, status);
    PDEVICE_OBJECT device, found = NULL;
    ULONG length;

    if (driver == NULL)
        return NULL;
    RtlInitUnicodeString(&wanted, (PCWSTR)deviceName);
    for (device = driver->DeviceObject; device != NULL && found == NULL; device = device->NextDevice) {
        if (NT_SUCCESS(ObQueryNameString(device, &name.Info, sizeof(name), &length)) &&
            RtlEqualUnicodeString(&name.Info.Name, &wanted, TRUE)) {
            ObReferenceObject(device);
            found = device;
        }
    }
    ObDereferenceObject(driver);
    if (found == NULL)
        *status = STATUS_OBJECT_NAME_NOT_FOUND;
    return found;
}

/*
 * One request the probe sends the target, with all the target may touch besides the file object
 * (the IRP, the CREATE's security context, a serial IOCTL's system buffer) in one block of
 * non-paged pool rather than on this stack: a request the target never gives back can then be
 * left to it whole (ProbeCall).
 */
typedef struct _PROBE_CALL {
    KEVENT Done;              /* set by ProbeCallDone, where every IRP of the probe's comes back */
    IO_STATUS_BLOCK IoStatus; /* the IRP's final status and information, copied there */
    PIRP Irp;
    IO_SECURITY_CONTEXT Security; /* IRP_MJ_CREATE: Parameters.Create.SecurityContext */
    ACCESS_STATE AccessState;     /* IRP_MJ_CREATE with LBK_PROBE_ACCESS_STATE: Security.AccessState */
    union {
        SERIAL_STATUS CommStatus;
        SERIAL_BAUD_RATE BaudRate;
        ULONG Mask; /* PURGE's and SET_WAIT_MASK's */
        UCHAR Char; /* IMMEDIATE_CHAR's */
        UCHAR Bytes[LBK_PROBE_BUS_BYTES]; /* a bus request's */
    } Buffer; /* a serial IOCTL's system buffer: METHOD_BUFFERED, its input, then its output */
} PROBE_CALL, *PPROBE_CALL;

/* The IRP of the probe's own file objects comes back here, the one place; the probe frees it. */
static NTSTATUS ProbeCallDone(PDEVICE_OBJECT deviceObject, PIRP irp, PVOID context)
{
    PPROBE_CALL call = context;

    UNREFERENCED_PARAMETER(deviceObject);
    call->IoStatus = irp->IoStatus;
    KeSetEvent(&call->Done, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED; /* an IRP of IoAllocateIrp's: no I/O manager completes it */
}

/*
 * A request of major on fileObject for top, the top of the stack of the file's device, filled as
 * the I/O manager fills one for a kernel-mode caller; the caller fills its stack location's
 * Parameters. NULL when out of pool.
 */
static PPROBE_CALL ProbeBeginCall(PDEVICE_OBJECT top, PFILE_OBJECT fileObject, UCHAR major)
{
    PPROBE_CALL call = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*call), PROBE_TAG_CALL);
    PIO_STACK_LOCATION stack;

    if (call == NULL)
        return NULL;
    RtlZeroMemory(call, sizeof(*call));
    call->Irp = IoAllocateIrp(top->StackSize, FALSE);
    if (call->Irp == NULL) {
        ExFreePoolWithTag(call, PROBE_TAG_CALL);
        return NULL;
    }
    KeInitializeEvent(&call->Done, NotificationEvent, FALSE);
    call->Irp->RequestorMode = KernelMode;
    call->Irp->Tail.Overlay.Thread = ProbeCurrentThread != NULL ? ProbeCurrentThread() : NULL;
    call->Irp->Tail.Overlay.OriginalFileObject = fileObject;
    stack = IoGetNextIrpStackLocation(call->Irp);
    stack->MajorFunction = major;
    stack->FileObject = fileObject;
    return call;
}

/*
 * Sends the call's IRP to top and returns the status it completed with (output: up to
 * outputLength bytes of its system buffer, when it succeeded); frees the call. The target
 * completes every request the probe sends from its dispatch routine, so the IRP is back when
 * IoCallDriver returns. One that pends anyway is waited for 2 s, then cancelled and waited for 2 s
 * more, never longer: Wine dispatches every driver's IRPs on one thread, this one, so no other
 * request could come meanwhile to complete it. One still out is left to the target, call and
 * all, and PROBE_STATUS_ABANDONED returned.
 */
static NTSTATUS ProbeCall(PDEVICE_OBJECT top, PPROBE_CALL call, PVOID output, ULONG outputLength)
{
    LARGE_INTEGER timeout;
    NTSTATUS status;

    IoSetCompletionRoutine(call->Irp, ProbeCallDone, call, TRUE, TRUE, TRUE);
    (VOID)IoCallDriver(top, call->Irp); /* what counts is the status the IRP completes with */
    timeout.QuadPart = -PROBE_WAIT_100NS;
    if (KeWaitForSingleObject(&call->Done, Executive, KernelMode, FALSE, &timeout) == STATUS_TIMEOUT) {
        IoCancelIrp(call->Irp);
        if (KeWaitForSingleObject(&call->Done, Executive, KernelMode, FALSE, &timeout) == STATUS_TIMEOUT)
            return PROBE_STATUS_ABANDONED;
    }
    status = call->IoStatus.Status;
    if (output != NULL && NT_SUCCESS(status))
        RtlCopyMemory(output, &call->Buffer, min(outputLength, (ULONG)call->IoStatus.Information));
    IoFreeIrp(call->Irp);
    ExFreePoolWithTag(call, PROBE_TAG_CALL);
    return status;
}

/* A serial request (METHOD_BUFFERED, as every IOCTL_SERIAL_* code) on fileObject. */
static NTSTATUS ProbeSerialControl(PDEVICE_OBJECT top, PFILE_OBJECT fileObject, ULONG code, const VOID *input,
                                   ULONG inputLength, PVOID output, ULONG outputLength)
{
    PPROBE_CALL call = ProbeBeginCall(top, fileObject, IRP_MJ_DEVICE_CONTROL);
    PIO_STACK_LOCATION stack;

    if (call == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (input != NULL)
        RtlCopyMemory(&call->Buffer, input, inputLength);
    call->Irp->AssociatedIrp.SystemBuffer = &call->Buffer;
    stack = IoGetNextIrpStackLocation(call->Irp);
    stack->Parameters.DeviceIoControl.IoControlCode = code;
    stack->Parameters.DeviceIoControl.InputBufferLength = inputLength;
    stack->Parameters.DeviceIoControl.OutputBufferLength = outputLength;
    return ProbeCall(top, call, output, outputLength);
}

/* IOCTL_LBK_PROBE_BUS_CONTROL: one bus request, on no file object, as a kernel-mode caller sends it. */
static NTSTATUS ProbeBusControl(const lbk_probe_bus_request *request, lbk_probe_bus_result *result)
{
    PDEVICE_OBJECT bus, top;
    PPROBE_CALL call;
    PIO_STACK_LOCATION stack;
    NTSTATUS status;

    if (request->input_length > LBK_PROBE_BUS_BYTES || request->output_length > LBK_PROBE_BUS_BYTES ||
        (request->code & 3u) != METHOD_BUFFERED)
        return STATUS_INVALID_PARAMETER;
    bus = ProbeBus(request->service, &status);
    if (bus == NULL)
        return status;
    top = IoGetAttachedDeviceReference(bus);
    ObDereferenceObject(bus);
    call = ProbeBeginCall(top, NULL, IRP_MJ_DEVICE_CONTROL);
    if (call == NULL) {
        ObDereferenceObject(top);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    RtlCopyMemory(call->Buffer.Bytes, request->input, request->input_length);
    call->Irp->AssociatedIrp.SystemBuffer = &call->Buffer;
    stack = IoGetNextIrpStackLocation(call->Irp);
    stack->Parameters.DeviceIoControl.IoControlCode = request->code;
    stack->Parameters.DeviceIoControl.InputBufferLength = request->input_length;
    stack->Parameters.DeviceIoControl.OutputBufferLength = request->output_length;
    result->status = (lbk_u32)ProbeCall(top, call, result->output, request->output_length);
    if (result->status != (lbk_u32)PROBE_STATUS_ABANDONED)
        ObDereferenceObject(top); /* an abandoned request keeps its device referenced */
    return STATUS_SUCCESS;
}

/* FLUSH_BUFFERS, CLEANUP or CLOSE on fileObject: requests with no parameters. */
static NTSTATUS ProbeSimpleRequest(PDEVICE_OBJECT top, PFILE_OBJECT fileObject, UCHAR major)
{
    PPROBE_CALL call = ProbeBeginCall(top, fileObject, major);

    if (call == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (major == IRP_MJ_CLEANUP || major == IRP_MJ_CLOSE)
        call->Irp->Flags = IRP_CLOSE_OPERATION | IRP_SYNCHRONOUS_API; /* the I/O manager's for the last handle */
    return ProbeCall(top, call, NULL, 0);
}

/* IRP_MJ_CREATE of fileObject, as IopParseDevice sends it once the object manager checked the
   open: what is still wanted in DesiredAccess and, with an access state, what was granted. */
static NTSTATUS ProbeCreate(PDEVICE_OBJECT top, PFILE_OBJECT fileObject, const lbk_probe_access_request *request)
{
    PPROBE_CALL call = ProbeBeginCall(top, fileObject, IRP_MJ_CREATE);
    PIO_STACK_LOCATION stack;

    if (call == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    call->Security.DesiredAccess = request->desired_access;
    if (request->flags & LBK_PROBE_ACCESS_STATE) {
        call->AccessState.OriginalDesiredAccess = request->desired_access | request->granted_access;
        call->AccessState.RemainingDesiredAccess = request->desired_access;
        call->AccessState.PreviouslyGrantedAccess = request->granted_access;
        call->Security.AccessState = &call->AccessState;
    }
    call->Irp->Flags = IRP_CREATE_OPERATION | IRP_SYNCHRONOUS_API;
    stack = IoGetNextIrpStackLocation(call->Irp);
    stack->Parameters.Create.SecurityContext = &call->Security;
    stack->Parameters.Create.Options = (ULONG)FILE_OPEN << 24; /* disposition in the high byte */
    return ProbeCall(top, call, NULL, 0);
}

/* One step after CREATE (LBK_PROBE_STEP_*); what it reads back goes into result. */
static NTSTATUS ProbeStep(PDEVICE_OBJECT top, PFILE_OBJECT fileObject, ULONG step,
                          const lbk_probe_access_request *request, lbk_probe_access_result *result)
{
    SERIAL_STATUS commStatus;
    SERIAL_BAUD_RATE baudRate;
    ULONG mask;
    UCHAR c;
    NTSTATUS status;

    switch (step) {
    case LBK_PROBE_STEP_GET_COMMSTATUS:
        status = ProbeSerialControl(top, fileObject, IOCTL_SERIAL_GET_COMMSTATUS, NULL, 0, &commStatus,
                                    sizeof(commStatus));
        if (NT_SUCCESS(status))
            result->in_queue = commStatus.AmountInInQueue;
        return status;
    case LBK_PROBE_STEP_IMMEDIATE_CHAR:
        c = (UCHAR)request->immediate_char;
        return ProbeSerialControl(top, fileObject, IOCTL_SERIAL_IMMEDIATE_CHAR, &c, sizeof(c), NULL, 0);
    case LBK_PROBE_STEP_PURGE_RXCLEAR:
    case LBK_PROBE_STEP_PURGE_TXABORT:
        mask = step == LBK_PROBE_STEP_PURGE_RXCLEAR ? SERIAL_PURGE_RXCLEAR : SERIAL_PURGE_TXABORT;
        return ProbeSerialControl(top, fileObject, IOCTL_SERIAL_PURGE, &mask, sizeof(mask), NULL, 0);
    case LBK_PROBE_STEP_SET_DTR:
        return ProbeSerialControl(top, fileObject, IOCTL_SERIAL_SET_DTR, NULL, 0, NULL, 0);
    case LBK_PROBE_STEP_SET_BAUD_RATE:
        baudRate.BaudRate = request->baud_rate;
        return ProbeSerialControl(top, fileObject, IOCTL_SERIAL_SET_BAUD_RATE, &baudRate, sizeof(baudRate), NULL, 0);
    case LBK_PROBE_STEP_GET_BAUD_RATE:
        status = ProbeSerialControl(top, fileObject, IOCTL_SERIAL_GET_BAUD_RATE, NULL, 0, &baudRate, sizeof(baudRate));
        if (NT_SUCCESS(status))
            result->baud_rate = baudRate.BaudRate;
        return status;
    case LBK_PROBE_STEP_SET_WAIT_MASK:
        mask = SERIAL_EV_RXCHAR;
        return ProbeSerialControl(top, fileObject, IOCTL_SERIAL_SET_WAIT_MASK, &mask, sizeof(mask), NULL, 0);
    case LBK_PROBE_STEP_FLUSH:
        return ProbeSimpleRequest(top, fileObject, IRP_MJ_FLUSH_BUFFERS);
    case LBK_PROBE_STEP_CLEANUP:
        return ProbeSimpleRequest(top, fileObject, IRP_MJ_CLEANUP);
    case LBK_PROBE_STEP_CLOSE:
    default:
        return ProbeSimpleRequest(top, fileObject, IRP_MJ_CLOSE);
    }
}

/*
 * Opens request->device as Windows' I/O manager would for a handle granted request's access (the
 * CREATE Wine sends carries no access at all), on a file object of the probe's own, sends it the
 * steps asked for, then CLEANUP and CLOSE, as for the last handle, and records every status.
 */
static NTSTATUS ProbeAccess(const lbk_probe_access_request *request, lbk_probe_access_result *result)
{
    PDEVICE_OBJECT device, top;
    PFILE_OBJECT fileObject;
    NTSTATUS status;
    ULONG step;

    for (step = 0; step < LBK_PROBE_STEPS; step++)
        result->status[step] = LBK_PROBE_NOT_SENT;
    device = ProbeNamedDevice(request->service, request->device, &status);
    if (device == NULL)
        return status;
    top = IoGetAttachedDeviceReference(device);
    /* What the object manager makes for an open: zeroed, Type and Size, the device opened. */
    fileObject = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*fileObject), PROBE_TAG_FILE);
    if (fileObject == NULL) {
        ObDereferenceObject(top);
        ObDereferenceObject(device);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    RtlZeroMemory(fileObject, sizeof(*fileObject));
    fileObject->Type = IO_TYPE_FILE;
    fileObject->Size = sizeof(*fileObject);
    fileObject->DeviceObject = device;
    KeInitializeEvent(&fileObject->Lock, SynchronizationEvent, FALSE);
    KeInitializeEvent(&fileObject->Event, NotificationEvent, FALSE);

    status = ProbeCreate(top, fileObject, request);
    result->status[LBK_PROBE_STEP_CREATE] = (lbk_u32)status;
    /* After a failed CREATE the I/O manager sends nothing more on the file object. */
    for (step = LBK_PROBE_STEP_CREATE + 1; NT_SUCCESS(status) && step < LBK_PROBE_STEPS; step++) {
        NTSTATUS stepStatus;

        if (step < LBK_PROBE_STEP_CLEANUP && (request->steps & (1u << step)) == 0)
            continue;
        stepStatus = ProbeStep(top, fileObject, step, request, result);
        result->status[step] = (lbk_u32)stepStatus;
        if (stepStatus == PROBE_STATUS_ABANDONED)
            status = stepStatus;
    }
    if (status == PROBE_STATUS_ABANDONED)
        return STATUS_SUCCESS; /* the target still holds an IRP of the file: it, and the references, stay */
    ExFreePoolWithTag(fileObject, PROBE_TAG_FILE);
    ObDereferenceObject(top);
    ObDereferenceObject(device);
    return STATUS_SUCCESS;
}

/* ---- the probe's own device ------------------------------------------------------------------ */

/* The probe's requests are METHOD_BUFFERED, a fixed-size request in and a fixed-size result out
   of one buffer. Copies the request out and zeroes the result; FALSE for any other sizes. */
static BOOLEAN ProbeTake(PIRP irp, PVOID request, ULONG requestSize, PVOID result, ULONG resultSize)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);

    if (stack->Parameters.DeviceIoControl.InputBufferLength != requestSize ||
        stack->Parameters.DeviceIoControl.OutputBufferLength != resultSize)
        return FALSE;
    RtlCopyMemory(request, irp->AssociatedIrp.SystemBuffer, requestSize);
    RtlZeroMemory(result, resultSize);
    return TRUE;
}

/* Completes the request, with its result when the probe could act on it. */
static NTSTATUS ProbeGive(PIRP irp, NTSTATUS status, const VOID *result, ULONG resultSize)
{
    if (!NT_SUCCESS(status))
        return ProbeComplete(irp, status, 0);
    RtlCopyMemory(irp->AssociatedIrp.SystemBuffer, result, resultSize);
    return ProbeComplete(irp, status, resultSize);
}

static NTSTATUS ProbeDeviceControl(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    UNREFERENCED_PARAMETER(deviceObject);
    switch (IoGetCurrentIrpStackLocation(irp)->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_LBK_PROBE_SEND: {
        lbk_probe_request request;
        lbk_probe_result result;

        if (!ProbeTake(irp, &request, sizeof(request), &result, sizeof(result)))
            return ProbeComplete(irp, STATUS_INVALID_PARAMETER, 0);
        request.service[RTL_NUMBER_OF(request.service) - 1] = 0;
        request.device[RTL_NUMBER_OF(request.device) - 1] = 0;
        return ProbeGive(irp, ProbeSend(&request, &result), &result, sizeof(result));
    }
    case IOCTL_LBK_PROBE_ACCESS: {
        lbk_probe_access_request request;
        lbk_probe_access_result result;

        if (!ProbeTake(irp, &request, sizeof(request), &result, sizeof(result)))
            return ProbeComplete(irp, STATUS_INVALID_PARAMETER, 0);
        request.service[RTL_NUMBER_OF(request.service) - 1] = 0;
        request.device[RTL_NUMBER_OF(request.device) - 1] = 0;
        return ProbeGive(irp, ProbeAccess(&request, &result), &result, sizeof(result));
    }
    case IOCTL_LBK_PROBE_BUS_CONTROL: {
        lbk_probe_bus_request request;
        lbk_probe_bus_result result;

        if (!ProbeTake(irp, &request, sizeof(request), &result, sizeof(result)))
            return ProbeComplete(irp, STATUS_INVALID_PARAMETER, 0);
        request.service[RTL_NUMBER_OF(request.service) - 1] = 0;
        return ProbeGive(irp, ProbeBusControl(&request, &result), &result, sizeof(result));
    }
    default:
        return ProbeComplete(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

static VOID ProbeUnload(PDRIVER_OBJECT driverObject)
{
    IoDeleteSymbolicLink(&ProbeLinkName);
    IoDeleteDevice(driverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driverObject, PUNICODE_STRING registryPath)
{
    UNICODE_STRING routine;
    PDEVICE_OBJECT deviceObject;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(registryPath);
    RtlInitUnicodeString(&routine, L"PsGetCurrentThread");
    ProbeCurrentThread = (PROBE_CURRENT_THREAD)MmGetSystemRoutineAddress(&routine);
    status = IoCreateDevice(driverObject, 0, &ProbeDeviceName, LBK_PROBE_DEVICE_TYPE, FILE_DEVICE_SECURE_OPEN, FALSE,
                            &deviceObject);
    if (!NT_SUCCESS(status))
        return status;
    status = IoCreateSymbolicLink(&ProbeLinkName, &ProbeDeviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(deviceObject);
        return status;
    }
    driverObject->MajorFunction[IRP_MJ_CREATE] = ProbeCreateClose;
    driverObject->MajorFunction[IRP_MJ_CLOSE] = ProbeCreateClose;
    driverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = ProbeDeviceControl;
    driverObject->DriverUnload = ProbeUnload;
    deviceObject->Flags |= DO_BUFFERED_IO;
    deviceObject->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
