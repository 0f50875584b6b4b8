/*
 * feedtest.c - every kind of read, fed by every kind of writer, returns exactly the bytes written:
 * in order, each once, none missing, none left over from the read's buffer, never more than the
 * read's length, and nothing stored past that length. Each read's buffer starts a larger
 * allocation filled with a pattern that no written byte has; the tail must keep it.
 *
 * Usage: feedtest LABEL loop DEVICE          a loopback device (\\.\LBK)
 *        feedtest LABEL pair END_A END_B     a pair: A writes, B reads (\\.\PAIR0A \\.\PAIR0B)
 *        feedtest LABEL serial END_A END_B   a serial pair, each end opened once (\\.\SERA \\.\SERB)
 * Prints "PASS feed[LABEL]: NAME" or "FAIL feed[LABEL]: NAME: DETAILS" per check, then
 * "N passed, N failed"; exits 1 on any failure. Every request has a deadline: one still pending
 * then is cancelled and fails its check.
 */
#include <windows.h>
#include <winioctl.h>
#include "../../include/lbk_ioctl.h"

#define PATTERN 0xCC         /* fills read buffers; stream bytes are 1..200, never this */
#define TAIL 4096            /* patterned bytes after each read's length */
#define OP_MS 10000          /* the longest one request may take */
#define RUN_MS 30000         /* the longest the reads of one check may take */
#define READ_TIMEOUT_MS 1000 /* the timeout handle's read timeout */
#define FIRST_BYTE_MS 2000   /* c of MAXDWORD, MAXDWORD, c */
#define TOTAL_MS 300         /* constant of the total-timeout reader */
#define INTERVAL_MS 50       /* the interval-timeout reader's */

/* Completion statuses seen in an OVERLAPPED (ntstatus.h is not among the headers used). */
#define NT_SUCCESS_ 0x00000000u
#define NT_TIMEOUT 0x00000102u
#define NT_PENDING 0x00000103u
#define NT_BUFFER_OVERFLOW 0x80000005u
#define NT_PIPE_EMPTY 0xC00000D9u

static char label[64];
static int passed, failed;

static void print(const char *format, ...)
{
    char line[1100];
    va_list args;
    DWORD written;
    int n;

    va_start(args, format);
    n = wvsprintfA(line, format, args);
    va_end(args);
    WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), line, (DWORD)n, &written, NULL);
}

/* One check: its name and, once something failed, the first reason. */
struct check {
    char name[160];
    char why[600];
};

static void fail(struct check *c, const char *format, ...)
{
    char reason[1100];
    va_list args;

    if (c->why[0])
        return; /* the first failure explains the others */
    va_start(args, format);
    wvsprintfA(reason, format, args);
    va_end(args);
    lstrcpynA(c->why, reason, sizeof(c->why));
}

static void report(const struct check *c)
{
    if (c->why[0]) {
        failed++;
        print("FAIL feed[%s]: %s: %s\n", label, c->name, c->why);
    } else {
        passed++;
        print("PASS feed[%s]: %s\n", label, c->name);
    }
}

/* The bytes of check seed's stream at pos: 1..200, so neither the pattern nor a zeroed byte. */
static BYTE stream_byte(DWORD seed, DWORD pos)
{
    DWORD x = pos * 2654435761u + seed * 40503u;

    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    return (BYTE)(1 + x % 200);
}

/* "0x41 0x42 ..." of up to 12 bytes from p (count of them), for failure details. */
static void hex(char *out, const BYTE *p, DWORD count)
{
    DWORD i;

    out[0] = 0;
    for (i = 0; i < count && i < 12; i++)
        wsprintfA(out + lstrlenA(out), i ? " %02X" : "%02X", p[i]);
    if (count > 12)
        lstrcatA(out, " ...");
}

/* ---- Requests with deadlines ---------------------------------------------------------------- */

enum result { R_GOT, R_MORE, R_TIMED_OUT, R_NO_DATA, R_ERROR, R_HUNG };
static const char *const result_names[] = { "success", "ERROR_MORE_DATA", "STATUS_TIMEOUT", "ERROR_NO_DATA",
                                            "an error", "no completion" };

struct outcome {
    enum result result;
    DWORD bytes;
    DWORD code; /* R_ERROR: the Win32 error, or the NTSTATUS when it completed later */
};

static struct outcome from_status(DWORD status, DWORD bytes)
{
    struct outcome o = { R_GOT, bytes, 0 };

    if (status == NT_TIMEOUT)
        o.result = R_TIMED_OUT;
    else if (status == NT_BUFFER_OVERFLOW)
        o.result = R_MORE;
    else if (status == NT_PIPE_EMPTY)
        o.result = R_NO_DATA;
    else if (status != NT_SUCCESS_)
        o.result = R_ERROR, o.code = status;
    return o;
}

/* What a call that starts a request returned: 0 for TRUE, else its last error. */
static DWORD started(BOOL ok)
{
    return ok ? 0 : GetLastError();
}

/*
 * The outcome of a request started on an overlapped handle with ov (error: started()'s), waited
 * for up to ms; past that it is cancelled (R_HUNG). The status comes from the OVERLAPPED rather than
 * GetOverlappedResult, which fails on STATUS_TIMEOUT under Wine.
 */
static struct outcome await(HANDLE h, OVERLAPPED *ov, DWORD error, DWORD ms)
{
    struct outcome o = { R_ERROR, 0, 0 };

    if (error == ERROR_MORE_DATA)
        return (struct outcome){ R_MORE, (DWORD)ov->InternalHigh, 0 };
    if (error == ERROR_NO_DATA)
        return (struct outcome){ R_NO_DATA, 0, 0 };
    if (error != 0 && error != ERROR_IO_PENDING)
        return (struct outcome){ R_ERROR, 0, error };
    if (WaitForSingleObject(ov->hEvent, ms) != WAIT_OBJECT_0 || ov->Internal == NT_PENDING) {
        CancelIoEx(h, ov);
        if (WaitForSingleObject(ov->hEvent, 5000) != WAIT_OBJECT_0) {
            /* Its buffer may still be written: nothing after this is trustworthy. */
            print("FAIL feed[%s]: a cancelled request never completed\n", label);
            ExitProcess(1);
        }
        o.result = R_HUNG;
        return o;
    }
    return from_status((DWORD)ov->Internal, (DWORD)ov->InternalHigh);
}

static OVERLAPPED fresh_overlapped(void)
{
    OVERLAPPED ov = { 0 };

    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    return ov;
}

static struct outcome control(HANDLE h, DWORD code, void *in, DWORD in_length, void *out, DWORD out_length)
{
    OVERLAPPED ov = fresh_overlapped();
    struct outcome o = await(h, &ov, started(DeviceIoControl(h, code, in, in_length, out, out_length, NULL, &ov)), OP_MS);

    CloseHandle(ov.hEvent);
    return o;
}

static BOOL get_stats(HANDLE h, lbk_stats *stats)
{
    struct outcome o = control(h, IOCTL_LBK_GET_STATS, NULL, 0, stats, sizeof(*stats));

    return o.result == R_GOT && o.bytes >= sizeof(*stats);
}

/* ---- The devices ---------------------------------------------------------------------------- */

enum kind { LOOP, PAIR, SERIAL };

static struct {
    enum kind kind;
    const wchar_t *write_path, *read_path;
    HANDLE writer;   /* overlapped, on the writing end */
    HANDLE reader;   /* overlapped, on the reading end (a serial end's only handle) */
    HANDLE blocking; /* synchronous, reading end */
    HANDLE nonblocking, timed; /* overlapped, reading end, with those handle options */
    DWORD capacity, max_message;
    BOOL message_mode;
} dev;

static HANDLE open_end(const wchar_t *path, BOOL overlapped)
{
    /* A serial end opens once, as a COM port does, and its close may reach the driver a moment late. */
    DWORD share = dev.kind == SERIAL ? 0 : FILE_SHARE_READ | FILE_SHARE_WRITE;
    HANDLE h = INVALID_HANDLE_VALUE;
    int tries;

    for (tries = 0; tries < 50 && h == INVALID_HANDLE_VALUE; tries++) {
        h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, share, NULL, OPEN_EXISTING,
                        overlapped ? FILE_FLAG_OVERLAPPED : 0, NULL);
        if (h == INVALID_HANDLE_VALUE)
            Sleep(100);
    }
    return h;
}

static BOOL set_options(HANDLE h, DWORD flags, DWORD read_timeout_ms)
{
    lbk_handle_options options = { flags, read_timeout_ms, 0, 0 };

    return control(h, IOCTL_LBK_SET_HANDLE_OPTIONS, &options, sizeof(options), NULL, 0).result == R_GOT;
}

static BOOL set_message_mode(BOOL on)
{
    lbk_u32 mode = on ? 1 : 0;

    dev.message_mode = on;
    return control(dev.writer, IOCTL_LBK_SET_MESSAGE_MODE, &mode, sizeof(mode), NULL, 0).result == R_GOT;
}

/* Empties the reading end after a failed check, so that its leftovers fail no other. */
static void purge(void)
{
    control(dev.reader, IOCTL_LBK_PURGE, NULL, 0, NULL, 0);
}

/* ---- Readers -------------------------------------------------------------------------------- */

enum reader_kind { RD_BLOCKING, RD_OVERLAPPED, RD_NONBLOCKING, RD_TIMED, RD_IMMEDIATE, RD_FIRST_BYTE, RD_FILL, RD_TOTAL, RD_INTERVAL };

static const struct reader_info {
    const char *name;
    BOOL serial;       /* on a serial end, by its COMMTIMEOUTS; otherwise on a plain device or pair */
    BOOL waits;        /* waits on an empty device, so that a write finds it waiting */
    BOOL comes_back_empty; /* may return no bytes, with result empty, when there are none (yet) */
    enum result empty;
    COMMTIMEOUTS timeouts;
} readers[] = {
    [RD_BLOCKING] = { "blocking", FALSE, TRUE, FALSE, R_GOT, { 0 } },
    [RD_OVERLAPPED] = { "overlapped", FALSE, TRUE, FALSE, R_GOT, { 0 } },
    [RD_NONBLOCKING] = { "nonblocking", FALSE, FALSE, TRUE, R_NO_DATA, { 0 } },
    [RD_TIMED] = { "timeout", FALSE, TRUE, TRUE, R_TIMED_OUT, { 0 } },
    [RD_IMMEDIATE] = { "maxdword_0_0", TRUE, FALSE, TRUE, R_GOT, { MAXDWORD, 0, 0, 0, 0 } },
    [RD_FIRST_BYTE] = { "maxdword_maxdword_c", TRUE, TRUE, TRUE, R_GOT, { MAXDWORD, MAXDWORD, FIRST_BYTE_MS, 0, 0 } },
    [RD_FILL] = { "0_0_0", TRUE, TRUE, FALSE, R_GOT, { 0, 0, 0, 0, 0 } },
    [RD_TOTAL] = { "total_timeout", TRUE, TRUE, TRUE, R_GOT, { 0, 0, TOTAL_MS, 0, 0 } },
    [RD_INTERVAL] = { "interval_timeout", TRUE, TRUE, FALSE, R_GOT, { INTERVAL_MS, 0, 0, 0, 0 } },
};

static HANDLE reader_handle(enum reader_kind kind)
{
    switch (kind) {
    case RD_BLOCKING:
        return dev.blocking;
    case RD_NONBLOCKING:
        return dev.nonblocking;
    case RD_TIMED:
        return dev.timed;
    default:
        return dev.reader;
    }
}

static void use_timeouts(enum reader_kind kind)
{
    COMMTIMEOUTS timeouts = readers[kind].timeouts;

    if (readers[kind].serial)
        SetCommTimeouts(dev.reader, &timeouts);
}

/* One read into buffer (length bytes, then the patterned tail), waited for up to ms. */
static struct outcome read_once(enum reader_kind kind, BYTE *buffer, DWORD length, DWORD ms)
{
    HANDLE h = reader_handle(kind);
    OVERLAPPED ov;
    struct outcome o;

    FillMemory(buffer, length + TAIL, PATTERN);
    if (kind == RD_BLOCKING) {
        /* The check's deadline cancels it with CancelSynchronousIo, should it hang. */
        DWORD got = 0, error = started(ReadFile(h, buffer, length, &got, NULL));

        if (error == 0 || error == ERROR_MORE_DATA)
            return (struct outcome){ error == 0 ? R_GOT : R_MORE, got, 0 };
        if (error == ERROR_OPERATION_ABORTED)
            return (struct outcome){ R_HUNG, 0, 0 };
        return (struct outcome){ error == ERROR_NO_DATA ? R_NO_DATA : R_ERROR, 0, error };
    }
    ov = fresh_overlapped();
    o = await(h, &ov, started(ReadFile(h, buffer, length, NULL, &ov)), ms);
    CloseHandle(ov.hEvent);
    return o;
}

/* Nothing may have changed from byte got of a read's buffer on, in its length or in the tail. */
static BOOL buffer_intact(char *why, const BYTE *buffer, DWORD length, DWORD got, DWORD read_number)
{
    char bytes[64];
    DWORD i;

    for (i = got; i < length + TAIL; i++) {
        if (buffer[i] != PATTERN) {
            hex(bytes, buffer + i, min(length + TAIL - i, 8));
            wsprintfA(why, "read %lu of %lu bytes returned %lu and changed byte %lu (%s...) %s", read_number, length,
                      got, i, bytes, i < length ? "past its count" : "past its length");
            return FALSE;
        }
    }
    return TRUE;
}

/* The reading side of a check, run in a thread of its own. */
struct run {
    enum reader_kind kind;
    DWORD length;          /* of each read */
    const BYTE *expected;  /* the stream: total bytes */
    DWORD total;
    const DWORD *messages; /* message mode: the messages' lengths, in order */
    DWORD got;             /* bytes read so far */
    DWORD reads;
    volatile LONG stop;    /* the writer failed: the rest will not come */
    char why[600];         /* the reader's failure */
    HANDLE thread;
};

/* Judges one read: its bytes against the stream and, in message mode, the message's boundary. */
static BOOL judge(struct run *r, const BYTE *buffer, DWORD asked, struct outcome o, DWORD *message, DWORD *offset)
{
    char got_hex[64], want_hex[64];
    DWORD i, left = r->total - r->got, from;

    if (o.bytes > asked) {
        wsprintfA(r->why, "read %lu returned %lu bytes for a length of %lu", r->reads, o.bytes, asked);
        return FALSE;
    }
    if (o.bytes > left) {
        wsprintfA(r->why, "read %lu returned %lu bytes with only %lu written and not yet read", r->reads, o.bytes, left);
        return FALSE;
    }
    for (i = 0; i < o.bytes; i++) {
        if (buffer[i] != r->expected[r->got + i]) {
            from = i >= 4 ? i - 4 : 0;
            hex(got_hex, buffer + from, o.bytes - from);
            hex(want_hex, r->expected + r->got + from, o.bytes - from);
            wsprintfA(r->why, "read %lu (%lu bytes at stream offset %lu): byte %lu is %02X%s, expected %02X; from byte %lu: got %s, expected %s",
                      r->reads, o.bytes, r->got, i, buffer[i], buffer[i] == PATTERN ? " (never written)" : "",
                      r->expected[r->got + i], from, got_hex, want_hex);
            return FALSE;
        }
    }
    if (r->kind == RD_FILL && o.bytes != asked) {
        wsprintfA(r->why, "read %lu: a 0,0,0 read returned %lu of its %lu bytes", r->reads, o.bytes, asked);
        return FALSE;
    }
    if (r->messages != NULL) {
        DWORD rest = r->messages[*message] - *offset;
        enum result want = asked < rest ? R_MORE : R_GOT;

        if (o.bytes != min(asked, rest) || o.result != want) {
            wsprintfA(r->why, "read %lu of %lu bytes with %lu left of message %lu: %lu bytes and %s, expected %lu and %s",
                      r->reads, asked, rest, *message + 1, o.bytes, result_names[o.result], min(asked, rest),
                      result_names[want]);
            return FALSE;
        }
        *offset += o.bytes;
        if (*offset == r->messages[*message])
            *message += 1, *offset = 0;
    } else if (o.result == R_MORE) {
        wsprintfA(r->why, "read %lu: ERROR_MORE_DATA in byte-stream mode", r->reads);
        return FALSE;
    }
    if (!buffer_intact(r->why, buffer, asked, o.bytes, r->reads))
        return FALSE;
    r->got += o.bytes;
    return TRUE;
}

/* Reads until the whole stream came, a read goes wrong, or the check's time is up. */
static DWORD WINAPI reader_thread(void *context)
{
    struct run *r = context;
    DWORD start = GetTickCount(), message = 0, offset = 0;
    BYTE *buffer = HeapAlloc(GetProcessHeap(), 0, r->length + TAIL);

    if (buffer == NULL) {
        lstrcpyA(r->why, "out of memory");
        return 0;
    }
    while (r->got < r->total && !r->stop) {
        DWORD elapsed = GetTickCount() - start;
        /* A read that waits until it is full must not ask for bytes that will never come. */
        DWORD asked = r->kind == RD_FILL ? min(r->length, r->total - r->got) : r->length;
        struct outcome o;

        if (elapsed >= RUN_MS) {
            wsprintfA(r->why, "only %lu of %lu bytes came in %lu ms", r->got, r->total, elapsed);
            break;
        }
        r->reads++;
        o = read_once(r->kind, buffer, asked, min(OP_MS, RUN_MS - elapsed));
        if (o.result == R_HUNG || o.result == R_ERROR) {
            wsprintfA(r->why, "read %lu of %lu bytes, with %lu of %lu read, %s %lu", r->reads, asked, r->got, r->total,
                      o.result == R_HUNG ? "did not complete in time and was cancelled" : "failed with", o.code);
            break;
        }
        if (o.bytes == 0 && readers[r->kind].comes_back_empty && o.result == readers[r->kind].empty) {
            if (!buffer_intact(r->why, buffer, asked, 0, r->reads))
                break;
            Sleep(1); /* nothing there yet */
            continue;
        }
        if (o.bytes == 0) {
            wsprintfA(r->why, "read %lu of %lu bytes returned none, with %s", r->reads, asked, result_names[o.result]);
            break;
        }
        if (!judge(r, buffer, asked, o, &message, &offset))
            break;
    }
    HeapFree(GetProcessHeap(), 0, buffer);
    return 0;
}

static void start_reader(struct run *r)
{
    if (r->thread == NULL)
        r->thread = CreateThread(NULL, 0, reader_thread, r, 0, NULL);
}

/* Waits for the reader thread; past its time its read is cancelled like any request. */
static void join_reader(struct run *r)
{
    if (WaitForSingleObject(r->thread, RUN_MS + OP_MS) != WAIT_OBJECT_0) {
        r->stop = 1;
        CancelSynchronousIo(r->thread);
        CancelIoEx(reader_handle(r->kind), NULL);
        if (WaitForSingleObject(r->thread, 5000) != WAIT_OBJECT_0) {
            print("FAIL feed[%s]: a reader thread never returned\n", label);
            ExitProcess(1);
        }
        if (!r->why[0])
            lstrcpyA(r->why, "the reader did not finish in time; its read was cancelled");
    }
    CloseHandle(r->thread);
}

/* Stops a reader whose bytes will not come, and waits for it. */
static void stop_reader(struct run *r)
{
    r->stop = 1;
    CancelSynchronousIo(r->thread);
    CancelIoEx(reader_handle(r->kind), NULL);
    join_reader(r);
}

/* ---- Writers -------------------------------------------------------------------------------- */

enum piece_kind { P_WRITE, P_ATOMIC, P_CHAR };

struct piece {
    enum piece_kind how;
    DWORD length; /* P_CHAR: 1 */
};

enum pend_rule { MAY_PEND, COMPLETES_AT_ONCE, MUST_PEND };

struct feed {
    char name[64];
    struct piece pieces[3];
    int count;
    BOOL reader_first; /* the reader starts before the first byte is written */
    BOOL handoff;      /* and its read must be waiting then: only readers that wait */
    BOOL close_after;  /* the writer closes its handle once its bytes are in */
    enum pend_rule rule;
};

static BOOL read_is_waiting(DWORD ms)
{
    DWORD start = GetTickCount();
    lbk_stats stats;

    do {
        if (get_stats(dev.reader, &stats) && stats.pending_reads != 0)
            return TRUE;
        Sleep(2);
    } while (GetTickCount() - start < ms);
    return FALSE;
}

/* Sends one piece; *pended: it had to wait for room (then the reader was started). */
static BOOL send_piece(struct check *c, struct run *r, const struct piece *p, BYTE *data, BOOL *pended)
{
    OVERLAPPED ov;
    DWORD error;
    struct outcome o;

    *pended = FALSE;
    if (p->how == P_CHAR) {
        if (!TransmitCommChar(dev.writer, (char)data[0]))
            fail(c, "TransmitCommChar failed with %lu", GetLastError());
        return !c->why[0];
    }
    ov = fresh_overlapped();
    /* WRITE_ATOMIC's bytes travel in the "output" buffer (METHOD_IN_DIRECT), writable for Wine. */
    error = started(p->how == P_WRITE ? WriteFile(dev.writer, data, p->length, NULL, &ov)
                                    : DeviceIoControl(dev.writer, IOCTL_LBK_WRITE_ATOMIC, NULL, 0, data, p->length, NULL, &ov));
    if (error == ERROR_IO_PENDING && WaitForSingleObject(ov.hEvent, 200) != WAIT_OBJECT_0) {
        *pended = TRUE; /* it waits for room, which only a reader makes */
        start_reader(r);
    }
    o = await(dev.writer, &ov, error, OP_MS);
    CloseHandle(ov.hEvent);
    if (o.result != R_GOT || o.bytes != p->length)
        fail(c, "%s of %lu bytes: %s %lu, %lu bytes", p->how == P_WRITE ? "write" : "WRITE_ATOMIC", p->length,
             o.result == R_HUNG ? "did not complete in time and was cancelled" : result_names[o.result], o.code, o.bytes);
    return !c->why[0];
}

static DWORD feed_total(const struct feed *f)
{
    DWORD total = 0;
    int i;

    for (i = 0; i < f->count; i++)
        total += f->pieces[i].length;
    return total;
}

/* Nothing may be left: no byte queued, no read or write waiting. */
static void check_empty(struct check *c)
{
    lbk_stats in, out;

    if (!get_stats(dev.reader, &in) || !get_stats(dev.writer, &out))
        fail(c, "GET_STATS failed");
    else if (in.bytes_queued != 0 || in.pending_reads != 0 || out.pending_writes != 0)
        fail(c, "afterwards %lu bytes queued, %lu reads and %lu writes waiting", (DWORD)in.bytes_queued,
             in.pending_reads, out.pending_writes);
}

static BOOL open_writer(void)
{
    static const COMMTIMEOUTS none = { 0, 0, 0, 0, 0 }; /* a serial end's writes wait for ever */
    COMMTIMEOUTS timeouts = none;

    dev.writer = open_end(dev.write_path, TRUE);
    return dev.writer != INVALID_HANDLE_VALUE && (dev.kind != SERIAL || SetCommTimeouts(dev.writer, &timeouts));
}

/* One check: a reader of kind reads, length bytes at a time, what feed f writes. */
static void run_check(enum reader_kind kind, DWORD length, const struct feed *f)
{
    static DWORD seed;
    struct check c = { "", "" };
    struct run r = { 0 };
    DWORD total = feed_total(f), messages[3], i, pos = 0;
    BYTE *expected = HeapAlloc(GetProcessHeap(), 0, total), *data = HeapAlloc(GetProcessHeap(), 0, total);
    BOOL pended = FALSE, any_pended = FALSE;
    int p;

    wsprintfA(c.name, "%s%s_read_%lu_from_%s", dev.message_mode ? "message_" : "", readers[kind].name, length, f->name);
    if (expected == NULL || data == NULL) {
        fail(&c, "out of memory");
        report(&c);
        ExitProcess(1);
    }
    /* The writer writes from a copy: the stream the reader checks against cannot be changed. */
    seed++;
    for (i = 0; i < total; i++)
        expected[i] = data[i] = stream_byte(seed, i);
    for (p = 0; p < f->count; p++)
        messages[p] = f->pieces[p].length;
    r.kind = kind;
    r.length = length;
    r.expected = expected;
    r.total = total;
    r.messages = dev.message_mode ? messages : NULL;
    use_timeouts(kind);
    if (f->reader_first) {
        start_reader(&r);
        if (readers[kind].waits && !read_is_waiting(3000))
            fail(&c, "the read did not wait for data");
    }
    for (p = 0; p < f->count && !c.why[0] && send_piece(&c, &r, &f->pieces[p], data + pos, &pended); p++) {
        pos += f->pieces[p].length;
        any_pended |= pended;
        if (pended && f->rule == COMPLETES_AT_ONCE)
            fail(&c, "a write of %lu bytes into an empty buffer of %lu waited", f->pieces[p].length, dev.capacity);
    }
    if (!c.why[0] && f->rule == MUST_PEND && !any_pended)
        fail(&c, "no write waited for room");
    if (f->close_after)
        CloseHandle(dev.writer);
    if (c.why[0] && r.thread != NULL) {
        stop_reader(&r);
    } else if (!c.why[0]) {
        start_reader(&r);
        join_reader(&r);
        if (r.why[0])
            fail(&c, "%s", r.why);
    }
    if (f->close_after && !open_writer()) {
        fail(&c, "cannot open the writing end again (%lu)", GetLastError());
        report(&c);
        ExitProcess(1);
    }
    if (!c.why[0])
        check_empty(&c);
    report(&c);
    if (c.why[0])
        purge();
    HeapFree(GetProcessHeap(), 0, expected);
    HeapFree(GetProcessHeap(), 0, data);
}

/* A feed of count pieces of one kind, named after them: "write_4095", "writes_100_37_1". */
static struct feed make_feed(const char *name, enum piece_kind how, const DWORD *lengths, int count)
{
    struct feed f = { "", { { 0 } }, count, FALSE, FALSE, FALSE, MAY_PEND };
    int i;

    lstrcpynA(f.name, name, sizeof(f.name));
    for (i = 0; i < count; i++) {
        f.pieces[i].how = how;
        f.pieces[i].length = lengths[i];
        wsprintfA(f.name + lstrlenA(f.name), "_%lu", lengths[i]);
    }
    return f;
}

static struct feed at_once(struct feed f)
{
    f.rule = COMPLETES_AT_ONCE;
    return f;
}

static struct feed waiting(struct feed f)
{
    f.rule = MUST_PEND;
    return f;
}

static struct feed handoff(struct feed f)
{
    f.reader_first = f.handoff = TRUE;
    return f;
}

static struct feed closing(struct feed f)
{
    f.close_after = TRUE;
    return f;
}

/* The byte-stream feeds: each writer kind with the lengths it takes. */
static int stream_feeds(struct feed *feeds)
{
    DWORD cap = dev.capacity, more = 2 * cap + cap / 2 + 1;
    DWORD fits[] = { 1, cap - 1, cap }, over[] = { cap + 1, more }, any[] = { 1, cap - 1, cap, more };
    DWORD closed[] = { 1, cap, more }, mixed[] = { 1, 8, cap - 1, cap };
    int n = 0, i;

    for (i = 0; i < 3; i++)
        feeds[n++] = at_once(make_feed("write", P_WRITE, &fits[i], 1));
    for (i = 0; i < 2; i++)
        feeds[n++] = waiting(make_feed("waiting_write", P_WRITE, &over[i], 1));
    for (i = 0; i < 4; i++)
        feeds[n++] = handoff(make_feed("handoff_write", P_WRITE, &any[i], 1));
    for (i = 0; i < 3; i++)
        feeds[n++] = at_once(make_feed("write_atomic", P_ATOMIC, &fits[i], 1));
    for (i = 0; i < 3; i++)
        feeds[n++] = closing(make_feed("write_then_close", P_WRITE, &closed[i], 1));
    for (i = 0; dev.kind == SERIAL && i < 4; i++) {
        /* TransmitCommChar between two writes, the reader already reading: with no write waiting
           when it is sent, the byte follows the first write. */
        DWORD first = (mixed[i] - 1) / 2, second = mixed[i] - 1 - first;
        struct feed *f = &feeds[n++];

        *f = make_feed("write_char_write", P_WRITE, &mixed[i], 1);
        f->reader_first = TRUE;
        f->count = 0;
        if (first != 0)
            f->pieces[f->count++] = (struct piece){ P_WRITE, first };
        f->pieces[f->count++] = (struct piece){ P_CHAR, 1 };
        if (second != 0)
            f->pieces[f->count++] = (struct piece){ P_WRITE, second };
    }
    return n;
}

/* Message mode: each piece is one message. */
static int message_feeds(struct feed *feeds)
{
    DWORD max = dev.max_message;
    DWORD one[] = { 1 }, almost[] = { max - 1 }, full[] = { max }, several[] = { 100, 37, 1 }, over[] = { max, 100 };
    DWORD atomics[] = { 50, 1 }, closed[] = { 30, 7 };
    int n = 0;

    feeds[n++] = at_once(make_feed("write", P_WRITE, one, 1));
    feeds[n++] = at_once(make_feed("write", P_WRITE, almost, 1));
    feeds[n++] = at_once(make_feed("write", P_WRITE, full, 1));
    feeds[n++] = at_once(make_feed("writes", P_WRITE, several, 3));
    feeds[n++] = waiting(make_feed("waiting_writes", P_WRITE, over, 2));
    feeds[n++] = handoff(make_feed("handoff_write", P_WRITE, one, 1));
    feeds[n++] = handoff(make_feed("handoff_write", P_WRITE, full, 1));
    feeds[n++] = at_once(make_feed("write_atomics", P_ATOMIC, atomics, 2));
    feeds[n++] = at_once(make_feed("write_atomic", P_ATOMIC, full, 1));
    feeds[n++] = closing(make_feed("writes_then_close", P_WRITE, closed, 2));
    return n;
}

/* Every reader against every feed it can take, the read length turning with each pair. */
static void run_matrix(const enum reader_kind *kinds, int kind_count, const struct feed *feeds, int feed_count,
                       const DWORD *lengths)
{
    int k, f;

    for (k = 0; k < kind_count; k++)
        for (f = 0; f < feed_count; f++)
            if (!feeds[f].handoff || readers[kinds[k]].waits)
                run_check(kinds[k], lengths[(k + f) % 4], &feeds[f]);
}

/* ---- Cases of their own --------------------------------------------------------------------- */

/* A read of an empty device that must come back empty-handed at once or after its timeout. */
static void empty_read(const char *name, enum reader_kind kind, DWORD min_ms, DWORD max_ms)
{
    struct check c = { "", "" };
    BYTE buffer[16 + TAIL];
    DWORD start, elapsed;
    struct outcome o;

    lstrcpynA(c.name, name, sizeof(c.name));
    use_timeouts(kind);
    start = GetTickCount();
    o = read_once(kind, buffer, 16, OP_MS);
    elapsed = GetTickCount() - start;
    if (o.result != readers[kind].empty || o.bytes != 0)
        fail(&c, "%s (%lu) with %lu bytes, expected %s with none", result_names[o.result], o.code, o.bytes,
             result_names[readers[kind].empty]);
    else if (elapsed < min_ms || elapsed > max_ms)
        fail(&c, "came back after %lu ms, expected %lu to %lu", elapsed, min_ms, max_ms);
    else
        buffer_intact(c.why, buffer, 16, 0, 1);
    report(&c);
}

static BOOL write_now(const void *data, DWORD length)
{
    OVERLAPPED ov = fresh_overlapped();
    struct outcome o = await(dev.writer, &ov, started(WriteFile(dev.writer, data, length, NULL, &ov)), OP_MS);

    CloseHandle(ov.hEvent);
    return o.result == R_GOT && o.bytes == length;
}

/* Starts an overlapped read of length bytes on the reading end; *error: started()'s. */
static void start_read(OVERLAPPED *ov, BYTE *buffer, DWORD length, DWORD *error)
{
    *ov = fresh_overlapped();
    FillMemory(buffer, length + TAIL, PATTERN);
    *error = started(ReadFile(dev.reader, buffer, length, NULL, ov));
}

/* Ends a read that start_read began; it must return want (count bytes), nothing more. */
static void read_gives(struct check *c, OVERLAPPED *ov, DWORD error, BYTE *buffer, DWORD length, const char *want,
                       DWORD count)
{
    struct outcome o = await(dev.reader, ov, error, OP_MS);
    char got_hex[64], want_hex[64];

    CloseHandle(ov->hEvent);
    if (o.result != R_GOT || o.bytes != count) {
        fail(c, "the read ended with %s (%lu) and %lu bytes, expected %lu", result_names[o.result], o.code, o.bytes,
             count);
    } else if (!RtlEqualMemory(buffer, want, count)) {
        hex(got_hex, buffer, count);
        hex(want_hex, (const BYTE *)want, count);
        fail(c, "the read returned %s, expected %s", got_hex, want_hex);
    } else {
        buffer_intact(c->why, buffer, length, count, 1);
    }
}

/* The end of a check of its own: nothing left over, the verdict, a clean device for the next. */
static void conclude(struct check *c)
{
    if (!c->why[0])
        check_empty(c);
    report(c);
    if (c->why[0])
        purge();
}

/*
 * A 0,0,0 read waiting for 8 bytes gets "abc" from a write, then TransmitCommChar's 'X', then
 * "defg". No write waits when the X is sent, so it follows abc: "abcXdefg". The driver used to
 * refill a waiting read from its start: 58 62 63 00 64 65 66 67.
 */
static void fill_read_keeps_its_place(void)
{
    struct check c = { "0_0_0_read_8_from_abc_then_transmit_comm_char_X_then_defg_is_abcXdefg", "" };
    BYTE buffer[8 + TAIL];
    OVERLAPPED ov;
    DWORD error;

    use_timeouts(RD_FILL);
    start_read(&ov, buffer, 8, &error);
    if (error != ERROR_IO_PENDING || !read_is_waiting(3000))
        fail(&c, "the read did not wait (%lu)", error);
    else if (!write_now("abc", 3) || !TransmitCommChar(dev.writer, 'X') || !write_now("defg", 4))
        fail(&c, "a write or TransmitCommChar failed (%lu)", GetLastError());
    read_gives(&c, &ov, error, buffer, 8, "abcXdefg", 8);
    conclude(&c);
}

/* A 0,0,0 read that has 3 of its 8 bytes gets a 10-byte WRITE_ATOMIC: it takes 5, 5 stay queued. */
static void fill_read_takes_part_of_an_atomic_write(void)
{
    struct check c = { "0_0_0_read_8_from_abc_then_write_atomic_of_10_takes_5_and_leaves_5", "" };
    BYTE buffer[8 + TAIL], atomic[10];
    OVERLAPPED ov;
    DWORD error;

    CopyMemory(atomic, "0123456789", 10);
    use_timeouts(RD_FILL);
    start_read(&ov, buffer, 8, &error);
    if (error != ERROR_IO_PENDING || !read_is_waiting(3000))
        fail(&c, "the read did not wait (%lu)", error);
    else if (!write_now("abc", 3) ||
             control(dev.writer, IOCTL_LBK_WRITE_ATOMIC, NULL, 0, atomic, sizeof(atomic)).result != R_GOT)
        fail(&c, "the write or WRITE_ATOMIC failed");
    read_gives(&c, &ov, error, buffer, 8, "abc01234", 8);
    if (!c.why[0]) {
        use_timeouts(RD_IMMEDIATE);
        start_read(&ov, buffer, 8, &error);
        read_gives(&c, &ov, error, buffer, 8, "56789", 5);
    }
    conclude(&c);
}

/* A total timeout of multiplier x length + constant, 10 x 20 + 100 ms, with 5 of 20 bytes there. */
static void total_timeout_with_multiplier(void)
{
    COMMTIMEOUTS total = { 0, 10, 100, 0, 0 };
    struct check c = { "total_timeout_10_x_20_plus_100_returns_the_5_bytes_there_after_300_ms", "" };
    BYTE buffer[20 + TAIL];
    OVERLAPPED ov;
    DWORD error, start, elapsed;

    SetCommTimeouts(dev.reader, &total);
    if (!write_now("vwxyz", 5)) {
        fail(&c, "the write failed");
    } else {
        start = GetTickCount();
        start_read(&ov, buffer, 20, &error);
        read_gives(&c, &ov, error, buffer, 20, "vwxyz", 5);
        elapsed = GetTickCount() - start;
        if (!c.why[0] && elapsed < 250)
            fail(&c, "it returned after %lu ms", elapsed);
    }
    conclude(&c);
}

/* ---- The program ---------------------------------------------------------------------------- */

static BOOL open_all(void)
{
    lbk_device_info info;

    dev.reader = open_end(dev.read_path, TRUE);
    if (!open_writer() || dev.reader == INVALID_HANDLE_VALUE ||
        control(dev.reader, IOCTL_LBK_GET_INFO, NULL, 0, &info, sizeof(info)).result != R_GOT)
        return FALSE;
    dev.capacity = info.capacity;
    if (dev.kind == SERIAL)
        return TRUE;
    dev.blocking = open_end(dev.read_path, FALSE);
    dev.nonblocking = open_end(dev.read_path, TRUE);
    dev.timed = open_end(dev.read_path, TRUE);
    return dev.blocking != INVALID_HANDLE_VALUE && dev.nonblocking != INVALID_HANDLE_VALUE &&
           dev.timed != INVALID_HANDLE_VALUE && set_options(dev.nonblocking, LBK_HANDLE_NONBLOCKING, 0) &&
           set_options(dev.timed, 0, READ_TIMEOUT_MS);
}

static void run_serial(void)
{
    static const enum reader_kind kinds[] = { RD_IMMEDIATE, RD_FIRST_BYTE, RD_FILL, RD_TOTAL, RD_INTERVAL };
    DWORD lengths[] = { 1, dev.capacity - 1, dev.capacity, 3 * dev.capacity };
    struct feed feeds[24];
    int feed_count;

    empty_read("maxdword_0_0_read_of_nothing_returns_at_once", RD_IMMEDIATE, 0, 1000);
    empty_read("maxdword_maxdword_c_read_of_nothing_returns_after_c", RD_FIRST_BYTE, FIRST_BYTE_MS - 100, OP_MS);
    empty_read("total_timeout_read_of_nothing_returns_after_it", RD_TOTAL, TOTAL_MS - 50, OP_MS);
    feed_count = stream_feeds(feeds);
    run_matrix(kinds, 5, feeds, feed_count, lengths);
    fill_read_keeps_its_place();
    fill_read_takes_part_of_an_atomic_write();
    total_timeout_with_multiplier();
}

static void run_plain(void)
{
    static const enum reader_kind kinds[] = { RD_BLOCKING, RD_OVERLAPPED, RD_NONBLOCKING, RD_TIMED };
    DWORD lengths[] = { 1, dev.capacity - 1, dev.capacity, 3 * dev.capacity };
    DWORD message_lengths[] = { 1, dev.capacity - LBK_MESSAGE_HEADER_BYTES - 1, dev.capacity - LBK_MESSAGE_HEADER_BYTES,
                                3 * dev.capacity };
    struct feed feeds[24];
    int feed_count;
    struct check c = { "message_mode_on_an_empty_device", "" };
    lbk_device_info info;

    empty_read("nonblocking_read_of_nothing_is_error_no_data", RD_NONBLOCKING, 0, 1000);
    empty_read("timeout_read_of_nothing_times_out_empty", RD_TIMED, READ_TIMEOUT_MS - 100, OP_MS);
    feed_count = stream_feeds(feeds);
    run_matrix(kinds, 4, feeds, feed_count, lengths);
    if (!set_message_mode(TRUE) || control(dev.reader, IOCTL_LBK_GET_INFO, NULL, 0, &info, sizeof(info)).result != R_GOT)
        fail(&c, "SET_MESSAGE_MODE 1 or GET_INFO failed");
    else if (info.max_message != dev.capacity - LBK_MESSAGE_HEADER_BYTES)
        fail(&c, "the longest message is %lu bytes, expected %lu", info.max_message, dev.capacity - LBK_MESSAGE_HEADER_BYTES);
    dev.max_message = info.max_message;
    report(&c);
    if (c.why[0])
        return;
    empty_read("message_nonblocking_read_of_nothing_is_error_no_data", RD_NONBLOCKING, 0, 1000);
    feed_count = message_feeds(feeds);
    run_matrix(kinds, 4, feeds, feed_count, message_lengths);
    set_message_mode(FALSE);
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    const wchar_t *kind = argc > 2 ? argv[2] : L"";

    if (!(argc == 4 && lstrcmpW(kind, L"loop") == 0) &&
        !(argc == 5 && (lstrcmpW(kind, L"pair") == 0 || lstrcmpW(kind, L"serial") == 0))) {
        print("usage: feedtest LABEL loop DEVICE | LABEL pair END_A END_B | LABEL serial END_A END_B\n");
        return 2;
    }
    WideCharToMultiByte(CP_UTF8, 0, argv[1], -1, label, sizeof(label) - 1, NULL, NULL);
    dev.kind = lstrcmpW(kind, L"loop") == 0 ? LOOP : lstrcmpW(kind, L"pair") == 0 ? PAIR : SERIAL;
    dev.write_path = argv[3];
    dev.read_path = argv[argc - 1];
    if (!open_all()) {
        print("FAIL feed[%s]: devices_open: cannot open or set up %S (%lu)\n", label, dev.read_path, GetLastError());
        return 1;
    }
    if (dev.kind == SERIAL)
        run_serial();
    else
        run_plain();
    print("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
