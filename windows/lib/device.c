/*
 * device.c - the client library's device calls (user mode, Windows). See lbk_client.h.
 * Every request goes through lbk__transfer, which gives blocking calls their timeout.
 */
#include <wchar.h>

#include "lbk_client.h"

DWORD lbk_open(const wchar_t *name_or_path, DWORD access, HANDLE *handle)
{
    wchar_t path[LBK_MAX_NAME_CHARS + 8];
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
    if (!ok && (error = GetLastError()) == ERROR_IO_PENDING) {
        error = ERROR_SUCCESS;
        if (WaitForSingleObject(overlapped.hEvent, timeout_ms) == WAIT_TIMEOUT) {
            CancelIoEx(handle, &overlapped);
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
