/*
 * pnpprobe.c - a test driver (kernel mode, PASSIVE_LEVEL; tests only, never shipped) that sends
 * PnP and power IRPs to another driver's device, as the PnP manager would: see pnpprobe.h.
 * \\.\LbkPnpProbe takes IOCTL_LBK_PROBE_SEND; the IRP goes to the top of the stack of the named
 * driver's first device, and the IOCTL returns its final status.
 */
#define __INTRINSIC_DEFINED_InterlockedBitTestAndSet
#define __INTRINSIC_DEFINED_InterlockedBitTestAndReset
#include <ntifs.h>

#include "pnpprobe.h"

/* Exported by ntoskrnl (and Wine's), declared by no mingw-w64 header. */
extern POBJECT_TYPE NTSYSAPI *IoDriverObjectType;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD ProbeUnload;
static DRIVER_DISPATCH ProbeCreateClose;
static DRIVER_DISPATCH ProbeDeviceControl;

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

/* The top of the stack of \Driver\<service>'s first device, referenced; NULL if there is none. */
static PDEVICE_OBJECT ProbeTarget(const lbk_u16 *service, NTSTATUS *status)
{
    WCHAR buffer[8 + 32];
    UNICODE_STRING name;
    PDRIVER_OBJECT driver;
    PDEVICE_OBJECT top = NULL;
    ULONG i;

    RtlCopyMemory(buffer, L"\\Driver\\", 8 * sizeof(WCHAR));
    for (i = 0; i < 31 && service[i] != 0; i++)
        buffer[8 + i] = service[i];
    buffer[8 + i] = L'\0';
    RtlInitUnicodeString(&name, buffer);
    *status = ObReferenceObjectByName(&name, OBJ_CASE_INSENSITIVE, NULL, 0, *IoDriverObjectType, KernelMode, NULL,
                                      (PVOID *)&driver);
    if (!NT_SUCCESS(*status))
        return NULL;
    if (driver->DeviceObject != NULL)
        top = IoGetAttachedDeviceReference(driver->DeviceObject);
    else
        *status = STATUS_NO_SUCH_DEVICE;
    ObDereferenceObject(driver);
    return top;
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
    top = ProbeTarget(request->service, &status);
    if (top == NULL)
        return status;
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

static NTSTATUS ProbeDeviceControl(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    lbk_probe_request request;
    lbk_probe_result result;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(deviceObject);
    if (stack->Parameters.DeviceIoControl.IoControlCode != IOCTL_LBK_PROBE_SEND)
        return ProbeComplete(irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    if (stack->Parameters.DeviceIoControl.InputBufferLength != sizeof(request) ||
        stack->Parameters.DeviceIoControl.OutputBufferLength != sizeof(result))
        return ProbeComplete(irp, STATUS_INVALID_PARAMETER, 0);
    RtlCopyMemory(&request, irp->AssociatedIrp.SystemBuffer, sizeof(request));
    request.service[31] = 0;
    RtlZeroMemory(&result, sizeof(result));
    status = ProbeSend(&request, &result);
    if (!NT_SUCCESS(status))
        return ProbeComplete(irp, status, 0);
    RtlCopyMemory(irp->AssociatedIrp.SystemBuffer, &result, sizeof(result));
    return ProbeComplete(irp, STATUS_SUCCESS, sizeof(result));
}

static VOID ProbeUnload(PDRIVER_OBJECT driverObject)
{
    IoDeleteSymbolicLink(&ProbeLinkName);
    IoDeleteDevice(driverObject->DeviceObject);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driverObject, PUNICODE_STRING registryPath)
{
    PDEVICE_OBJECT deviceObject;
    NTSTATUS status;

    UNREFERENCED_PARAMETER(registryPath);
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
