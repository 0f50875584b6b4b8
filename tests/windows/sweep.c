/*
 * sweep.c - the device as an attacker or a new user meets it: nothing but <windows.h>,
 * <winioctl.h> and the contract (include/lbk_ioctl.h), no library.
 *
 * Usage: sweep --label LABEL --kind plain  --device \\.\LBK
 *        sweep --label LABEL --kind pair   --device \\.\PAIRA --peer \\.\PAIRB
 *        sweep --label LABEL --kind serial --device \\.\SERA  --peer \\.\SERB
 * --host wine: the host gives the driver no handle's access at CREATE (Wine 8 does not), so the
 * rows only the driver can check (the serial codes, FlushFileBuffers) are left out; the probe
 * driver's access test (tests/windows/pnpprobe) sends them with a Windows-shaped CREATE instead.
 * --device is the end under test; --peer (pair and serial) is the end that feeds its input and
 * reads its output. A serial end opens once at a time, so the access checks close the device's
 * own handle before opening another. The device's input and the peer's are purged freely.
 *
 * Checks, one line each, "PASS sweep[LABEL]: NAME" or "FAIL sweep[LABEL]: NAME: DETAILS":
 * - canary: every request the device serves, at every output length from 0 to its reply's size
 *   + 16, into a buffer at the start of a patterned allocation 64 bytes longer: no more returned
 *   than fits, nothing written past the length, every byte returned written by the driver (the
 *   same under two fill patterns), short outputs refused with ERROR_INSUFFICIENT_BUFFER and 0
 *   bytes; GET_INFO's names zero after their NUL; unknown serial codes refused, nothing written;
 *   ReadFile likewise.
 * - access: handles opened with no data access, read, write and both; every request is refused
 *   with ERROR_ACCESS_DENIED exactly where the table access_rows says its access is missing,
 *   and a refused one changes neither end's queue.
 * Exits 1 when a check failed, 2 when a request neither completed nor cancelled (its buffers
 * may still be written, so the run stops there). No request waits longer than DEADLINE_MS.
 */
#include <windows.h>
#include <winioctl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../../include/lbk_ioctl.h"

/*
 * mingw-w64's <ntddser.h> needs kernel types (PHYSICAL_ADDRESS) in user mode, so the serial
 * codes and replies are named here, as ntddser.h has them: FILE_DEVICE_SERIAL_PORT,
 * METHOD_BUFFERED, FILE_ANY_ACCESS.
 */
#define SERIAL_CODE(function) CTL_CODE(FILE_DEVICE_SERIAL_PORT, (function), METHOD_BUFFERED, FILE_ANY_ACCESS)
enum serial_function {
    SET_BAUD_RATE = 1, SET_QUEUE_SIZE, SET_LINE_CONTROL, SET_BREAK_ON, SET_BREAK_OFF, IMMEDIATE_CHAR,
    SET_TIMEOUTS, GET_TIMEOUTS, SET_DTR, CLR_DTR, RESET_DEVICE, SET_RTS, CLR_RTS, SET_XOFF, SET_XON,
    GET_WAIT_MASK, SET_WAIT_MASK, WAIT_ON_MASK, PURGE, GET_BAUD_RATE, GET_LINE_CONTROL, GET_CHARS,
    SET_CHARS, GET_HANDFLOW, SET_HANDFLOW, GET_MODEMSTATUS, GET_COMMSTATUS, XOFF_COUNTER,
    GET_PROPERTIES, GET_DTRRTS, LSRMST_INSERT, CONFIG_SIZE, GET_COMMCONFIG, SET_COMMCONFIG, GET_STATS,
    CLEAR_STATS, GET_MODEM_CONTROL, SET_MODEM_CONTROL, SET_FIFO_CONTROL
};
#define SERIAL_LINE_CONTROL_BYTES 3u
#define SERIAL_CHARS_BYTES 6u
#define SERIAL_HANDFLOW_BYTES 16u
#define SERIAL_STATUS_BYTES 20u /* 4 ULONGs, 2 BOOLEANs, 2 bytes of padding */
#define SERIAL_COMMPROP_BYTES 64u
#define SERIALPERF_STATS_BYTES 24u
#define SERIAL_XOFF_COUNTER_BYTES 12u /* ULONG, LONG, UCHAR and 3 bytes of padding */

#define DEADLINE_MS 2000u        /* the longest any request that should complete may take */
#define ACCEPTED_PENDING_MS 300u /* access checks: a request still pending then was accepted */
#define GUARD 64u                /* patterned bytes after every output buffer */
static const BYTE fills[2] = { 0xA5, 0x5A };

enum kind { KIND_PLAIN, KIND_PAIR, KIND_SERIAL };
static enum kind kind;
static const wchar_t *device_path, *peer_path;
static char label[64] = "sweep";
static HANDLE dev, peer; /* read-write, overlapped; peer is NULL on a plain device */
static int passed, failed;

static void report(BOOL ok, const char *name, const char *detail)
{
    if (ok)
        passed++;
    else
        failed++;
    if (ok)
        printf("PASS sweep[%s]: %s\n", label, name);
    else
        printf("FAIL sweep[%s]: %s: %s\n", label, name, detail);
    fflush(stdout);
}

/* ---- Requests with a deadline ---------------------------------------------------------------- */

enum op { OP_IOCTL, OP_READ, OP_WRITE, OP_FLUSH };

struct call {
    DWORD error;  /* 0 on success */
    DWORD bytes;  /* BytesReturned: the OVERLAPPED's count, 0 unless the request set it */
    BOOL pending; /* still pending at the deadline, then cancelled */
};

/*
 * Wine 8 writes STATUS_BAD_DEVICE_TYPE into the OVERLAPPED of a serial IOCTL (and sets its
 * event) before it sends the request to the driver (docs/serial.md): a request is done once its
 * status is neither that nor STATUS_PENDING. On Windows this is HasOverlappedIoCompleted.
 */
#define WINE_EARLY_STATUS 0xC00000CBu /* STATUS_BAD_DEVICE_TYPE */
static BOOL done(const OVERLAPPED *ov)
{
    return ov->Internal != STATUS_PENDING && ov->Internal != WINE_EARLY_STATUS;
}

static BOOL wait_done(const OVERLAPPED *ov, DWORD ms)
{
    DWORD start = GetTickCount();

    while (!done(ov) && GetTickCount() - start < ms)
        Sleep(1);
    return done(ov);
}

static void give_up(const char *what)
{
    report(FALSE, what, "the request neither completed nor cancelled: stopping");
    ExitProcess(2);
}

struct flush_job {
    HANDLE handle;
    DWORD error;
};

static DWORD WINAPI flush_thread(void *param)
{
    struct flush_job *job = param;

    job->error = FlushFileBuffers(job->handle) ? 0 : GetLastError();
    return 0;
}

/* FlushFileBuffers cannot be overlapped: it runs on a thread that is cancelled at the deadline. */
static struct call flush(HANDLE handle, DWORD deadline_ms)
{
    struct flush_job job = { handle, 0 };
    struct call result = { 0, 0, FALSE };
    HANDLE thread = CreateThread(NULL, 0, flush_thread, &job, 0, NULL);

    if (WaitForSingleObject(thread, deadline_ms) == WAIT_TIMEOUT) {
        result.pending = TRUE;
        CancelSynchronousIo(thread);
        if (WaitForSingleObject(thread, DEADLINE_MS) == WAIT_TIMEOUT)
            give_up("FlushFileBuffers");
    }
    CloseHandle(thread);
    result.error = job.error;
    return result;
}

/* One request on an overlapped handle; past deadline_ms it is cancelled and marked pending. */
static struct call issue(HANDLE handle, enum op op, DWORD code, void *in, DWORD in_len, void *out, DWORD out_len,
                         DWORD deadline_ms)
{
    OVERLAPPED ov;
    struct call result = { 0, 0, FALSE };
    BOOL started;

    if (op == OP_FLUSH)
        return flush(handle, deadline_ms);
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (op == OP_READ)
        started = ReadFile(handle, out, out_len, NULL, &ov);
    else if (op == OP_WRITE)
        started = WriteFile(handle, in, in_len, NULL, &ov);
    else
        started = DeviceIoControl(handle, code, in, in_len, out, out_len, NULL, &ov);
    if (!started && GetLastError() != ERROR_IO_PENDING) {
        result.error = GetLastError();
        result.bytes = (DWORD)ov.InternalHigh;
        CloseHandle(ov.hEvent);
        return result;
    }
    if (!wait_done(&ov, deadline_ms)) {
        result.pending = TRUE;
        CancelIoEx(handle, &ov);
        if (!wait_done(&ov, DEADLINE_MS))
            give_up("cancel");
    }
    if (!GetOverlappedResult(handle, &ov, &result.bytes, FALSE))
        result.error = GetLastError();
    result.bytes = (DWORD)ov.InternalHigh;
    CloseHandle(ov.hEvent);
    return result;
}

static struct call control(HANDLE handle, DWORD code, const void *in, DWORD in_len, void *out, DWORD out_len)
{
    return issue(handle, OP_IOCTL, code, (void *)in, in_len, out, out_len, DEADLINE_MS);
}

static HANDLE open_device(const wchar_t *path, DWORD access)
{
    return CreateFileW(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED,
                       NULL);
}

/* ---- Device state ---------------------------------------------------------------------------- */

static const BYTE data[] = "0123456789abcdefghijklmnopqrstuv"; /* what the checks queue */

/* Bytes queued for the handle's end to read, or MAXDWORD. */
static DWORD queued(HANDLE handle)
{
    lbk_stats stats;

    return control(handle, IOCTL_LBK_GET_STATS, NULL, 0, &stats, sizeof(stats)).error == 0 ? (DWORD)stats.bytes_queued
                                                                                          : MAXDWORD;
}

static void purge_input(HANDLE handle)
{
    control(handle, IOCTL_LBK_PURGE, NULL, 0, NULL, 0);
}

/* Leaves exactly n bytes of data in the input of the end that handle is open on (the peer writes them). */
static void refill(HANDLE handle, DWORD n)
{
    purge_input(handle);
    issue(peer != NULL ? peer : handle, OP_WRITE, 0, (void *)data, n, NULL, 0, DEADLINE_MS);
}

/* MAXDWORD, 0, 0: a read returns at once with what is there. */
static const COMMTIMEOUTS immediate_timeouts = { MAXDWORD, 0, 0, 0, 0 };

static void set_serial_timeouts(HANDLE handle)
{
    control(handle, SERIAL_CODE(SET_TIMEOUTS), &immediate_timeouts, sizeof(immediate_timeouts), NULL, 0);
}

static void set_mask_and_event(HANDLE handle)
{
    static const DWORD rxchar = EV_RXCHAR;

    control(handle, SERIAL_CODE(SET_WAIT_MASK), &rxchar, sizeof(rxchar), NULL, 0);
    refill(handle, 1); /* EV_RXCHAR happens */
}

/* Inputs of the requests: harmless values, the port's own settings where it has any. */
static const lbk_handle_options default_options = { 0, 0, 0, 0 };
static const lbk_u32 stream_mode = 0;
static const lbk_wait_request wait_readable = { LBK_EVENT_READABLE, 0, 50, 0 };
static const BYTE echo_input[24] = "echo: any bytes at all";
static const DWORD baud_9600 = 9600, rx_char_mask = EV_RXCHAR;
/* DTR and RTS up, as they are; no FIFO; no status insertion; an XOFF counter of 0, refused. */
static const DWORD modem_control = 0x03, fifo_control = 0;
static const BYTE lsrmst_off = 0, xoff_counter_of_0[SERIAL_XOFF_COUNTER_BYTES] = { 0 };
static const DWORD queue_size[2] = { 4096, 4096 };
static const BYTE line_8n1[SERIAL_LINE_CONTROL_BYTES] = { 0, 0, 8 };
static const BYTE immediate_char = 'i';
static const DWORD purge_rx = PURGE_RXABORT | PURGE_RXCLEAR;
static const DWORD purge_tx = PURGE_TXCLEAR;                 /* nothing received is dropped */
static const DWORD purge_both = PURGE_TXCLEAR | PURGE_RXCLEAR; /* the input stays if refused */
static BYTE port_chars[SERIAL_CHARS_BYTES], port_handflow[SERIAL_HANDFLOW_BYTES]; /* read at start */

static void prepare_purge(void) { refill(dev, 3); }
static void prepare_peek(void) { refill(dev, 5); }
static void prepare_wait(void) { refill(dev, 5); }
static void prepare_status(void) { refill(dev, 2); }
static void prepare_mask_wait(void) { set_mask_and_event(dev); }
static void prepare_peer_empty(void) { purge_input(peer != NULL ? peer : dev); }
static void prepare_nothing_queued(void)
{
    purge_input(dev);
    prepare_peer_empty();
}

/* ---- Check 1: canaries ----------------------------------------------------------------------- */

enum returns {
    RET_REPLY, /* exactly reply bytes */
    RET_UP_TO, /* min(length, reply): PEEK, ECHO */
    RET_ALL    /* the whole length: WRITE_ATOMIC, which reads its "output" buffer */
};

struct sweep_request {
    const char *name;
    DWORD code;
    DWORD reply;             /* bytes of the reply at full length */
    DWORD min_out;           /* shorter: ERROR_INSUFFICIENT_BUFFER, 0 bytes */
    BOOL zero_ok;            /* no output at all is allowed too (PURGE) */
    enum returns returns;
    const void *input;       /* NULL: the output buffer doubles as the input, which the request ignores */
    DWORD input_len;
    const BYTE *expect;      /* the reply's bytes, when known in advance */
    DWORD skip_at, skip_len; /* a counter that may change between two calls: not compared */
    void (*prepare)(void);
    BOOL serial;             /* served by serial ends only */
};

#define SER(f) "IOCTL_SERIAL_" #f, SERIAL_CODE(f)
static const struct sweep_request sweep_requests[] = {
    /* lbk_stats.pool_bytes counts the whole driver's pool, which may move between two calls. */
    { "IOCTL_LBK_GET_STATS", IOCTL_LBK_GET_STATS, sizeof(lbk_stats), sizeof(lbk_stats), FALSE, RET_REPLY, NULL, 0,
      NULL, offsetof(lbk_stats, pool_bytes), sizeof(lbk_u64), NULL, FALSE },
    { "IOCTL_LBK_PURGE", IOCTL_LBK_PURGE, sizeof(lbk_purge_result), sizeof(lbk_purge_result), TRUE, RET_REPLY, NULL,
      0, NULL, 0, 0, prepare_purge, FALSE },
    { "IOCTL_LBK_PEEK", IOCTL_LBK_PEEK, 5, 0, FALSE, RET_UP_TO, NULL, 0, data, 0, 0, prepare_peek, FALSE },
    { "IOCTL_LBK_WRITE_ATOMIC", IOCTL_LBK_WRITE_ATOMIC, 16, 0, FALSE, RET_ALL, NULL, 0, NULL, 0, 0,
      prepare_peer_empty, FALSE },
    { "IOCTL_LBK_GET_INFO", IOCTL_LBK_GET_INFO, sizeof(lbk_device_info), sizeof(lbk_device_info), FALSE, RET_REPLY,
      NULL, 0, NULL, 0, 0, NULL, FALSE },
    { "IOCTL_LBK_GET_HANDLE_OPTIONS", IOCTL_LBK_GET_HANDLE_OPTIONS, sizeof(lbk_handle_options),
      sizeof(lbk_handle_options), FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, FALSE },
    { "IOCTL_LBK_SET_HANDLE_OPTIONS", IOCTL_LBK_SET_HANDLE_OPTIONS, 0, 0, FALSE, RET_REPLY, &default_options,
      sizeof(default_options), NULL, 0, 0, NULL, FALSE },
    { "IOCTL_LBK_SET_MESSAGE_MODE", IOCTL_LBK_SET_MESSAGE_MODE, 0, 0, FALSE, RET_REPLY, &stream_mode,
      sizeof(stream_mode), NULL, 0, 0, prepare_nothing_queued, FALSE },
    { "IOCTL_LBK_WAIT", IOCTL_LBK_WAIT, sizeof(lbk_wait_result), sizeof(lbk_wait_result), FALSE, RET_REPLY,
      &wait_readable, sizeof(wait_readable), NULL, 0, 0, prepare_wait, FALSE },
    { "IOCTL_LBK_NOP", IOCTL_LBK_NOP, 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, FALSE },
    { "IOCTL_LBK_ECHO", IOCTL_LBK_ECHO, sizeof(echo_input), 0, FALSE, RET_UP_TO, echo_input, sizeof(echo_input),
      echo_input, 0, 0, NULL, FALSE },
    { SER(SET_BAUD_RATE), 0, 0, FALSE, RET_REPLY, &baud_9600, sizeof(DWORD), NULL, 0, 0, NULL, TRUE },
    { SER(SET_QUEUE_SIZE), 0, 0, FALSE, RET_REPLY, queue_size, sizeof(queue_size), NULL, 0, 0, NULL, TRUE },
    { SER(SET_LINE_CONTROL), 0, 0, FALSE, RET_REPLY, line_8n1, sizeof(line_8n1), NULL, 0, 0, NULL, TRUE },
    { SER(SET_BREAK_ON), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(SET_BREAK_OFF), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(IMMEDIATE_CHAR), 0, 0, FALSE, RET_REPLY, &immediate_char, 1, NULL, 0, 0, prepare_peer_empty, TRUE },
    { SER(SET_TIMEOUTS), 0, 0, FALSE, RET_REPLY, &immediate_timeouts, sizeof(immediate_timeouts), NULL, 0, 0, NULL,
      TRUE },
    { SER(GET_TIMEOUTS), sizeof(COMMTIMEOUTS), sizeof(COMMTIMEOUTS), FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL,
      TRUE },
    { SER(SET_DTR), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(CLR_DTR), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(RESET_DEVICE), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(SET_RTS), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(CLR_RTS), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(SET_XOFF), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(SET_XON), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(GET_WAIT_MASK), sizeof(DWORD), sizeof(DWORD), FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(SET_WAIT_MASK), 0, 0, FALSE, RET_REPLY, &rx_char_mask, sizeof(DWORD), NULL, 0, 0, NULL, TRUE },
    { SER(WAIT_ON_MASK), sizeof(DWORD), sizeof(DWORD), FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, prepare_mask_wait,
      TRUE },
    { SER(PURGE), 0, 0, FALSE, RET_REPLY, &purge_rx, sizeof(DWORD), NULL, 0, 0, prepare_status, TRUE },
    { SER(GET_BAUD_RATE), sizeof(DWORD), sizeof(DWORD), FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(GET_LINE_CONTROL), SERIAL_LINE_CONTROL_BYTES, SERIAL_LINE_CONTROL_BYTES, FALSE, RET_REPLY, NULL, 0, NULL, 0,
      0, NULL, TRUE },
    { SER(GET_CHARS), SERIAL_CHARS_BYTES, SERIAL_CHARS_BYTES, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(SET_CHARS), 0, 0, FALSE, RET_REPLY, port_chars, sizeof(port_chars), NULL, 0, 0, NULL, TRUE },
    { SER(GET_HANDFLOW), SERIAL_HANDFLOW_BYTES, SERIAL_HANDFLOW_BYTES, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL,
      TRUE },
    { SER(SET_HANDFLOW), 0, 0, FALSE, RET_REPLY, port_handflow, sizeof(port_handflow), NULL, 0, 0, NULL, TRUE },
    { SER(GET_MODEMSTATUS), sizeof(DWORD), sizeof(DWORD), FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(GET_COMMSTATUS), SERIAL_STATUS_BYTES, SERIAL_STATUS_BYTES, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0,
      prepare_status, TRUE },
    { SER(GET_PROPERTIES), SERIAL_COMMPROP_BYTES, SERIAL_COMMPROP_BYTES, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL,
      TRUE },
    { SER(GET_DTRRTS), sizeof(DWORD), sizeof(DWORD), FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    /* XOFF_COUNTER pends until characters come: docs/serial.md and serialtest check it. */
    { SER(LSRMST_INSERT), 0, 0, FALSE, RET_REPLY, &lsrmst_off, 1, NULL, 0, 0, NULL, TRUE },
    { SER(CONFIG_SIZE), sizeof(DWORD), sizeof(DWORD), FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(GET_STATS), SERIALPERF_STATS_BYTES, SERIALPERF_STATS_BYTES, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL,
      TRUE },
    { SER(CLEAR_STATS), 0, 0, FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(GET_MODEM_CONTROL), sizeof(DWORD), sizeof(DWORD), FALSE, RET_REPLY, NULL, 0, NULL, 0, 0, NULL, TRUE },
    { SER(SET_MODEM_CONTROL), 0, 0, FALSE, RET_REPLY, &modem_control, sizeof(DWORD), NULL, 0, 0, NULL, TRUE },
    { SER(SET_FIFO_CONTROL), 0, 0, FALSE, RET_REPLY, &fifo_control, sizeof(DWORD), NULL, 0, 0, NULL, TRUE },
};

static BYTE *patterned(DWORD length, BYTE fill)
{
    BYTE *buffer = HeapAlloc(GetProcessHeap(), 0, length + GUARD);

    memset(buffer, fill, length + GUARD);
    return buffer;
}

/* The offset of the first byte of [from, to) that is not fill, or to. */
static DWORD changed_at(const BYTE *buffer, DWORD from, DWORD to, BYTE fill)
{
    while (from < to && buffer[from] == fill)
        from++;
    return from;
}

static DWORD expected_bytes(const struct sweep_request *r, DWORD length)
{
    if (r->returns == RET_ALL || (r->zero_ok && length == 0))
        return length;
    if (r->returns == RET_UP_TO)
        return length < r->reply ? length : r->reply;
    return r->reply;
}

/* What is wrong with one call at one length, into why; FALSE when nothing is. */
static BOOL judge(const struct sweep_request *r, DWORD length, const BYTE *buffer, BYTE fill, struct call c,
                  char *why, size_t size)
{
    DWORD at;
    BOOL short_out = length < r->min_out && !(r->zero_ok && length == 0);

    at = changed_at(buffer, length, length + GUARD, fill);
    if (c.pending)
        snprintf(why, size, "length %lu: still pending after %u ms", length, DEADLINE_MS);
    else if (c.bytes > length)
        snprintf(why, size, "length %lu: BytesReturned %lu exceeds it (error %lu; the bytes past it %s)", length,
                 c.bytes, c.error, at < length + GUARD ? "were written" : "were not written");
    else if (at < length + GUARD)
        snprintf(why, size, "length %lu: byte %lu past the output changed to 0x%02x", length, at, buffer[at]);
    else if (short_out && (c.error != ERROR_INSUFFICIENT_BUFFER || c.bytes != 0))
        snprintf(why, size, "length %lu (< %lu): error %lu, %lu bytes; expected %u and 0 bytes", length, r->min_out,
                 c.error, c.bytes, (unsigned)ERROR_INSUFFICIENT_BUFFER);
    else if (short_out)
        return FALSE;
    else if (c.error != 0)
        snprintf(why, size, "length %lu: failed with error %lu", length, c.error);
    else if (c.bytes != expected_bytes(r, length))
        snprintf(why, size, "length %lu: BytesReturned %lu, expected %lu", length, c.bytes, expected_bytes(r, length));
    else if (r->expect != NULL && memcmp(buffer, r->expect, c.bytes) != 0)
        snprintf(why, size, "length %lu: the bytes returned are not the expected ones", length);
    else if (r->returns == RET_ALL && (at = changed_at(buffer, 0, length, fill)) < length)
        snprintf(why, size, "length %lu: the driver wrote byte %lu of a buffer it only reads", length, at);
    else
        return FALSE;
    return TRUE;
}

/* Two calls that succeeded with the same count must agree on every byte the reply defines. */
static BOOL compare_fills(const struct sweep_request *r, DWORD length, BYTE *const run[2], const struct call c[2],
                          char *why, size_t size)
{
    DWORD i;

    if (r->returns == RET_ALL || c[0].error != 0 || c[1].error != 0 || c[0].bytes != c[1].bytes)
        return FALSE;
    for (i = 0; i < c[0].bytes; i++) {
        if (i >= r->skip_at && i < r->skip_at + r->skip_len)
            continue;
        if (run[0][i] != run[1][i]) {
            snprintf(why, size, "length %lu: byte %lu not written by the driver (0x%02x under fill 0x%02x, 0x%02x under 0x%02x)",
                     length, i, run[0][i], fills[0], run[1][i], fills[1]);
            return TRUE;
        }
    }
    return FALSE;
}

/* GET_INFO: every UTF-16 unit of name[] and peer_name[] after the terminating NUL is zero. */
static BOOL names_padded(const BYTE *buffer, char *why, size_t size)
{
    static const struct {
        const char *field;
        size_t offset;
    } names[] = { { "name", offsetof(lbk_device_info, name) }, { "peer_name", offsetof(lbk_device_info, peer_name) } };
    size_t n, i;

    for (n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        lbk_u16 unit[LBK_MAX_NAME_CHARS + 1];
        BOOL after_nul = FALSE;

        memcpy(unit, buffer + names[n].offset, sizeof(unit));
        for (i = 0; i <= LBK_MAX_NAME_CHARS; i++) {
            if (after_nul && unit[i] != 0) {
                snprintf(why, size, "%s[%u] = 0x%04x after the NUL", names[n].field, (unsigned)i, unit[i]);
                return FALSE;
            }
            after_nul = after_nul || unit[i] == 0;
        }
        if (!after_nul) {
            snprintf(why, size, "%s has no NUL", names[n].field);
            return FALSE;
        }
    }
    return TRUE;
}

static void sweep_request(const struct sweep_request *r)
{
    char first[240] = "", why[240], names_why[160] = "";
    DWORD length, bad = 0, top = r->reply + 16;
    BOOL names_ok = TRUE, names_seen = FALSE;

    for (length = 0; length <= top; length++) {
        BYTE *run[2];
        struct call c[2];
        BOOL wrong = FALSE;
        int i;

        for (i = 0; i < 2; i++) {
            run[i] = patterned(length, fills[i]);
            if (r->prepare != NULL)
                r->prepare();
            c[i] = control(dev, r->code, r->input != NULL ? r->input : run[i], r->input != NULL ? r->input_len : length,
                           run[i], length);
            wrong = wrong || judge(r, length, run[i], fills[i], c[i], why, sizeof(why));
            if (r->code == IOCTL_LBK_GET_INFO && c[i].error == 0 && c[i].bytes == sizeof(lbk_device_info)) {
                names_seen = TRUE;
                if (names_ok)
                    names_ok = names_padded(run[i], names_why, sizeof(names_why));
            }
        }
        if (!wrong)
            wrong = compare_fills(r, length, run, c, why, sizeof(why));
        if (wrong && bad++ == 0)
            strcpy(first, why);
        HeapFree(GetProcessHeap(), 0, run[0]);
        HeapFree(GetProcessHeap(), 0, run[1]);
    }
    if (bad > 1)
        snprintf(first + strlen(first), sizeof(first) - strlen(first), " (and %lu more of the %lu lengths)", bad - 1,
                 top + 1);
    {
        char name[96];

        snprintf(name, sizeof(name), "canary %s", r->name);
        report(bad == 0, name, first);
    }
    if (r->code == IOCTL_LBK_GET_INFO)
        report(names_seen && names_ok, "canary IOCTL_LBK_GET_INFO names zero after their NUL",
               names_seen ? names_why : "no full reply to look at");
}

/* A code the device does not serve: refused at every length, nothing written, nothing returned. */
static void sweep_unknown(const char *name, DWORD code)
{
    char first[200] = "", check[96];
    DWORD length, bad = 0;

    for (length = 0; length <= 24; length++) {
        BYTE *buffer = patterned(length, fills[0]);
        struct call c = control(dev, code, buffer, length, buffer, length);
        DWORD at = changed_at(buffer, 0, length + GUARD, fills[0]);

        if ((c.error != ERROR_INVALID_FUNCTION && c.error != ERROR_NOT_SUPPORTED) || c.bytes != 0 ||
            at < length + GUARD || c.pending) {
            if (bad++ == 0)
                snprintf(first, sizeof(first), "length %lu: error %lu, %lu bytes, %s%s", length, c.error, c.bytes,
                         at < length + GUARD ? "buffer written" : "buffer intact", c.pending ? ", pended" : "");
        }
        HeapFree(GetProcessHeap(), 0, buffer);
    }
    if (bad > 1)
        snprintf(first + strlen(first), sizeof(first) - strlen(first), " (and %lu more lengths)", bad - 1);
    snprintf(check, sizeof(check), "canary %s is refused", name);
    report(bad == 0, check, first);
}

/* ReadFile of L bytes with 24 queued: min(L, 24) of them, nothing past L written. */
static void sweep_read(void)
{
    char first[200] = "";
    DWORD length, bad = 0, queued_bytes = 24;

    for (length = 0; length <= queued_bytes + 16; length++) {
        BYTE *buffer = patterned(length, fills[length & 1]);
        DWORD want = length < queued_bytes ? length : queued_bytes, at;
        struct call c;

        refill(dev, queued_bytes);
        c = issue(dev, OP_READ, 0, NULL, 0, buffer, length, DEADLINE_MS);
        at = changed_at(buffer, length, length + GUARD, fills[length & 1]);
        if (c.pending || c.error != 0 || c.bytes != want || at < length + GUARD || memcmp(buffer, data, c.bytes) != 0) {
            if (bad++ == 0)
                snprintf(first, sizeof(first), "length %lu: error %lu%s, %lu bytes (expected %lu)%s%s", length, c.error,
                         c.pending ? " after pending" : "", c.bytes, want,
                         at < length + GUARD ? ", wrote past the length" : "",
                         c.bytes <= length && memcmp(buffer, data, c.bytes) != 0 ? ", not the bytes written" : "");
        }
        HeapFree(GetProcessHeap(), 0, buffer);
    }
    if (bad > 1)
        snprintf(first + strlen(first), sizeof(first) - strlen(first), " (and %lu more lengths)", bad - 1);
    report(bad == 0, "canary ReadFile", first);
}

static void check_canaries(void)
{
    static const DWORD unknown_serial[] = { GET_COMMCONFIG, SET_COMMCONFIG, 0x7FF };
    static const DWORD restore[] = { SET_BREAK_OFF, SET_DTR, SET_RTS };
    char name[64];
    size_t i;
    DWORD f;

    for (i = 0; i < sizeof(sweep_requests) / sizeof(sweep_requests[0]); i++)
        if (!sweep_requests[i].serial || kind == KIND_SERIAL)
            sweep_request(&sweep_requests[i]);
    if (kind == KIND_SERIAL) {
        /* The COMMCONFIG requests: serial.sys has none to give (CONFIG_SIZE says 0 bytes). */
        for (i = 0; i < sizeof(unknown_serial) / sizeof(unknown_serial[0]); i++) {
            snprintf(name, sizeof(name), "IOCTL_SERIAL function %lu", unknown_serial[i]);
            sweep_unknown(name, SERIAL_CODE(unknown_serial[i]));
        }
        for (i = 0; i < sizeof(restore) / sizeof(restore[0]); i++)
            control(dev, SERIAL_CODE(restore[i]), NULL, 0, NULL, 0);
    } else {
        /* A device that is no serial port knows none of the serial codes. */
        for (f = SET_BAUD_RATE; f <= SET_FIFO_CONTROL; f++) {
            snprintf(name, sizeof(name), "IOCTL_SERIAL function %lu", f);
            sweep_unknown(name, SERIAL_CODE(f));
        }
        sweep_unknown("IOCTL_SERIAL function 0x7FF", SERIAL_CODE(0x7FF));
    }
    sweep_read();
}

/* ---- Check 2: the access matrix -------------------------------------------------------------- */

enum need { NEED_ANY, NEED_READ, NEED_WRITE, NEED_READ_OR_WRITE, NEED_READ_AND_WRITE };

/* The oracle: the access each request needs. Inputs as in the canary sweep. */
struct access_row {
    const char *name;
    enum op op;
    DWORD code;
    enum need need;
    const void *input;
    DWORD input_len;
    DWORD output_len;
    BOOL serial;
};

#define SER_OP(f) "IOCTL_SERIAL_" #f, OP_IOCTL, SERIAL_CODE(f)
static const struct access_row access_rows[] = {
    { "ReadFile", OP_READ, 0, NEED_READ, NULL, 0, 1, FALSE },
    { "WriteFile", OP_WRITE, 0, NEED_WRITE, data, 1, 0, FALSE },
    { "FlushFileBuffers", OP_FLUSH, 0, NEED_WRITE, NULL, 0, 0, FALSE },
    { "IOCTL_LBK_GET_STATS", OP_IOCTL, IOCTL_LBK_GET_STATS, NEED_ANY, NULL, 0, sizeof(lbk_stats), FALSE },
    { "IOCTL_LBK_PURGE", OP_IOCTL, IOCTL_LBK_PURGE, NEED_WRITE, NULL, 0, 0, FALSE },
    { "IOCTL_LBK_PEEK", OP_IOCTL, IOCTL_LBK_PEEK, NEED_READ, NULL, 0, 4, FALSE },
    { "IOCTL_LBK_WRITE_ATOMIC", OP_IOCTL, IOCTL_LBK_WRITE_ATOMIC, NEED_WRITE, NULL, 0, 1, FALSE },
    { "IOCTL_LBK_GET_INFO", OP_IOCTL, IOCTL_LBK_GET_INFO, NEED_ANY, NULL, 0, sizeof(lbk_device_info), FALSE },
    { "IOCTL_LBK_GET_HANDLE_OPTIONS", OP_IOCTL, IOCTL_LBK_GET_HANDLE_OPTIONS, NEED_ANY, NULL, 0,
      sizeof(lbk_handle_options), FALSE },
    { "IOCTL_LBK_SET_HANDLE_OPTIONS", OP_IOCTL, IOCTL_LBK_SET_HANDLE_OPTIONS, NEED_ANY, &default_options,
      sizeof(default_options), 0, FALSE },
    { "IOCTL_LBK_SET_MESSAGE_MODE", OP_IOCTL, IOCTL_LBK_SET_MESSAGE_MODE, NEED_WRITE, &stream_mode,
      sizeof(stream_mode), 0, FALSE },
    { "IOCTL_LBK_WAIT", OP_IOCTL, IOCTL_LBK_WAIT, NEED_ANY, &wait_readable, sizeof(wait_readable),
      sizeof(lbk_wait_result), FALSE },
    { "IOCTL_LBK_NOP", OP_IOCTL, IOCTL_LBK_NOP, NEED_ANY, NULL, 0, 0, FALSE },
    { "IOCTL_LBK_ECHO", OP_IOCTL, IOCTL_LBK_ECHO, NEED_ANY, echo_input, sizeof(echo_input), sizeof(echo_input),
      FALSE },
    { SER_OP(GET_BAUD_RATE), NEED_ANY, NULL, 0, sizeof(DWORD), TRUE },
    { SER_OP(GET_LINE_CONTROL), NEED_ANY, NULL, 0, SERIAL_LINE_CONTROL_BYTES, TRUE },
    { SER_OP(GET_CHARS), NEED_ANY, NULL, 0, SERIAL_CHARS_BYTES, TRUE },
    { SER_OP(GET_HANDFLOW), NEED_ANY, NULL, 0, SERIAL_HANDFLOW_BYTES, TRUE },
    { SER_OP(GET_TIMEOUTS), NEED_ANY, NULL, 0, sizeof(COMMTIMEOUTS), TRUE },
    { SER_OP(GET_WAIT_MASK), NEED_ANY, NULL, 0, sizeof(DWORD), TRUE },
    { SER_OP(GET_MODEMSTATUS), NEED_ANY, NULL, 0, sizeof(DWORD), TRUE },
    { SER_OP(GET_PROPERTIES), NEED_ANY, NULL, 0, SERIAL_COMMPROP_BYTES, TRUE },
    { SER_OP(GET_DTRRTS), NEED_ANY, NULL, 0, sizeof(DWORD), TRUE },
    { SER_OP(WAIT_ON_MASK), NEED_READ_OR_WRITE, NULL, 0, sizeof(DWORD), TRUE },
    { SER_OP(GET_COMMSTATUS), NEED_READ_OR_WRITE, NULL, 0, SERIAL_STATUS_BYTES, TRUE },
    { "IOCTL_SERIAL_PURGE(RXABORT|RXCLEAR)", OP_IOCTL, SERIAL_CODE(PURGE), NEED_READ, &purge_rx, sizeof(DWORD), 0, TRUE },
    { SER_OP(SET_BAUD_RATE), NEED_READ_OR_WRITE, &baud_9600, sizeof(DWORD), 0, TRUE },
    { SER_OP(SET_QUEUE_SIZE), NEED_READ_OR_WRITE, queue_size, sizeof(queue_size), 0, TRUE },
    { SER_OP(SET_LINE_CONTROL), NEED_READ_OR_WRITE, line_8n1, sizeof(line_8n1), 0, TRUE },
    { SER_OP(SET_TIMEOUTS), NEED_READ_OR_WRITE, &immediate_timeouts, sizeof(immediate_timeouts), 0, TRUE },
    { SER_OP(SET_WAIT_MASK), NEED_READ_OR_WRITE, &rx_char_mask, sizeof(DWORD), 0, TRUE },
    { SER_OP(SET_CHARS), NEED_READ_OR_WRITE, port_chars, sizeof(port_chars), 0, TRUE },
    { SER_OP(SET_BREAK_ON), NEED_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(SET_BREAK_OFF), NEED_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(IMMEDIATE_CHAR), NEED_WRITE, &immediate_char, 1, 0, TRUE },
    { SER_OP(SET_DTR), NEED_READ_OR_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(CLR_DTR), NEED_READ_OR_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(RESET_DEVICE), NEED_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(SET_RTS), NEED_READ_OR_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(CLR_RTS), NEED_READ_OR_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(SET_XOFF), NEED_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(SET_XON), NEED_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(SET_HANDFLOW), NEED_READ_OR_WRITE, port_handflow, sizeof(port_handflow), 0, TRUE },
    { SER_OP(CONFIG_SIZE), NEED_ANY, NULL, 0, sizeof(DWORD), TRUE },
    { SER_OP(GET_STATS), NEED_ANY, NULL, 0, SERIALPERF_STATS_BYTES, TRUE },
    { SER_OP(GET_MODEM_CONTROL), NEED_ANY, NULL, 0, sizeof(DWORD), TRUE },
    { SER_OP(CLEAR_STATS), NEED_READ_OR_WRITE, NULL, 0, 0, TRUE },
    { SER_OP(SET_MODEM_CONTROL), NEED_READ_OR_WRITE, &modem_control, sizeof(DWORD), 0, TRUE },
    { SER_OP(SET_FIFO_CONTROL), NEED_READ_OR_WRITE, &fifo_control, sizeof(DWORD), 0, TRUE },
    { SER_OP(LSRMST_INSERT), NEED_READ_OR_WRITE, &lsrmst_off, 1, 0, TRUE },
    { SER_OP(XOFF_COUNTER), NEED_WRITE, xoff_counter_of_0, sizeof(xoff_counter_of_0), 0, TRUE },
    { "IOCTL_SERIAL_PURGE(TXCLEAR)", OP_IOCTL, SERIAL_CODE(PURGE), NEED_WRITE, &purge_tx, sizeof(DWORD), 0, TRUE },
    { "IOCTL_SERIAL_PURGE(TXCLEAR|RXCLEAR)", OP_IOCTL, SERIAL_CODE(PURGE), NEED_READ_AND_WRITE, &purge_both,
      sizeof(DWORD), 0, TRUE },
};

static const struct {
    const char *name;
    DWORD access;
} accesses[] = {
    { "none", FILE_READ_ATTRIBUTES | SYNCHRONIZE },
    { "read", GENERIC_READ },
    { "write", GENERIC_WRITE },
    { "read+write", GENERIC_READ | GENERIC_WRITE },
};

static BOOL allowed(enum need need, DWORD access)
{
    BOOL read = (access & GENERIC_READ) != 0, write = (access & GENERIC_WRITE) != 0;

    switch (need) {
    case NEED_READ:
        return read;
    case NEED_WRITE:
        return write;
    case NEED_READ_OR_WRITE:
        return read || write;
    case NEED_READ_AND_WRITE:
        return read && write;
    case NEED_ANY:
    default:
        return TRUE;
    }
}

/* The device's own handle is closed while another is open on it (a serial end opens once). */
static void close_device(void)
{
    CloseHandle(dev);
    dev = NULL;
}

static BOOL reopen_device(void)
{
    dev = open_device(device_path, GENERIC_READ | GENERIC_WRITE);
    return dev != INVALID_HANDLE_VALUE;
}

/* Every row starts alike: 2 bytes waiting on the device, none on the peer, EV_RXCHAR seen. */
static BOOL set_scene(void)
{
    if (!reopen_device())
        return FALSE;
    purge_input(peer != NULL ? peer : dev);
    if (kind == KIND_SERIAL) {
        set_serial_timeouts(dev);
        set_mask_and_event(dev);
    }
    refill(dev, 2);
    close_device();
    return TRUE;
}

static void access_check(size_t a, const struct access_row *row)
{
    char name[128], why[200] = "";
    BYTE output[SERIAL_COMMPROP_BYTES + sizeof(lbk_device_info)];
    HANDLE handle;
    DWORD dev_before, peer_before, dev_after, peer_after;
    BOOL want_denied = !allowed(row->need, accesses[a].access), ok;
    struct call c;

    snprintf(name, sizeof(name), "access[%s] %s", accesses[a].name, row->name);
    if (!set_scene()) {
        snprintf(why, sizeof(why), "cannot reopen the device (error %lu)", GetLastError());
        report(FALSE, name, why);
        return;
    }
    handle = open_device(device_path, accesses[a].access);
    if (handle == INVALID_HANDLE_VALUE) {
        snprintf(why, sizeof(why), "CreateFile failed with error %lu", GetLastError());
        report(FALSE, name, why);
        return;
    }
    dev_before = queued(handle);
    peer_before = peer != NULL ? queued(peer) : dev_before;
    memset(output, fills[0], sizeof(output));
    c = issue(handle, row->op, row->code, (void *)row->input, row->input_len, output, row->output_len,
              want_denied ? DEADLINE_MS : ACCEPTED_PENDING_MS);
    dev_after = queued(handle);
    peer_after = peer != NULL ? queued(peer) : dev_after;
    CloseHandle(handle);
    if (want_denied) {
        ok = c.error == ERROR_ACCESS_DENIED && !c.pending && dev_after == dev_before && peer_after == peer_before;
        if (!ok)
            snprintf(why, sizeof(why), "expected ERROR_ACCESS_DENIED, got %s%lu; queued bytes: device %lu -> %lu, peer %lu -> %lu",
                     c.pending ? "a pending request, cancelled: " : "", c.error, dev_before, dev_after, peer_before,
                     peer_after);
    } else {
        ok = c.error != ERROR_ACCESS_DENIED;
        if (!ok)
            snprintf(why, sizeof(why), "refused with ERROR_ACCESS_DENIED although the handle has the access");
    }
    report(ok, name, why);
}

/* What a serial program does with a handle that has no data access: nothing may happen. */
static void serial_api_on_bare_handle(void)
{
    HANDLE handle;
    DWORD dev_before, dev_after, peer_before, peer_after;
    DWORD sent_error, purged_error;
    BOOL sent, purged;
    char why[200];

    if (!set_scene())
        return;
    handle = open_device(device_path, FILE_READ_ATTRIBUTES | SYNCHRONIZE);
    if (handle == INVALID_HANDLE_VALUE) {
        snprintf(why, sizeof(why), "CreateFile failed with error %lu", GetLastError());
        report(FALSE, "access[none] the serial API", why);
        return;
    }
    dev_before = queued(handle);
    peer_before = queued(peer);
    sent = TransmitCommChar(handle, 'x');
    sent_error = sent ? 0 : GetLastError();
    peer_after = queued(peer);
    snprintf(why, sizeof(why), "TransmitCommChar returned %d (error %lu); the peer's input went %lu -> %lu", sent,
             sent_error, peer_before, peer_after);
    report(sent_error == ERROR_ACCESS_DENIED && peer_after == peer_before,
           "access[none] TransmitCommChar is refused and sends nothing", why);
    purged = PurgeComm(handle, PURGE_RXCLEAR);
    purged_error = purged ? 0 : GetLastError();
    dev_after = queued(handle);
    snprintf(why, sizeof(why), "PurgeComm returned %d (error %lu); the input went %lu -> %lu", purged, purged_error,
             dev_before, dev_after);
    report(purged_error == ERROR_ACCESS_DENIED && dev_after == dev_before,
           "access[none] PurgeComm is refused and the input stays", why);
    CloseHandle(handle);
}

/*
 * Whether the driver can check this row's access on the host. The serial codes are
 * FILE_ANY_ACCESS and Wine's FlushFileBuffers checks none, so only the driver can refuse those,
 * by the access a handle was granted at CREATE, which Wine 8 never gives it (--host wine).
 */
static BOOL host_wine;
static BOOL checkable(const struct access_row *row)
{
    return !host_wine || (!row->serial && row->op != OP_FLUSH);
}

static void check_access(void)
{
    size_t a, i;

    close_device();
    for (a = 0; a < sizeof(accesses) / sizeof(accesses[0]); a++)
        for (i = 0; i < sizeof(access_rows) / sizeof(access_rows[0]); i++)
            if ((!access_rows[i].serial || kind == KIND_SERIAL) && checkable(&access_rows[i]))
                access_check(a, &access_rows[i]);
    if (kind == KIND_SERIAL && !host_wine)
        serial_api_on_bare_handle();
    reopen_device();
}

/* ---- main ------------------------------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr, "usage: sweep --label LABEL --kind plain|pair|serial --device PATH [--peer PATH] [--host wine]\n");
    return 1;
}

static int cannot_open(const wchar_t *path)
{
    char why[160];

    snprintf(why, sizeof(why), "CreateFile(%ls) failed with error %lu", path, GetLastError());
    report(FALSE, "open", why);
    return 1;
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    const wchar_t *kind_name = NULL;
    int i;

    for (i = 1; i + 1 < argc; i += 2) {
        if (wcscmp(argv[i], L"--label") == 0)
            WideCharToMultiByte(CP_UTF8, 0, argv[i + 1], -1, label, sizeof(label) - 1, NULL, NULL);
        else if (wcscmp(argv[i], L"--kind") == 0)
            kind_name = argv[i + 1];
        else if (wcscmp(argv[i], L"--device") == 0)
            device_path = argv[i + 1];
        else if (wcscmp(argv[i], L"--peer") == 0)
            peer_path = argv[i + 1];
        else if (wcscmp(argv[i], L"--host") == 0 && wcscmp(argv[i + 1], L"wine") == 0)
            host_wine = TRUE;
        else
            return usage();
    }
    if (i != argc || kind_name == NULL || device_path == NULL)
        return usage();
    if (wcscmp(kind_name, L"plain") == 0)
        kind = KIND_PLAIN;
    else if (wcscmp(kind_name, L"pair") == 0)
        kind = KIND_PAIR;
    else if (wcscmp(kind_name, L"serial") == 0)
        kind = KIND_SERIAL;
    else
        return usage();
    if ((kind == KIND_PLAIN) != (peer_path == NULL))
        return usage();

    dev = open_device(device_path, GENERIC_READ | GENERIC_WRITE);
    if (dev == INVALID_HANDLE_VALUE)
        return cannot_open(device_path);
    if (peer_path != NULL) {
        peer = open_device(peer_path, GENERIC_READ | GENERIC_WRITE);
        if (peer == INVALID_HANDLE_VALUE)
            return cannot_open(peer_path);
    }
    if (kind == KIND_SERIAL) {
        set_serial_timeouts(dev); /* reads return what is there: none can pend */
        set_serial_timeouts(peer);
        control(dev, SERIAL_CODE(GET_CHARS), NULL, 0, port_chars, sizeof(port_chars));
        control(dev, SERIAL_CODE(GET_HANDFLOW), NULL, 0, port_handflow, sizeof(port_handflow));
    }

    check_canaries();
    check_access();

    purge_input(dev);
    if (peer != NULL) {
        purge_input(peer);
        CloseHandle(peer);
    }
    CloseHandle(dev);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
