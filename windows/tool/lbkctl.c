/*
 * lbkctl.c - command-line tool for the loopback driver (user mode, Windows, Unicode).
 * Installs and controls the driver service, and writes, reads, inspects and purges devices,
 * all through the client library. Run "lbkctl --help" for usage; exit codes are in usage().
 */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "../lib/lbk_client.h"
#include "../../core/lbk_flow.h"

enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_FAILED = 2, EXIT_TIMEOUT = 3 };

static void usage(FILE *out)
{
    fwprintf(out,
        L"usage: lbkctl COMMAND [OPTIONS]\n"
        L"\n"
        L"Driver service (needs administrator rights on Windows):\n"
        L"  install   --image PATH [--name N] [--device-name D] [--io-method buffered|direct|neither]\n"
        L"            [--buffer-size BYTES] [--trace-level 0-3] [--device-count 1-64]\n"
        L"            [--message-mode 0|1] [--pairs 0|1] [--when-peer-closed pend|fail|discard]\n"
        L"            [--security SDDL]   who may open the devices; default D:P(A;;GA;;;SY)(A;;GA;;;BA)\n"
        L"            [--serial 0|1]      pairs become null-modem cables for COM port programs\n"
        L"            [--port-names COM5,COM6,...]  COM names of the ends, A then B, '-' for none\n"
        L"            [--baud-emulation 0|1]  serial bytes cross no faster than the baud rate\n"
        L"            [--serial-pairs 0,2] [--baud-emulation-pairs 2]  the same for those pairs only\n"
        L"            [--pending-requests-per-handle N] [--pending-bytes-per-handle BYTES]\n"
        L"            [--pending-requests-per-device N] [--pending-bytes-per-device BYTES]\n"
        L"                                what waiting requests may hold (default 1024, 256 MiB, 8192, 1 GiB)\n"
        L"  start     [--name N]          load the driver (StartService)\n"
        L"  stop      [--name N] [--timeout MS]\n"
        L"  uninstall [--name N]          delete the service and its Parameters key\n"
        L"  status    [--name N]          print the service state\n"
        L"  pnp-install INF               install the INF's root-enumerated device (Root\\LBK) and its\n"
        L"                                driver, as devcon does (docs/install.md)\n"
        L"  pnp-remove                    remove every Root\\LBK device\n"
        L"  pnp-disable, pnp-enable       disable or enable every Root\\LBK device, as Device Manager does\n"
        L"\n"
        L"Serial port bus (COM ports that Windows enumerates; docs/serial.md):\n"
        L"  bus-install INF               install the bus (Root\\LBKBUS) from lbk.inf, and lbkport.inf beside it\n"
        L"  bus-remove                    remove every bus, its pairs with it\n"
        L"  pair add [--pair N] [--port-names COMa,COMb]   a new pair (the lowest free number unless\n"
        L"                                --pair), its ends COMa and COMb ('-' for no COM name)\n"
        L"        [--wiring WA;WB] [--paced 0|1]  its ends' wirings (null-modem unless given) and\n"
        L"                                baud-rate pacing (both ends), as pair options sets them\n"
        L"  pair list                     every pair: its ends, their COM names, state, handles, options\n"
        L"  pair rename N A|B COMn|-      give end A or B of pair N another COM name (or none)\n"
        L"  pair options N A|B [--wiring W] [--paced 0|1]   change an end's options at once, in use\n"
        L"                                or not; W: null-modem, loopback or a pin map such as\n"
        L"                                cts=rrts,dsr=rdtr,dcd=on,ri=off (sources rrts rdtr rts dtr on off)\n"
        L"  pair remove N                 remove pair N; its COM names are free again\n"
        L"\n"
        L"Devices (\\\\.\\D):\n"
        L"  list                          every loopback device present (by name and by device\n"
        L"                                interface), with its state; then the interfaces' paths\n"
        L"  write     [--device D] [--timeout MS] [TEXT ...]   TEXT as UTF-8, else stdin to its end;\n"
        L"                                each TEXT is one message in message mode\n"
        L"  read      [--device D] [--bytes N] [--timeout MS]  to stdout, binary; without --bytes,\n"
        L"                                                     whatever is queued now\n"
        L"  wait      [--device D] [--events readable|writable|both] [--min-room N] [--timeout MS]\n"
        L"                                until data can be read or room written, consuming nothing\n"
        L"  mode      [--device D] stream|message   change the framing while the device is empty\n"
        L"  stats     [--device D]        counters of the device and of this handle\n"
        L"  info      [--device D]        configuration: name, peer, capacity, I/O method, mode\n"
        L"  purge     [--device D]        discard every byte queued for reading\n"
        L"\n"
        L"--timeout on write and read is the handle's own timeout in the driver; 0 means do not\n"
        L"wait at all (a non-blocking handle).\n"
        L"Defaults: --name LBK, --device LBK, --timeout infinite (stop: 10000).\n"
        L"Exit codes: 0 done, 1 bad usage, 2 a Windows call failed (its code and text are printed),\n"
        L"3 timed out, or could not finish at once without waiting (what was transferred is kept).\n");
}

typedef struct options {
    const wchar_t *name, *image, *device_name, *io_method, *device, *when_peer_closed, *events, *security;
    DWORD buffer_size, trace_level, timeout_ms, bytes, device_count, message_mode, pairs, min_room, serial, baud_emulation;
    DWORD pending[4]; /* requests and bytes per handle, then per device; 0: the driver's default */
    DWORD pair;       /* --pair, for pair add */
    BOOL has_pair;
    const wchar_t *port_names, *serial_pairs, *paced_pairs, *wiring;
    DWORD paced;      /* --paced, for pair add and pair options */
    BOOL has_paced;
    BOOL has_bytes;
    int first_text, argc;
    wchar_t **argv;
} options;

static int fail(const wchar_t *what, const wchar_t *object, DWORD error)
{
    wchar_t text[512];

    lbk_format_error(error, text, sizeof(text) / sizeof(text[0]));
    fwprintf(stderr, L"lbkctl: %ls %ls: error %lu: %ls\n", what, object, error, text);
    return error == ERROR_TIMEOUT ? EXIT_TIMEOUT : EXIT_FAILED;
}

static int apply_timeout(HANDLE device, const options *opts, BOOL nonblocking);

static int bad_usage(const wchar_t *message, const wchar_t *detail)
{
    fwprintf(stderr, L"lbkctl: %ls%ls\nTry \"lbkctl --help\".\n", message, detail);
    return EXIT_USAGE;
}

/* A whole decimal number in 0..0xFFFFFFFF. */
static BOOL parse_dword(const wchar_t *text, DWORD *value)
{
    wchar_t *end;
    unsigned long long n;

    if (text[0] < L'0' || text[0] > L'9')
        return FALSE;
    n = wcstoull(text, &end, 10);
    if (*end != L'\0' || n > 0xFFFFFFFFull)
        return FALSE;
    *value = (DWORD)n;
    return TRUE;
}

/* Fills opts from argv[2..]; TEXT words start at the first argument that is not an option. */
static int parse_options(int argc, wchar_t **argv, options *opts)
{
    int i;

    opts->name = L"LBK";
    opts->device = L"LBK";
    opts->timeout_ms = INFINITE;
    opts->argc = argc;
    opts->argv = argv;
    /* Options come in pairs (--name value); "--" ends them. */
    i = 2;
    while (i < argc) {
        const wchar_t *arg = argv[i];
        const wchar_t *value = i + 1 < argc ? argv[i + 1] : NULL;
        DWORD *number = NULL;

        if (wcsncmp(arg, L"--", 2) != 0)
            break;
        if (wcscmp(arg, L"--") == 0) {
            i++;
            break;
        }
        if (value == NULL)
            return bad_usage(L"missing value for ", arg);
        if (wcscmp(arg, L"--name") == 0) opts->name = value;
        else if (wcscmp(arg, L"--image") == 0) opts->image = value;
        else if (wcscmp(arg, L"--device-name") == 0) opts->device_name = value;
        else if (wcscmp(arg, L"--io-method") == 0) opts->io_method = value;
        else if (wcscmp(arg, L"--device") == 0) opts->device = value;
        else if (wcscmp(arg, L"--buffer-size") == 0) number = &opts->buffer_size;
        else if (wcscmp(arg, L"--trace-level") == 0) number = &opts->trace_level;
        else if (wcscmp(arg, L"--timeout") == 0) number = &opts->timeout_ms;
        else if (wcscmp(arg, L"--bytes") == 0) { number = &opts->bytes; opts->has_bytes = TRUE; }
        else if (wcscmp(arg, L"--device-count") == 0) number = &opts->device_count;
        else if (wcscmp(arg, L"--message-mode") == 0) number = &opts->message_mode;
        else if (wcscmp(arg, L"--pairs") == 0) number = &opts->pairs;
        else if (wcscmp(arg, L"--serial") == 0) number = &opts->serial;
        else if (wcscmp(arg, L"--baud-emulation") == 0) number = &opts->baud_emulation;
        else if (wcscmp(arg, L"--serial-pairs") == 0) opts->serial_pairs = value;
        else if (wcscmp(arg, L"--baud-emulation-pairs") == 0) opts->paced_pairs = value;
        else if (wcscmp(arg, L"--port-names") == 0) opts->port_names = value;
        else if (wcscmp(arg, L"--when-peer-closed") == 0) opts->when_peer_closed = value;
        else if (wcscmp(arg, L"--security") == 0) opts->security = value;
        else if (wcscmp(arg, L"--events") == 0) opts->events = value;
        else if (wcscmp(arg, L"--min-room") == 0) number = &opts->min_room;
        else if (wcscmp(arg, L"--pair") == 0) { number = &opts->pair; opts->has_pair = TRUE; }
        else if (wcscmp(arg, L"--paced") == 0) { number = &opts->paced; opts->has_paced = TRUE; }
        else if (wcscmp(arg, L"--wiring") == 0) opts->wiring = value;
        else if (wcscmp(arg, L"--pending-requests-per-handle") == 0) number = &opts->pending[0];
        else if (wcscmp(arg, L"--pending-bytes-per-handle") == 0) number = &opts->pending[1];
        else if (wcscmp(arg, L"--pending-requests-per-device") == 0) number = &opts->pending[2];
        else if (wcscmp(arg, L"--pending-bytes-per-device") == 0) number = &opts->pending[3];
        else return bad_usage(L"unknown option ", arg);
        if (number != NULL && !parse_dword(value, number))
            return bad_usage(L"not a whole number from 0 to 4294967295: ", value);
        i += 2;
    }
    opts->first_text = i;
    return EXIT_OK;
}

static const wchar_t *state_name(DWORD state)
{
    switch (state) {
    case SERVICE_STOPPED: return L"stopped";
    case SERVICE_START_PENDING: return L"starting";
    case SERVICE_STOP_PENDING: return L"stopping";
    case SERVICE_RUNNING: return L"running";
    default: return L"in another state";
    }
}

static int cmd_install(const options *opts)
{
    lbk_service_config config = { 0 };
    wchar_t full_path[MAX_PATH];
    DWORD error;

    if (opts->image == NULL)
        return bad_usage(L"install needs --image PATH", L"");
    /* The SCM keeps the path as given; a relative one would mean nothing to it. */
    error = lbk_full_path(opts->image, full_path, NULL);
    if (error != ERROR_SUCCESS)
        return fail(L"cannot resolve", opts->image, error);
    if (GetFileAttributesW(full_path) == INVALID_FILE_ATTRIBUTES)
        return fail(L"cannot find", full_path, GetLastError());
    config.name = opts->name;
    config.image_path = full_path;
    config.device_name = opts->device_name;
    config.io_method = opts->io_method;
    config.buffer_size = opts->buffer_size;
    config.trace_level = opts->trace_level;
    config.device_count = opts->device_count;
    config.message_mode = opts->message_mode != 0;
    config.pairs = opts->pairs != 0;
    config.when_peer_closed = opts->when_peer_closed;
    config.security = opts->security;
    config.serial = opts->serial != 0;
    config.port_names = opts->port_names;
    config.baud_emulation = opts->baud_emulation != 0;
    config.pending_requests_per_handle = opts->pending[0];
    config.pending_bytes_per_handle = opts->pending[1];
    config.pending_requests_per_device = opts->pending[2];
    config.pending_bytes_per_device = opts->pending[3];
    config.serial_pairs = opts->serial_pairs;
    config.paced_pairs = opts->paced_pairs;
    error = lbk_service_install(&config);
    if (error != ERROR_SUCCESS)
        return fail(L"cannot install service", opts->name, error);
    wprintf(L"installed %ls from %ls\n", opts->name, full_path);
    return EXIT_OK;
}

static int cmd_service(const wchar_t *command, const options *opts)
{
    DWORD error, state;

    if (wcscmp(command, L"start") == 0) {
        if ((error = lbk_service_start(opts->name)) != ERROR_SUCCESS)
            return fail(L"cannot start service", opts->name, error);
        wprintf(L"started %ls\n", opts->name);
    } else if (wcscmp(command, L"stop") == 0) {
        DWORD timeout = opts->timeout_ms == INFINITE ? 10000 : opts->timeout_ms;

        if ((error = lbk_service_stop(opts->name, timeout)) != ERROR_SUCCESS) {
            int result = fail(L"cannot stop service", opts->name, error);

            if (error == ERROR_INVALID_SERVICE_CONTROL)
                fwprintf(stderr, L"lbkctl: %ls drives Plug and Play devices; it stops once they are removed "
                                 L"(lbkctl pnp-remove)\n", opts->name);
            return result;
        }
        wprintf(L"stopped %ls\n", opts->name);
    } else if (wcscmp(command, L"uninstall") == 0) {
        if ((error = lbk_service_uninstall(opts->name)) != ERROR_SUCCESS)
            return fail(L"cannot uninstall service", opts->name, error);
        wprintf(L"uninstalled %ls\n", opts->name);
    } else {
        if ((error = lbk_service_query(opts->name, &state)) != ERROR_SUCCESS)
            return fail(L"cannot query service", opts->name, error);
        wprintf(L"%ls: %ls\n", opts->name, state_name(state));
    }
    return EXIT_OK;
}

/* Writes one chunk and adds what went in to *total; returns an exit code. */
static int write_chunk(HANDLE device, const options *opts, const char *chunk, DWORD len, uint64_t *total)
{
    DWORD written = 0;
    DWORD error = lbk_write(device, chunk, len, INFINITE, &written);

    *total += written;
    if (error == ERROR_SUCCESS && written < len) {
        fwprintf(stderr, L"lbkctl: %ls had room for %lu of %lu bytes\n", opts->device, written, len);
        return EXIT_TIMEOUT;
    }
    return error == ERROR_SUCCESS ? EXIT_OK : fail(L"cannot write to", opts->device, error);
}

/* Writes TEXT arguments (UTF-8, separated by spaces) or all of stdin. */
static int cmd_write(HANDLE device, const options *opts)
{
    static char chunk[64 * 1024];
    uint64_t total = 0;
    int result = apply_timeout(device, opts, FALSE);

    if (opts->first_text < opts->argc) {
        for (int i = opts->first_text; i < opts->argc && result == EXIT_OK; i++) {
            int len = WideCharToMultiByte(CP_UTF8, 0, opts->argv[i], -1, chunk, (int)sizeof(chunk) - 1, NULL, NULL);

            if (len == 0)
                return fail(L"cannot convert to UTF-8:", opts->argv[i], GetLastError());
            len--; /* without the NUL */
            if (i + 1 < opts->argc)
                chunk[len++] = ' ';
            result = write_chunk(device, opts, chunk, (DWORD)len, &total);
        }
    } else {
        _setmode(_fileno(stdin), _O_BINARY);
        while (result == EXIT_OK) {
            size_t len = fread(chunk, 1, sizeof(chunk), stdin);

            if (len == 0)
                break;
            result = write_chunk(device, opts, chunk, (DWORD)len, &total);
        }
        if (result == EXIT_OK && ferror(stdin))
            result = fail(L"cannot read", L"stdin", ERROR_READ_FAULT);
    }
    if (result == EXIT_OK)
        wprintf(L"wrote %llu bytes to %ls\n", (unsigned long long)total, opts->device);
    return result;
}

/* Applies --timeout to the handle: the driver's read and write timeouts, or non-blocking for 0. */
static int apply_timeout(HANDLE device, const options *opts, BOOL nonblocking)
{
    lbk_handle_options handle_options = { 0 };
    DWORD error;

    if (opts->timeout_ms == 0 || nonblocking)
        handle_options.flags = LBK_HANDLE_NONBLOCKING;
    else if (opts->timeout_ms != INFINITE)
        handle_options.read_timeout_ms = handle_options.write_timeout_ms = opts->timeout_ms;
    if ((error = lbk_set_handle_options(device, &handle_options)) != ERROR_SUCCESS)
        return fail(L"cannot set the handle options of", opts->device, error);
    return EXIT_OK;
}

/* Without --bytes, reads what is queued now, through a non-blocking handle, until none is left. */
static int cmd_read(HANDLE device, const options *opts)
{
    static char chunk[64 * 1024];
    uint64_t left = opts->has_bytes ? opts->bytes : UINT64_MAX;
    DWORD error, got;
    int result = apply_timeout(device, opts, !opts->has_bytes);
    lbk_device_info info;
    /* A serial end's reads follow its COMMTIMEOUTS, whose default waits for a full buffer: ask
       for what is there now (no --bytes), or for up to --timeout ms. The device says what it is;
       a serial request sent to find out would be an unknown request to a plain device. */
    BOOL serial = lbk_get_info(device, &info) == ERROR_SUCCESS && (info.state & LBK_STATE_SERIAL) != 0;

    if (result != EXIT_OK)
        return result;
    if (serial) {
        COMMTIMEOUTS timeouts = { 0 };

        if (!opts->has_bytes)
            timeouts.ReadIntervalTimeout = MAXDWORD;
        else if (opts->timeout_ms != INFINITE)
            timeouts.ReadTotalTimeoutConstant = opts->timeout_ms;
        if (!SetCommTimeouts(device, &timeouts))
            return fail(L"cannot set the timeouts of", opts->device, GetLastError());
    }
    _setmode(_fileno(stdout), _O_BINARY);
    while (left > 0) {
        DWORD want = left < sizeof(chunk) ? (DWORD)left : (DWORD)sizeof(chunk);

        error = lbk_read(device, chunk, want, INFINITE, &got);
        if (got > 0 && fwrite(chunk, 1, got, stdout) != got)
            return fail(L"cannot write", L"stdout", ERROR_WRITE_FAULT);
        left -= got;
        if (error == ERROR_MORE_DATA)
            continue; /* a message longer than the chunk: its rest comes next */
        if (error == ERROR_NO_DATA && !opts->has_bytes)
            break;
        if (serial && error == ERROR_SUCCESS && got < want) {
            if (!opts->has_bytes)
                break; /* all there was */
            fflush(stdout);
            return fail(L"cannot read from", opts->device, ERROR_TIMEOUT);
        }
        if (error != ERROR_SUCCESS) {
            fflush(stdout);
            return fail(L"cannot read from", opts->device, error == ERROR_NO_DATA ? ERROR_TIMEOUT : error);
        }
    }
    fflush(stdout);
    return EXIT_OK;
}

static int cmd_wait(HANDLE device, const options *opts)
{
    DWORD events = LBK_EVENT_READABLE, error;
    lbk_wait_result result;

    if (opts->events != NULL) {
        if (wcscmp(opts->events, L"readable") == 0) events = LBK_EVENT_READABLE;
        else if (wcscmp(opts->events, L"writable") == 0) events = LBK_EVENT_WRITABLE;
        else if (wcscmp(opts->events, L"both") == 0) events = LBK_EVENT_VALID;
        else return bad_usage(L"--events is readable, writable or both, not ", opts->events);
    }
    if (opts->timeout_ms == 0) {
        int code = apply_timeout(device, opts, TRUE);

        if (code != EXIT_OK)
            return code;
    }
    error = lbk_wait(device, events, opts->min_room, opts->timeout_ms == INFINITE ? 0 : opts->timeout_ms, &result);
    if (error != ERROR_SUCCESS)
        return fail(L"cannot wait on", opts->device, error);
    wprintf(L"events:%ls%ls%ls; %llu bytes to read (next message %lu), room for %llu\n",
            result.events == 0 ? L" none" : L"",
            (result.events & LBK_EVENT_READABLE) ? L" readable" : L"",
            (result.events & LBK_EVENT_WRITABLE) ? L" writable" : L"",
            (unsigned long long)result.bytes_readable, (unsigned long)result.next_message,
            (unsigned long long)result.room);
    return result.events == 0 ? EXIT_TIMEOUT : EXIT_OK;
}

static int cmd_mode(HANDLE device, const options *opts)
{
    const wchar_t *mode = opts->first_text < opts->argc ? opts->argv[opts->first_text] : L"";
    BOOL messages = wcscmp(mode, L"message") == 0;
    DWORD error;

    if (!messages && wcscmp(mode, L"stream") != 0)
        return bad_usage(L"mode is stream or message, not ", mode[0] ? mode : L"nothing");
    if (opts->first_text + 1 < opts->argc)
        return bad_usage(L"unexpected argument ", opts->argv[opts->first_text + 1]);
    if ((error = lbk_set_message_mode(device, messages)) != ERROR_SUCCESS)
        return fail(L"cannot change the mode of", opts->device, error);
    wprintf(L"%ls: %ls mode\n", opts->device, messages ? L"message" : L"byte-stream");
    return EXIT_OK;
}

static int cmd_list(void)
{
    lbk_device_entry entries[2 * LBK_MAX_DEVICE_COUNT];
    DWORD count, error = lbk_list_devices(entries, sizeof(entries) / sizeof(entries[0]), &count), i;

    if (error != ERROR_SUCCESS && error != ERROR_MORE_DATA)
        return fail(L"cannot list", L"devices", error);
    static const wchar_t *const found_by[] = { L"?", L"name", L"interface", L"both" };

    wprintf(L"%-16ls %-8ls %-16ls %-8ls %-7ls %10ls %10ls %7ls %14ls %14ls %ls\n", L"DEVICE", L"ROLE", L"PEER",
            L"METHOD", L"MODE", L"CAPACITY", L"QUEUED", L"HANDLES", L"BYTES IN", L"BYTES OUT", L"FOUND BY");
    for (i = 0; i < count && i < sizeof(entries) / sizeof(entries[0]); i++) {
        const lbk_device_entry *e = &entries[i];

        /* Its handle count includes the one lbk_list_devices held while asking. */
        wprintf(L"%-16ls %-8ls %-16ls %-8ls %-7ls %10lu %10llu %7lu %14llu %14llu %ls\n", e->name,
                lbk_role_name(e->info.role), (const wchar_t *)e->info.peer_name, lbk_io_method_name(e->info.io_method),
                (e->info.state & LBK_STATE_MESSAGE_MODE) ? L"message" : L"stream", (unsigned long)e->info.capacity,
                (unsigned long long)e->stats.bytes_queued, (unsigned long)e->stats.open_handles - 1,
                (unsigned long long)e->stats.bytes_in, (unsigned long long)e->stats.bytes_out,
                found_by[e->found_by & 3u]);
    }
    wprintf(L"%lu devices\n", count);
    /* What --device takes to open a Plug and Play device by its interface rather than its name. */
    for (i = 0; i < count && i < sizeof(entries) / sizeof(entries[0]); i++) {
        if (entries[i].found_by & LBK_FOUND_BY_INTERFACE)
            wprintf(L"%ls interface %ls\n", entries[i].name, entries[i].path);
    }
    return EXIT_OK;
}

static int cmd_stats(HANDLE device, const options *opts)
{
    lbk_stats s;
    DWORD error = lbk_get_stats(device, &s);

    if (error != ERROR_SUCCESS)
        return fail(L"cannot get statistics of", opts->device, error);
    wprintf(L"device          %ls\n"
            L"io method       %ls\n"
            L"capacity        %llu bytes\n"
            L"queued          %llu bytes\n"
            L"bytes in        %llu\n"
            L"bytes out       %llu\n"
            L"bytes purged    %llu\n"
            L"write requests  %llu\n"
            L"read requests   %llu\n"
            L"cancelled       %llu\n"
            L"timed out       %llu\n"
            L"pending reads   %lu\n"
            L"pending writes  %lu\n"
            L"pending waits   %lu\n"
            L"open handles    %lu\n"
            L"bytes direct    %llu (handed from a write straight to a read)\n"
            L"bytes discarded %llu (written while the peer had no handle)\n"
            L"peer queued     %llu bytes (written here, not yet read)\n"
            L"state           %ls%ls%ls\n"
            L"pool            %llu bytes\n"
            L"locked copy     %lu bytes at most (in one hold of the device's lock)\n",
            opts->device, lbk_io_method_name(s.io_method), (unsigned long long)s.capacity,
            (unsigned long long)s.bytes_queued, (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out,
            (unsigned long long)s.bytes_purged, (unsigned long long)s.write_requests,
            (unsigned long long)s.read_requests, (unsigned long long)s.cancelled_requests,
            (unsigned long long)s.timed_out_requests, (unsigned long)s.pending_reads, (unsigned long)s.pending_writes,
            (unsigned long)s.pending_waits, (unsigned long)s.open_handles, (unsigned long long)s.bytes_direct,
            (unsigned long long)s.bytes_discarded, (unsigned long long)s.peer_bytes_queued,
            (s.state & LBK_STATE_MESSAGE_MODE) ? L"message-mode" : L"byte-stream",
            (s.state & LBK_STATE_PAIRED) ? L" paired" : L"",
            (s.state & LBK_STATE_PAIRED) ? ((s.state & LBK_STATE_PEER_OPEN) ? L" peer-open" : L" peer-closed") : L"",
            (unsigned long long)s.pool_bytes, (unsigned long)s.max_locked_copy);
    return EXIT_OK;
}

static int cmd_info(HANDLE device, const options *opts)
{
    lbk_device_info info;
    DWORD error = lbk_get_info(device, &info);

    if (error != ERROR_SUCCESS)
        return fail(L"cannot get information of", opts->device, error);
    info.name[LBK_MAX_NAME_CHARS] = 0;
    info.peer_name[LBK_MAX_NAME_CHARS] = 0;
    wprintf(L"name        %ls\nrole        %ls\npeer        %ls\nunit        %lu of %lu\ncapacity    %lu bytes\n"
            L"io method   %ls\nmode        %ls\nmax message %lu bytes\npeer closed %ls\nprotocol    %lu\n",
            (const wchar_t *)info.name, lbk_role_name(info.role), (const wchar_t *)info.peer_name,
            (unsigned long)info.unit, (unsigned long)info.unit_count, (unsigned long)info.capacity,
            lbk_io_method_name(info.io_method), (info.state & LBK_STATE_MESSAGE_MODE) ? L"message" : L"byte-stream",
            (unsigned long)info.max_message, lbk_peer_closed_name(info.when_peer_closed),
            (unsigned long)info.protocol_version);
    return EXIT_OK;
}

static int cmd_purge(HANDLE device, const options *opts)
{
    uint64_t purged;
    DWORD error = lbk_purge(device, &purged);

    if (error != ERROR_SUCCESS)
        return fail(L"cannot purge", opts->device, error);
    wprintf(L"purged %llu bytes\n", (unsigned long long)purged);
    return EXIT_OK;
}

static int cmd_device(const wchar_t *command, const options *opts)
{
    BOOL writes = wcscmp(command, L"write") == 0 || wcscmp(command, L"purge") == 0 || wcscmp(command, L"mode") == 0;
    DWORD access = writes ? GENERIC_WRITE : GENERIC_READ;
    BOOL takes_text = wcscmp(command, L"write") == 0 || wcscmp(command, L"mode") == 0;
    HANDLE device;
    DWORD error;
    int result;

    if (!takes_text && opts->first_text < opts->argc)
        return bad_usage(L"unexpected argument ", opts->argv[opts->first_text]);
    if ((error = lbk_open(opts->device, access, &device)) != ERROR_SUCCESS)
        return fail(L"cannot open device", opts->device, error);
    if (wcscmp(command, L"write") == 0) result = cmd_write(device, opts);
    else if (wcscmp(command, L"wait") == 0) result = cmd_wait(device, opts);
    else if (wcscmp(command, L"mode") == 0) result = cmd_mode(device, opts);
    else if (wcscmp(command, L"read") == 0) result = cmd_read(device, opts);
    else if (wcscmp(command, L"stats") == 0) result = cmd_stats(device, opts);
    else if (wcscmp(command, L"info") == 0) result = cmd_info(device, opts);
    else result = cmd_purge(device, opts);
    CloseHandle(device);
    return result;
}

/* A failed INF install; for a program built for another processor than Windows runs on (the x64
   lbkctl emulated on ARM64), what does the same job there. */
static int fail_install(const wchar_t *what, const wchar_t *inf_path, DWORD error, const wchar_t *instead)
{
    int result = fail(what, inf_path, error);

    if (error == ERROR_EXE_MACHINE_TYPE_MISMATCH)
        fwprintf(stderr,
                 L"lbkctl: this lbkctl is built for another processor than this Windows runs on, and SetupAPI may "
                 L"install that processor's driver: use the lbkctl built for this one (windows\\arm64\\lbkctl.exe "
                 L"in the build, for ARM64), or %ls\n",
                 instead);
    return result;
}

static int cmd_pnp_install(const options *opts)
{
    BOOL reboot = FALSE;
    DWORD error;

    if (opts->first_text + 1 != opts->argc)
        return bad_usage(L"pnp-install needs one INF path", L"");
    error = lbk_pnp_install(opts->argv[opts->first_text], &reboot);
    if (error != ERROR_SUCCESS)
        return fail_install(L"cannot install from", opts->argv[opts->first_text], error,
                            L"the machine's own devcon: devcon install lbk.inf Root\\LBK");
    wprintf(L"installed %ls from %ls%ls\n", LBK_HARDWARE_ID, opts->argv[opts->first_text],
            reboot ? L"; Windows asks for a restart to finish" : L"");
    return EXIT_OK;
}

/* pnp-remove, pnp-disable, pnp-enable: one change to every Root\LBK device. */
static int cmd_pnp_change(const wchar_t *command, const options *opts)
{
    BOOL remove = wcscmp(command, L"pnp-remove") == 0, enable = wcscmp(command, L"pnp-enable") == 0;
    DWORD changed = 0, error;

    if (opts->first_text < opts->argc)
        return bad_usage(L"unexpected argument ", opts->argv[opts->first_text]);
    error = remove ? lbk_pnp_remove(&changed) : lbk_pnp_set_enabled(enable, &changed);
    if (error != ERROR_SUCCESS)
        return fail(remove ? L"cannot remove" : enable ? L"cannot enable" : L"cannot disable", LBK_HARDWARE_ID, error);
    wprintf(L"%ls %lu %ls device%ls\n", remove ? L"removed" : enable ? L"enabled" : L"disabled", changed,
            LBK_HARDWARE_ID, changed == 1 ? L"" : L"s");
    return EXIT_OK;
}

static int cmd_bus_install(const options *opts)
{
    BOOL reboot = FALSE;
    DWORD error;

    if (opts->first_text + 1 != opts->argc)
        return bad_usage(L"bus-install needs the path of lbk.inf", L"");
    error = lbk_bus_install(opts->argv[opts->first_text], &reboot);
    if (error != ERROR_SUCCESS)
        return fail_install(L"cannot install the bus from", opts->argv[opts->first_text], error,
                            L"pnputil /add-driver lbkport.inf, then the machine's own devcon: devcon install lbk.inf "
                            L"Root\\LBKBUS");
    wprintf(L"installed %ls from %ls%ls\n", LBK_BUS_HARDWARE_ID, opts->argv[opts->first_text],
            reboot ? L"; Windows asks for a restart to finish" : L"");
    return EXIT_OK;
}

/* A COM name of the command line: "COM<n>" into *port, or "-" for none (0). */
static BOOL parse_port_name(const wchar_t *text, uint16_t *port)
{
    DWORD n;

    if (wcscmp(text, L"-") == 0) {
        *port = 0;
        return TRUE;
    }
    if (_wcsnicmp(text, L"COM", 3) != 0 || text[3] == L'0' || !parse_dword(text + 3, &n) || n < 1 ||
        n > LBK_MAX_COM_PORT)
        return FALSE;
    *port = (uint16_t)n;
    return TRUE;
}

/* Refuses a COM name someone has, naming who; except is an end's device name that may have it. */
static int refuse_taken(uint16_t port, const wchar_t *except)
{
    wchar_t owner[512], mine[LBK_MAX_NAME_CHARS + 32];
    DWORD error;

    if (port == 0)
        return EXIT_OK;
    error = lbk_com_owner(port, owner, sizeof(owner) / sizeof(owner[0]));
    if (error != ERROR_SUCCESS)
        return fail(L"cannot tell who has", L"a COM name", error);
    swprintf(mine, sizeof(mine) / sizeof(mine[0]), L"\\Device\\%ls (listed in SERIALCOMM)", except);
    if (owner[0] == L'\0' || (except[0] != L'\0' && _wcsicmp(owner, mine) == 0))
        return EXIT_OK;
    fwprintf(stderr, L"lbkctl: COM%u is taken: it is %ls's\n", port, owner);
    return EXIT_FAILED;
}

/* The pair's entry in the bus's list, or NULL. */
static const lbk_bus_pair_info *find_pair(const lbk_bus_list *list, uint32_t number)
{
    uint32_t i;

    for (i = 0; i < list->count; i++) {
        if (list->pairs[i].pair == number)
            return &list->pairs[i];
    }
    return NULL;
}

/* The pair's entry, asked of the bus now, into *info; FALSE when there is none. */
static BOOL get_pair(HANDLE bus, uint32_t number, lbk_bus_pair_info *info)
{
    lbk_bus_list *list = calloc(1, sizeof(*list));
    const lbk_bus_pair_info *found = NULL;

    if (list != NULL && lbk_bus_get_pairs(bus, list) == ERROR_SUCCESS && (found = find_pair(list, number)) != NULL)
        *info = *found;
    free(list);
    return found != NULL;
}

static uint16_t current_port(HANDLE bus, uint32_t pair, uint32_t end)
{
    lbk_bus_pair_info info;

    return get_pair(bus, pair, &info) ? info.end[end].port : 0;
}

/* Waits until the PnP manager has installed and started both ends of a new pair. */
static DWORD wait_started(HANDLE bus, uint32_t pair, DWORD timeout_ms)
{
    DWORD waited;

    for (waited = 0;; waited += 100) {
        lbk_bus_pair_info info;

        if (!get_pair(bus, pair, &info))
            return ERROR_NOT_FOUND;
        if (info.end[0].pnp_state == 1 && info.end[1].pnp_state == 1)
            return ERROR_SUCCESS;
        if (waited >= timeout_ms)
            return ERROR_TIMEOUT;
        Sleep(100);
    }
}

/* The request that gives end of pair the wiring and pacing. */
static lbk_bus_end_options end_options(uint32_t pair, uint32_t end, const struct lbk_flow_wiring *wiring, BOOL paced)
{
    lbk_bus_end_options request;

    ZeroMemory(&request, sizeof(request));
    request.pair = pair;
    request.end = (uint16_t)end;
    request.paced = paced ? 1 : 0;
    request.wiring[0] = wiring->cts;
    request.wiring[1] = wiring->dsr;
    request.wiring[2] = wiring->dcd;
    request.wiring[3] = wiring->ri;
    return request;
}

static int bad_wiring(const wchar_t *text)
{
    return bad_usage(L"a wiring is null-modem, loopback or line=source items (lines cts dsr dcd ri, sources "
                     L"rrts rdtr rts dtr on off), one per end, separated by ';' for pair add; not ",
                     text);
}

static int pair_add(HANDLE bus, const options *opts)
{
    struct lbk_flow_wiring wirings[2];
    lbk_bus_pair pair = { LBK_BUS_ANY_PAIR, { 0, 0 } }; /* no names yet: see below */
    uint16_t ports[2] = { 0, 0 };
    DWORD error;
    BOOL added;
    int e;

    if (opts->port_names != NULL) {
        wchar_t names[64], *comma;

        if (wcslen(opts->port_names) >= 64 || (comma = wcschr(wcscpy(names, opts->port_names), L',')) == NULL)
            return bad_usage(L"--port-names is COMa,COMb ('-' for none), not ", opts->port_names);
        *comma = L'\0';
        if (!parse_port_name(names, &ports[0]) || !parse_port_name(comma + 1, &ports[1]) ||
            (ports[0] != 0 && ports[0] == ports[1]))
            return bad_usage(L"--port-names is COMa,COMb ('-' for none), two names, not ", opts->port_names);
    }
    if (opts->has_pair) {
        if (opts->pair >= LBK_BUS_MAX_PAIRS)
            return bad_usage(L"--pair is a pair number from 0 to 31", L"");
        pair.pair = opts->pair;
    }
    if (lbk_flow_parse_wiring_list((const uint16_t *)(opts->wiring != NULL ? opts->wiring : L""),
                                   opts->wiring != NULL ? wcslen(opts->wiring) : 0, wirings, 2) != 0)
        return bad_wiring(opts->wiring);
    if (opts->has_paced && opts->paced > 1)
        return bad_usage(L"--paced is 0 or 1", L"");
    for (e = 0; e < 2; e++) {
        int result = refuse_taken(ports[e], L"");

        if (result != EXIT_OK)
            return result;
    }
    /* Claimed before the pair exists, so that no other port is given the numbers meanwhile. */
    for (e = 0; e < 2; e++) {
        if (ports[e] != 0 && (error = lbk_comdb_set(ports[e], TRUE)) != ERROR_SUCCESS) {
            if (e == 1 && ports[0] != 0)
                lbk_comdb_set(ports[0], FALSE);
            return fail(L"cannot claim a COM name in", L"the COM name arbiter's database", error);
        }
    }
    /* Added with no COM names: on Windows the Ports class installer gives each new end a free
       number before it starts, which the end takes; renaming it then to the name asked for
       releases that one, as setupc does. Under Wine, with no class installer, the ends start
       with none. */
    error = lbk_bus_add_pair(bus, &pair);
    added = error == ERROR_SUCCESS;
    for (e = 0; e < 2 && added && error == ERROR_SUCCESS; e++) {
        if (!lbk_flow_wiring_is_null_modem(&wirings[e]) || opts->paced != 0) {
            lbk_bus_end_options request = end_options(pair.pair, (uint32_t)e, &wirings[e], opts->paced != 0);

            error = lbk_bus_set_options(bus, &request);
        }
    }
    if (added && error == ERROR_SUCCESS)
        error = wait_started(bus, pair.pair, 30000);
    for (e = 0; e < 2 && error == ERROR_SUCCESS; e++) {
        uint16_t given = current_port(bus, pair.pair, (uint32_t)e);

        if (ports[e] == given)
            continue;
        error = lbk_bus_set_port(bus, pair.pair, (uint32_t)e, ports[e]);
        if (error == ERROR_SUCCESS && given != 0)
            lbk_comdb_set(given, FALSE);
    }
    if (error != ERROR_SUCCESS) {
        if (added)
            lbk_bus_remove_pair(bus, pair.pair);
        for (e = 0; e < 2; e++) {
            if (ports[e] != 0)
                lbk_comdb_set(ports[e], FALSE);
        }
        return fail(L"cannot add", L"a pair", error);
    }
    for (e = 0; e < 2; e++) {
        error = lbk_port_set_friendly_name(pair.pair, (uint32_t)e, ports[e], 10000);
        if (error != ERROR_SUCCESS)
            fwprintf(stderr, L"lbkctl: pair %u end %ls: no friendly name: error %lu\n", pair.pair, e ? L"B" : L"A", error);
    }
    wprintf(L"added pair %u\n", pair.pair);
    return EXIT_OK;
}

static const wchar_t *pnp_state_name(uint32_t state)
{
    static const wchar_t *const names[] = { L"not started", L"started", L"stop pending", L"stopped",
                                            L"remove pending", L"surprise-removed", L"deleted" };

    return state < sizeof(names) / sizeof(names[0]) ? names[state] : L"unknown";
}

static int pair_list(HANDLE bus)
{
    lbk_bus_list *list = calloc(1, sizeof(*list));
    DWORD error;
    uint32_t i, e;

    if (list == NULL)
        return fail(L"cannot list", L"the pairs", ERROR_NOT_ENOUGH_MEMORY);
    error = lbk_bus_get_pairs(bus, list);
    if (error != ERROR_SUCCESS) {
        free(list);
        return fail(L"cannot list", L"the pairs", error);
    }
    wprintf(L"PAIR  END  DEVICE                COM     STATE         HANDLES  PACED  WIRING\n");
    for (i = 0; i < list->count; i++) {
        const lbk_bus_pair_info *info = &list->pairs[i];

        for (e = 0; e < 2; e++) {
            const struct lbk_flow_wiring wiring = { info->end[e].wiring[0], info->end[e].wiring[1],
                                                    info->end[e].wiring[2], info->end[e].wiring[3] };
            wchar_t com[16], wiring_text[LBK_FLOW_WIRING_TEXT_CHARS + 1];

            if (info->end[e].port == 0)
                wcscpy(com, L"-");
            else
                swprintf(com, 16, L"COM%u%ls", info->end[e].port, info->end[e].port_linked ? L"" : L"*");
            if (lbk_flow_format_wiring(&wiring, (uint16_t *)wiring_text, LBK_FLOW_WIRING_TEXT_CHARS + 1) == 0)
                wcscpy(wiring_text, L"?");
            wprintf(L"%-5u %-4ls %-21ls %-7ls %-13ls %-8u %-6ls %ls\n", info->pair, e ? L"B" : L"A",
                    (const wchar_t *)info->end[e].name, com, pnp_state_name(info->end[e].pnp_state),
                    info->end[e].open_handles, info->end[e].paced ? L"yes" : L"no", wiring_text);
        }
    }
    wprintf(L"%u pair%ls; * a COM name that is not linked (taken by another device, or the end is not started)\n",
            list->count, list->count == 1 ? L"" : L"s");
    free(list);
    return EXIT_OK;
}

static int pair_rename_or_remove(HANDLE bus, BOOL rename, const options *opts)
{
    const wchar_t *const *args = (const wchar_t *const *)opts->argv + opts->first_text;
    int count = opts->argc - opts->first_text, result = EXIT_OK;
    lbk_bus_list *list;
    const lbk_bus_pair_info *info;
    DWORD number, error;
    uint16_t port = 0;
    uint32_t end = 0;

    if (count != (rename ? 3 : 1) || !parse_dword(args[0], &number))
        return bad_usage(rename ? L"pair rename needs N A|B COMn|-" : L"pair remove needs a pair number", L"");
    if (rename) {
        if (wcscmp(args[1], L"A") != 0 && wcscmp(args[1], L"B") != 0)
            return bad_usage(L"the end is A or B, not ", args[1]);
        end = args[1][0] == L'B';
        if (!parse_port_name(args[2], &port))
            return bad_usage(L"a COM name is COM1 to COM256, or - for none, not ", args[2]);
    }
    list = calloc(1, sizeof(*list));
    if (list == NULL)
        return fail(L"cannot list", L"the pairs", ERROR_NOT_ENOUGH_MEMORY);
    if ((error = lbk_bus_get_pairs(bus, list)) != ERROR_SUCCESS) {
        free(list);
        return fail(L"cannot list", L"the pairs", error);
    }
    info = find_pair(list, number);
    if (info == NULL) {
        free(list);
        fwprintf(stderr, L"lbkctl: there is no pair %lu\n", number);
        return EXIT_FAILED;
    }
    if (!rename) {
        error = lbk_bus_remove_pair(bus, number);
        if (error != ERROR_SUCCESS) {
            result = fail(L"cannot remove", L"the pair", error);
        } else {
            uint32_t e;

            for (e = 0; e < 2; e++) {
                if (info->end[e].port != 0)
                    lbk_comdb_set(info->end[e].port, FALSE);
            }
            wprintf(L"removed pair %lu\n", number);
        }
    } else if (info->end[end].port != port) {
        if ((result = refuse_taken(port, (const wchar_t *)info->end[end].name)) == EXIT_OK) {
            if (port != 0 && (error = lbk_comdb_set(port, TRUE)) != ERROR_SUCCESS) {
                result = fail(L"cannot claim a COM name in", L"the COM name arbiter's database", error);
            } else if ((error = lbk_bus_set_port(bus, number, end, port)) != ERROR_SUCCESS) {
                if (port != 0)
                    lbk_comdb_set(port, FALSE);
                result = fail(L"cannot rename", (const wchar_t *)info->end[end].name, error);
            } else {
                if (info->end[end].port != 0)
                    lbk_comdb_set(info->end[end].port, FALSE);
                lbk_port_set_friendly_name(number, end, port, 10000);
                wprintf(L"pair %lu end %ls: %ls\n", number, end ? L"B" : L"A", args[2]);
            }
        }
    }
    free(list);
    return result;
}

/* pair options N A|B [--wiring W] [--paced 0|1]: what is not given stays as it is. args: N, A|B. */
static int pair_options(HANDLE bus, const wchar_t *const *args, const options *opts)
{
    lbk_bus_pair_info info;
    lbk_bus_end_options request;
    struct lbk_flow_wiring wiring;
    DWORD number, error;
    uint32_t end;

    if (!parse_dword(args[0], &number))
        return bad_usage(L"pair options needs N A|B, not ", args[0]);
    if (wcscmp(args[1], L"A") != 0 && wcscmp(args[1], L"B") != 0)
        return bad_usage(L"the end is A or B, not ", args[1]);
    end = args[1][0] == L'B';
    if (opts->wiring != NULL && lbk_flow_parse_wiring((const uint16_t *)opts->wiring, wcslen(opts->wiring), &wiring) != 0)
        return bad_wiring(opts->wiring);
    if (opts->has_paced && opts->paced > 1)
        return bad_usage(L"--paced is 0 or 1", L"");
    if (number >= LBK_BUS_MAX_PAIRS || !get_pair(bus, number, &info)) {
        fwprintf(stderr, L"lbkctl: there is no pair %lu\n", number);
        return EXIT_FAILED;
    }
    if (opts->wiring == NULL) {
        wiring.cts = info.end[end].wiring[0];
        wiring.dsr = info.end[end].wiring[1];
        wiring.dcd = info.end[end].wiring[2];
        wiring.ri = info.end[end].wiring[3];
    }
    request = end_options(number, end, &wiring, opts->has_paced ? opts->paced != 0 : info.end[end].paced != 0);
    error = lbk_bus_set_options(bus, &request);
    if (error != ERROR_SUCCESS)
        return fail(L"cannot set the options of", (const wchar_t *)info.end[end].name, error);
    wprintf(L"pair %lu end %ls: options set\n", number, end ? L"B" : L"A");
    return EXIT_OK;
}

static int cmd_pair(int argc, wchar_t **argv)
{
    options opts = { 0 };
    const wchar_t *sub;
    HANDLE bus;
    DWORD error;
    int result;

    if (argc < 3)
        return bad_usage(L"pair needs add, list, rename, options or remove", L"");
    sub = argv[2];
    /* Options after the subcommand (after "options N A|B" for that one): parse as if it were the command. */
    if (wcscmp(sub, L"options") == 0) {
        if (argc < 5)
            return bad_usage(L"pair options needs N A|B", L"");
        if ((result = parse_options(argc - 3, argv + 3, &opts)) != EXIT_OK)
            return result;
    } else if ((result = parse_options(argc - 1, argv + 1, &opts)) != EXIT_OK) {
        return result;
    }
    /* first_text, argc and argv now count from the subcommand: its arguments start at first_text. */
    if (wcscmp(sub, L"add") != 0 && wcscmp(sub, L"list") != 0 && wcscmp(sub, L"rename") != 0 &&
        wcscmp(sub, L"remove") != 0 && wcscmp(sub, L"options") != 0)
        return bad_usage(L"pair needs add, list, rename, options or remove, not ", sub);
    if ((wcscmp(sub, L"add") == 0 || wcscmp(sub, L"list") == 0 || wcscmp(sub, L"options") == 0) &&
        opts.first_text < opts.argc)
        return bad_usage(L"unexpected argument ", opts.argv[opts.first_text]);
    error = lbk_bus_open(10000, &bus);
    if (error != ERROR_SUCCESS)
        return fail(L"cannot open", L"the serial port bus (is it installed? lbkctl bus-install)", error);
    if (wcscmp(sub, L"add") == 0)
        result = pair_add(bus, &opts);
    else if (wcscmp(sub, L"list") == 0)
        result = pair_list(bus);
    else if (wcscmp(sub, L"options") == 0)
        result = pair_options(bus, (const wchar_t *const *)argv + 3, &opts);
    else
        result = pair_rename_or_remove(bus, wcscmp(sub, L"rename") == 0, &opts);
    CloseHandle(bus);
    return result;
}

/* bus-remove: every bus goes, and with it its pairs, whose COM names are released first. */
static int cmd_bus_remove(const options *opts)
{
    lbk_bus_list *list = calloc(1, sizeof(*list));
    HANDLE bus;
    DWORD removed = 0, error;
    uint32_t i, e;

    if (opts->first_text < opts->argc) {
        free(list);
        return bad_usage(L"unexpected argument ", opts->argv[opts->first_text]);
    }
    if (list != NULL && lbk_bus_open(0, &bus) == ERROR_SUCCESS) {
        if (lbk_bus_get_pairs(bus, list) != ERROR_SUCCESS)
            list->count = 0;
        CloseHandle(bus);
    } else if (list != NULL) {
        list->count = 0;
    }
    error = lbk_bus_remove(&removed);
    if (error != ERROR_SUCCESS) {
        free(list);
        return fail(L"cannot remove", LBK_BUS_HARDWARE_ID, error);
    }
    for (i = 0; list != NULL && i < list->count; i++) {
        for (e = 0; e < 2; e++) {
            if (list->pairs[i].end[e].port != 0)
                lbk_comdb_set(list->pairs[i].end[e].port, FALSE);
        }
    }
    free(list);
    wprintf(L"removed %lu %ls device%ls\n", removed, LBK_BUS_HARDWARE_ID, removed == 1 ? L"" : L"s");
    return EXIT_OK;
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    static const wchar_t *const service_commands[] = { L"start", L"stop", L"uninstall", L"status" };
    static const wchar_t *const device_commands[] = { L"write", L"read", L"stats", L"info", L"purge", L"wait", L"mode" };
    const wchar_t *command;
    options opts = { 0 };
    int result;
    size_t i;

    if (argc < 2 || wcscmp(argv[1], L"--help") == 0 || wcscmp(argv[1], L"-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    command = argv[1];
    if (wcscmp(command, L"pair") == 0)
        return cmd_pair(argc, argv);
    if ((result = parse_options(argc, argv, &opts)) != EXIT_OK)
        return result;
    if (wcscmp(command, L"list") == 0) {
        if (opts.first_text < argc)
            return bad_usage(L"unexpected argument ", argv[opts.first_text]);
        return cmd_list();
    }
    if (wcscmp(command, L"pnp-install") == 0)
        return cmd_pnp_install(&opts);
    if (wcscmp(command, L"bus-install") == 0)
        return cmd_bus_install(&opts);
    if (wcscmp(command, L"bus-remove") == 0)
        return cmd_bus_remove(&opts);
    if (wcscmp(command, L"pnp-remove") == 0 || wcscmp(command, L"pnp-disable") == 0 ||
        wcscmp(command, L"pnp-enable") == 0)
        return cmd_pnp_change(command, &opts);
    if (wcscmp(command, L"install") == 0) {
        if (opts.first_text < argc)
            return bad_usage(L"unexpected argument ", argv[opts.first_text]);
        return cmd_install(&opts);
    }
    for (i = 0; i < sizeof(service_commands) / sizeof(service_commands[0]); i++) {
        if (wcscmp(command, service_commands[i]) == 0) {
            if (opts.first_text < argc)
                return bad_usage(L"unexpected argument ", argv[opts.first_text]);
            return cmd_service(command, &opts);
        }
    }
    for (i = 0; i < sizeof(device_commands) / sizeof(device_commands[0]); i++) {
        if (wcscmp(command, device_commands[i]) == 0)
            return cmd_device(command, &opts);
    }
    return bad_usage(L"unknown command ", command);
}
