/*
 * lbkbench.c - measures the loopback devices against the host's floor and against pipes
 * (user mode, run under Wine or Windows). Usage:
 *   lbkbench --devices NAME[,NAME...] --out DIR [--sizes 1,64,...] [--trials N] [--trial-ms MS]
 *            [--depth D] [--label TEXT] [--tables pair,stream,overlapped] [--devices-only]
 * --devices-only leaves out the floors and the pipes (for profiling the device alone).
 *
 * Three tables, each one run in which the variants take turns (round-robin, one trial each per
 * round) so that slow drifts of a noisy machine hit every variant alike:
 *   pair      one thread: a write of N bytes then a read of them; us per operation.
 *             Floors: NOP (one request that carries nothing) and ECHO (one that carries N bytes
 *             in and N out) on the same device; and "empty", a write and a read of 0 bytes,
 *             which the driver completes at once: the host's cost of the READ/WRITE path.
 *   stream    a writer thread and a reader thread on separate handles, synchronous; MiB/s.
 *             Floor: ECHO of N bytes after ECHO, N bytes moved per request.
 *   overlapped  the same with DEPTH requests in flight on each side (the floor: DEPTH ECHOs).
 * The same patterns run over a Wine named pipe (byte mode, 1 MiB buffers) and an anonymous
 * pipe (1 MiB; it has no overlapped I/O, so it is left out of that table).
 * Each figure is the median of the trials; each trial runs long enough for --trial-ms, as found
 * by a discarded warm-up trial. Every stream read is checked against the bytes written, so a
 * benchmark that loses or reorders data fails instead of reporting a figure.
 *
 * Writes DIR/wine.json, DIR/wine.md, one gnuplot data file per table (DIR/<table>.dat) and
 * DIR/ratios.dat.
 * Exits 0 on success, 1 on bad arguments, 2 when a request fails (with the error's text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "../../windows/lib/lbk_client.h"

#define MAX_DEVICES 3
#define MAX_SIZES 8
#define MAX_VARIANTS 16
#define MAX_TRIALS 101
#define MAX_DEPTH 16
#define PIPE_BUFFER (1u << 20)
/* Per device: NOP, empty, ECHO and the device itself; then the two pipes. */
_Static_assert(MAX_DEVICES * 4 + 2 <= MAX_VARIANTS, "room for every variant");

enum pattern { PATTERN_PAIR, PATTERN_STREAM, PATTERN_OVERLAPPED };
enum kind { KIND_NOP, KIND_EMPTY, KIND_CARRY, KIND_DEVICE, KIND_NAMED_PIPE, KIND_ANON_PIPE };

typedef struct table {
    const char *name;
    const char *title;
    const char *unit; /* "us" per operation, or "MiB/s" */
    enum pattern pattern;
} table;

static const table g_tables[] = {
    { "pair", "Write+read pairs on one thread (us per operation; lower is better)", "us", PATTERN_PAIR },
    { "stream", "Streaming, writer and reader threads, synchronous (MiB/s; higher is better)", "MiB/s",
      PATTERN_STREAM },
    { "overlapped", "Streaming with requests in flight on each side (MiB/s; higher is better)", "MiB/s",
      PATTERN_OVERLAPPED },
};
#define TABLE_COUNT (sizeof(g_tables) / sizeof(g_tables[0]))

/* One thing measured: its handles for synchronous and for overlapped I/O. */
typedef struct variant {
    char name[48];
    char method[16]; /* the device's I/O method, or "" for pipes */
    enum kind kind;
    HANDLE write_sync, read_sync; /* for NOP and ECHO: one device handle in write_sync */
    HANDLE write_async, read_async; /* NULL: no overlapped I/O */
} variant;

typedef struct result {
    double trials[MAX_TRIALS];
    double median, min, max;
    unsigned ops; /* per trial */
    unsigned long long bytes_out, bytes_direct; /* device counters over the trials */
    int measured;
} result;

static struct {
    unsigned sizes[MAX_SIZES];
    unsigned size_count;
    unsigned trials;
    unsigned trial_ms;
    unsigned depth;
    const char *out_dir;
    const char *label;
    wchar_t devices[MAX_DEVICES][LBK_MAX_NAME_CHARS + 1];
    unsigned device_count;
    int table_wanted[TABLE_COUNT];
    int devices_only;
} g_config = { { 1, 64, 4096, 65536, 1048576 }, 5, 11, 20, 4, NULL, "", { { 0 } }, 0, { 1, 1, 1 }, 0 };

static variant g_variants[MAX_VARIANTS];
static unsigned g_variant_count;
static result g_results[TABLE_COUNT][MAX_VARIANTS][MAX_SIZES];
static unsigned char *g_source;  /* PATTERN bytes, written by every writer */
static double g_ticks_per_us;

/* ---- failures ---------------------------------------------------------------------------- */

static void fail(const char *what, DWORD error)
{
    wchar_t text[256];

    lbk_format_error(error, text, sizeof(text) / sizeof(text[0]));
    fprintf(stderr, "lbkbench: %s: error %lu: %ls\n", what, error, text);
    exit(2);
}

static void *checked_malloc(size_t bytes)
{
    void *p = malloc(bytes);

    if (p == NULL)
        fail("out of memory", ERROR_NOT_ENOUGH_MEMORY);
    return p;
}

static double now_us(void)
{
    LARGE_INTEGER t;

    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / g_ticks_per_us;
}

/* ---- the byte pattern: every writer sends g_source[0..N) again and again ------------------- */

static void fill_source(unsigned size)
{
    unsigned i;

    for (i = 0; i < size; i++)
        g_source[i] = (unsigned char)(i * 131u + (i >> 8) + 7u);
}

/* A read of got bytes at stream offset `offset` must hold the pattern there (ends checked). */
static void check_read(const unsigned char *data, DWORD got, unsigned long long offset, unsigned size,
                       const char *who)
{
    if (got == 0)
        return;
    if (data[0] != g_source[offset % size] || data[got - 1] != g_source[(offset + got - 1) % size]) {
        fprintf(stderr, "lbkbench: %s: wrong bytes at stream offset %llu (%lu bytes read)\n", who, offset, got);
        exit(2);
    }
}

/* ---- synchronous building blocks ------------------------------------------------------------ */

static void write_all(HANDLE h, const unsigned char *data, DWORD size)
{
    DWORD done = 0, n;

    while (done < size) {
        if (!WriteFile(h, data + done, size - done, &n, NULL))
            fail("write", GetLastError());
        done += n;
    }
}

/* Reads exactly size bytes (a byte stream may hand them over in pieces). */
static void read_all(HANDLE h, unsigned char *buffer, DWORD size, unsigned long long *offset, unsigned pattern_size,
                     const char *who)
{
    DWORD done = 0, n;

    while (done < size) {
        if (!ReadFile(h, buffer + done, size - done, &n, NULL))
            fail("read", GetLastError());
        check_read(buffer + done, n, *offset, pattern_size, who);
        *offset += n;
        done += n;
    }
}

static void ioctl_sync(HANDLE h, DWORD code, void *in, DWORD in_len, void *out, DWORD out_len)
{
    DWORD n;

    if (!DeviceIoControl(h, code, in, in_len, out, out_len, &n, NULL))
        fail(code == IOCTL_LBK_NOP ? "NOP" : "ECHO", GetLastError());
    if (code == IOCTL_LBK_ECHO && n != out_len)
        fail("ECHO returned a short count", ERROR_INVALID_DATA);
}

/* ---- requests in flight: a ring of OVERLAPPEDs, completed oldest first ------------------------ */

typedef struct in_flight {
    OVERLAPPED ov[MAX_DEPTH];
    unsigned depth, issued, done;
} in_flight;

static void in_flight_open(in_flight *f, unsigned depth)
{
    unsigned slot;

    if (depth == 0 || depth > MAX_DEPTH)
        fail("depth out of range", ERROR_INVALID_PARAMETER);
    memset(f, 0, sizeof(*f));
    f->depth = depth;
    for (slot = 0; slot < depth; slot++)
        f->ov[slot].hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
}

/* Slot of the next request to issue (its OVERLAPPED is f->ov[slot], event reset). */
static unsigned in_flight_issue(in_flight *f)
{
    unsigned slot = f->issued++ % f->depth;

    ResetEvent(f->ov[slot].hEvent);
    return slot;
}

static int in_flight_full(const in_flight *f) { return f->issued - f->done == f->depth; }

/* Waits for the oldest request; returns its slot, with GetOverlappedResult's result in *ok. */
static unsigned in_flight_finish(in_flight *f, HANDLE h, DWORD *n, BOOL *ok)
{
    unsigned slot = f->done++ % f->depth;

    *ok = GetOverlappedResult(h, &f->ov[slot], n, TRUE);
    return slot;
}

static void in_flight_close(in_flight *f)
{
    unsigned slot;

    for (slot = 0; slot < f->depth; slot++)
        CloseHandle(f->ov[slot].hEvent);
}

/* ---- streaming: a writer thread and a reader thread ----------------------------------------- */

typedef struct stream_job {
    const variant *v;
    unsigned size;   /* bytes per request */
    unsigned ops;    /* requests the writer makes */
    unsigned depth;  /* 0: synchronous handles; else requests in flight */
    HANDLE start;    /* manual-reset event both threads wait for */
    double end_us;
    unsigned char *buffers; /* reader: depth (or 1) buffers of size bytes */
} stream_job;

static DWORD WINAPI stream_writer(LPVOID arg)
{
    stream_job *job = arg;

    WaitForSingleObject(job->start, INFINITE);
    if (job->depth == 0) {
        unsigned i;

        for (i = 0; i < job->ops; i++)
            write_all(job->v->write_sync, g_source, job->size);
    } else {
        in_flight f;
        DWORD n;
        BOOL ok;

        in_flight_open(&f, job->depth);
        while (f.done < job->ops) {
            while (f.issued < job->ops && !in_flight_full(&f)) {
                unsigned slot = in_flight_issue(&f);

                if (!WriteFile(job->v->write_async, g_source, job->size, NULL, &f.ov[slot]) &&
                    GetLastError() != ERROR_IO_PENDING)
                    fail("overlapped write", GetLastError());
            }
            in_flight_finish(&f, job->v->write_async, &n, &ok);
            if (!ok)
                fail("overlapped write", GetLastError());
            if (n != job->size)
                fail("overlapped write was short", ERROR_WRITE_FAULT);
        }
        in_flight_close(&f);
    }
    job->end_us = now_us();
    return 0;
}

static DWORD WINAPI stream_reader(LPVOID arg)
{
    stream_job *job = arg;
    unsigned long long total = (unsigned long long)job->ops * job->size, offset = 0;

    WaitForSingleObject(job->start, INFINITE);
    if (job->depth == 0) {
        DWORD n;

        while (offset < total) {
            if (!ReadFile(job->v->read_sync, job->buffers, job->size, &n, NULL))
                fail("read", GetLastError());
            check_read(job->buffers, n, offset, job->size, job->v->name);
            offset += n;
        }
        job->end_us = now_us();
    } else {
        /* Reads complete in the order they were issued, each with what was there: handled so. */
        in_flight f;
        DWORD n;
        BOOL ok;

        in_flight_open(&f, job->depth);
        while (offset < total) {
            unsigned slot;

            while (!in_flight_full(&f)) {
                slot = in_flight_issue(&f);
                if (!ReadFile(job->v->read_async, job->buffers + (size_t)slot * job->size, job->size, NULL,
                              &f.ov[slot]) &&
                    GetLastError() != ERROR_IO_PENDING)
                    fail("overlapped read", GetLastError());
            }
            slot = in_flight_finish(&f, job->v->read_async, &n, &ok);
            if (!ok)
                fail("overlapped read", GetLastError());
            check_read(job->buffers + (size_t)slot * job->size, n, offset, job->size, job->v->name);
            offset += n;
        }
        job->end_us = now_us();
        /* The reads still in flight can get nothing more: cancel them and wait until they end. */
        CancelIoEx(job->v->read_async, NULL);
        while (f.done < f.issued) {
            in_flight_finish(&f, job->v->read_async, &n, &ok);
            if (ok || n != 0)
                fail("a read issued after the last byte got data", ERROR_INVALID_DATA);
        }
        in_flight_close(&f);
    }
    return 0;
}

static double run_stream(const variant *v, unsigned size, unsigned ops, unsigned depth)
{
    stream_job writer, reader;
    HANDLE threads[2];
    double start;

    memset(&writer, 0, sizeof(writer));
    writer.v = v;
    writer.size = size;
    writer.ops = ops;
    writer.depth = depth;
    writer.start = CreateEventW(NULL, TRUE, FALSE, NULL);
    reader = writer;
    reader.buffers = checked_malloc((size_t)size * (depth ? depth : 1));
    threads[0] = CreateThread(NULL, 0, stream_writer, &writer, 0, NULL);
    threads[1] = CreateThread(NULL, 0, stream_reader, &reader, 0, NULL);
    if (threads[0] == NULL || threads[1] == NULL)
        fail("CreateThread", GetLastError());
    Sleep(1); /* let both reach their start line */
    start = now_us();
    SetEvent(writer.start);
    WaitForMultipleObjects(2, threads, TRUE, INFINITE);
    CloseHandle(threads[0]);
    CloseHandle(threads[1]);
    CloseHandle(writer.start);
    free(reader.buffers);
    return (writer.end_us > reader.end_us ? writer.end_us : reader.end_us) - start;
}

/* depth ECHOs in flight on an overlapped handle, ops in all. */
static void echo_overlapped(HANDLE h, unsigned size, unsigned ops, unsigned depth, unsigned char *out)
{
    in_flight f;
    DWORD n;
    BOOL ok;

    in_flight_open(&f, depth);
    while (f.done < ops) {
        while (f.issued < ops && !in_flight_full(&f)) {
            unsigned slot = in_flight_issue(&f);

            if (!DeviceIoControl(h, IOCTL_LBK_ECHO, g_source, size, out + (size_t)slot * size, size, NULL, &f.ov[slot]) &&
                GetLastError() != ERROR_IO_PENDING)
                fail("overlapped ECHO", GetLastError());
        }
        in_flight_finish(&f, h, &n, &ok);
        if (!ok || n != size)
            fail("overlapped ECHO", GetLastError());
    }
    in_flight_close(&f);
}

/* ---- one trial ------------------------------------------------------------------------------ */

/*
 * Runs ops operations of the table's pattern on v with requests of size bytes.
 * Returns the table's figure: us per operation, or MiB/s.
 */
static double run_trial(const table *t, const variant *v, unsigned size, unsigned ops, unsigned char *scratch)
{
    unsigned long long offset = 0;
    double start, elapsed;

    if (t->pattern == PATTERN_PAIR || v->kind == KIND_NOP || v->kind == KIND_EMPTY ||
        (v->kind == KIND_CARRY && t->pattern == PATTERN_STREAM)) {
        unsigned i;

        start = now_us();
        for (i = 0; i < ops; i++) {
            switch (v->kind) {
            case KIND_NOP:
                ioctl_sync(v->write_sync, IOCTL_LBK_NOP, NULL, 0, NULL, 0);
                break;
            case KIND_CARRY:
                ioctl_sync(v->write_sync, IOCTL_LBK_ECHO, g_source, size, scratch, size);
                break;
            case KIND_EMPTY: {
                DWORD n;

                if (!WriteFile(v->write_sync, g_source, 0, &n, NULL) || !ReadFile(v->read_sync, scratch, 0, &n, NULL))
                    fail("zero-length write or read", GetLastError());
                break;
            }
            default:
                write_all(v->write_sync, g_source, size);
                read_all(v->read_sync, scratch, size, &offset, size, v->name);
                break;
            }
        }
        elapsed = now_us() - start;
    } else if (v->kind == KIND_CARRY) {
        start = now_us();
        echo_overlapped(v->write_async, size, ops, g_config.depth, scratch);
        elapsed = now_us() - start;
    } else {
        elapsed = run_stream(v, size, ops, t->pattern == PATTERN_OVERLAPPED ? g_config.depth : 0);
    }
    if (elapsed <= 0)
        elapsed = 0.001;
    if (t->pattern == PATTERN_PAIR)
        return elapsed / ops;
    return (double)ops * size / (1024.0 * 1024.0) / (elapsed / 1e6);
}

static int takes_part(const table *t, const variant *v)
{
    if (!g_config.table_wanted[t - g_tables] || (g_config.devices_only && v->kind != KIND_DEVICE))
        return 0;
    if (t->pattern == PATTERN_PAIR)
        return 1;
    if (v->kind == KIND_NOP || v->kind == KIND_EMPTY)
        return 0;
    return t->pattern == PATTERN_STREAM || v->write_async != NULL;
}

static double seconds_of(const table *t, double figure, unsigned ops, unsigned size)
{
    return t->pattern == PATTERN_PAIR ? figure * ops / 1e6 : (double)ops * size / (1024.0 * 1024.0) / figure;
}

/* Finds ops so that one trial lasts about trial_ms (this warm-up trial is discarded). */
static unsigned calibrate(const table *t, const variant *v, unsigned size, unsigned char *scratch)
{
    unsigned ops = 1;

    for (;;) {
        double seconds = seconds_of(t, run_trial(t, v, size, ops, scratch), ops, size);
        double wanted = g_config.trial_ms / 1000.0;

        if (seconds >= wanted || ops >= (1u << 20)) {
            /* Stream trials need enough requests to keep both threads busy. */
            unsigned floor_ops = t->pattern == PATTERN_PAIR ? 1 : 4 * g_config.depth;
            return ops < floor_ops ? floor_ops : ops;
        }
        if (seconds < wanted / 8)
            ops *= 8;
        else
            ops = (unsigned)(ops * (wanted / seconds) + 1);
    }
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int compare_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return x < y ? -1 : x > y;
}

static HANDLE stats_handle(const variant *v)
{
    return v->kind == KIND_DEVICE ? v->write_sync : NULL;
}

static void run_table(unsigned table_index)
{
    const table *t = &g_tables[table_index];
    unsigned char *scratch = checked_malloc((size_t)g_config.sizes[g_config.size_count - 1] * MAX_DEPTH);
    unsigned s, v, trial;

    fprintf(stderr, "lbkbench: %s\n", t->title);
    for (s = 0; s < g_config.size_count; s++) {
        unsigned size = g_config.sizes[s];

        fill_source(size);
        for (v = 0; v < g_variant_count; v++)
            if (takes_part(t, &g_variants[v]))
                g_results[table_index][v][s].ops = calibrate(t, &g_variants[v], size, scratch);
        /* Round-robin: every variant once per round. */
        for (trial = 0; trial < g_config.trials; trial++) {
            for (v = 0; v < g_variant_count; v++) {
                result *r = &g_results[table_index][v][s];
                HANDLE h = stats_handle(&g_variants[v]);
                lbk_stats before, after;

                if (!takes_part(t, &g_variants[v]))
                    continue;
                if (h != NULL && lbk_get_stats(h, &before) != ERROR_SUCCESS)
                    fail("GET_STATS", GetLastError());
                r->trials[trial] = run_trial(t, &g_variants[v], size, r->ops, scratch);
                if (h != NULL) {
                    if (lbk_get_stats(h, &after) != ERROR_SUCCESS)
                        fail("GET_STATS", GetLastError());
                    r->bytes_out += after.bytes_out - before.bytes_out;
                    r->bytes_direct += after.bytes_direct - before.bytes_direct;
                }
            }
        }
        for (v = 0; v < g_variant_count; v++) {
            result *r = &g_results[table_index][v][s];
            double sorted[MAX_TRIALS];

            if (!takes_part(t, &g_variants[v]))
                continue;
            memcpy(sorted, r->trials, sizeof(double) * g_config.trials);
            qsort(sorted, g_config.trials, sizeof(double), compare_double);
            r->median = g_config.trials % 2 ? sorted[g_config.trials / 2]
                                            : (sorted[g_config.trials / 2 - 1] + sorted[g_config.trials / 2]) / 2;
            r->min = sorted[0];
            r->max = sorted[g_config.trials - 1];
            r->measured = 1;
        }
        fprintf(stderr, "  %u bytes done\n", size);
    }
    free(scratch);
}

/* ---- setting up the variants ---------------------------------------------------------------- */

static HANDLE open_path(const wchar_t *path, DWORD access, DWORD flags)
{
    HANDLE h = CreateFileW(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, flags, NULL);

    if (h == INVALID_HANDLE_VALUE) {
        char what[160];

        snprintf(what, sizeof(what), "cannot open %ls", path);
        fail(what, GetLastError());
    }
    return h;
}

static variant *add_variant(const char *name, const char *method, enum kind kind)
{
    variant *v = &g_variants[g_variant_count++];

    memset(v, 0, sizeof(*v));
    snprintf(v->name, sizeof(v->name), "%s", name);
    snprintf(v->method, sizeof(v->method), "%s", method);
    v->kind = kind;
    return v;
}

static void add_device(const wchar_t *device)
{
    wchar_t path[LBK_MAX_NAME_CHARS + 8];
    HANDLE probe;
    lbk_device_info info;
    char method[16], name[48];
    variant *v;
    const DWORD rw = GENERIC_READ | GENERIC_WRITE;

    swprintf(path, sizeof(path) / sizeof(path[0]), L"\\\\.\\%ls", device);
    probe = open_path(path, rw, 0);
    if (lbk_get_info(probe, &info) != ERROR_SUCCESS)
        fail("GET_INFO", GetLastError());
    if (info.state & LBK_STATE_MESSAGE_MODE || info.role != LBK_ROLE_LOOPBACK) {
        fprintf(stderr, "lbkbench: %ls must be a loopback device in byte-stream mode\n", device);
        exit(1);
    }
    if (info.capacity < g_config.sizes[g_config.size_count - 1]) {
        fprintf(stderr, "lbkbench: %ls holds %lu bytes; it needs at least the largest size, %u\n", device,
                (unsigned long)info.capacity, g_config.sizes[g_config.size_count - 1]);
        exit(1);
    }
    snprintf(method, sizeof(method), "%ls", lbk_io_method_name(info.io_method));

    snprintf(name, sizeof(name), "nop/%s", method);
    add_variant(name, method, KIND_NOP)->write_sync = probe;
    snprintf(name, sizeof(name), "empty/%s", method);
    v = add_variant(name, method, KIND_EMPTY);
    v->write_sync = v->read_sync = probe;
    snprintf(name, sizeof(name), "carry/%s", method);
    v = add_variant(name, method, KIND_CARRY);
    v->write_sync = probe;
    v->write_async = open_path(path, rw, FILE_FLAG_OVERLAPPED);
    snprintf(name, sizeof(name), "device/%s", method);
    v = add_variant(name, method, KIND_DEVICE);
    /* Separate handles: a synchronous handle lets one request at a time through. */
    v->write_sync = open_path(path, rw, 0);
    v->read_sync = open_path(path, rw, 0);
    v->write_async = open_path(path, rw, FILE_FLAG_OVERLAPPED);
    v->read_async = open_path(path, rw, FILE_FLAG_OVERLAPPED);
}

static void named_pipe(HANDLE *server_end, HANDLE *client_end, DWORD flags, int index)
{
    wchar_t name[96];

    swprintf(name, sizeof(name) / sizeof(name[0]), L"\\\\.\\pipe\\lbkbench-%lu-%d", GetCurrentProcessId(), index);
    *server_end = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX | flags, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                                   1, PIPE_BUFFER, PIPE_BUFFER, 0, NULL);
    if (*server_end == INVALID_HANDLE_VALUE)
        fail("CreateNamedPipe", GetLastError());
    *client_end = open_path(name, GENERIC_READ | GENERIC_WRITE, flags);
    if (!ConnectNamedPipe(*server_end, NULL) && GetLastError() != ERROR_PIPE_CONNECTED)
        fail("ConnectNamedPipe", GetLastError());
}

static void add_pipes(void)
{
    variant *v = add_variant("named-pipe", "", KIND_NAMED_PIPE);

    /* The client end writes, the server end reads. */
    named_pipe(&v->read_sync, &v->write_sync, 0, 0);
    named_pipe(&v->read_async, &v->write_async, FILE_FLAG_OVERLAPPED, 1);
    v = add_variant("anonymous-pipe", "", KIND_ANON_PIPE);
    if (!CreatePipe(&v->read_sync, &v->write_sync, NULL, PIPE_BUFFER))
        fail("CreatePipe", GetLastError());
}

/* ---- output ------------------------------------------------------------------------------------ */

static const result *find(unsigned table_index, const char *name, unsigned s)
{
    unsigned v;

    for (v = 0; v < g_variant_count; v++)
        if (strcmp(g_variants[v].name, name) == 0 && g_results[table_index][v][s].measured)
            return &g_results[table_index][v][s];
    return NULL;
}

static FILE *open_output(const char *file)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", g_config.out_dir, file);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "lbkbench: cannot write %s\n", path);
        exit(1);
    }
    return f;
}

/* The ratios the goals are about, for one size: NAN-free, 0 when a figure is missing. */
typedef struct ratios {
    double pair_over_two_nops, pair_over_nop_and_carry;
    double stream_over_carry, stream_over_named_pipe;
    double overlapped_over_carry, overlapped_over_named_pipe;
    double direct_share_pair, direct_share_stream, direct_share_overlapped;
} ratios;

static double divide(double a, double b) { return b > 0 ? a / b : 0; }

static double share(const result *r)
{
    return r != NULL && r->bytes_out ? (double)r->bytes_direct / (double)r->bytes_out : 0;
}

static ratios ratios_of(const char *method, unsigned s)
{
    char device[48], nop[48], carry[48];
    const result *pair, *p_nop, *p_carry, *stream, *s_carry, *s_pipe, *over, *o_carry, *o_pipe;
    ratios r;

    snprintf(device, sizeof(device), "device/%s", method);
    snprintf(nop, sizeof(nop), "nop/%s", method);
    snprintf(carry, sizeof(carry), "carry/%s", method);
    pair = find(0, device, s), p_nop = find(0, nop, s), p_carry = find(0, carry, s);
    stream = find(1, device, s), s_carry = find(1, carry, s), s_pipe = find(1, "named-pipe", s);
    over = find(2, device, s), o_carry = find(2, carry, s), o_pipe = find(2, "named-pipe", s);
    memset(&r, 0, sizeof(r));
    if (pair && p_nop && p_carry) {
        r.pair_over_two_nops = divide(pair->median, 2 * p_nop->median);
        r.pair_over_nop_and_carry = divide(pair->median, p_nop->median + p_carry->median);
    }
    if (stream && s_carry && s_pipe) {
        r.stream_over_carry = divide(stream->median, s_carry->median);
        r.stream_over_named_pipe = divide(stream->median, s_pipe->median);
    }
    if (over && o_carry && o_pipe) {
        r.overlapped_over_carry = divide(over->median, o_carry->median);
        r.overlapped_over_named_pipe = divide(over->median, o_pipe->median);
    }
    r.direct_share_pair = share(pair);
    r.direct_share_stream = share(stream);
    r.direct_share_overlapped = share(over);
    return r;
}

static int size_index(unsigned size)
{
    unsigned s;

    for (s = 0; s < g_config.size_count; s++)
        if (g_config.sizes[s] == size)
            return (int)s;
    return -1;
}

/*
 * The goals of docs/performance.md that this run can judge, as JSON objects or Markdown rows:
 * a 4 KiB pair at most 1.05 x two NOPs; 1 MiB streaming at least 0.9 x the ECHO floor.
 */
static void write_goals(FILE *f, int json)
{
    int small = size_index(4096), large = size_index(1048576), first = 1;
    unsigned v, g;

    for (v = 0; v < g_variant_count; v++) {
        struct { const char *name; int s; double value, limit; int at_most; } goals[3];
        ratios r4, r1;

        if (g_variants[v].kind != KIND_DEVICE)
            continue;
        r4 = ratios_of(g_variants[v].method, small < 0 ? 0 : (unsigned)small);
        r1 = ratios_of(g_variants[v].method, large < 0 ? 0 : (unsigned)large);
        goals[0].name = "4 KiB pair / 2 NOP", goals[0].s = small, goals[0].value = r4.pair_over_two_nops;
        goals[0].limit = 1.05, goals[0].at_most = 1;
        goals[1].name = "1 MiB stream / ECHO", goals[1].s = large, goals[1].value = r1.stream_over_carry;
        goals[1].limit = 0.9, goals[1].at_most = 0;
        goals[2].name = "1 MiB overlapped / ECHO", goals[2].s = large, goals[2].value = r1.overlapped_over_carry;
        goals[2].limit = 0.9, goals[2].at_most = 0;
        for (g = 0; g < 3; g++) {
            int met = goals[g].at_most ? goals[g].value <= goals[g].limit : goals[g].value >= goals[g].limit;

            if (goals[g].s < 0)
                continue;
            if (json)
                fprintf(f, "%s\n    {\"method\": \"%s\", \"goal\": \"%s %s %.2f\", \"value\": %.4f, \"met\": %s}",
                        first ? "" : ",", g_variants[v].method, goals[g].name, goals[g].at_most ? "<=" : ">=",
                        goals[g].limit, goals[g].value, met ? "true" : "false");
            else
                fprintf(f, "| %s | %s %s %.2f | %.3f | %s |\n", g_variants[v].method, goals[g].name,
                        goals[g].at_most ? "<=" : ">=", goals[g].limit, goals[g].value, met ? "met" : "**not met**");
            first = 0;
        }
    }
}

static void write_json(void)
{
    FILE *f = open_output("wine.json");
    unsigned t, v, s, i, d;

    fprintf(f, "{\n  \"label\": \"%s\",\n  \"trials\": %u,\n  \"trial_ms\": %u,\n  \"depth\": %u,\n", g_config.label,
            g_config.trials, g_config.trial_ms, g_config.depth);
    fprintf(f, "  \"pipe_buffer\": %u,\n  \"sizes\": [", PIPE_BUFFER);
    for (s = 0; s < g_config.size_count; s++)
        fprintf(f, "%s%u", s ? ", " : "", g_config.sizes[s]);
    fprintf(f, "],\n  \"tables\": [\n");
    for (t = 0; t < TABLE_COUNT; t++) {
        int first_variant = 1;

        fprintf(f, "    {\n      \"name\": \"%s\",\n      \"title\": \"%s\",\n      \"unit\": \"%s\",\n      \"variants\": [\n",
                g_tables[t].name, g_tables[t].title, g_tables[t].unit);
        for (v = 0; v < g_variant_count; v++) {
            if (!takes_part(&g_tables[t], &g_variants[v]))
                continue;
            fprintf(f, "%s        {\"name\": \"%s\", \"results\": [\n", first_variant ? "" : ",\n", g_variants[v].name);
            first_variant = 0;
            for (s = 0; s < g_config.size_count; s++) {
                const result *r = &g_results[t][v][s];

                fprintf(f, "          {\"size\": %u, \"median\": %.3f, \"min\": %.3f, \"max\": %.3f, \"ops\": %u",
                        g_config.sizes[s], r->median, r->min, r->max, r->ops);
                if (g_variants[v].kind == KIND_DEVICE)
                    fprintf(f, ", \"bytes_out\": %llu, \"bytes_direct\": %llu", r->bytes_out, r->bytes_direct);
                fprintf(f, ", \"trials\": [");
                for (i = 0; i < g_config.trials; i++)
                    fprintf(f, "%s%.3f", i ? ", " : "", r->trials[i]);
                fprintf(f, "]}%s\n", s + 1 < g_config.size_count ? "," : "");
            }
            fprintf(f, "        ]}");
        }
        fprintf(f, "\n      ]\n    }%s\n", t + 1 < TABLE_COUNT ? "," : "");
    }
    fprintf(f, "  ],\n  \"ratios\": {\n");
    for (d = 0, v = 0; v < g_variant_count; v++) {
        if (g_variants[v].kind != KIND_DEVICE)
            continue;
        fprintf(f, "%s    \"%s\": [\n", d++ ? ",\n" : "", g_variants[v].method);
        for (s = 0; s < g_config.size_count; s++) {
            ratios r = ratios_of(g_variants[v].method, s);

            fprintf(f, "      {\"size\": %u, \"pair_over_two_nops\": %.4f, \"pair_over_nop_and_carry\": %.4f, "
                       "\"stream_over_carry\": %.4f, \"stream_over_named_pipe\": %.4f, "
                       "\"overlapped_over_carry\": %.4f, \"overlapped_over_named_pipe\": %.4f, "
                       "\"direct_share_pair\": %.4f, \"direct_share_stream\": %.4f, "
                       "\"direct_share_overlapped\": %.4f}%s\n",
                    g_config.sizes[s], r.pair_over_two_nops, r.pair_over_nop_and_carry, r.stream_over_carry,
                    r.stream_over_named_pipe, r.overlapped_over_carry, r.overlapped_over_named_pipe,
                    r.direct_share_pair, r.direct_share_stream, r.direct_share_overlapped,
                    s + 1 < g_config.size_count ? "," : "");
        }
        fprintf(f, "    ]");
    }
    fprintf(f, "\n  },\n  \"goals\": [");
    write_goals(f, 1);
    fprintf(f, "\n  ]\n}\n");
    fclose(f);
}

static const char *size_text(unsigned size, char *text, size_t chars)
{
    if (size >= (1u << 20) && size % (1u << 20) == 0)
        snprintf(text, chars, "%u MiB", size >> 20);
    else if (size >= 1024 && size % 1024 == 0)
        snprintf(text, chars, "%u KiB", size >> 10);
    else
        snprintf(text, chars, "%u B", size);
    return text;
}

/* Three significant digits, without exponents. */
static const char *figure_text(double value, char *text, size_t chars)
{
    int decimals = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3;

    snprintf(text, chars, "%.*f", decimals, value);
    return text;
}

static void write_markdown(void)
{
    FILE *f = open_output("wine.md");
    unsigned t, v, s;
    char text[32];

    for (t = 0; t < TABLE_COUNT; t++) {
        fprintf(f, "#### %s\n\n| variant |", g_tables[t].title);
        for (s = 0; s < g_config.size_count; s++)
            fprintf(f, " %s |", size_text(g_config.sizes[s], text, sizeof(text)));
        fprintf(f, "\n|---|");
        for (s = 0; s < g_config.size_count; s++)
            fprintf(f, "---:|");
        fprintf(f, "\n");
        for (v = 0; v < g_variant_count; v++) {
            if (!takes_part(&g_tables[t], &g_variants[v]))
                continue;
            fprintf(f, "| %s |", g_variants[v].name);
            for (s = 0; s < g_config.size_count; s++)
                fprintf(f, " %s |", figure_text(g_results[t][v][s].median, text, sizeof(text)));
            fprintf(f, "\n");
        }
        fprintf(f, "\n");
    }
    fprintf(f, "#### Ratios (medians of this run)\n\n"
               "| method | size | pair / 2 NOP | pair / (NOP + ECHO) | stream / ECHO | stream / named pipe | "
               "overlapped / ECHO | overlapped / named pipe | direct hand-off (pair, stream, overlapped) |\n"
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (v = 0; v < g_variant_count; v++) {
        if (g_variants[v].kind != KIND_DEVICE)
            continue;
        for (s = 0; s < g_config.size_count; s++) {
            ratios r = ratios_of(g_variants[v].method, s);

            fprintf(f, "| %s | %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.0f%%, %.0f%%, %.0f%% |\n",
                    g_variants[v].method, size_text(g_config.sizes[s], text, sizeof(text)), r.pair_over_two_nops,
                    r.pair_over_nop_and_carry, r.stream_over_carry, r.stream_over_named_pipe,
                    r.overlapped_over_carry, r.overlapped_over_named_pipe, 100 * r.direct_share_pair,
                    100 * r.direct_share_stream, 100 * r.direct_share_overlapped);
        }
    }
    fprintf(f, "\n#### Goals this run can judge\n\n| method | goal | this run | |\n|---|---|---:|---|\n");
    write_goals(f, 0);
    fclose(f);
}

/* One data file per table for gnuplot: size, then each variant's median, min and max. */
static void write_plot_data(void)
{
    unsigned t, v, s;

    for (t = 0; t < TABLE_COUNT; t++) {
        char file[64];
        FILE *f;

        snprintf(file, sizeof(file), "%s.dat", g_tables[t].name);
        f = open_output(file);
        fprintf(f, "# %s\n# size", g_tables[t].title);
        for (v = 0; v < g_variant_count; v++)
            if (takes_part(&g_tables[t], &g_variants[v]))
                fprintf(f, " %s(median,min,max)", g_variants[v].name);
        fprintf(f, "\n");
        for (s = 0; s < g_config.size_count; s++) {
            fprintf(f, "%u", g_config.sizes[s]);
            for (v = 0; v < g_variant_count; v++) {
                const result *r = &g_results[t][v][s];

                if (takes_part(&g_tables[t], &g_variants[v]))
                    fprintf(f, " %.3f %.3f %.3f", r->median, r->min, r->max);
            }
            fprintf(f, "\n");
        }
        fclose(f);
    }
    {
        FILE *f = open_output("ratios.dat");

        fprintf(f, "# size, then per device method: pair/2NOP pair/(NOP+ECHO) stream/ECHO overlapped/ECHO "
                   "stream/named-pipe\n");
        for (s = 0; s < g_config.size_count; s++) {
            fprintf(f, "%u", g_config.sizes[s]);
            for (v = 0; v < g_variant_count; v++) {
                if (g_variants[v].kind == KIND_DEVICE) {
                    ratios r = ratios_of(g_variants[v].method, s);

                    fprintf(f, " %.4f %.4f %.4f %.4f %.4f", r.pair_over_two_nops, r.pair_over_nop_and_carry,
                            r.stream_over_carry, r.overlapped_over_carry, r.stream_over_named_pipe);
                }
            }
            fprintf(f, "\n");
        }
        fclose(f);
    }
}

/* ---- arguments --------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: lbkbench --devices NAME[,NAME...] --out DIR [--sizes N,N,...] [--trials N]\n"
                    "                [--trial-ms MS] [--depth D] [--label TEXT] [--tables pair,stream,overlapped]\n"
                    "                [--devices-only]\n");
    exit(1);
}

static unsigned parse_number(const wchar_t *text, unsigned low, unsigned high)
{
    wchar_t *end;
    unsigned long value = wcstoul(text, &end, 10);

    if (end == text || *end != 0 || value < low || value > high) {
        fprintf(stderr, "lbkbench: %ls: expected a number from %u to %u\n", text, low, high);
        exit(1);
    }
    return (unsigned)value;
}

/* Splits "a,b,c" into at most max parts of at most LBK_MAX_NAME_CHARS characters; returns the count. */
static unsigned split_list(const wchar_t *text, wchar_t parts[][LBK_MAX_NAME_CHARS + 1], unsigned max)
{
    unsigned count = 0;

    while (*text != 0) {
        size_t length = wcscspn(text, L",");

        if (count == max || length == 0 || length > LBK_MAX_NAME_CHARS)
            usage();
        wmemcpy(parts[count], text, length);
        parts[count++][length] = 0;
        text += length;
        if (*text == L',')
            text++;
    }
    return count;
}

static void parse_arguments(int argc, wchar_t **argv)
{
    static char out_dir[512], label[128];
    int i;

    for (i = 1; i < argc; i++) {
        const wchar_t *option = argv[i], *value;

        if (wcscmp(option, L"--devices-only") == 0) {
            g_config.devices_only = 1;
            continue;
        }
        if (i + 1 == argc)
            usage();
        value = argv[++i];

        if (wcscmp(option, L"--devices") == 0) {
            wchar_t parts[MAX_DEVICES][LBK_MAX_NAME_CHARS + 1];
            unsigned k;

            g_config.device_count = split_list(value, parts, MAX_DEVICES);
            for (k = 0; k < g_config.device_count; k++)
                wcscpy(g_config.devices[k], parts[k]);
        } else if (wcscmp(option, L"--sizes") == 0) {
            wchar_t parts[MAX_SIZES][LBK_MAX_NAME_CHARS + 1];
            unsigned k;

            g_config.size_count = split_list(value, parts, MAX_SIZES);
            for (k = 0; k < g_config.size_count; k++)
                g_config.sizes[k] = parse_number(parts[k], 1, 16u << 20);
        } else if (wcscmp(option, L"--trials") == 0) {
            g_config.trials = parse_number(value, 1, MAX_TRIALS);
        } else if (wcscmp(option, L"--trial-ms") == 0) {
            g_config.trial_ms = parse_number(value, 1, 60000);
        } else if (wcscmp(option, L"--depth") == 0) {
            g_config.depth = parse_number(value, 1, MAX_DEPTH);
        } else if (wcscmp(option, L"--out") == 0) {
            snprintf(out_dir, sizeof(out_dir), "%ls", value);
            g_config.out_dir = out_dir;
        } else if (wcscmp(option, L"--tables") == 0) {
            wchar_t parts[TABLE_COUNT][LBK_MAX_NAME_CHARS + 1];
            unsigned k, t, count = split_list(value, parts, TABLE_COUNT);

            memset(g_config.table_wanted, 0, sizeof(g_config.table_wanted));
            for (k = 0; k < count; k++) {
                for (t = 0; t < TABLE_COUNT; t++) {
                    wchar_t name[16];

                    swprintf(name, sizeof(name) / sizeof(name[0]), L"%hs", g_tables[t].name);
                    if (wcscmp(parts[k], name) == 0)
                        break;
                }
                if (t == TABLE_COUNT)
                    usage();
                g_config.table_wanted[t] = 1;
            }
        } else if (wcscmp(option, L"--label") == 0) {
            snprintf(label, sizeof(label), "%ls", value);
            g_config.label = label;
        } else {
            usage();
        }
    }
    if (g_config.device_count == 0 || g_config.out_dir == NULL || g_config.size_count == 0)
        usage();
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    LARGE_INTEGER frequency;
    unsigned d, t;

    parse_arguments(argc, argv);
    /* Sizes in increasing order: the tables and plots read left to right, and the last is the largest. */
    qsort(g_config.sizes, g_config.size_count, sizeof(unsigned), compare_unsigned);
    QueryPerformanceFrequency(&frequency);
    g_ticks_per_us = (double)frequency.QuadPart / 1e6;
    g_source = checked_malloc(g_config.sizes[g_config.size_count - 1]);
    for (d = 0; d < g_config.device_count; d++)
        add_device(g_config.devices[d]);
    add_pipes();
    for (t = 0; t < TABLE_COUNT; t++)
        if (g_config.table_wanted[t])
            run_table(t);
    write_json();
    write_markdown();
    write_plot_data();
    return 0;
}
