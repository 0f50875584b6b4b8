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
 * Opens a device by name ("LBK") or by path ("\\.\LBK", or a device interface's path from
 * lbk_list_devices) for overlapped I/O, which the timeouts below need. access: GENERIC_READ,
 * GENERIC_WRITE or both. Other handles may be open at once. Fails with ERROR_FILE_NOT_FOUND when
 * no such device is loaded, ERROR_INVALID_NAME for a name or path that is too long.
 */
DWORD lbk_open(const wchar_t *name_or_path, DWORD access, HANDLE *handle);

/*
 * Writes all len bytes, waiting at most timeout_ms (INFINITE to wait for ever) for readers to
 * make room. *written gets the bytes that went in, also on failure. On timeout the rest of the
 * write is cancelled and ERROR_TIMEOUT is returned; so it is when the handle's own write timeout
 * (lbk_set_handle_options) ends it first. On a non-blocking handle it returns at once with what
 * fitted, maybe 0 bytes. A handle opened without overlapped I/O blocks until done whatever the
 * timeout. A message longer than the device's max_message fails with ERROR_INVALID_USER_BUFFER.
 */
DWORD lbk_write(HANDLE handle, const void *data, DWORD len, DWORD timeout_ms, DWORD *written);

/*
 * Reads up to len bytes: returns as soon as any byte is there, with as many as are queued (in
 * message mode: one message). Waits at most timeout_ms for the first byte, then cancels and
 * returns ERROR_TIMEOUT with *read = 0, as it does when the handle's read timeout ends it.
 * ERROR_MORE_DATA: message mode, and the message was longer than len; *read = len bytes of it
 * came, the rest is the next read's. ERROR_NO_DATA: a non-blocking handle found nothing queued.
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

/* The options of this handle (IOCTL_LBK_GET/SET_HANDLE_OPTIONS); see lbk_ioctl.h. */
DWORD lbk_get_handle_options(HANDLE handle, lbk_handle_options *options);
DWORD lbk_set_handle_options(HANDLE handle, const lbk_handle_options *options);

/*
 * Byte stream (FALSE) or messages (TRUE), for both directions of a pair. ERROR_BUSY while bytes
 * are queued or writes wait. Needs write access.
 */
DWORD lbk_set_message_mode(HANDLE handle, BOOL messages);

/*
 * Waits until one of events (LBK_EVENT_*) holds, without consuming anything: READABLE, data to
 * read; WRITABLE, room for min_room bytes (0 means 1). timeout_ms 0 waits for ever; on timeout
 * it succeeds with result->events == 0. On a non-blocking handle it only polls.
 */
DWORD lbk_wait(HANDLE handle, DWORD events, DWORD min_room, DWORD timeout_ms, lbk_wait_result *result);

/*
 * Starts the same wait as an overlapped request (the inverted call): ERROR_IO_PENDING while it
 * waits; *request and *result must stay valid until it completes. Cancel it with CancelIoEx.
 */
DWORD lbk_wait_async(HANDLE handle, const lbk_wait_request *request, lbk_wait_result *result,
                     OVERLAPPED *overlapped);

/* Longest path lbk_open takes, in characters with the NUL: a device interface's path fits. */
#define LBK_MAX_PATH_CHARS 512u

/* How lbk_list_devices found a device (both bits for a device found both ways). */
#define LBK_FOUND_BY_NAME 0x1u      /* a DOS device name: every legacy device, and PnP ones too */
#define LBK_FOUND_BY_INTERFACE 0x2u /* an enabled LBK_INTERFACE_GUID interface: PnP devices */

/* One loopback device found by lbk_list_devices. */
typedef struct lbk_device_entry {
    wchar_t name[LBK_MAX_NAME_CHARS + 1]; /* the device's own name (GET_INFO) */
    /* What lbk_open takes to open it: the interface's path when it has one, else \\.\<name>. */
    wchar_t path[LBK_MAX_PATH_CHARS];
    DWORD found_by; /* LBK_FOUND_BY_* */
    lbk_device_info info;
    lbk_stats stats;
} lbk_device_entry;

/*
 * Finds the loopback devices present: those with an enabled device interface of
 * LBK_INTERFACE_GUID (SetupDiGetClassDevs), and every DOS device name whose target is
 * \Device\<same name>, each of them answering GET_INFO as this protocol; a device found both ways
 * is listed once. Fills up to max entries, sorted by name; *count gets how many there are, which
 * may be more (then ERROR_MORE_DATA).
 */
DWORD lbk_list_devices(lbk_device_entry *entries, DWORD max, DWORD *count);

/* "pend", "fail", "discard", or "unknown". */
const wchar_t *lbk_peer_closed_name(uint32_t policy);

/* "loopback", "A", "B", or "unknown". */
const wchar_t *lbk_role_name(uint32_t role);

/* "buffered", "direct", "neither", or "unknown". */
const wchar_t *lbk_io_method_name(uint32_t method);

/*
 * The system's text for a Win32 error code, without the trailing line break, into
 * text[0..chars). Never fails: unknown codes give "unknown error".
 */
void lbk_format_error(DWORD code, wchar_t *text, size_t chars);

/*
 * path made absolute into full[MAX_PATH] (GetFullPathNameW), with *file_part, when not NULL, at its
 * last component. ERROR_FILENAME_EXCED_RANGE when it does not fit: GetFullPathNameW then returns
 * the size it needs and writes nothing.
 */
DWORD lbk_full_path(const wchar_t *path, wchar_t full[MAX_PATH], wchar_t **file_part);

/* ---- The driver service ----------------------------------------------------------------- */

typedef struct lbk_service_config {
    const wchar_t *name;        /* service name; the default device name too */
    const wchar_t *image_path;  /* absolute path of lbk.sys */
    const wchar_t *device_name; /* NULL: the service name */
    const wchar_t *io_method;   /* NULL: the driver's default (buffered) */
    DWORD buffer_size;          /* 0: the driver's default (64 KiB) */
    DWORD trace_level;          /* 0: errors only */
    DWORD device_count;         /* 0: the driver's default (1) */
    BOOL message_mode;          /* FALSE: byte stream */
    BOOL pairs;                 /* FALSE: loopback devices */
    const wchar_t *when_peer_closed; /* NULL: the driver's default (pend) */
    const wchar_t *security;    /* SDDL; NULL: the driver's default, SYSTEM and Administrators only */
    BOOL serial;                /* pairs are null-modem cables for COM port programs (docs/serial.md) */
    const wchar_t *serial_pairs; /* or only these, "0,2" (Serial as REG_SZ); NULL: as serial says */
    const wchar_t *paced_pairs; /* BaudEmulation for these pairs only; NULL: as baud_emulation says */
    const wchar_t *port_names;  /* PortNames, "COM5,COM6,-,COM8"; NULL: none */
    BOOL baud_emulation;        /* bytes cross no faster than the line settings would carry them */
    /* What pending requests may hold (lbk_ioctl.h's Pending* values); 0: the driver's default. */
    DWORD pending_requests_per_handle, pending_bytes_per_handle;
    DWORD pending_requests_per_device, pending_bytes_per_device;
} lbk_service_config;

/*
 * Creates a demand-start kernel-driver service and writes its Parameters key. Nothing is left
 * behind on failure. ERROR_SERVICE_EXISTS when the name is taken. A service of that name that is
 * still being deleted (ERROR_SERVICE_MARKED_FOR_DELETE) is waited for, up to 15 s.
 */
DWORD lbk_service_install(const lbk_service_config *config);

/* StartService: loads the driver. ERROR_SERVICE_ALREADY_RUNNING, or the driver's refusal. */
DWORD lbk_service_start(const wchar_t *name);

/* Stops the service and waits up to timeout_ms for it to report STOPPED (ERROR_TIMEOUT). While
   Plug and Play device nodes use it, refuses at once with ERROR_INVALID_SERVICE_CONTROL, as
   Windows does: removing them stops it (lbk_pnp_remove). */
DWORD lbk_service_stop(const wchar_t *name, DWORD timeout_ms);

/* Deletes the service and its Parameters key. The service should be stopped first. */
DWORD lbk_service_uninstall(const wchar_t *name);

/* The SERVICE_* state (SERVICE_STOPPED, SERVICE_RUNNING, ...); ERROR_SERVICE_DOES_NOT_EXIST. */
DWORD lbk_service_query(const wchar_t *name, DWORD *state);

/*
 * The INF install (pnp.c), as devcon and pnputil do it: makes a root-enumerated device with
 * hardware id LBK_HARDWARE_ID and installs inf_path's driver on it; on failure no device is
 * left. *reboot_needed says whether Windows wants a restart to finish.
 */
DWORD lbk_pnp_install(const wchar_t *inf_path, BOOL *reboot_needed);

/* The same with another hardware id (the bus's, LBK_BUS_HARDWARE_ID). */
DWORD lbk_pnp_install_id(const wchar_t *inf_path, const wchar_t *hardware_id, BOOL *reboot_needed);

/*
 * Whether a program built for one machine (IMAGE_FILE_MACHINE_*) may make the INF install on a
 * Windows that runs natively on another: ERROR_EXE_MACHINE_TYPE_MISMATCH when they differ.
 * SetupAPI picks the INF section of the program's machine, so the x64 lbkctl emulated on ARM64
 * would install the x64 image, which that Windows cannot load (Code 39); both lbk_pnp_install
 * calls and lbk_bus_install refuse then. IMAGE_FILE_MACHINE_UNKNOWN (a Windows that cannot say) passes.
 */
DWORD lbk_pnp_machine_check(unsigned short built_for, unsigned short native_machine);

/* The machine Windows runs on natively (IsWow64Process2), or IMAGE_FILE_MACHINE_UNKNOWN. */
unsigned short lbk_pnp_native_machine(void);

/* lbk_pnp_machine_check for this program on the Windows it runs on. */
DWORD lbk_pnp_host_check(void);

/* Removes every device with hardware id LBK_HARDWARE_ID; *removed counts them. */
DWORD lbk_pnp_remove(DWORD *removed);

/* Disables (enable FALSE) or enables every such device, as Device Manager does; *changed counts them. */
DWORD lbk_pnp_set_enabled(BOOL enable, DWORD *changed);

/* How many present device nodes have service as their function driver. */
DWORD lbk_pnp_count_devices_of(const wchar_t *service, DWORD *count);

/*
 * The serial port bus (bus.c; docs/serial.md). lbk_bus_install puts lbkport.inf (beside inf_path)
 * into the driver store and installs a root device Root\LBKBUS with inf_path (lbk.inf);
 * lbk_bus_remove removes every such device. lbk_bus_open opens the first bus's interface,
 * waiting up to timeout_ms for one to be started.
 */
DWORD lbk_bus_install(const wchar_t *inf_path, BOOL *reboot_needed);
DWORD lbk_bus_remove(DWORD *removed);
DWORD lbk_bus_open(DWORD timeout_ms, HANDLE *bus);
DWORD lbk_bus_add_pair(HANDLE bus, lbk_bus_pair *pair); /* pair->pair may be LBK_BUS_ANY_PAIR */
DWORD lbk_bus_remove_pair(HANDLE bus, uint32_t pair);
DWORD lbk_bus_set_port(HANDLE bus, uint32_t pair, uint32_t end, uint16_t port);
DWORD lbk_bus_get_pairs(HANDLE bus, lbk_bus_list *list);
DWORD lbk_bus_set_options(HANDLE bus, const lbk_bus_end_options *options); /* an end's wiring and pacing */
/* Sets an end's friendly name, "LBK virtual serial port (COM<port>)", as the Ports class installer
   does, once the PnP manager has the end (waiting up to timeout_ms); ERROR_NOT_FOUND after that. */
DWORD lbk_port_set_friendly_name(uint32_t pair, uint32_t end, uint16_t port, DWORD timeout_ms);
/* Who has COM<port>, in words, into owner ("" for no one): a SERIALCOMM entry, a device whose
   PortName it is, a name in the object namespace, or a claim in the COM name arbiter's database. */
DWORD lbk_com_owner(uint16_t port, wchar_t *owner, size_t chars);
/* The COM name arbiter's database: whether port is claimed; claims (TRUE) or releases it. */
DWORD lbk_comdb_is_claimed(uint16_t port, BOOL *claimed);
DWORD lbk_comdb_set(uint16_t port, BOOL claim);

#ifdef __cplusplus
}
#endif

#endif /* LBK_CLIENT_H */
