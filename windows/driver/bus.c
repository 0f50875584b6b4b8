/*
 * bus.c - the serial port bus (kernel mode, PASSIVE_LEVEL): a root device node whose hardware id
 * is LBK_BUS_HARDWARE_ID gets a bus, which holds serial pairs and reports each pair's two ends
 * to the PnP manager as child devices (PDOs). Windows installs the children by lbk.inf's port
 * model, in the Ports setup class, with no function driver above them: each end is a serial end
 * of this driver, served by the same dispatch routines as a legacy serial pair's, and port.c
 * answers its Plug and Play requests.
 *
 * Pairs come from the bus's device key at START (values Pair<n>, which lbk.inf's install gives a
 * first one) and from IOCTL_LBK_BUS_ADD_PAIR, which also writes them there; REMOVE_PAIR takes
 * one away: the bus stops reporting it, and the PnP manager removes its ends (port.c), after
 * which the pair goes. Pair numbers, and so the ends' names <Name>P<n>A and B, are unique in the
 * driver, across buses. All of it is under the bus lock, at PASSIVE_LEVEL.
 */
#include "lbk_driver.h"

static PLBK_BUS_PAIR LbkBusPairs[LBK_BUS_MAX_PAIRS];

/* A mutex that leaves the thread at PASSIVE_LEVEL (devices are created and the registry written
   under it); normal kernel APCs are off while it is held, so its holder cannot be suspended. */
static KEVENT LbkBusLock;

VOID LbkBusInitialize(VOID)
{
    KeInitializeEvent(&LbkBusLock, SynchronizationEvent, TRUE);
}

VOID LbkBusAcquire(VOID)
{
    KeEnterCriticalRegion();
    KeWaitForSingleObject(&LbkBusLock, Executive, KernelMode, FALSE, NULL);
}

VOID LbkBusRelease(VOID)
{
    KeSetEvent(&LbkBusLock, IO_NO_INCREMENT, FALSE);
    KeLeaveCriticalRegion();
}

/*
 * Whether the node's hardware ids include LBK_BUS_HARDWARE_ID. Asked first with room for any
 * root node's ids: Wine answers a short buffer with a Win32 error code, not
 * STATUS_BUFFER_TOO_SMALL and the size (docs/reliability.md, Wine finding 18).
 */
static NTSTATUS LbkIsBusNode(PDEVICE_OBJECT pdo, BOOLEAN *found)
{
    UNICODE_STRING busId, id;
    ULONG bytes = 512, needed = 0;
    PWCHAR ids = NULL, p, end;
    NTSTATUS status;

    *found = FALSE;
    RtlInitUnicodeString(&busId, LBK_BUS_HARDWARE_ID);
    do {
        LbkFree(ids, LBK_TAG_NAME);
        ids = LbkAllocate(bytes + 2 * sizeof(WCHAR), LBK_TAG_NAME); /* zeroed: two NULs end it whatever came */
        if (ids == NULL)
            return STATUS_INSUFFICIENT_RESOURCES;
        status = IoGetDeviceProperty(pdo, DevicePropertyHardwareID, bytes, ids, &needed);
    } while (status == STATUS_BUFFER_TOO_SMALL && needed > bytes && (bytes = needed) <= 0x10000);
    if (NT_SUCCESS(status)) {
        end = ids + bytes / sizeof(WCHAR);
        for (p = ids; p < end && *p != L'\0' && !*found; p += id.Length / sizeof(WCHAR) + 1) {
            RtlInitUnicodeString(&id, p);
            *found = RtlEqualUnicodeString(&id, &busId, TRUE);
        }
    }
    LbkFree(ids, LBK_TAG_NAME);
    return status;
}

NTSTATUS LbkBusAddDevice(PDRIVER_OBJECT driverObject, PDEVICE_OBJECT pdo)
{
    static const GUID busInterface = LBK_BUS_INTERFACE_GUID_FIELDS;
    PDEVICE_OBJECT fdo;
    PLBK_BUS_EXTENSION bus;
    NTSTATUS status;
    BOOLEAN isBus;

    /* Not knowing which node this is must not make a bus node a loopback device: refused. */
    status = LbkIsBusNode(pdo, &isBus);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: a device node's hardware ids cannot be read (0x%08x): not attaching\n",
                 status);
        return status;
    }
    if (!isBus)
        return STATUS_NOT_FOUND;
    /* Unnamed: clients find it by its interface, and the node's security guards the stack. */
    status = IoCreateDevice(driverObject, sizeof(LBK_BUS_EXTENSION), NULL, FILE_DEVICE_BUS_EXTENDER,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
    if (!NT_SUCCESS(status))
        return status;
    bus = fdo->DeviceExtension;
    RtlZeroMemory(bus, sizeof(*bus));
    bus->Kind = LBK_KIND_BUS;
    bus->DeviceObject = fdo;
    bus->Pdo = pdo;
    IoInitializeRemoveLock(&bus->RemoveLock, LBK_TAG_REMOVE_LOCK, 0, 0);
    status = IoRegisterDeviceInterface(pdo, &busInterface, NULL, &bus->InterfaceName);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: bus: IoRegisterDeviceInterface: 0x%08x\n", status);
        IoDeleteDevice(fdo);
        return status;
    }
    bus->LowerDevice = IoAttachDeviceToDeviceStack(fdo, pdo);
    if (bus->LowerDevice == NULL) {
        RtlFreeUnicodeString(&bus->InterfaceName);
        IoDeleteDevice(fdo);
        return STATUS_NO_SUCH_DEVICE;
    }
    fdo->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    fdo->Flags &= ~DO_DEVICE_INITIALIZING;
    LbkTrace(LBK_TRACE_INFO, "lbk: bus: added\n");
    return STATUS_SUCCESS;
}

PLBK_DEVICE_EXTENSION LbkBusPortOwnerLocked(USHORT port, const LBK_DEVICE_EXTENSION *except)
{
    ULONG n, e;

    for (n = 0; port != 0 && n < LBK_BUS_MAX_PAIRS; n++) {
        for (e = 0; LbkBusPairs[n] != NULL && e < 2; e++) {
            PLBK_DEVICE_EXTENSION end = LbkBusPairs[n]->Unit->Ends[e];

            if (end != except && end->Serial.Port == port)
                return end;
        }
    }
    return NULL;
}

/* "<prefix><n>" into name (Pair<n>, Wiring<n>, Paced<n>), for n < 100 and a prefix of at most
   6 characters; its buffer must hold 9. */
static VOID LbkPairValueName(PCWSTR prefix, ULONG number, PWCHAR buffer, PUNICODE_STRING name)
{
    ULONG chars = (ULONG)wcslen(prefix);

    RtlCopyMemory(buffer, prefix, chars * sizeof(WCHAR));
    if (number >= 10)
        buffer[chars++] = (WCHAR)(L'0' + number / 10);
    buffer[chars++] = (WCHAR)(L'0' + number % 10);
    buffer[chars] = L'\0';
    name->Buffer = buffer;
    name->Length = (USHORT)(chars * sizeof(WCHAR));
    name->MaximumLength = (USHORT)((chars + 1) * sizeof(WCHAR));
}

/* Sets value name to data, or deletes it when data is NULL; a failure is logged. */
static VOID LbkSetPairValue(HANDLE key, ULONG number, PCWSTR prefix, ULONG type, const VOID *data, ULONG bytes)
{
    WCHAR nameBuffer[9];
    UNICODE_STRING name;
    NTSTATUS status;

    LbkPairValueName(prefix, number, nameBuffer, &name);
    if (data != NULL)
        status = ZwSetValueKey(key, &name, 0, type, (PVOID)data, bytes);
    else
        status = ZwDeleteValueKey(key, &name);
    if (!NT_SUCCESS(status) && status != STATUS_OBJECT_NAME_NOT_FOUND)
        LbkTrace(LBK_TRACE_WARNING, "lbk: bus: %ws not kept: 0x%08x\n", nameBuffer, status);
}

/*
 * Writes the pair's values (Pair<n>, and Wiring<n> and Paced<n> when not the default) in its
 * bus's device key, or deletes them. Bus lock held.
 */
static VOID LbkSavePairLocked(PLBK_BUS_EXTENSION bus, PLBK_BUS_PAIR pair, BOOLEAN keep)
{
    PLBK_DEVICE_EXTENSION ends[2] = { pair->Unit->Ends[0], pair->Unit->Ends[1] };
    HANDLE key;
    NTSTATUS status;

    status = IoOpenDeviceRegistryKey(bus->Pdo, PLUGPLAY_REGKEY_DEVICE, KEY_SET_VALUE, &key);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_WARNING, "lbk: bus: pair %lu not kept: its device key: 0x%08x\n", pair->Number, status);
        return;
    }
    if (keep) {
        USHORT ports[2] = { ends[0]->Serial.Port, ends[1]->Serial.Port };
        uint16_t text[LBK_SERIAL_PAIR_NAMES_CHARS + 1];
        uint16_t wiring[2 * (LBK_FLOW_WIRING_TEXT_CHARS + 1)];
        size_t chars = lbk_serial_format_port_names(ports, 2, text, RTL_NUMBER_OF(text));
        ULONG paced = (ends[0]->Serial.Paced ? 1u : 0u) | (ends[1]->Serial.Paced ? 2u : 0u);
        BOOLEAN plain = lbk_flow_wiring_is_null_modem(&ends[0]->Serial.Wiring) &&
                        lbk_flow_wiring_is_null_modem(&ends[1]->Serial.Wiring);

        LbkSetPairValue(key, pair->Number, LBK_BUS_PAIR_VALUE_PREFIX, REG_SZ, text, (ULONG)((chars + 1) * sizeof(WCHAR)));
        /* A's wiring, ';', B's: each at most LBK_FLOW_WIRING_TEXT_CHARS, so the whole fits. */
        chars = lbk_flow_format_wiring(&ends[0]->Serial.Wiring, wiring, LBK_FLOW_WIRING_TEXT_CHARS + 1);
        wiring[chars++] = L';';
        chars += lbk_flow_format_wiring(&ends[1]->Serial.Wiring, wiring + chars, RTL_NUMBER_OF(wiring) - chars);
        LbkSetPairValue(key, pair->Number, LBK_BUS_WIRING_VALUE_PREFIX, REG_SZ, plain ? NULL : wiring,
                        (ULONG)((chars + 1) * sizeof(WCHAR)));
        LbkSetPairValue(key, pair->Number, LBK_BUS_PACED_VALUE_PREFIX, REG_DWORD, paced != 0 ? &paced : NULL,
                        sizeof(paced));
    } else {
        LbkSetPairValue(key, pair->Number, LBK_BUS_PAIR_VALUE_PREFIX, REG_NONE, NULL, 0);
        LbkSetPairValue(key, pair->Number, LBK_BUS_WIRING_VALUE_PREFIX, REG_NONE, NULL, 0);
        LbkSetPairValue(key, pair->Number, LBK_BUS_PACED_VALUE_PREFIX, REG_NONE, NULL, 0);
    }
    ZwClose(key);
}

VOID LbkBusSavePairLocked(PLBK_BUS_PAIR pair)
{
    LbkSavePairLocked(pair->Bus, pair, TRUE);
}

/* Deletes a pair no one else can reach any more: its ends, its unit, itself. */
static VOID LbkDestroyPair(PLBK_BUS_PAIR pair)
{
    LbkTakeUnitOut(pair->Unit);
    LbkDestroyUnit(pair->Unit, FALSE);
    LbkFree(pair, LBK_TAG_BUS);
}

/*
 * Makes pair number with the given COM numbers on the bus (not reported yet). Bus lock held.
 * STATUS_OBJECT_NAME_COLLISION when the number or a COM name is another pair's.
 */
static NTSTATUS LbkAddPairLocked(PLBK_BUS_EXTENSION bus, ULONG number, const USHORT ports[2])
{
    PLBK_BUS_PAIR pair;
    ULONG slot, e;
    NTSTATUS status;

    if (number >= LBK_BUS_MAX_PAIRS || ports[0] > LBK_MAX_COM_PORT || ports[1] > LBK_MAX_COM_PORT)
        return STATUS_INVALID_PARAMETER;
    if (LbkBusPairs[number] != NULL)
        return STATUS_OBJECT_NAME_COLLISION;
    if ((ports[0] != 0 && ports[0] == ports[1]) || LbkBusPortOwnerLocked(ports[0], NULL) != NULL ||
        LbkBusPortOwnerLocked(ports[1], NULL) != NULL)
        return STATUS_OBJECT_NAME_COLLISION;
    pair = LbkAllocate(sizeof(*pair), LBK_TAG_BUS);
    if (pair == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    slot = LbkReserveSlot();
    if (slot == LBK_MAX_DEVICE_COUNT) {
        LbkFree(pair, LBK_TAG_BUS);
        return STATUS_TOO_MANY_NODES;
    }
    status = LbkCreatePortPair(bus->DeviceObject->DriverObject, slot, number, ports, &pair->Unit);
    if (!NT_SUCCESS(status)) {
        LbkReleaseSlot(slot);
        LbkFree(pair, LBK_TAG_BUS);
        return status;
    }
    pair->Bus = bus;
    pair->Number = number;
    pair->Present = TRUE;
    for (e = 0; e < 2; e++) {
        pair->Unit->Ends[e]->BusPair = pair;
        pair->Unit->Ends[e]->BusEnd = e;
    }
    LbkBusPairs[number] = pair;
    LbkTrace(LBK_TRACE_INFO, "lbk: bus: pair %lu added: %ls and %ls\n", number, pair->Unit->Ends[0]->Name,
             pair->Unit->Ends[1]->Name);
    return STATUS_SUCCESS;
}

/*
 * A kept pair's options (Wiring<n>, Paced<n>), onto its ends, which no one has opened yet.
 * A value that is not what the bus writes is logged and the default kept.
 */
static VOID LbkLoadPairOptions(HANDLE key, PLBK_BUS_PAIR pair, PKEY_VALUE_PARTIAL_INFORMATION info, ULONG infoBytes)
{
    struct lbk_flow_wiring wiring[2];
    WCHAR nameBuffer[9];
    UNICODE_STRING name;
    ULONG bytes, paced = 0, e;
    NTSTATUS status;

    lbk_flow_wiring_null_modem(&wiring[0]);
    lbk_flow_wiring_null_modem(&wiring[1]);
    LbkPairValueName(LBK_BUS_WIRING_VALUE_PREFIX, pair->Number, nameBuffer, &name);
    RtlZeroMemory(info, infoBytes);
    /* One WCHAR of the buffer kept back and zero: the text always ends. */
    status = ZwQueryValueKey(key, &name, KeyValuePartialInformation, info, infoBytes - sizeof(WCHAR), &bytes);
    if (NT_SUCCESS(status) &&
        (info->Type != REG_SZ ||
         lbk_flow_parse_wiring_list((const uint16_t *)info->Data,
                                    lbk_config_trim((const uint16_t *)info->Data, info->DataLength / sizeof(WCHAR)),
                                    wiring, 2) != 0)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: bus: %ws is not two wirings: pair %lu is null-modem\n", nameBuffer, pair->Number);
        lbk_flow_wiring_null_modem(&wiring[0]);
        lbk_flow_wiring_null_modem(&wiring[1]);
    } else if (status != STATUS_OBJECT_NAME_NOT_FOUND && !NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: bus: %ws unreadable (0x%08x): pair %lu is null-modem\n", nameBuffer, status,
                 pair->Number);
    }
    LbkPairValueName(LBK_BUS_PACED_VALUE_PREFIX, pair->Number, nameBuffer, &name);
    RtlZeroMemory(info, infoBytes);
    status = ZwQueryValueKey(key, &name, KeyValuePartialInformation, info, infoBytes, &bytes);
    if (NT_SUCCESS(status) && info->Type == REG_DWORD && info->DataLength == sizeof(ULONG) &&
        (*(const ULONG *)info->Data & ~3u) == 0)
        paced = *(const ULONG *)info->Data;
    else if (status != STATUS_OBJECT_NAME_NOT_FOUND)
        LbkTrace(LBK_TRACE_ERROR, "lbk: bus: %ws is not a DWORD of bits 0 and 1: pair %lu not paced\n", nameBuffer,
                 pair->Number);
    for (e = 0; e < 2; e++)
        LbkSerialSetOptions(pair->Unit->Ends[e], &wiring[e], (paced & (1u << e)) != 0);
}

/* START: the pairs kept in the device key, each value Pair<n> = "COM5,COM6". */
static VOID LbkLoadPairs(PLBK_BUS_EXTENSION bus)
{
    ULONG infoBytes = sizeof(KEY_VALUE_FULL_INFORMATION) + 160 * sizeof(WCHAR); /* Wiring<n> too */
    PKEY_VALUE_FULL_INFORMATION info = LbkAllocate(infoBytes, LBK_TAG_NAME);
    HANDLE key;
    ULONG index, bytes;
    NTSTATUS status;

    if (info == NULL)
        return;
    status = IoOpenDeviceRegistryKey(bus->Pdo, PLUGPLAY_REGKEY_DEVICE, KEY_READ, &key);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_WARNING, "lbk: bus: no device key (0x%08x): no pairs kept\n", status);
        LbkFree(info, LBK_TAG_NAME);
        return;
    }
    for (index = 0;; index++) {
        const WCHAR *name;
        ULONG nameChars, number = 0, i;
        uint16_t ports16[2];
        USHORT ports[2];

        RtlZeroMemory(info, infoBytes);
        status = ZwEnumerateValueKey(key, index, KeyValueFullInformation, info, infoBytes - sizeof(WCHAR), &bytes);
        if (status == STATUS_BUFFER_OVERFLOW || status == STATUS_BUFFER_TOO_SMALL)
            continue; /* a value too long for a pair's is not one */
        if (!NT_SUCCESS(status)) {
            if (status != STATUS_NO_MORE_ENTRIES)
                LbkTrace(LBK_TRACE_ERROR, "lbk: bus: the device key cannot be read (0x%08x): later pairs not made\n",
                         status);
            break; /* the same failure would come at every index */
        }
        name = info->Name;
        nameChars = info->NameLength / sizeof(WCHAR);
        if (nameChars < 5 || nameChars > 6 || _wcsnicmp(name, LBK_BUS_PAIR_VALUE_PREFIX, 4) != 0)
            continue;
        for (i = 4; i < nameChars && name[i] >= L'0' && name[i] <= L'9'; i++)
            number = number * 10 + (ULONG)(name[i] - L'0');
        if (i != nameChars || (nameChars == 6 && name[4] == L'0'))
            continue;
        if (info->Type != REG_SZ || info->DataOffset + info->DataLength > infoBytes - sizeof(WCHAR) ||
            lbk_serial_parse_port_names((const uint16_t *)((PUCHAR)info + info->DataOffset),
                                        lbk_config_trim((const uint16_t *)((PUCHAR)info + info->DataOffset),
                                                        info->DataLength / sizeof(WCHAR)),
                                        ports16, 2) != 0) {
            LbkTrace(LBK_TRACE_ERROR, "lbk: bus: %.*ws is not \"COM<n>,COM<m>\" (or - for none): pair not made\n",
                     (int)nameChars, name); /* the name is not NUL-terminated: its data follows */
            continue;
        }
        ports[0] = ports16[0];
        ports[1] = ports16[1];
        status = LbkAddPairLocked(bus, number, ports);
        if (!NT_SUCCESS(status))
            LbkTrace(LBK_TRACE_ERROR, "lbk: bus: pair %lu not made: 0x%08x\n", number, status);
        else
            LbkLoadPairOptions(key, LbkBusPairs[number], (PKEY_VALUE_PARTIAL_INFORMATION)info, infoBytes);
    }
    ZwClose(key);
    LbkFree(info, LBK_TAG_NAME);
}

/* BusRelations: what the lower drivers listed, and the ends of every present pair of the bus. */
static NTSTATUS LbkBusRelations(const LBK_BUS_EXTENSION *bus, PIRP irp)
{
    PDEVICE_RELATIONS old = (PDEVICE_RELATIONS)irp->IoStatus.Information, relations;
    ULONG count = old != NULL ? old->Count : 0, n, e, k;

    LbkBusAcquire();
    for (n = 0; n < LBK_BUS_MAX_PAIRS; n++) {
        if (LbkBusPairs[n] != NULL && LbkBusPairs[n]->Bus == bus && LbkBusPairs[n]->Present)
            count += 2;
    }
    relations = LbkAllocateForSystem(FIELD_OFFSET(DEVICE_RELATIONS, Objects) + sizeof(PDEVICE_OBJECT) * (count + 1),
                                     LBK_TAG_PNP);
    if (relations == NULL) {
        LbkBusRelease();
        return STATUS_INSUFFICIENT_RESOURCES; /* the old list stays the PnP manager's to free */
    }
    k = 0;
    if (old != NULL) {
        RtlCopyMemory(relations->Objects, old->Objects, sizeof(PDEVICE_OBJECT) * old->Count);
        k = old->Count;
        ExFreePool(old);
    }
    for (n = 0; n < LBK_BUS_MAX_PAIRS; n++) {
        PLBK_BUS_PAIR pair = LbkBusPairs[n];

        if (pair == NULL || pair->Bus != bus || !pair->Present)
            continue;
        pair->Reported = TRUE;
        for (e = 0; e < 2; e++) {
            ObReferenceObject(pair->Unit->Ends[e]->DeviceObject); /* the PnP manager's reference */
            relations->Objects[k++] = pair->Unit->Ends[e]->DeviceObject;
        }
    }
    relations->Count = k;
    LbkBusRelease();
    irp->IoStatus.Information = (ULONG_PTR)relations;
    return STATUS_SUCCESS;
}

VOID LbkBusEndRemoved(PLBK_DEVICE_EXTENSION ext)
{
    PLBK_BUS_PAIR pair = ext->BusPair;
    BOOLEAN both;

    LbkBusAcquire();
    pair->EndRemoved[ext->BusEnd] = TRUE;
    both = pair->EndRemoved[0] && pair->EndRemoved[1];
    if (both && LbkBusPairs[pair->Number] == pair)
        LbkBusPairs[pair->Number] = NULL;
    LbkBusRelease();
    if (both) {
        LbkTrace(LBK_TRACE_INFO, "lbk: bus: pair %lu removed\n", pair->Number);
        LbkDestroyPair(pair);
    }
}

/* Sends the IRP down untouched, for the lower drivers to complete, and gives back its remove lock. */
static NTSTATUS LbkBusPassDown(PLBK_BUS_EXTENSION bus, PIRP irp)
{
    NTSTATUS status;

    IoSkipCurrentIrpStackLocation(irp);
    status = IoCallDriver(bus->LowerDevice, irp);
    IoReleaseRemoveLock(&bus->RemoveLock, irp);
    return status;
}

static NTSTATUS LbkBusComplete(PLBK_BUS_EXTENSION bus, PIRP irp, NTSTATUS status)
{
    irp->IoStatus.Status = status;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    IoReleaseRemoveLock(&bus->RemoveLock, irp);
    return status;
}

static VOID LbkBusSetInterface(PLBK_BUS_EXTENSION bus, BOOLEAN enable)
{
    if (bus->InterfaceEnabled != enable && NT_SUCCESS(IoSetDeviceInterfaceState(&bus->InterfaceName, enable)))
        bus->InterfaceEnabled = enable;
}

/* REMOVE_DEVICE: every pair of the bus goes (their ends were removed first), then the bus. */
static NTSTATUS LbkBusRemove(PLBK_BUS_EXTENSION bus, PIRP irp)
{
    PLBK_BUS_PAIR pairs[LBK_BUS_MAX_PAIRS];
    ULONG n, count = 0;
    NTSTATUS status;

    LbkBusSetInterface(bus, FALSE);
    LbkBusAcquire();
    bus->Removed = TRUE;
    bus->Started = FALSE;
    for (n = 0; n < LBK_BUS_MAX_PAIRS; n++) {
        if (LbkBusPairs[n] != NULL && LbkBusPairs[n]->Bus == bus) {
            pairs[count++] = LbkBusPairs[n];
            LbkBusPairs[n] = NULL;
        }
    }
    LbkBusRelease();
    for (n = 0; n < count; n++)
        LbkDestroyPair(pairs[n]);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(irp);
    status = IoCallDriver(bus->LowerDevice, irp);
    IoReleaseRemoveLockAndWait(&bus->RemoveLock, irp);
    IoDetachDevice(bus->LowerDevice);
    RtlFreeUnicodeString(&bus->InterfaceName);
    LbkTrace(LBK_TRACE_INFO, "lbk: bus: removed\n");
    IoDeleteDevice(bus->DeviceObject);
    return status;
}

static NTSTATUS LbkBusPnp(PLBK_BUS_EXTENSION bus, PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status;

    switch (stack->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status = LbkSendDownAndWait(bus->LowerDevice, irp);
        if (NT_SUCCESS(status)) {
            LbkBusAcquire();
            if (!bus->Started) {
                bus->Started = TRUE;
                LbkLoadPairs(bus);
            }
            LbkBusRelease();
            LbkBusSetInterface(bus, TRUE);
            IoInvalidateDeviceRelations(bus->Pdo, BusRelations);
        }
        return LbkBusComplete(bus, irp, status);
    case IRP_MN_QUERY_DEVICE_RELATIONS:
        if (stack->Parameters.QueryDeviceRelations.Type != BusRelations)
            return LbkBusPassDown(bus, irp);
        status = LbkBusRelations(bus, irp);
        if (!NT_SUCCESS(status))
            return LbkBusComplete(bus, irp, status);
        irp->IoStatus.Status = STATUS_SUCCESS;
        return LbkBusPassDown(bus, irp);
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        /* A bus of software devices has no resources: it stops and goes back at once. */
        irp->IoStatus.Status = STATUS_SUCCESS;
        return LbkBusPassDown(bus, irp);
    case IRP_MN_SURPRISE_REMOVAL:
        LbkBusSetInterface(bus, FALSE);
        LbkBusAcquire();
        bus->Removed = TRUE; /* no pair is added or changed from now on: REMOVE destroys them */
        LbkBusRelease();
        irp->IoStatus.Status = STATUS_SUCCESS;
        return LbkBusPassDown(bus, irp);
    case IRP_MN_REMOVE_DEVICE:
        return LbkBusRemove(bus, irp);
    default:
        return LbkBusPassDown(bus, irp);
    }
}

/* LIST: the bus's pairs and their ends, into a zeroed reply. Bus lock held. */
static VOID LbkListPairsLocked(const LBK_BUS_EXTENSION *bus, lbk_bus_list *list)
{
    ULONG n, e;

    RtlZeroMemory(list, sizeof(*list));
    for (n = 0; n < LBK_BUS_MAX_PAIRS; n++) {
        PLBK_BUS_PAIR pair = LbkBusPairs[n];
        lbk_bus_pair_info *info;

        if (pair == NULL || pair->Bus != bus || !pair->Present)
            continue;
        info = &list->pairs[list->count++];
        info->pair = n;
        info->reported = pair->Reported;
        for (e = 0; e < 2; e++) {
            PLBK_DEVICE_EXTENSION end = pair->Unit->Ends[e];
            KLOCK_QUEUE_HANDLE lockHandle;
            size_t chars = wcslen(end->Name);

            RtlCopyMemory(info->end[e].name, end->Name, chars * sizeof(WCHAR));
            info->end[e].port = end->Serial.Port;
            info->end[e].port_linked = end->Serial.PortLinked;
            KeAcquireInStackQueuedSpinLock(&end->Unit->Lock, &lockHandle);
            info->end[e].paced = end->Serial.Paced;
            info->end[e].wiring[0] = end->Serial.Wiring.cts;
            info->end[e].wiring[1] = end->Serial.Wiring.dsr;
            info->end[e].wiring[2] = end->Serial.Wiring.dcd;
            info->end[e].wiring[3] = end->Serial.Wiring.ri;
            info->end[e].pnp_state = end->Pnp.state;
            info->end[e].open_handles = end->OpenHandles;
            KeReleaseInStackQueuedSpinLock(&lockHandle);
        }
    }
}

/* SET_PORT: an end's COM name changes while it may be open; the link moves with it if started. */
static NTSTATUS LbkSetPortLocked(PLBK_BUS_EXTENSION bus, const lbk_bus_port *request)
{
    PLBK_BUS_PAIR pair;
    PLBK_DEVICE_EXTENSION end;
    PLBK_DEVICE_EXTENSION owner;
    BOOLEAN linked;

    if (request->pair >= LBK_BUS_MAX_PAIRS || request->end > 1 || request->port > LBK_MAX_COM_PORT)
        return STATUS_INVALID_PARAMETER;
    if (bus->Removed)
        return STATUS_DEVICE_REMOVED; /* going (SURPRISE_REMOVAL came): REMOVE destroys its pairs */
    pair = LbkBusPairs[request->pair];
    if (pair == NULL || pair->Bus != bus || !pair->Present)
        return STATUS_NOT_FOUND;
    end = pair->Unit->Ends[request->end];
    owner = LbkBusPortOwnerLocked(request->port, end);
    if (owner != NULL) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: bus: COM%u is %ls's\n", request->port, owner->Name);
        return STATUS_OBJECT_NAME_COLLISION;
    }
    if (end->Serial.Port == request->port)
        return STATUS_SUCCESS;
    linked = pair->EndStarted[request->end]; /* port.c links a started end's name */
    LbkSerialUnlinkPort(end);
    end->Serial.Port = request->port;
    if (linked)
        (VOID)LbkSerialLinkPort(end);
    /* An end the PnP manager has not seen yet gets its PortName at START (port.c). */
    if (pair->EndKnown[request->end])
        LbkPortWritePortName(end);
    LbkSavePairLocked(bus, pair, TRUE);
    LbkTrace(LBK_TRACE_INFO, "lbk: %ls: COM name now %u%s\n", end->Name, request->port,
             linked && !end->Serial.PortLinked && request->port != 0 ? " (taken: not linked)" : "");
    return STATUS_SUCCESS;
}

/* SET_OPTIONS: an end's wiring and pacing change at once, while it may be in use; kept. */
static NTSTATUS LbkSetOptionsLocked(PLBK_BUS_EXTENSION bus, const lbk_bus_end_options *request)
{
    struct lbk_flow_wiring wiring;
    PLBK_BUS_PAIR pair;

    wiring.cts = request->wiring[0];
    wiring.dsr = request->wiring[1];
    wiring.dcd = request->wiring[2];
    wiring.ri = request->wiring[3];
    if (request->pair >= LBK_BUS_MAX_PAIRS || request->end > 1 || request->paced > 1 || request->reserved != 0 ||
        !lbk_flow_wiring_is_valid(&wiring))
        return STATUS_INVALID_PARAMETER;
    if (bus->Removed)
        return STATUS_DEVICE_REMOVED;
    pair = LbkBusPairs[request->pair];
    if (pair == NULL || pair->Bus != bus || !pair->Present)
        return STATUS_NOT_FOUND;
    LbkSerialSetOptions(pair->Unit->Ends[request->end], &wiring, request->paced != 0);
    LbkSavePairLocked(bus, pair, TRUE);
    return STATUS_SUCCESS;
}

static NTSTATUS LbkBusControl(PLBK_BUS_EXTENSION bus, PIRP irp)
{
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    ULONG inBytes = stack->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outBytes = stack->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID buffer = irp->AssociatedIrp.SystemBuffer;
    ULONG_PTR information = 0;
    PLBK_BUS_PAIR destroy = NULL;
    BOOLEAN invalidate = FALSE;
    NTSTATUS status;

    LbkBusAcquire();
    switch (stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_LBK_BUS_ADD_PAIR: {
        lbk_bus_pair request;
        ULONG number;

        if (inBytes < sizeof(request) || outBytes < sizeof(request)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        RtlCopyMemory(&request, buffer, sizeof(request));
        if (!bus->Started || bus->Removed) {
            status = STATUS_DEVICE_NOT_READY;
            break;
        }
        number = request.pair;
        if (number == LBK_BUS_ANY_PAIR) {
            for (number = 0; number < LBK_BUS_MAX_PAIRS && LbkBusPairs[number] != NULL; number++)
                ;
            if (number == LBK_BUS_MAX_PAIRS) {
                status = STATUS_TOO_MANY_NODES;
                break;
            }
        }
        status = LbkAddPairLocked(bus, number, request.port);
        if (NT_SUCCESS(status)) {
            LbkSavePairLocked(bus, LbkBusPairs[number], TRUE);
            request.pair = number;
            RtlCopyMemory(buffer, &request, sizeof(request));
            information = sizeof(request);
            invalidate = TRUE;
        }
        break;
    }
    case IOCTL_LBK_BUS_REMOVE_PAIR: {
        lbk_u32 number;
        PLBK_BUS_PAIR pair;

        if (inBytes < sizeof(number)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        RtlCopyMemory(&number, buffer, sizeof(number));
        if (bus->Removed) {
            status = STATUS_DEVICE_REMOVED;
            break;
        }
        pair = number < LBK_BUS_MAX_PAIRS ? LbkBusPairs[number] : NULL;
        if (pair == NULL || pair->Bus != bus || !pair->Present) {
            status = STATUS_NOT_FOUND;
            break;
        }
        pair->Present = FALSE;
        LbkSavePairLocked(bus, pair, FALSE);
        if (pair->Reported) {
            invalidate = TRUE; /* the PnP manager removes its ends, and then it goes (port.c) */
        } else {
            LbkBusPairs[number] = NULL; /* never reported: no one else knows it */
            destroy = pair;
        }
        status = STATUS_SUCCESS;
        break;
    }
    case IOCTL_LBK_BUS_SET_PORT:
        if (inBytes < sizeof(lbk_bus_port)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        {
            lbk_bus_port request;

            RtlCopyMemory(&request, buffer, sizeof(request));
            status = LbkSetPortLocked(bus, &request);
        }
        break;
    case IOCTL_LBK_BUS_SET_OPTIONS:
        if (inBytes < sizeof(lbk_bus_end_options)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        {
            lbk_bus_end_options request;

            RtlCopyMemory(&request, buffer, sizeof(request));
            status = LbkSetOptionsLocked(bus, &request);
        }
        break;
    case IOCTL_LBK_BUS_LIST:
        if (outBytes < sizeof(lbk_bus_list)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        LbkListPairsLocked(bus, buffer);
        information = sizeof(lbk_bus_list);
        status = STATUS_SUCCESS;
        break;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    LbkBusRelease();
    if (destroy != NULL)
        LbkDestroyPair(destroy);
    if (invalidate)
        IoInvalidateDeviceRelations(bus->Pdo, BusRelations);
    irp->IoStatus.Information = information;
    return status;
}

NTSTATUS LbkBusDispatch(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    PLBK_BUS_EXTENSION bus = deviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
    NTSTATUS status;

    if (stack->MajorFunction == IRP_MJ_POWER)
        PoStartNextPowerIrp(irp);
    status = IoAcquireRemoveLock(&bus->RemoveLock, irp);
    if (!NT_SUCCESS(status))
        return LbkRefuseIrp(irp, status); /* REMOVE is waiting for the lock */
    switch (stack->MajorFunction) {
    case IRP_MJ_PNP:
        return LbkBusPnp(bus, irp);
    case IRP_MJ_POWER:
        IoSkipCurrentIrpStackLocation(irp);
        status = PoCallDriver(bus->LowerDevice, irp);
        IoReleaseRemoveLock(&bus->RemoveLock, irp);
        return status;
    case IRP_MJ_SYSTEM_CONTROL:
        return LbkBusPassDown(bus, irp);
    case IRP_MJ_CREATE:
        /* The bus has no namespace: only the device itself opens. */
        status = stack->FileObject != NULL && stack->FileObject->FileName.Length != 0 ? STATUS_OBJECT_PATH_NOT_FOUND
                                                                                        : STATUS_SUCCESS;
        break;
    case IRP_MJ_CLEANUP:
    case IRP_MJ_CLOSE:
        status = STATUS_SUCCESS;
        break;
    case IRP_MJ_DEVICE_CONTROL:
        status = LbkBusControl(bus, irp);
        irp->IoStatus.Status = status;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&bus->RemoveLock, irp);
        return status;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    irp->IoStatus.Information = 0;
    return LbkBusComplete(bus, irp, status);
}
