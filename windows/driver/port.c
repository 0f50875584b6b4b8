/*
 * port.c - the Plug and Play side of a bus pair's end (kernel mode, PASSIVE_LEVEL): each end is
 * a PDO that the bus (bus.c) reports, and the bottom and only device of its stack, so it answers
 * its PnP and power requests itself and completes them, as a bus driver answers for its children:
 *   QUERY_ID, QUERY_DEVICE_TEXT, QUERY_CAPABILITIES, QUERY_BUS_INFORMATION, TargetDeviceRelation
 *                     who it is: LBK\SerialPort, instance <pair><end>, raw-capable (its INF
 *                     installs no function driver), surprise-removable, in the Ports class by its INF
 *   START             GUID_DEVINTERFACE_COMPORT registered and enabled, \DosDevices\Global\COM<n> and
 *                     the SERIALCOMM entry made, PortName written to its device key; held
 *                     requests sent again, as on a function device (pnp.c)
 *   the stops and queries  the state rules of a function device (core/lbk_pnp.c)
 *   SURPRISE_REMOVAL, REMOVE  interface disabled, COM link and SERIALCOMM entry gone, queued
 *                     requests completed; at REMOVE of an end its bus no longer has, the pair
 *                     goes once both ends did; an end still present (disabled) can START again
 * Every other request keeps the status it came with, as a PDO that does not handle it must.
 */
#include "lbk_driver.h"

static const WCHAR LbkPortHardwareIds[] = LBK_PORT_HARDWARE_ID L"\0";
static const WCHAR LbkPortDescription[] = L"LBK virtual serial port";

/* A copy of text (chars, plus NUL terminators) in paged pool, for the PnP manager to free. */
static NTSTATUS LbkPnpString(const WCHAR *text, SIZE_T chars, PIRP irp)
{
    PWCHAR copy = LbkAllocateForSystem((chars + 1) * sizeof(WCHAR), LBK_TAG_PNP);

    if (copy == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(copy, text, chars * sizeof(WCHAR));
    irp->IoStatus.Information = (ULONG_PTR)copy;
    return STATUS_SUCCESS;
}

/* "<pair><A|B>": unique among the bus's children, and the same for the same end every time. */
static SIZE_T LbkInstanceId(PLBK_DEVICE_EXTENSION ext, PWCHAR text)
{
    ULONG number = ext->BusPair->Number;
    SIZE_T chars = 0;

    if (number >= 10)
        text[chars++] = (WCHAR)(L'0' + number / 10);
    text[chars++] = (WCHAR)(L'0' + number % 10);
    text[chars++] = ext->BusEnd == 0 ? L'A' : L'B';
    text[chars] = L'\0';
    return chars;
}

static NTSTATUS LbkPortQueryId(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    static const WCHAR noIds[] = L"\0";
    WCHAR instance[4];

    switch (IoGetCurrentIrpStackLocation(irp)->Parameters.QueryId.IdType) {
    case BusQueryDeviceID:
        return LbkPnpString(LBK_PORT_DEVICE_ID, RTL_NUMBER_OF(LBK_PORT_DEVICE_ID) - 1, irp);
    case BusQueryHardwareIDs:
        return LbkPnpString(LbkPortHardwareIds, RTL_NUMBER_OF(LbkPortHardwareIds) - 1, irp);
    case BusQueryCompatibleIDs:
        return LbkPnpString(noIds, RTL_NUMBER_OF(noIds) - 1, irp); /* an empty list */
    case BusQueryInstanceID:
        return LbkPnpString(instance, LbkInstanceId(ext, instance), irp);
    default:
        return irp->IoStatus.Status;
    }
}

static NTSTATUS LbkPortQueryText(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    static const WCHAR location[] = L"LBK serial pair ";
    WCHAR text[RTL_NUMBER_OF(location) + 8];
    SIZE_T chars;

    switch (IoGetCurrentIrpStackLocation(irp)->Parameters.QueryDeviceText.DeviceTextType) {
    case DeviceTextDescription:
        return LbkPnpString(LbkPortDescription, RTL_NUMBER_OF(LbkPortDescription) - 1, irp);
    case DeviceTextLocationInformation:
        RtlCopyMemory(text, location, sizeof(location));
        chars = RTL_NUMBER_OF(location) - 1;
        chars += LbkInstanceId(ext, text + chars);
        return LbkPnpString(text, chars, irp);
    default:
        return irp->IoStatus.Status;
    }
}

static NTSTATUS LbkPortCapabilities(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    PDEVICE_CAPABILITIES caps = IoGetCurrentIrpStackLocation(irp)->Parameters.DeviceCapabilities.Capabilities;
    ULONG i;

    if (caps->Version != 1 || caps->Size < sizeof(*caps))
        return STATUS_UNSUCCESSFUL;
    caps->DeviceState[PowerSystemUnspecified] = PowerDeviceUnspecified;
    caps->DeviceState[PowerSystemWorking] = PowerDeviceD0;
    for (i = PowerSystemSleeping1; i < PowerSystemMaximum; i++)
        caps->DeviceState[i] = PowerDeviceD3;
    caps->DeviceWake = PowerDeviceUnspecified;
    caps->SystemWake = PowerSystemUnspecified;
    caps->DeviceD1 = FALSE;
    caps->DeviceD2 = FALSE;
    caps->LockSupported = FALSE;
    caps->EjectSupported = FALSE;
    caps->Removable = FALSE;
    caps->DockDevice = FALSE;
    caps->UniqueID = FALSE;        /* unique only under its bus: Windows adds the bus's prefix */
    caps->SilentInstall = TRUE;
    caps->RawDeviceOK = TRUE;      /* it works with no function driver, as its INF installs it */
    caps->SurpriseRemovalOK = TRUE;
    caps->Address = ext->BusPair->Number * 2 + ext->BusEnd;
    caps->UINumber = ext->BusPair->Number;
    return STATUS_SUCCESS;
}

static NTSTATUS LbkPortRelations(PLBK_DEVICE_EXTENSION ext, PIRP irp)
{
    PDEVICE_RELATIONS relations;

    if (IoGetCurrentIrpStackLocation(irp)->Parameters.QueryDeviceRelations.Type != TargetDeviceRelation)
        return irp->IoStatus.Status;
    relations = LbkAllocateForSystem(sizeof(*relations), LBK_TAG_PNP);
    if (relations == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    ObReferenceObject(ext->DeviceObject); /* the PnP manager's, which it drops */
    relations->Count = 1;
    relations->Objects[0] = ext->DeviceObject;
    irp->IoStatus.Information = (ULONG_PTR)relations;
    return STATUS_SUCCESS;
}

static NTSTATUS LbkPortBusInformation(PIRP irp)
{
    static const GUID busType = LBK_BUS_INTERFACE_GUID_FIELDS;
    PPNP_BUS_INFORMATION info = LbkAllocateForSystem(sizeof(*info), LBK_TAG_PNP);

    if (info == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    info->BusTypeGuid = busType;
    info->LegacyBusType = PNPBus;
    info->BusNumber = 0;
    irp->IoStatus.Information = (ULONG_PTR)info;
    return STATUS_SUCCESS;
}

VOID LbkPortWritePortName(PLBK_DEVICE_EXTENSION ext)
{
    UNICODE_STRING valueName = RTL_CONSTANT_STRING(L"PortName");
    HANDLE key;
    NTSTATUS status;

    status = IoOpenDeviceRegistryKey(ext->DeviceObject, PLUGPLAY_REGKEY_DEVICE, KEY_SET_VALUE, &key);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_WARNING, "lbk: %ls: no device key for PortName: 0x%08x\n", ext->Name, status);
        return;
    }
    if (ext->Serial.Port == 0) {
        status = ZwDeleteValueKey(key, &valueName);
        if (status == STATUS_OBJECT_NAME_NOT_FOUND)
            status = STATUS_SUCCESS;
    } else {
        uint16_t port[8];
        size_t chars = lbk_serial_format_port_names(&ext->Serial.Port, 1, port, RTL_NUMBER_OF(port));

        status = ZwSetValueKey(key, &valueName, 0, REG_SZ, port, (ULONG)((chars + 1) * sizeof(WCHAR)));
    }
    if (!NT_SUCCESS(status))
        LbkTrace(LBK_TRACE_WARNING, "lbk: %ls: PortName not written: 0x%08x\n", ext->Name, status);
    ZwClose(key);
}

/*
 * The COM number in the end's PortName, 0 for none: on Windows the Ports class installer gives
 * each new port of the class a free number there before START, and the end takes it when the bus
 * has none for it (lbkctl then renames it to the name asked for, releasing that one).
 */
static USHORT LbkPortReadPortName(PLBK_DEVICE_EXTENSION ext)
{
    UNICODE_STRING valueName = RTL_CONSTANT_STRING(L"PortName");
    union {
        KEY_VALUE_PARTIAL_INFORMATION info;
        UCHAR bytes[sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 16 * sizeof(WCHAR)];
    } value;
    uint16_t port = 0;
    ULONG bytes = 0;
    HANDLE key;

    if (!NT_SUCCESS(IoOpenDeviceRegistryKey(ext->DeviceObject, PLUGPLAY_REGKEY_DEVICE, KEY_QUERY_VALUE, &key)))
        return 0;
    RtlZeroMemory(&value, sizeof(value));
    if (NT_SUCCESS(ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, &value, sizeof(value), &bytes)) &&
        value.info.Type == REG_SZ && value.info.DataLength <= 16 * sizeof(WCHAR) &&
        lbk_serial_parse_port_names((const uint16_t *)value.info.Data,
                                    lbk_config_trim((const uint16_t *)value.info.Data,
                                                    value.info.DataLength / sizeof(WCHAR)),
                                    &port, 1) != 0)
        port = 0;
    ZwClose(key);
    return port;
}

static NTSTATUS LbkPortStart(PLBK_DEVICE_EXTENSION ext)
{
    static const GUID comPort = LBK_COMPORT_INTERFACE_GUID_FIELDS;
    PLBK_BUS_PAIR pair = ext->BusPair;
    NTSTATUS status;
    BOOLEAN replay;

    if (ext->InterfaceName.Buffer == NULL) {
        status = IoRegisterDeviceInterface(ext->DeviceObject, &comPort, NULL, &ext->InterfaceName);
        if (!NT_SUCCESS(status)) {
            LbkTrace(LBK_TRACE_ERROR, "lbk: %ls: IoRegisterDeviceInterface: 0x%08x\n", ext->Name, status);
            return status;
        }
    }
    LbkBusAcquire();
    if (ext->Serial.Port == 0) {
        USHORT given = LbkPortReadPortName(ext);

        if (given != 0 && LbkBusPortOwnerLocked(given, ext) == NULL) {
            ext->Serial.Port = given;
            LbkBusSavePairLocked(pair);
        }
    }
    LbkSerialUnlinkPort(ext); /* what a START before left, if any */
    (VOID)LbkSerialLinkPort(ext); /* a taken name is logged: the end keeps its own name */
    LbkPortWritePortName(ext);
    pair->EndStarted[ext->BusEnd] = TRUE;
    LbkBusRelease();
    replay = LbkApplyStart(ext, LBK_PNP_START);
    LbkSetInterface(ext, TRUE);
    if (replay)
        LbkReplayHeld(ext, TRUE);
    LbkTrace(LBK_TRACE_INFO, "lbk: %ls: started, COM%u\n", ext->Name, ext->Serial.Port);
    return STATUS_SUCCESS;
}

/* SURPRISE_REMOVAL or REMOVE: no longer a COM port, and nothing queued. */
static VOID LbkPortStopServing(PLBK_DEVICE_EXTENSION ext, enum lbk_pnp_event removal)
{
    LbkSetInterface(ext, FALSE);
    LbkBusAcquire();
    LbkSerialUnlinkPort(ext);
    ext->BusPair->EndStarted[ext->BusEnd] = FALSE;
    LbkBusRelease();
    LbkEndEveryRequest(ext, removal);
}

static VOID LbkPortRemove(PLBK_DEVICE_EXTENSION ext)
{
    KLOCK_QUEUE_HANDLE lockHandle;
    BOOLEAN present;

    LbkPortStopServing(ext, LBK_PNP_REMOVE);
    LbkBusAcquire();
    present = ext->BusPair->Present;
    if (!present && ext->Serial.Port != 0) {
        /* Gone for good: its device key, which Windows keeps, must not keep its COM name. */
        ext->Serial.Port = 0;
        LbkPortWritePortName(ext);
    }
    if (present) {
        /* Disabled, not gone: the bus still has it, and a new START may come. */
        KeAcquireInStackQueuedSpinLock(&ext->Unit->Lock, &lockHandle);
        lbk_pnp_init(&ext->Pnp, TRUE);
        KeReleaseInStackQueuedSpinLock(&lockHandle);
    }
    LbkBusRelease();
    LbkTrace(LBK_TRACE_INFO, "lbk: %ls: removed%s\n", ext->Name, present ? " (still on its bus)" : "");
    if (!present)
        LbkBusEndRemoved(ext); /* may delete this device: touch nothing of it after */
}

_Use_decl_annotations_
NTSTATUS LbkDispatchPortPnp(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_DEVICE_EXTENSION ext = LbkExtension(deviceObject);
    NTSTATUS status = irp->IoStatus.Status;

    if (!ext->BusPair->EndKnown[ext->BusEnd]) {
        LbkBusAcquire();
        ext->BusPair->EndKnown[ext->BusEnd] = TRUE; /* SET_PORT may write its PortName from now on */
        LbkBusRelease();
    }
    switch (IoGetCurrentIrpStackLocation(irp)->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status = LbkPortStart(ext);
        break;
    case IRP_MN_QUERY_STOP_DEVICE:
        LbkApplyPnp(ext, LBK_PNP_QUERY_STOP);
        status = STATUS_SUCCESS;
        break;
    case IRP_MN_STOP_DEVICE:
        LbkApplyPnp(ext, LBK_PNP_STOP);
        status = STATUS_SUCCESS;
        break;
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        if (LbkApplyStart(ext, IoGetCurrentIrpStackLocation(irp)->MinorFunction == IRP_MN_CANCEL_STOP_DEVICE
                                   ? LBK_PNP_CANCEL_STOP
                                   : LBK_PNP_CANCEL_REMOVE))
            LbkReplayHeld(ext, TRUE);
        status = STATUS_SUCCESS;
        break;
    case IRP_MN_QUERY_REMOVE_DEVICE:
        LbkApplyPnp(ext, LBK_PNP_QUERY_REMOVE);
        status = STATUS_SUCCESS;
        break;
    case IRP_MN_SURPRISE_REMOVAL:
        LbkPortStopServing(ext, LBK_PNP_SURPRISE_REMOVAL);
        status = STATUS_SUCCESS;
        break;
    case IRP_MN_REMOVE_DEVICE:
        LbkPortRemove(ext);
        status = STATUS_SUCCESS;
        break;
    case IRP_MN_QUERY_ID:
        status = LbkPortQueryId(ext, irp);
        break;
    case IRP_MN_QUERY_DEVICE_TEXT:
        status = LbkPortQueryText(ext, irp);
        break;
    case IRP_MN_QUERY_CAPABILITIES:
        status = LbkPortCapabilities(ext, irp);
        break;
    case IRP_MN_QUERY_DEVICE_RELATIONS:
        status = LbkPortRelations(ext, irp);
        break;
    case IRP_MN_QUERY_BUS_INFORMATION:
        status = LbkPortBusInformation(irp);
        break;
    default:
        break; /* resources and the rest: none, with the status it came with */
    }
    irp->IoStatus.Status = status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}

/* The bottom of its stack: power changes need nothing of a software device, and succeed. The
   power manager is told of a device state it sets, as the bus driver of a PDO must. */
_Use_decl_annotations_
NTSTATUS LbkDispatchPortPower(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    UCHAR minor = stack->MinorFunction;
    NTSTATUS status = irp->IoStatus.Status;

    PoStartNextPowerIrp(irp);
    if (minor == IRP_MN_SET_POWER && stack->Parameters.Power.Type == DevicePowerState)
        PoSetPowerState(deviceObject, DevicePowerState, stack->Parameters.Power.State);
    if (minor == IRP_MN_SET_POWER || minor == IRP_MN_QUERY_POWER)
        status = STATUS_SUCCESS;
    irp->IoStatus.Status = status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    return status;
}
