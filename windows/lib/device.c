/*
 * device.c - the client library's device calls (user mode, Windows). See lbk_client.h.
 * Every request goes through lbk__transfer, which gives blocking calls their timeout.
 */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "lbk_client.h"

#include <setupapi.h>

DWORD lbk_open(const wchar_t *name_or_path, DWORD access, HANDLE *handle)
{
    wchar_t path[LBK_MAX_PATH_CHARS];
    const wchar_t *prefix = name_or_path[0] == L'\\' ? L"" : LBK_USER_PATH_PREFIX;

    *handle = INVALID_HANDLE_VALUE;
    if (wcslen(prefix) + wcslen(name_or_path) >= sizeof(path) / sizeof(path[0]))
        return ERROR_INVALID_NAME;
    wcscpy(path, prefix);
    wcscat(path, name_or_path);
    *handle = CreateFileW(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                          FILE_FLAG_OVERLAPPED, NULL);
    return *handle == INVALID_HANDLE_VALUE ? GetLastError() : ERROR_SUCCESS;
}

enum lbk__op { LBK__READ, LBK__WRITE, LBK__IOCTL };

/*
 * Issues one request and waits up to timeout_ms for it. On timeout it cancels the request and
 * waits for the cancellation, so the buffers are free again when it returns.
 */
static DWORD lbk__transfer(HANDLE handle, enum lbk__op op, DWORD code, const void *in, DWORD in_len,
                           void *out, DWORD out_len, DWORD timeout_ms, DWORD *transferred)
{
    OVERLAPPED overlapped = { 0 };
    DWORD error = ERROR_SUCCESS, n = 0;
    BOOL ok;

    overlapped.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (overlapped.hEvent == NULL)
        return GetLastError();
    switch (op) {
    case LBK__READ: ok = ReadFile(handle, out, out_len, NULL, &overlapped); break;
    case LBK__WRITE: ok = WriteFile(handle, in, in_len, NULL, &overlapped); break;
    default: ok = DeviceIoControl(handle, code, (void *)in, in_len, out, out_len, NULL, &overlapped); break;
    }
    /* A message longer than the buffer, at once: the bytes that came are in the OVERLAPPED. */
    if (!ok && GetLastError() == ERROR_MORE_DATA)
        ok = TRUE;
    else if (!ok && (error = GetLastError()) == ERROR_IO_PENDING) {
        error = ERROR_SUCCESS;
        if (WaitForSingleObject(overlapped.hEvent, timeout_ms) == WAIT_TIMEOUT) {
            /* This thread's only request on the handle, so CancelIo is exact, and every Windows
               has it (CancelIoEx would keep the library's users off systems without it). */
            CancelIo(handle);
            error = ERROR_TIMEOUT;
        }
        ok = TRUE;
    }
    if (ok) {
        /* After a timeout this waits for the cancellation; it may also have finished just then. */
        if (GetOverlappedResult(handle, &overlapped, &n, TRUE))
            error = ERROR_SUCCESS;
        else if (error != ERROR_TIMEOUT || GetLastError() != ERROR_OPERATION_ABORTED)
            error = GetLastError();
        /* The handle's own timeout: a success status, which Windows reports as success. */
        if ((NTSTATUS)overlapped.Internal == (NTSTATUS)0x00000102L /* STATUS_TIMEOUT */)
            error = ERROR_TIMEOUT;
    }
    CloseHandle(overlapped.hEvent);
    if (transferred != NULL)
        *transferred = n;
    return error;
}

DWORD lbk_write(HANDLE handle, const void *data, DWORD len, DWORD timeout_ms, DWORD *written)
{
    return lbk__transfer(handle, LBK__WRITE, 0, data, len, NULL, 0, timeout_ms, written);
}

DWORD lbk_read(HANDLE handle, void *buffer, DWORD len, DWORD timeout_ms, DWORD *read)
{
    return lbk__transfer(handle, LBK__READ, 0, NULL, 0, buffer, len, timeout_ms, read);
}

static DWORD lbk__async_result(BOOL ok)
{
    return ok ? ERROR_SUCCESS : GetLastError();
}

DWORD lbk_write_async(HANDLE handle, const void *data, DWORD len, OVERLAPPED *overlapped)
{
    return lbk__async_result(WriteFile(handle, data, len, NULL, overlapped));
}

DWORD lbk_read_async(HANDLE handle, void *buffer, DWORD len, OVERLAPPED *overlapped)
{
    return lbk__async_result(ReadFile(handle, buffer, len, NULL, overlapped));
}

static DWORD lbk__ioctl(HANDLE handle, DWORD code, const void *in, DWORD in_len, void *out, DWORD out_len,
                        DWORD *returned)
{
    return lbk__transfer(handle, LBK__IOCTL, code, in, in_len, out, out_len, INFINITE, returned);
}

DWORD lbk_get_stats(HANDLE handle, lbk_stats *stats)
{
    return lbk__ioctl(handle, IOCTL_LBK_GET_STATS, NULL, 0, stats, sizeof(*stats), NULL);
}

DWORD lbk_purge(HANDLE handle, uint64_t *purged)
{
    lbk_purge_result result = { 0 };
    DWORD error = lbk__ioctl(handle, IOCTL_LBK_PURGE, NULL, 0, &result, sizeof(result), NULL);

    if (purged != NULL)
        *purged = result.bytes_purged;
    return error;
}

DWORD lbk_peek(HANDLE handle, void *buffer, DWORD len, DWORD *copied)
{
    return lbk__ioctl(handle, IOCTL_LBK_PEEK, NULL, 0, buffer, len, copied);
}

DWORD lbk_write_atomic(HANDLE handle, const void *data, DWORD len)
{
    /* METHOD_IN_DIRECT: the data travels in the "output" buffer, which the driver reads. */
    return lbk__ioctl(handle, IOCTL_LBK_WRITE_ATOMIC, NULL, 0, (void *)data, len, NULL);
}

DWORD lbk_get_info(HANDLE handle, lbk_device_info *info)
{
    return lbk__ioctl(handle, IOCTL_LBK_GET_INFO, NULL, 0, info, sizeof(*info), NULL);
}

DWORD lbk_get_handle_options(HANDLE handle, lbk_handle_options *options)
{
    return lbk__ioctl(handle, IOCTL_LBK_GET_HANDLE_OPTIONS, NULL, 0, options, sizeof(*options), NULL);
}

DWORD lbk_set_handle_options(HANDLE handle, const lbk_handle_options *options)
{
    return lbk__ioctl(handle, IOCTL_LBK_SET_HANDLE_OPTIONS, options, sizeof(*options), NULL, 0, NULL);
}

DWORD lbk_set_message_mode(HANDLE handle, BOOL messages)
{
    lbk_u32 mode = messages ? 1u : 0u;

    return lbk__ioctl(handle, IOCTL_LBK_SET_MESSAGE_MODE, &mode, sizeof(mode), NULL, 0, NULL);
}

DWORD lbk_wait(HANDLE handle, DWORD events, DWORD min_room, DWORD timeout_ms, lbk_wait_result *result)
{
    lbk_wait_request request = { events, min_room, timeout_ms, 0 };

    memset(result, 0, sizeof(*result));
    return lbk__ioctl(handle, IOCTL_LBK_WAIT, &request, sizeof(request), result, sizeof(*result), NULL);
}

DWORD lbk_wait_async(HANDLE handle, const lbk_wait_request *request, lbk_wait_result *result,
                     OVERLAPPED *overlapped)
{
    return lbk__async_result(DeviceIoControl(handle, IOCTL_LBK_WAIT, (void *)request, sizeof(*request), result,
                                             sizeof(*result), NULL, overlapped));
}

/* Opens a candidate with no data access (enough for GET_INFO and GET_STATS) and asks it. */
/* Opens path with no data access and asks it GET_INFO: TRUE, with entry filled, if it is ours. */
static BOOL lbk__probe(const wchar_t *path, DWORD found_by, lbk_device_entry *entry)
{
    HANDLE handle;
    BOOL ours;

    memset(entry, 0, sizeof(*entry));
    if (wcslen(path) >= LBK_MAX_PATH_CHARS)
        return FALSE;
    handle = CreateFileW(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    if (handle == INVALID_HANDLE_VALUE)
        return FALSE;
    ours = lbk_get_info(handle, &entry->info) == ERROR_SUCCESS && entry->info.struct_size == sizeof(entry->info) &&
           entry->info.protocol_version == LBK_PROTOCOL_VERSION && lbk_get_stats(handle, &entry->stats) == ERROR_SUCCESS;
    CloseHandle(handle);
    if (!ours)
        return FALSE;
    memcpy(entry->name, entry->info.name, sizeof(entry->name));
    entry->name[LBK_MAX_NAME_CHARS] = L'\0';
    wcscpy(entry->path, path);
    entry->found_by = found_by;
    return TRUE;
}

static int lbk__compare_entries(const void *a, const void *b)
{
    return wcscmp(((const lbk_device_entry *)a)->name, ((const lbk_device_entry *)b)->name);
}

/* What lbk_list_devices gathers before it copies out what fits. */
typedef struct lbk__found {
    lbk_device_entry *entries;
    DWORD count, room;
} lbk__found;

/* Adds a probed device, or marks the one already found under the same name as found this way too. */
static DWORD lbk__add(lbk__found *found, const lbk_device_entry *entry)
{
    DWORD i;

    for (i = 0; i < found->count; i++) {
        if (wcscmp(found->entries[i].name, entry->name) == 0) {
            found->entries[i].found_by |= entry->found_by;
            return ERROR_SUCCESS;
        }
    }
    if (found->count == found->room) {
        DWORD room = found->room == 0 ? 16 : 2 * found->room;
        lbk_device_entry *grown = realloc(found->entries, room * sizeof(*grown));

        if (grown == NULL)
            return ERROR_NOT_ENOUGH_MEMORY;
        found->entries = grown;
        found->room = room;
    }
    found->entries[found->count++] = *entry;
    return ERROR_SUCCESS;
}

/* Every enabled device interface of LBK_INTERFACE_GUID: the Plug and Play devices. */
static DWORD lbk__find_by_interface(lbk__found *found)
{
    static const GUID interface_guid = LBK_INTERFACE_GUID_FIELDS;
    SP_DEVICE_INTERFACE_DATA data;
    HDEVINFO set = SetupDiGetClassDevsW(&interface_guid, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    DWORD i, error = ERROR_SUCCESS;

    if (set == INVALID_HANDLE_VALUE)
        return GetLastError();
    data.cbSize = sizeof(data);
    for (i = 0; error == ERROR_SUCCESS && SetupDiEnumDeviceInterfaces(set, NULL, &interface_guid, i, &data); i++) {
        union {
            SP_DEVICE_INTERFACE_DETAIL_DATA_W detail;
            BYTE bytes[sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_W) + LBK_MAX_PATH_CHARS * sizeof(wchar_t)];
        } buffer;
        lbk_device_entry entry;

        buffer.detail.cbSize = sizeof(buffer.detail);
        if (SetupDiGetDeviceInterfaceDetailW(set, &data, &buffer.detail, sizeof(buffer), NULL, NULL) &&
            lbk__probe(buffer.detail.DevicePath, LBK_FOUND_BY_INTERFACE, &entry))
            error = lbk__add(found, &entry);
    }
    SetupDiDestroyDeviceInfoList(set);
    return error;
}

/* Every DOS device name our driver could have made, linked the way it links them. */
static DWORD lbk__find_by_name(lbk__found *found)
{
    DWORD chars = 64 * 1024, error = ERROR_SUCCESS;
    wchar_t *names = NULL, *name;

    /* The list of every DOS device name; grow the buffer until it fits. */
    for (;;) {
        free(names);
        names = malloc(chars * sizeof(wchar_t));
        if (names == NULL)
            return ERROR_NOT_ENOUGH_MEMORY;
        if (QueryDosDeviceW(NULL, names, chars) != 0)
            break;
        if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || chars >= 16 * 1024 * 1024) {
            error = GetLastError();
            free(names);
            return error;
        }
        chars *= 2;
    }
    for (name = names; *name != L'\0' && error == ERROR_SUCCESS; name += wcslen(name) + 1) {
        wchar_t target[LBK_MAX_NAME_CHARS + 16], expected[LBK_MAX_NAME_CHARS + 16], path[LBK_MAX_NAME_CHARS + 8];
        lbk_device_entry entry;

        if (wcslen(name) > LBK_MAX_NAME_CHARS || QueryDosDeviceW(name, target, sizeof(target) / sizeof(target[0])) == 0)
            continue;
        wcscpy(expected, LBK_KERNEL_DEVICE_PREFIX);
        wcscat(expected, name);
        wcscpy(path, LBK_USER_PATH_PREFIX);
        wcscat(path, name);
        if (_wcsicmp(target, expected) == 0 && lbk__probe(path, LBK_FOUND_BY_NAME, &entry))
            error = lbk__add(found, &entry);
    }
    free(names);
    return error;
}

DWORD lbk_list_devices(lbk_device_entry *entries, DWORD max, DWORD *count)
{
    lbk__found found = { NULL, 0, 0 };
    DWORD error = lbk__find_by_interface(&found);

    *count = 0;
    /* If SetupAPI cannot answer, the names still find every device (a PnP one has its name too). */
    if (error != ERROR_NOT_ENOUGH_MEMORY)
        error = lbk__find_by_name(&found);
    if (error != ERROR_SUCCESS) {
        free(found.entries);
        return error;
    }
    if (found.count != 0)
        qsort(found.entries, found.count, sizeof(found.entries[0]), lbk__compare_entries);
    memcpy(entries, found.entries, (found.count < max ? found.count : max) * sizeof(entries[0]));
    free(found.entries);
    *count = found.count;
    return found.count > max ? ERROR_MORE_DATA : ERROR_SUCCESS;
}

const wchar_t *lbk_peer_closed_name(uint32_t policy)
{
    switch (policy) {
    case LBK_PEER_CLOSED_PEND: return L"pend";
    case LBK_PEER_CLOSED_FAIL: return L"fail";
    case LBK_PEER_CLOSED_DISCARD: return L"discard";
    default: return L"unknown";
    }
}

const wchar_t *lbk_role_name(uint32_t role)
{
    switch (role) {
    case LBK_ROLE_LOOPBACK: return L"loopback";
    case LBK_ROLE_A: return L"A";
    case LBK_ROLE_B: return L"B";
    default: return L"unknown";
    }
}

const wchar_t *lbk_io_method_name(uint32_t method)
{
    switch (method) {
    case LBK_IO_BUFFERED: return L"buffered";
    case LBK_IO_DIRECT: return L"direct";
    case LBK_IO_NEITHER: return L"neither";
    default: return L"unknown";
    }
}

void lbk_format_error(DWORD code, wchar_t *text, size_t chars)
{
    DWORD n;

    if (chars == 0)
        return;
    n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0, text,
                       (DWORD)chars, NULL);
    while (n > 0 && (text[n - 1] == L'\n' || text[n - 1] == L'\r' || text[n - 1] == L' '))
        text[--n] = L'\0';
    if (n == 0)
        wcsncpy(text, L"unknown error", chars - 1), text[chars - 1] = L'\0';
}

DWORD lbk_full_path(const wchar_t *path, wchar_t full[MAX_PATH], wchar_t **file_part)
{
    DWORD n = GetFullPathNameW(path, MAX_PATH, full, file_part);

    if (n == 0)
        return GetLastError() != ERROR_SUCCESS ? GetLastError() : ERROR_INVALID_NAME;
    return n >= MAX_PATH ? ERROR_FILENAME_EXCED_RANGE : ERROR_SUCCESS;
}
