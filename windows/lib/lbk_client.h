/*
 * lbk_client.h - the client library of the loopback device (user mode, Windows).
 *
 * Every function returns a Win32 error code: ERROR_SUCCESS (0) or the reason it failed, which
 * lbk_format_error turns into the system's message text. Nothing here prints or exits.
 * Link with lbk.lib / liblbk.a; it needs only kernel32 and advapi32.
 */
#ifndef LBK_CLIENT_H
#define LBK_CLIENT_H

#include <windows.h>

#include "../../include/lbk_ioctl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Devices ---------------------------------------------------------------------------- */

/*
 * Opens a device by name ("LBK") or by path ("\\.\LBK") for overlapped I/O, which the timeouts
 * below need. access: GENERIC_READ, GENERIC_WRITE or both. Other handles may be open at once.
 * Fails with ERROR_FILE_NOT_FOUND when no such device is loaded, ERROR_INVALID_NAME for a name
 * that is too long.
 */
DWORD lbk_open(const wchar_t *name_or_path, DWORD access, HANDLE *handle);

/*
 * Writes all len bytes, waiting at most timeout_ms (INFINITE to wait for ever) for readers to
 * make room. *written gets the bytes that went in, also on failure. On timeout the rest of the
 * write is cancelled and ERROR_TIMEOUT is returned. A handle opened without overlapped I/O
 * blocks until done whatever the timeout.
 */
DWORD lbk_write(HANDLE handle, const void *data, DWORD len, DWORD timeout_ms, DWORD *written);

/*
 * Reads up to len bytes: returns as soon as any byte is there, with as many as are queued.
 * Waits at most timeout_ms for the first byte, then cancels and returns ERROR_TIMEOUT with
 * *read = 0.
 */
DWORD lbk_read(HANDLE handle, void *buffer, DWORD len, DWORD timeout_ms, DWORD *read);

/*
 * Starts an overlapped write or read on an overlapped handle. Returns ERROR_SUCCESS when it
 * finished at once, ERROR_IO_PENDING when it goes on (wait on overlapped->hEvent, or a
 * completion port, then GetOverlappedResult), or the failure.
 */
DWORD lbk_write_async(HANDLE handle, const void *data, DWORD len, OVERLAPPED *overlapped);
DWORD lbk_read_async(HANDLE handle, void *buffer, DWORD len, OVERLAPPED *overlapped);

/* The device's counters and this handle's own (IOCTL_LBK_GET_STATS). */
DWORD lbk_get_stats(HANDLE handle, lbk_stats *stats);

/* Discards everything queued (IOCTL_LBK_PURGE). purged may be NULL. Needs write access. */
DWORD lbk_purge(HANDLE handle, uint64_t *purged);

/* Copies up to len queued bytes without consuming them (IOCTL_LBK_PEEK). Needs read access. */
DWORD lbk_peek(HANDLE handle, void *buffer, DWORD len, DWORD *copied);

/*
 * Appends all len bytes at once or none, never waiting (IOCTL_LBK_WRITE_ATOMIC). Fails with
 * ERROR_BUSY when there is not room for all of them now, ERROR_INVALID_PARAMETER when len is
 * more than the capacity. Needs write access. Under Wine data must be writable memory
 * (ERROR_INVALID_USER_BUFFER otherwise); Windows only reads it.
 */
DWORD lbk_write_atomic(HANDLE handle, const void *data, DWORD len);

/* Name, capacity, I/O method and protocol version of the device (IOCTL_LBK_GET_INFO). */
DWORD lbk_get_info(HANDLE handle, lbk_device_info *info);

/* "buffered", "direct", "neither", or "unknown". */
const wchar_t *lbk_io_method_name(uint32_t method);

/*
 * The system's text for a Win32 error code, without the trailing line break, into
 * text[0..chars). Never fails: unknown codes give "unknown error".
 */
void lbk_format_error(DWORD code, wchar_t *text, size_t chars);

/* ---- The driver service ----------------------------------------------------------------- */

typedef struct lbk_service_config {
    const wchar_t *name;        /* service name; the default device name too */
    const wchar_t *image_path;  /* absolute path of lbk.sys */
    const wchar_t *device_name; /* NULL: the service name */
    const wchar_t *io_method;   /* NULL: the driver's default (buffered) */
    DWORD buffer_size;          /* 0: the driver's default (64 KiB) */
    DWORD trace_level;          /* 0: errors only */
} lbk_service_config;

/*
 * Creates a demand-start kernel-driver service and writes its Parameters key. Nothing is left
 * behind on failure. ERROR_SERVICE_EXISTS when the name is taken.
 */
DWORD lbk_service_install(const lbk_service_config *config);

/* StartService: loads the driver. ERROR_SERVICE_ALREADY_RUNNING, or the driver's refusal. */
DWORD lbk_service_start(const wchar_t *name);

/* Stops the service and waits up to timeout_ms for it to report STOPPED (ERROR_TIMEOUT). */
DWORD lbk_service_stop(const wchar_t *name, DWORD timeout_ms);

/* Deletes the service and its Parameters key. The service should be stopped first. */
DWORD lbk_service_uninstall(const wchar_t *name);

/* The SERVICE_* state (SERVICE_STOPPED, SERVICE_RUNNING, ...); ERROR_SERVICE_DOES_NOT_EXIST. */
DWORD lbk_service_query(const wchar_t *name, DWORD *state);

#ifdef __cplusplus
}
#endif

#endif /* LBK_CLIENT_H */
