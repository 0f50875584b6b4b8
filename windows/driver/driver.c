/*
 * driver.c - DriverEntry, DriverUnload and the service's configuration (kernel mode, PASSIVE_LEVEL).
 * A legacy (non-Plug-and-Play) driver: loading the service creates its one device, stopping the
 * service deletes it. DriverUnload undoes DriverEntry in reverse order.
 */
#include "lbk_driver.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD LbkUnload;

ULONG LbkTraceLevel = LBK_TRACE_ERROR;

/* Room for a REG_SZ somewhat longer than any valid value (the core says why it is invalid). */
typedef union _LBK_VALUE_BUFFER {
    KEY_VALUE_PARTIAL_INFORMATION Info;
    UCHAR Bytes[FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) + sizeof(WCHAR) * 2 * (LBK_MAX_NAME_CHARS + 1)];
} LBK_VALUE_BUFFER;

/* The Parameters values, by the core's numbering. */
static const PCWSTR LbkParameterNames[LBK_PARAM_ID_COUNT] = {
    [LBK_PARAM_ID_TRACE_LEVEL] = LBK_PARAM_TRACE_LEVEL,
    [LBK_PARAM_ID_DEVICE_NAME] = LBK_PARAM_DEVICE_NAME,
    [LBK_PARAM_ID_BUFFER_SIZE] = LBK_PARAM_BUFFER_SIZE,
    [LBK_PARAM_ID_IO_METHOD] = LBK_PARAM_IO_METHOD,
};

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

    keyPath.Length = 0;
    keyPath.MaximumLength = (USHORT)(registryPath->Length + sizeof(parametersSuffix));
    keyPath.Buffer = LbkAllocate(keyPath.MaximumLength, LBK_TAG_NAME);
    if (keyPath.Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyUnicodeString(&keyPath, registryPath);
    RtlAppendUnicodeToString(&keyPath, parametersSuffix);
    InitializeObjectAttributes(&attributes, &keyPath, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    status = ZwOpenKey(&key, KEY_READ, &attributes);
    LbkFree(keyPath.Buffer, LBK_TAG_NAME);
    if (status == STATUS_OBJECT_NAME_NOT_FOUND)
        return STATUS_SUCCESS; /* no Parameters key: every default holds */
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: cannot open Parameters: 0x%08x\n", status);
        return status;
    }
    for (param = 0; param < LBK_PARAM_ID_COUNT && NT_SUCCESS(status); param++)
        status = LbkApplyValue(key, (enum lbk_param)param, config);
    ZwClose(key);
    return status;
}

/* "\Prefix" + name into a pool-backed UNICODE_STRING. */
static NTSTATUS LbkBuildName(PCWSTR prefix, PCWSTR name, PUNICODE_STRING result)
{
    size_t chars = wcslen(prefix) + wcslen(name);

    result->Length = 0;
    result->MaximumLength = (USHORT)((chars + 1) * sizeof(WCHAR));
    result->Buffer = LbkAllocate(result->MaximumLength, LBK_TAG_NAME);
    if (result->Buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlAppendUnicodeToString(result, prefix);
    RtlAppendUnicodeToString(result, name);
    return STATUS_SUCCESS;
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

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT driverObject, PUNICODE_STRING registryPath)
{
    PDEVICE_OBJECT deviceObject = NULL;
    PLBK_DEVICE_EXTENSION ext;
    UNICODE_STRING deviceName = { 0 };
    struct lbk_config config;
    PVOID ringStorage;
    ULONG i;
    NTSTATUS status;

    status = LbkReadConfig(registryPath, &config);
    if (!NT_SUCCESS(status))
        return status;

    ringStorage = LbkAllocate(config.buffer_size, LBK_TAG_RING);
    if (ringStorage == NULL) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: no pool for a %lu-byte buffer\n", config.buffer_size);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    status = LbkBuildName(LBK_KERNEL_DEVICE_PREFIX, config.name, &deviceName);
    if (!NT_SUCCESS(status))
        goto FreeRing;
    status = IoCreateDevice(driverObject, sizeof(LBK_DEVICE_EXTENSION), &deviceName, LBK_DEVICE_TYPE,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: IoCreateDevice(%ls): 0x%08x\n", deviceName.Buffer, status);
        goto FreeDeviceName;
    }

    ext = deviceObject->DeviceExtension;
    RtlZeroMemory(ext, sizeof(*ext));
    ext->DeviceObject = deviceObject;
    ext->IoMethod = config.io_method;
    RtlCopyMemory(ext->Name, config.name, sizeof(ext->Name));
    LbkQueueInitialize(ext, ringStorage, config.buffer_size);
    if (config.io_method == LBK_IO_BUFFERED)
        deviceObject->Flags |= DO_BUFFERED_IO;
    else if (config.io_method == LBK_IO_DIRECT)
        deviceObject->Flags |= DO_DIRECT_IO;

    status = LbkBuildName(LBK_KERNEL_LINK_PREFIX, config.name, &ext->LinkName);
    if (!NT_SUCCESS(status))
        goto DeleteDevice;
    status = IoCreateSymbolicLink(&ext->LinkName, &deviceName);
    if (!NT_SUCCESS(status)) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: IoCreateSymbolicLink(%ls): 0x%08x\n", ext->LinkName.Buffer, status);
        goto FreeLinkName;
    }

    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        driverObject->MajorFunction[i] = LbkDispatchUnsupported;
    driverObject->MajorFunction[IRP_MJ_CREATE] = LbkDispatchCreate;
    driverObject->MajorFunction[IRP_MJ_CLEANUP] = LbkDispatchCleanup;
    driverObject->MajorFunction[IRP_MJ_CLOSE] = LbkDispatchClose;
    driverObject->MajorFunction[IRP_MJ_READ] = LbkDispatchRead;
    driverObject->MajorFunction[IRP_MJ_WRITE] = LbkDispatchWrite;
    driverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = LbkDispatchDeviceControl;
    driverObject->DriverUnload = LbkUnload;
    deviceObject->Flags &= ~DO_DEVICE_INITIALIZING;

    LbkTrace(LBK_TRACE_INFO, "lbk: %ls: loaded, %lu-byte buffer, %s I/O\n", config.name, config.buffer_size,
             LbkIoMethodName(config.io_method));
    LbkFree(deviceName.Buffer, LBK_TAG_NAME);
    return STATUS_SUCCESS;

FreeLinkName:
    LbkFree(ext->LinkName.Buffer, LBK_TAG_NAME);
DeleteDevice:
    IoDeleteDevice(deviceObject);
FreeDeviceName:
    LbkFree(deviceName.Buffer, LBK_TAG_NAME);
FreeRing:
    LbkFree(ringStorage, LBK_TAG_RING);
    return status;
}

/*
 * Windows calls this only once no handle or IRP refers to the device. Wine calls it at once, even
 * with handles open and requests queued, so it first completes every queued request with
 * STATUS_DEVICE_REMOVED. No cancel routine can be under way meanwhile: on Windows no IRP is
 * left, and Wine runs cancel routines and Unload on its one dispatch thread.
 */
_Use_decl_annotations_
static VOID LbkUnload(PDRIVER_OBJECT driverObject)
{
    PDEVICE_OBJECT deviceObject = driverObject->DeviceObject;
    PLBK_DEVICE_EXTENSION ext = deviceObject->DeviceExtension;
    KLOCK_QUEUE_HANDLE lockHandle;
    LIST_ENTRY done;

    InitializeListHead(&done);
    KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
    LbkFlushLocked(ext, NULL, STATUS_DEVICE_REMOVED, &done);
    KeReleaseInStackQueuedSpinLock(&lockHandle);
    LbkCompleteList(ext, &done);

    /* Only under Wine can handles still be open; no CLOSE reaches an unloaded driver. */
    if (ext->OpenHandles != 0)
        LbkTrace(LBK_TRACE_INFO, "lbk: %ls: unload with %lu handles open\n", ext->Name, ext->OpenHandles);
    while (!IsListEmpty(&ext->OpenFiles)) {
        PLBK_FILE_CONTEXT context = CONTAINING_RECORD(RemoveHeadList(&ext->OpenFiles), LBK_FILE_CONTEXT, Link);

        context->FileObject->FsContext = NULL;
        LbkFree(context, LBK_TAG_FILE);
    }

    IoDeleteSymbolicLink(&ext->LinkName);
    LbkFree(ext->LinkName.Buffer, LBK_TAG_NAME);
    LbkFree(ext->Ring.data, LBK_TAG_RING);
    IoDeleteDevice(deviceObject);

    if (LbkPoolBytesOutstanding() != 0)
        LbkTrace(LBK_TRACE_ERROR, "lbk: unload: %I64u bytes of pool in %I64u allocations still held\n",
                 LbkPoolBytesOutstanding(), LbkPoolAllocationsOutstanding());
    else
        LbkTrace(LBK_TRACE_INFO, "lbk: unload: no pool held\n");
}
