/*
 * driver.c - DriverEntry, DriverUnload and the service's configuration (kernel mode, PASSIVE_LEVEL).
 * A legacy (non-Plug-and-Play) driver: loading the service creates its one device, stopping the
 * service deletes it. DriverUnload undoes DriverEntry in reverse order.
 */
#include "lbk_driver.h"

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD LbkUnload;

ULONG LbkTraceLevel = LBK_TRACE_ERROR;

/* The values of the service's Parameters key, checked. */
typedef struct _LBK_CONFIG {
    WCHAR Name[LBK_MAX_NAME_CHARS + 1];
    ULONG BufferSize;
    enum lbk_io_method IoMethod;
    ULONG TraceLevel;
} LBK_CONFIG, *PLBK_CONFIG;

/* Room for a REG_SZ of LBK_MAX_NAME_CHARS characters plus a few terminators, or a REG_DWORD. */
typedef union _LBK_VALUE_BUFFER {
    KEY_VALUE_PARTIAL_INFORMATION Info;
    UCHAR Bytes[FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data) + (LBK_MAX_NAME_CHARS + 4) * sizeof(WCHAR)];
} LBK_VALUE_BUFFER;

/*
 * Reads one value of the expected type. Returns STATUS_SUCCESS, STATUS_OBJECT_NAME_NOT_FOUND
 * when it is absent (the default applies), STATUS_OBJECT_TYPE_MISMATCH for another type, or
 * STATUS_BUFFER_OVERFLOW when its data is larger than any valid value.
 */
static NTSTATUS LbkQueryValue(HANDLE key, PCWSTR name, ULONG type, LBK_VALUE_BUFFER *value)
{
    UNICODE_STRING valueName;
    ULONG resultLength;
    NTSTATUS status;

    RtlInitUnicodeString(&valueName, name);
    status = ZwQueryValueKey(key, &valueName, KeyValuePartialInformation, value, sizeof(*value), &resultLength);
    if (status == STATUS_BUFFER_OVERFLOW || status == STATUS_BUFFER_TOO_SMALL)
        return STATUS_BUFFER_OVERFLOW;
    if (!NT_SUCCESS(status))
        return status;
    if (value->Info.Type != type || (type == REG_DWORD && value->Info.DataLength != sizeof(ULONG)))
        return STATUS_OBJECT_TYPE_MISMATCH;
    return STATUS_SUCCESS;
}

static NTSTATUS LbkRejectValue(PCWSTR name, PCSTR reason)
{
    LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: Parameters\\%ls: %s\n", name, reason);
    return STATUS_INVALID_PARAMETER;
}

static PCSTR LbkValueError(NTSTATUS status)
{
    if (status == STATUS_OBJECT_TYPE_MISMATCH)
        return "wrong registry type";
    if (status == STATUS_BUFFER_OVERFLOW)
        return "the value is too long";
    return "the value cannot be read";
}

/* REG_SZ -> UTF-16 text without terminators, or an error status. */
static NTSTATUS LbkQueryString(HANDLE key, PCWSTR name, LBK_VALUE_BUFFER *value, const uint16_t **text, size_t *chars)
{
    NTSTATUS status = LbkQueryValue(key, name, REG_SZ, value);

    if (!NT_SUCCESS(status))
        return status;
    *text = (const uint16_t *)value->Info.Data;
    *chars = lbk_config_trim(*text, value->Info.DataLength / sizeof(WCHAR));
    return STATUS_SUCCESS;
}

/*
 * Reads Parameters\* under the service key into config, defaults first. A value that is present
 * but unusable stops the load with a logged reason, except TraceLevel, which is clamped.
 */
static NTSTATUS LbkReadConfig(PUNICODE_STRING registryPath, PLBK_CONFIG config)
{
    static const WCHAR parametersSuffix[] = L"\\Parameters";
    const uint16_t *path = (const uint16_t *)registryPath->Buffer;
    size_t pathChars = registryPath->Length / sizeof(WCHAR);
    size_t nameStart = lbk_config_last_component(path, pathChars);
    OBJECT_ATTRIBUTES attributes;
    UNICODE_STRING keyPath;
    LBK_VALUE_BUFFER value;
    enum lbk_config_error error;
    const uint16_t *text;
    size_t chars;
    HANDLE key;
    NTSTATUS status;

    /* Default name: the service's, the last part of ...\Services\<service>. */
    chars = pathChars - nameStart;
    error = lbk_config_check_name(path + nameStart, chars);
    if (error != LBK_CONFIG_OK) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: service name: %s\n", lbk_config_strerror(error));
        return STATUS_INVALID_PARAMETER;
    }
    RtlCopyMemory(config->Name, path + nameStart, chars * sizeof(WCHAR));
    config->Name[chars] = L'\0';
    config->BufferSize = LBK_DEFAULT_BUFFER_SIZE;
    config->IoMethod = LBK_IO_BUFFERED;
    config->TraceLevel = LBK_TRACE_ERROR;

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

    status = LbkQueryValue(key, LBK_PARAM_TRACE_LEVEL, REG_DWORD, &value);
    if (NT_SUCCESS(status)) {
        ULONG level = *(const ULONG *)value.Info.Data;

        config->TraceLevel = lbk_config_check_trace_level(level) == LBK_CONFIG_OK ? level : LBK_CONFIG_MAX_TRACE_LEVEL;
        LbkTraceLevel = config->TraceLevel;
        if (config->TraceLevel != level)
            LbkTrace(LBK_TRACE_ERROR, "lbk: Parameters\\TraceLevel %lu clamped to %lu\n", level, config->TraceLevel);
    } else if (status != STATUS_OBJECT_NAME_NOT_FOUND) {
        status = LbkRejectValue(LBK_PARAM_TRACE_LEVEL, LbkValueError(status));
        goto CloseKey;
    }

    status = LbkQueryString(key, LBK_PARAM_DEVICE_NAME, &value, &text, &chars);
    if (NT_SUCCESS(status)) {
        error = lbk_config_check_name(text, chars);
        if (error != LBK_CONFIG_OK) {
            status = LbkRejectValue(LBK_PARAM_DEVICE_NAME, lbk_config_strerror(error));
            goto CloseKey;
        }
        RtlCopyMemory(config->Name, text, chars * sizeof(WCHAR));
        config->Name[chars] = L'\0';
    } else if (status != STATUS_OBJECT_NAME_NOT_FOUND) {
        status = LbkRejectValue(LBK_PARAM_DEVICE_NAME, LbkValueError(status));
        goto CloseKey;
    }

    status = LbkQueryValue(key, LBK_PARAM_BUFFER_SIZE, REG_DWORD, &value);
    if (NT_SUCCESS(status)) {
        ULONG bytes = *(const ULONG *)value.Info.Data;

        error = lbk_config_check_buffer_size(bytes);
        if (error != LBK_CONFIG_OK) {
            status = LbkRejectValue(LBK_PARAM_BUFFER_SIZE, lbk_config_strerror(error));
            goto CloseKey;
        }
        config->BufferSize = bytes;
    } else if (status != STATUS_OBJECT_NAME_NOT_FOUND) {
        status = LbkRejectValue(LBK_PARAM_BUFFER_SIZE, LbkValueError(status));
        goto CloseKey;
    }

    status = LbkQueryString(key, LBK_PARAM_IO_METHOD, &value, &text, &chars);
    if (NT_SUCCESS(status)) {
        error = lbk_config_parse_io_method(text, chars, &config->IoMethod);
        if (error != LBK_CONFIG_OK) {
            status = LbkRejectValue(LBK_PARAM_IO_METHOD, lbk_config_strerror(error));
            goto CloseKey;
        }
    } else if (status != STATUS_OBJECT_NAME_NOT_FOUND) {
        status = LbkRejectValue(LBK_PARAM_IO_METHOD, LbkValueError(status));
        goto CloseKey;
    }
    status = STATUS_SUCCESS;

CloseKey:
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
    LBK_CONFIG config;
    PVOID ringStorage;
    ULONG i;
    NTSTATUS status;

    status = LbkReadConfig(registryPath, &config);
    if (!NT_SUCCESS(status))
        return status;

    ringStorage = LbkAllocate(config.BufferSize, LBK_TAG_RING);
    if (ringStorage == NULL) {
        LbkTrace(LBK_TRACE_ERROR, "lbk: not loading: no pool for a %lu-byte buffer\n", config.BufferSize);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    status = LbkBuildName(LBK_KERNEL_DEVICE_PREFIX, config.Name, &deviceName);
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
    ext->IoMethod = config.IoMethod;
    RtlCopyMemory(ext->Name, config.Name, sizeof(ext->Name));
    LbkQueueInitialize(ext, ringStorage, config.BufferSize);
    if (config.IoMethod == LBK_IO_BUFFERED)
        deviceObject->Flags |= DO_BUFFERED_IO;
    else if (config.IoMethod == LBK_IO_DIRECT)
        deviceObject->Flags |= DO_DIRECT_IO;

    status = LbkBuildName(LBK_KERNEL_LINK_PREFIX, config.Name, &ext->LinkName);
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

    LbkTrace(LBK_TRACE_INFO, "lbk: %ls: loaded, %lu-byte buffer, %s I/O\n", config.Name, config.BufferSize,
             LbkIoMethodName(config.IoMethod));
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
 * STATUS_DEVICE_REMOVED and waits for cancel routines already under way.
 */
_Use_decl_annotations_
static VOID LbkUnload(PDRIVER_OBJECT driverObject)
{
    PDEVICE_OBJECT deviceObject = driverObject->DeviceObject;
    PLBK_DEVICE_EXTENSION ext = deviceObject->DeviceExtension;
    LARGE_INTEGER pause = { .QuadPart = -10 * 1000 }; /* 1 ms, relative */
    KLOCK_QUEUE_HANDLE lockHandle;
    LIST_ENTRY done;
    ULONG waits = 0, left;

    InitializeListHead(&done);
    for (;;) {
        KeAcquireInStackQueuedSpinLock(&ext->Lock, &lockHandle);
        LbkFlushLocked(ext, NULL, STATUS_DEVICE_REMOVED, &done);
        left = ext->PendingReadCount + ext->PendingWriteCount;
        KeReleaseInStackQueuedSpinLock(&lockHandle);
        LbkCompleteList(ext, &done);
        /* What is left is being cancelled right now; its routine takes it off the queue. */
        if (left == 0 || ++waits > 5000)
            break;
        KeDelayExecutionThread(KernelMode, FALSE, &pause);
    }
    if (left != 0)
        LbkTrace(LBK_TRACE_ERROR, "lbk: %ls: unload: %lu requests still being cancelled\n", ext->Name, left);

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
