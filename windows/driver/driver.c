/*
 * driver.c - DriverEntry, DriverUnload, the service's configuration and the units (kernel mode,
 * PASSIVE_LEVEL). Loaded as a legacy service (Parameters\PlugAndPlay 0, the default), starting the
 * service creates its devices (DeviceCount loopback devices or pairs) and stopping it deletes
 * them; loaded by the INF (PlugAndPlay 1), AddDevice creates one per device node (pnp.c).
 * DriverUnload undoes DriverEntry in reverse order.
 */
#include "lbk_driver.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD LbkUnload;

ULONG LbkTraceLevel = LBK_TRACE_ERROR;
struct lbk_config LbkConfig;

/* Room for a REG_SZ somewhat longer than any valid value (the core says why it is invalid). */
typedef union _LBK_VALUE_BUFFER {
    KEY_VALUE_PARTIAL_INFORMATION Info;
    UCHAR Bytes[FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) + sizeof(WCHAR) * (LBK_SDDL_MAX_CHARS + 8)];
} LBK_VALUE_BUFFER;

/* The Parameters values, by the core's numbering. */
static const PCWSTR LbkParameterNames[LBK_PARAM_ID_COUNT] = {
    [LBK_PARAM_ID_TRACE_LEVEL] = LBK_PARAM_TRACE_LEVEL,
    [LBK_PARAM_ID_DEVICE_NAME] = LBK_PARAM_DEVICE_NAME,
    [LBK_PARAM_ID_BUFFER_SIZE] = LBK_PARAM_BUFFER_SIZE,
    [LBK_PARAM_ID_IO_METHOD] = LBK_PARAM_IO_METHOD,
    [LBK_PARAM_ID_DEVICE_COUNT] = LBK_PARAM_DEVICE_COUNT,
    [LBK_PARAM_ID_MESSAGE_MODE] = LBK_PARAM_MESSAGE_MODE,
    [LBK_PARAM_ID_PAIRS] = LBK_PARAM_PAIRS,
    [LBK_PARAM_ID_WHEN_PEER_CLOSED] = LBK_PARAM_WHEN_PEER_CLOSED,
    [LBK_PARAM_ID_SECURITY] = LBK_PARAM_SECURITY,
    [LBK_PARAM_ID_PLUG_AND_PLAY] = LBK_PARAM_PLUG_AND_PLAY,
    [LBK_PARAM_ID_SERIAL] = LBK_PARAM_SERIAL,
    [LBK_PARAM_ID_PORT_NAMES] = LBK_PARAM_PORT_NAMES,
    [LBK_PARAM_ID_BAUD_EMULATION] = LBK_PARAM_BAUD_EMULATION,
    [LBK_PARAM_ID_PENDING_REQUESTS_PER_HANDLE] = LBK_PARAM_PENDING_REQUESTS_PER_HANDLE,
    [LBK_PARAM_ID_PENDING_BYTES_PER_HANDLE] = LBK_PARAM_PENDING_BYTES_PER_HANDLE,
    [LBK_PARAM_ID_PENDING_REQUESTS_PER_DEVICE] = LBK_PARAM_PENDING_REQUESTS_PER_DEVICE,
    [LBK_PARAM_ID_PENDING_BYTES_PER_DEVICE] = LBK_PARAM_PENDING_BYTES_PER_DEVICE,
    [LBK_PARAM_ID_WIRING] = L"Wiring", /* flow.c: a serial end's modem inputs (docs/serial.md) */
};

/* Says why Parameters\Security was refused, and where: the core's parser has the details. */
static VOID LbkLogSecurityError(const KEY_VALUE_PARTIAL_INFORMATION *info)
{
    const uint16_t *text = (const uint16_t *)info->Data;
    size_t chars = lbk_config_trim(text, info->DataLength / sizeof(WCHAR));
    size_t offset = 0;
    enum lbk_sddl_error error = LBK_SDDL_TOO_LONG;

    if (chars <= LBK_SDDL_MAX_CHARS) {
        uint8_t descriptor[LBK_SECURITY_DESCRIPTOR_MAX_BYTES];
        size_t bytes;

        error = lbk_sddl_to_descriptor(text, chars, descriptor, &bytes, &offset);
    }
    LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: Parameters\\Security: %s (at character %Iu)\n",
             lbk_sddl_strerror(error), offset + 1);
}

/*
 * Reads one Parameters value, if present, and applies it through the core's checks.
 * Returns STATUS_SUCCESS (absent, applied or clamped) or STATUS_INVALID_PARAMETER, logged.
 */
static NTSTATUS LbkApplyValue(HANDLE key, enum lbk_param param, struct lbk_config *config)
{
    PCWSTR name = LbkParameterNames[param];
    UNICODE_STRING valueName;
    LBK_VALUE_BUFFER value;
    ULONG resultLength;
    enum lbk_config_error error;
    NTSTATUS status;

    RtlInitUnicodeString(&valueName, name);
    status = ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, &value, sizeof(value), &resultLength);
    if (status == STATUS_OBJECT_NAME_NOT_FOUND)
        return STATUS_SUCCESS;
    if (status == STATUS_BUFFER_OVERFLOW || status == STATUS_BUFFER_TOO_SMALL) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: Parameters\\%ls: the value is too long\n", name);
        return STATUS_INVALID_PARAMETER;
    }
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: Parameters\\%ls cannot be read: 0x%08x\n", name, status);
        return STATUS_INVALID_PARAMETER;
    }
    error = lbk_config_apply(config, param, value.Info.Type, value.Info.Data, value.Info.DataLength);
    if (error == LBK_CONFIG_CLAMPED) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: Parameters\\%ls: %s\n", name, lbk_config_strerror(error));
    } else if (error == LBK_CONFIG_BAD_SECURITY) {
        LbkLogSecurityError(&value.Info);
        return STATUS_INVALID_PARAMETER;
    } else if (error != LBK_CONFIG_OK) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: Parameters\\%ls: %s\n", name, lbk_config_strerror(error));
        return STATUS_INVALID_PARAMETER;
    }
    if (param == LBK_PARAM_ID_TRACE_LEVEL)
        LbkTraceLevel = config->trace_level; /* so that the other values' messages obey it */
    return STATUS_SUCCESS;
}

/*
 * Reads Parameters\* under the service key into config, defaults first. A value that is present
 * but unusable stops the load with a logged reason, except TraceLevel, which is clamped.
 */
static NTSTATUS LbkReadConfig(PUNICODE_STRING registryPath, struct lbk_config *config)
{
    static const WCHAR parametersSuffix[] = L"\\Parameters";
    OBJECT_ATTRIBUTES attributes;
    UNICODE_STRING keyPath;
    enum lbk_config_error error;
    HANDLE key;
    ULONG param;
    NTSTATUS status;

    /* Default name: the service's, the last part of ...\Services\<service>. */
    error = lbk_config_init(config, (const uint16_t *)registryPath->Buffer, registryPath->Length / sizeof(WCHAR));
    if (error != LBK_CONFIG_OK) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: service name: %s\n", lbk_config_strerror(error));
        return STATUS_INVALID_PARAMETER;
    }

    /* A UNICODE_STRING holds at most MAXUSHORT bytes: a longer path would be cut silently. */
    if ((SIZE_T)registryPath->Length + sizeof(parametersSuffix) > MAXUSHORT) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: the service's registry path is too long\n");
        return STATUS_NAME_TOO_LONG;
    }
    keyPath.Length = 0;
    keyPath.MaximumLength = (USHORT)(registryPath->Length + sizeof(parametersSuffix));
    keyPath.Buffer = LbkAllocate(keyPath.MaximumLength, LBK_TAG_NAME);
    if (keyPath.Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyUnicodeString(&keyPath, registryPath); /* fits: MaximumLength is checked above */
    status = RtlAppendUnicodeToString(&keyPath, parametersSuffix);
    if (NT_SUCCESS(status)) {
        InitializeObjectAttributes(&attributes, &keyPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
        status = ZwOpenKey(&key, KEY_READ, &attributes);
    }
    LbkFree(keyPath.Buffer, LBK_TAG_NAME);
    if (status == STATUS_OBJECT_NAME_NOT_FOUND)
        return STATUS_SUCCESS; /* no Parameters key: every default holds, and they are whole */
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: cannot open Parameters: 0x%08x\n", status);
        return status;
    }
    for (param = 0; param < LBK_PARAM_ID_COUNT && NT_SUCCESS(status); param++)
        status = LbkApplyValue(key, (enum lbk_param)param, config);
    ZwClose(key);
    if (NT_SUCCESS(status) && (error = lbk_config_check_whole(config)) != LBK_CONFIG_OK) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: Parameters: %s\n", lbk_config_strerror(error));
        status = STATUS_INVALID_PARAMETER;
    }
    return status;
}

/* "\Prefix" + name into a pool-backed UNICODE_STRING, NUL-terminated for the log. */
NTSTATUS LbkBuildName(PCWSTR prefix, PCWSTR name, PUNICODE_STRING result)
{
    size_t chars = wcslen(prefix) + wcslen(name);
    NTSTATUS status;

    RtlZeroMemory(result, sizeof(*result));
    if ((chars + 1) * sizeof(WCHAR) > MAXUSHORT)
        return STATUS_NAME_TOO_LONG; /* cannot happen with names of 63 characters; never cut one */
    result->MaximumLength = (USHORT)((chars + 1) * sizeof(WCHAR));
    result->Buffer = LbkAllocate(result->MaximumLength, LBK_TAG_NAME);
    if (result->Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    status = RtlAppendUnicodeToString(result, prefix);
    if (NT_SUCCESS(status))
        status = RtlAppendUnicodeToString(result, name);
    if (!NT_SUCCESS(status)) {
        LbkFree(result->Buffer, LBK_TAG_NAME);
        result->Buffer = NULL;
    }
    return status;
}

static PCSTR LbkIoMethodName(enum lbk_io_method method)
{
    switch (method) {
    case LBK_IO_BUFFERED: return "buffered";
    case LBK_IO_DIRECT: return "direct";
    case LBK_IO_NEITHER: return "neither";
    }
    return "?";
}

/*
 * Gives the device the configured DACL (SYSTEM and Administrators unless Parameters\Security
 * says otherwise). IoCreateDevice alone leaves Windows' default, in which Everyone may read and
 * write; IoCreateDeviceSecure, which fixes that, lives in wdmsec.lib, which mingw-w64 lacks, so
 * the descriptor is applied here the way it does, before the device can be opened.
 */
/*
 * Logs the DACL as the object manager now holds it, in hex, so that it can be compared with what
 * the documented string means (scripts/test-wine.sh does, with advapi32's own SDDL converter).
 */
static VOID LbkLogSecurity(HANDLE handle, PCWSTR name)
{
    static const char digits[] = "0123456789abcdef";
    ULONG bytes = 0, i;
    PUCHAR descriptor;
    PCHAR hex;

    if (ZwQuerySecurityObject(handle, DACL_SECURITY_INFORMATION, NULL, 0, &bytes) != STATUS_BUFFER_TOO_SMALL ||
        bytes == 0 || bytes > 0x10000)
        return;
    descriptor = LbkAllocate(bytes + 2 * (SIZE_T)bytes + 1, LBK_TAG_NAME);
    if (descriptor == NULL)
        return;
    hex = (PCHAR)descriptor + bytes;
    if (NT_SUCCESS(ZwQuerySecurityObject(handle, DACL_SECURITY_INFORMATION, descriptor, bytes, &bytes))) {
        PCHAR next = hex;

        for (i = 0; i < bytes; i++) {
            *next++ = digits[descriptor[i] >> 4];
            *next++ = digits[descriptor[i] & 0xF];
        }
        *next = '\0';
        LbkTrace(LBK_TRACE_INFO, "lbk: %ls: security descriptor %s\n", name, hex);
    }
    LbkFree(descriptor, LBK_TAG_NAME);
}

static NTSTATUS LbkSecureDevice(PDEVICE_OBJECT deviceObject, PCWSTR name, const struct lbk_config *config)
{
    HANDLE handle;
    NTSTATUS status;

    status = ObOpenObjectByPointer(deviceObject, OBJ_KERNEL_HANDLE, NULL, WRITE_DAC | READ_CONTROL, NULL,
                                   KernelMode, &handle);
    if (!NT_SUCCESS(status))
        return status;
    status = ZwSetSecurityObject(handle, DACL_SECURITY_INFORMATION, (PSECURITY_DESCRIPTOR)config->security_descriptor);
    if (NT_SUCCESS(status) && LbkTraceEnabled(LBK_TRACE_INFO))
        LbkLogSecurity(handle, name);
    ZwClose(handle);
    return status;
}

/* Creates one device object, its name and its link (for pdo, not attached to it yet); the unit
   is wired up by the caller. */
/*
 * What LbkBuildUnit makes: one loopback device or the two ends of a pair, each end's name
 * (zeroed whole: the extension keeps all of it, and GET_INFO hands the name to any caller) and
 * role, and for a serial pair each end's COM number.
 */
typedef struct _LBK_UNIT_SPEC {
    ULONG Ends;
    uint16_t Names[2][LBK_MAX_NAME_CHARS + 1];
    enum lbk_role Roles[2];
    BOOLEAN Serial;
    BOOLEAN Paced;
    BOOLEAN LinkPorts;       /* the COM links now (legacy); a bus's ends link theirs at START */
    BOOLEAN PlugAndPlay;     /* each device waits for START (lbk_pnp_init) */
    USHORT Ports[2];
    PDEVICE_OBJECT AttachTo; /* AddDevice: the PDO the one device is attached to */
} LBK_UNIT_SPEC, *PLBK_UNIT_SPEC;

static NTSTATUS LbkCreateDevice(PDRIVER_OBJECT driverObject, const struct lbk_config *config,
                                const LBK_UNIT_SPEC *spec, ULONG end, PLBK_DEVICE_EXTENSION *result)
{
    PDEVICE_OBJECT deviceObject = NULL;
    PLBK_DEVICE_EXTENSION ext;
    UNICODE_STRING deviceName = { 0 };
    const uint16_t *name = spec->Names[end];
    NTSTATUS status;

    status = LbkBuildName(LBK_KERNEL_DEVICE_PREFIX, (PCWSTR)name, &deviceName);
    if (!NT_SUCCESS(status))
        return status;
    /* A serial end is the device type of a COM port, as programs that look at it expect. */
    status = IoCreateDevice(driverObject, sizeof(LBK_DEVICE_EXTENSION), &deviceName,
                            spec->Serial ? FILE_DEVICE_SERIAL_PORT : LBK_DEVICE_TYPE,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: IoCreateDevice(%ls): 0x%08x\n", deviceName.Buffer, status);
        goto FreeDeviceName;
    }
    status = LbkSecureDevice(deviceObject, (PCWSTR)name, config);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: %ls: its security cannot be set: 0x%08x\n", deviceName.Buffer,
                 status);
        goto DeleteDevice;
    }
    ext = LbkExtension(deviceObject);
    RtlZeroMemory(ext, sizeof(*ext));
    ext->Kind = LBK_KIND_END;
    ext->DeviceObject = deviceObject;
    IoInitializeRemoveLock(&ext->RemoveLock, LBK_TAG_REMOVE_LOCK, 0, 0);
    lbk_pnp_init(&ext->Pnp, spec->PlugAndPlay);
    ext->IoMethod = config->io_method;
    ext->Role = spec->Roles[end];
    ext->WhenPeerClosed = config->when_peer_closed;
    RtlCopyMemory(ext->Name, name, sizeof(ext->Name));
    LbkQueueInitialize(&ext->Waits);
    LbkQueueInitialize(&ext->Flushes);
    LbkQueueInitialize(&ext->Held);
    LbkQueueInitialize(&ext->Serial.MaskWaits);
    InitializeListHead(&ext->OpenFiles);
    if (config->io_method == LBK_IO_BUFFERED)
        deviceObject->Flags |= DO_BUFFERED_IO;
    else if (config->io_method == LBK_IO_DIRECT)
        deviceObject->Flags |= DO_DIRECT_IO;

    status = LbkBuildName(LBK_KERNEL_LINK_PREFIX, (PCWSTR)name, &ext->LinkName);
    if (!NT_SUCCESS(status))
        goto DeleteDevice;
    status = IoCreateSymbolicLink(&ext->LinkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: IoCreateSymbolicLink(%ls): 0x%08x\n", ext->LinkName.Buffer, status);
        LbkFree(ext->LinkName.Buffer, LBK_TAG_NAME);
        goto DeleteDevice;
    }
    LbkFree(deviceName.Buffer, LBK_TAG_NAME);
    *result = ext;
    return STATUS_SUCCESS;

DeleteDevice:
    IoDeleteDevice(deviceObject);
FreeDeviceName:
    LbkFree(deviceName.Buffer, LBK_TAG_NAME);
    return status;
}

/*
 * Completes what the device still has queued, refuses what comes after, and, unless the caller
 * (REMOVE_DEVICE) has already waited for the remove lock, waits for it: every IRP and work item
 * of the device is done then. On Windows no IRP is left by unload; under Wine the flush has
 * completed every one.
 */
static VOID LbkQuiesceDevice(PLBK_DEVICE_EXTENSION ext, BOOLEAN removeLockReleased)
{
    /* A device whose unit was never wired (its creation failed) was never opened either. */
    if (ext->Unit != NULL)
        LbkEndEveryRequest(ext, LBK_PNP_REMOVE);
    if (!removeLockReleased && NT_SUCCESS(IoAcquireRemoveLock(&ext->RemoveLock, ext)))
        IoReleaseRemoveLockAndWait(&ext->RemoveLock, ext);
}

/* Forgets a quiesced device's handles and deletes it. */
static VOID LbkDeleteDevice(PLBK_DEVICE_EXTENSION ext)
{
    ULONG i;

    /* Only under Wine can handles still be open; no CLOSE reaches an unloaded driver. */
    if (ext->OpenHandles != 0)
        LbkTrace(LBK_TRACE_INFO, "lbk: %ls: deleted with %lu handles open\n", ext->Name, ext->OpenHandles);
    while (!IsListEmpty(&ext->OpenFiles)) {
        PLBK_FILE_CONTEXT context = CONTAINING_RECORD(RemoveHeadList(&ext->OpenFiles), LBK_FILE_CONTEXT, Link);

        context->FileObject->FsContext = NULL;
        LbkFree(context, LBK_TAG_FILE);
    }
    for (i = 0; i < LBK_SPARE_BOUNCES; i++)
        LbkFree(InterlockedExchangePointer(&ext->SpareBounces[i], NULL), LBK_TAG_BOUNCE);
    LbkSerialUnlinkPort(ext);
    IoDeleteSymbolicLink(&ext->LinkName); /* every device in a unit has its link */
    LbkFree(ext->LinkName.Buffer, LBK_TAG_NAME);
    RtlFreeUnicodeString(&ext->InterfaceName); /* allocated by IoRegisterDeviceInterface */
    if (ext->LowerDevice != NULL)
        IoDetachDevice(ext->LowerDevice);
    IoDeleteDevice(ext->DeviceObject);
}

/* Deletes a unit that is in no slot (or was never put in one): its devices, then its buffers. */
VOID LbkDestroyUnit(PLBK_UNIT unit, BOOLEAN removeLockReleased)
{
    ULONG i;

    /* Every end quiet before any is deleted: a request or work item of one end (a context pump
       holds only its writer's remove lock) walks the whole unit, the other end included. */
    for (i = 0; i < RTL_NUMBER_OF(unit->Ends); i++) {
        if (unit->Ends[i] != NULL)
            LbkQuiesceDevice(unit->Ends[i], removeLockReleased);
    }
    for (i = 0; i < RTL_NUMBER_OF(unit->Ends); i++) {
        if (unit->Ends[i] != NULL)
            LbkDeleteDevice(unit->Ends[i]);
    }
    for (i = 0; i < unit->ChannelCount; i++)
        LbkFree(unit->Channels[i].Data.ring.data, LBK_TAG_RING);
    LbkFree(unit, LBK_TAG_UNIT);
}

/* Slots kept by LbkReserveSlot, or filled: guarded by LbkUnitsLock. */
static BOOLEAN LbkSlotTaken[LBK_MAX_DEVICE_COUNT];

ULONG LbkReserveSlot(VOID)
{
    ULONG slot;

    ExAcquireFastMutex(&LbkUnitsLock);
    for (slot = 0; slot < LBK_MAX_DEVICE_COUNT && (LbkSlotTaken[slot] || LbkUnits[slot] != NULL); slot++)
        ;
    if (slot < LBK_MAX_DEVICE_COUNT)
        LbkSlotTaken[slot] = TRUE;
    ExReleaseFastMutex(&LbkUnitsLock);
    return slot;
}

VOID LbkReleaseSlot(ULONG slot)
{
    ExAcquireFastMutex(&LbkUnitsLock);
    LbkSlotTaken[slot] = FALSE;
    ExReleaseFastMutex(&LbkUnitsLock);
}

VOID LbkTakeUnitOut(PLBK_UNIT unit)
{
    ExAcquireFastMutex(&LbkUnitsLock); /* the timer thread takes the unit no more */
    LbkUnits[unit->Index] = NULL;
    LbkSlotTaken[unit->Index] = FALSE;
    LbkUnitCount--;
    ExReleaseFastMutex(&LbkUnitsLock);
    LbkTimerWaitForVisit(unit); /* and has left it */
}

/* Deletes every unit still in a slot (unload, or a DriverEntry that failed). */
static VOID LbkDeleteUnits(VOID)
{
    ULONG slot;

    for (slot = 0; slot < LBK_MAX_DEVICE_COUNT; slot++) {
        PLBK_UNIT unit;

        ExAcquireFastMutex(&LbkUnitsLock);
        unit = LbkUnits[slot];
        ExReleaseFastMutex(&LbkUnitsLock);
        if (unit != NULL) {
            LbkTakeUnitOut(unit); /* at unload the timer has stopped already; cheap then */
            LbkDestroyUnit(unit, FALSE);
        }
    }
}

/* A unit as the spec says, in the given slot; the caller clears DO_DEVICE_INITIALIZING. */
static NTSTATUS LbkBuildUnit(PDRIVER_OBJECT driverObject, ULONG slot, const LBK_UNIT_SPEC *spec, PLBK_UNIT *result)
{
    const struct lbk_config *config = &LbkConfig;
    ULONG ends = spec->Ends;
    PLBK_UNIT unit = LbkAllocate(sizeof(*unit), LBK_TAG_UNIT);
    NTSTATUS status = STATUS_SUCCESS;
    ULONG i;

    if (unit == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    KeInitializeSpinLock(&unit->Lock);
    unit->Index = slot;
    LbkQueueInitialize(&unit->Controls);
    for (i = 0; i < ends; i++) {
        PVOID storage = LbkAllocate(config->buffer_size, LBK_TAG_RING);

        if (storage == NULL) {
            LbkTrace(LBK_TRACE_ERROR, "lbk: no pool for a %lu-byte buffer\n", config->buffer_size);
            status = STATUS_INSUFFICIENT_RESOURCES;
            break;
        }
        lbk_channel_init(&unit->Channels[i].Data, storage, config->buffer_size, (int)config->message_mode);
        LbkQueueInitialize(&unit->Channels[i].Reads);
        LbkQueueInitialize(&unit->Channels[i].Writes);
        unit->ChannelCount++;
    }
    for (i = 0; i < ends && NT_SUCCESS(status); i++)
        status = LbkCreateDevice(driverObject, config, spec, i, &unit->Ends[i]);
    if (NT_SUCCESS(status) && spec->AttachTo != NULL)
        status = LbkAttachToStack(unit->Ends[0], spec->AttachTo);
    if (!NT_SUCCESS(status)) {
        LbkDestroyUnit(unit, FALSE);
        return status;
    }
    /* End i writes into channel i and reads channel (i + 1) % ends: A->B is channel 0. */
    for (i = 0; i < ends; i++) {
        PLBK_DEVICE_EXTENSION ext = unit->Ends[i];

        ext->Unit = unit;
        ext->Out = &unit->Channels[i];
        ext->In = &unit->Channels[(i + 1) % ends];
        ext->Peer = unit->Ends[(i + 1) % ends];
        ext->Out->Writer = ext;
        ext->In->Reader = ext;
        if (spec->Serial)
            LbkSerialInitialize(ext, spec->Ports[i], spec->Paced);
    }
    for (i = 0; i < ends && NT_SUCCESS(status) && spec->LinkPorts; i++)
        status = LbkSerialLinkPort(unit->Ends[i]);
    if (!NT_SUCCESS(status)) {
        LbkDestroyUnit(unit, FALSE);
        return status;
    }
    ExAcquireFastMutex(&LbkUnitsLock);
    LbkUnits[slot] = unit;
    LbkSlotTaken[slot] = TRUE;
    LbkUnitCount++;
    ExReleaseFastMutex(&LbkUnitsLock);
    *result = unit;
    return STATUS_SUCCESS;
}

/*
 * One loopback device, or the two ends of a pair, with a buffer per direction, in the given slot.
 * With a PDO (AddDevice) it is one loopback device attached to it, named by the slot; the caller
 * clears DO_DEVICE_INITIALIZING of a legacy unit's devices once the dispatch table is set.
 */
NTSTATUS LbkCreateUnit(PDRIVER_OBJECT driverObject, ULONG slot, PDEVICE_OBJECT pdo, PLBK_UNIT *result)
{
    const struct lbk_config *config = &LbkConfig;
    PLBK_UNIT_SPEC spec = LbkAllocate(sizeof(*spec), LBK_TAG_UNIT); /* too big for a kernel stack */
    NTSTATUS status;
    ULONG i;

    if (spec == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    spec->Ends = (pdo == NULL && config->pairs) ? 2 : 1;
    spec->AttachTo = pdo;
    spec->PlugAndPlay = pdo != NULL;
    spec->Serial = pdo == NULL && config->pairs && lbk_config_pair_is_serial(config, slot);
    spec->Paced = spec->Serial && lbk_config_pair_is_paced(config, slot);
    spec->LinkPorts = spec->Serial;
    for (i = 0; i < spec->Ends; i++) {
        ULONG index = pdo != NULL ? slot : slot * spec->Ends + i;

        spec->Roles[i] = lbk_config_device_name(config, index, spec->Names[i]);
        if (spec->Serial)
            spec->Ports[i] = config->ports[index];
    }
    status = LbkBuildUnit(driverObject, slot, spec, result);
    LbkFree(spec, LBK_TAG_UNIT);
    if (NT_SUCCESS(status) && pdo != NULL)
        (*result)->Ends[0]->DeviceObject->Flags &= ~DO_DEVICE_INITIALIZING;
    return status;
}

/*
 * The two ends of a bus's serial pair (bus.c), each a PDO named <Name>P<pair>A or B, in the given
 * slot, with their COM numbers, waiting for START; initialised, ready to be reported.
 */
NTSTATUS LbkCreatePortPair(PDRIVER_OBJECT driverObject, ULONG slot, ULONG pair, const USHORT ports[2],
                           PLBK_UNIT *result)
{
    PLBK_UNIT_SPEC spec = LbkAllocate(sizeof(*spec), LBK_TAG_UNIT);
    NTSTATUS status = STATUS_SUCCESS;
    ULONG i;

    if (spec == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    spec->Ends = 2;
    spec->Serial = TRUE;
    spec->PlugAndPlay = TRUE;
    for (i = 0; i < 2 && NT_SUCCESS(status); i++) {
        size_t chars = wcslen((PCWSTR)LbkConfig.name);
        uint16_t *name = spec->Names[i];

        /* <Name>, "P", up to two digits (pair < LBK_BUS_MAX_PAIRS), the end's letter. */
        if (chars + 4 > LBK_MAX_NAME_CHARS || pair >= 100) {
            status = STATUS_NAME_TOO_LONG;
            break;
        }
        RtlCopyMemory(name, LbkConfig.name, chars * sizeof(uint16_t));
        name[chars++] = L'P';
        if (pair >= 10)
            name[chars++] = (uint16_t)(L'0' + pair / 10);
        name[chars++] = (uint16_t)(L'0' + pair % 10);
        name[chars] = i == 0 ? L'A' : L'B';
        spec->Roles[i] = i == 0 ? LBK_ROLE_A : LBK_ROLE_B;
        spec->Ports[i] = ports[i];
    }
    if (NT_SUCCESS(status))
        status = LbkBuildUnit(driverObject, slot, spec, result);
    LbkFree(spec, LBK_TAG_UNIT);
    if (NT_SUCCESS(status)) {
        for (i = 0; i < 2; i++) {
            PDEVICE_OBJECT pdo = (*result)->Ends[i]->DeviceObject;

            pdo->Flags |= DO_POWER_PAGABLE;
            pdo->Flags &= ~DO_DEVICE_INITIALIZING;
        }
    }
    return status;
}

/* The dispatch routines of loopback devices and pair ends; a bus has its own (bus.c). */
static PDRIVER_DISPATCH LbkEndDispatch[IRP_MJ_MAXIMUM_FUNCTION + 1];
static DRIVER_DISPATCH LbkDispatch;

_Use_decl_annotations_
static NTSTATUS LbkDispatch(PDEVICE_OBJECT deviceObject, PIRP irp)
{
    if (*(const ULONG *)deviceObject->DeviceExtension == LBK_KIND_BUS)
        return LbkBusDispatch(deviceObject, irp);
    return LbkEndDispatch[IoGetCurrentIrpStackLocation(irp)->MajorFunction](deviceObject, irp);
}

NTSTATUS DriverEntry(PDRIVER_OBJECT driverObject, PUNICODE_STRING registryPath)
{
    PLBK_UNIT unit;
    ULONG i;
    NTSTATUS status;

    LbkPoolInitialize();
    ExInitializeFastMutex(&LbkUnitsLock);
    LbkBusInitialize();
    status = LbkReadConfig(registryPath, &LbkConfig);
    if (!NT_SUCCESS(status))
        return status;

    /* Legacy: the service's devices now. Plug and Play: none until AddDevice. */
    for (i = 0; !LbkConfig.plug_and_play && i < LbkConfig.device_count && NT_SUCCESS(status); i++)
        status = LbkCreateUnit(driverObject, i, NULL, &unit);
    if (NT_SUCCESS(status))
        status = LbkTimerStart();
    if (!NT_SUCCESS(status)) {
        LbkDeleteUnits();
        if (LbkPoolBytesOutstanding() != 0)
            LbkTrace(LBK_TRACE_ERROR, "lbk: load undone: %I64u bytes of pool still held\n", LbkPoolBytesOutstanding());
        else
            LbkTrace(LBK_TRACE_INFO, "lbk: load undone, no pool held\n");
        return status;
    }

    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++) {
        LbkEndDispatch[i] = LbkDispatchUnsupported;
        driverObject->MajorFunction[i] = LbkDispatch;
    }
    LbkEndDispatch[IRP_MJ_CREATE] = LbkDispatchCreate;
    LbkEndDispatch[IRP_MJ_CLEANUP] = LbkDispatchCleanup;
    LbkEndDispatch[IRP_MJ_CLOSE] = LbkDispatchClose;
    LbkEndDispatch[IRP_MJ_READ] = LbkDispatchRead;
    LbkEndDispatch[IRP_MJ_WRITE] = LbkDispatchWrite;
    LbkEndDispatch[IRP_MJ_DEVICE_CONTROL] = LbkDispatchDeviceControl;
    LbkEndDispatch[IRP_MJ_FLUSH_BUFFERS] = LbkDispatchFlush;
    LbkEndDispatch[IRP_MJ_PNP] = LbkDispatchPnp;
    LbkEndDispatch[IRP_MJ_POWER] = LbkDispatchPower;
    LbkEndDispatch[IRP_MJ_SYSTEM_CONTROL] = LbkDispatchSystemControl;
    driverObject->DriverExtension->AddDevice = LbkAddDevice;
    driverObject->DriverUnload = LbkUnload;
    /* Once a device's DO_DEVICE_INITIALIZING is clear, another CPU may open it and dispatch
       through both tables: they must be visible first (ARM64 may reorder two stores). */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (i = 0; i < LBK_MAX_DEVICE_COUNT; i++) {
        ULONG e;

        for (e = 0; LbkUnits[i] != NULL && e < RTL_NUMBER_OF(LbkUnits[i]->Ends); e++) {
            if (LbkUnits[i]->Ends[e] != NULL)
                LbkUnits[i]->Ends[e]->DeviceObject->Flags &= ~DO_DEVICE_INITIALIZING;
        }
    }

    if (LbkConfig.plug_and_play)
        LbkTrace(LBK_TRACE_INFO, "lbk: %ls: loaded for Plug and Play, a device per node, %lu-byte buffers, %s I/O, "
                                 "%s mode\n", LbkConfig.name, LbkConfig.buffer_size,
                 LbkIoMethodName(LbkConfig.io_method), LbkConfig.message_mode ? "message" : "byte-stream");
    else
        LbkTrace(LBK_TRACE_INFO, "lbk: %ls: loaded, %lu %s, %lu-byte buffers, %s I/O, %s mode\n", LbkConfig.name,
                 LbkConfig.device_count, LbkConfig.pairs ? "pairs" : "devices", LbkConfig.buffer_size,
                 LbkIoMethodName(LbkConfig.io_method), LbkConfig.message_mode ? "message" : "byte-stream");
    return STATUS_SUCCESS;
}

/*
 * Windows calls this only once no handle or IRP refers to the devices. Wine calls it at once, even
 * with handles open and requests queued, so it first completes every queued request with
 * STATUS_DEVICE_REMOVED. The timer thread is stopped before, so nothing else touches a unit; no
 * cancel routine can be under way either: on Windows no IRP is left, and Wine runs cancel
 * routines and Unload on its one dispatch thread.
 */
_Use_decl_annotations_
static VOID LbkUnload(PDRIVER_OBJECT driverObject)
{
    UNREFERENCED_PARAMETER(driverObject);
    LbkTimerStop();
    LbkDeleteUnits();
    if (LbkPoolBytesOutstanding() != 0)
        LbkTrace(LBK_TRACE_ERROR, "lbk: unload: %I64u bytes of pool in %I64u allocations still held\n",
                 LbkPoolBytesOutstanding(), LbkPoolAllocationsOutstanding());
    else
        LbkTrace(LBK_TRACE_INFO, "lbk: unload: no pool held\n");
}
