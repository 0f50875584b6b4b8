/*
 * stress.c - load, cancellation and bad-input tests of a loaded device (user mode, under Wine
 * or Windows). Each subcommand prints PASS/FAIL lines with its figures and exits non-zero when
 * one failed. A watchdog ends the process with a FAIL line when a phase outlives its deadline,
 * so a hang is a failure, never a stuck run.
 *
 *   lbkstress stream  --device NAME --bytes N [--writers W] [--readers R] [--seed S] [--label L]
 *   lbkstress cancel  --device NAME --requests N [--kills K] [--storms MASK] [--seed S] [--label L]
 *   lbkstress ioctls  --device NAME [--codes all|near] [--label L]
 *   lbkstress badbuffers --device NAME [--label L]
 *   lbkstress cycles  --image PATH --count N [--seed S] [--label L]
 *   lbkstress serial  --port-a NAME --port-b NAME --bytes N --mode cts|dsr|xonxoff|rts-handshake|dtr-handshake|none
 *                     [--seed S] [--label L]   (both ends of a serial pair, N bytes each way under a handshake)
 *   lbkstress child   --device NAME --seed S      (helper of cancel: I/O until it is killed)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "../../windows/lib/lbk_client.h"
#include <winternl.h> /* RtlNtStatusToDosError: the result of a request whose handle is closed */

#define CELL_BYTES 16u       /* the unit writers tag: writer id, sequence number, two checks */
#define DEEP 8               /* overlapped requests each completion-port worker keeps in flight */
#define MAX_THREADS 16
#define WAIT_MS 10000        /* no single request may take longer than this */
#define STORM_SLOTS 64       /* requests in flight at once in the CancelIoEx storm */
#define FILL_BYTE 0x5A       /* what the cancellation storm writes, so reads can check it */

static const wchar_t *g_device = L"LBK";
static const wchar_t *g_label = L"";
static int g_failed;

/* ---- reporting, deadlines, randomness --------------------------------------------------- */

static void report(int ok, const char *name, const char *format, ...)
{
    va_list args;

    printf("%s stress: %s[%ls] ", ok ? "PASS" : "FAIL", name, g_label);
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
    if (!ok)
        g_failed = 1;
}

static volatile LONG g_error_count;

/* Counts an integrity error; the first few are described on stderr. */
static void integrity_error(const char *format, ...)
{
    va_list args;

    if (InterlockedIncrement(&g_error_count) > 20)
        return;
    va_start(args, format);
    fprintf(stderr, "  error: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
}

static const char *volatile g_phase = "start";
static volatile LONG g_deadline_seconds = 600;

static DWORD WINAPI watchdog(void *unused)
{
    DWORD started = GetTickCount();
    const char *watched = g_phase;

    (void)unused;
    for (;;) {
        Sleep(250);
        if (g_phase != watched) {
            watched = g_phase;
            started = GetTickCount();
        } else if (GetTickCount() - started > (DWORD)g_deadline_seconds * 1000u) {
            printf("FAIL stress: %s[%ls] hung: no end after %ld s\n", watched, g_label, g_deadline_seconds);
            fflush(stdout);
            ExitProcess(4);
        }
    }
}

/* Each phase has its own deadline, counted from when it starts. */
static void phase(const char *name, LONG seconds)
{
    g_deadline_seconds = seconds;
    g_phase = name;
}

typedef struct rng { uint64_t state; } rng;

static uint64_t rng_next(rng *r)
{
    /* xorshift64*: fast, and reproducible from the printed seed. */
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * 0x2545F4914F6CDD1Dull;
}

static uint32_t rng_below(rng *r, uint32_t bound) /* 0 .. bound-1; bound > 0 */
{
    return (uint32_t)(rng_next(r) % bound);
}

static rng rng_seeded(uint64_t seed, uint64_t stream)
{
    rng r = { seed * 0x9E3779B97F4A7C15ull + stream * 0xD1B54A32D192ED03ull + 1 };

    rng_next(&r);
    return r;
}

static double seconds_since(LARGE_INTEGER start)
{
    LARGE_INTEGER now, frequency;

    QueryPerformanceCounter(&now);
    QueryPerformanceFrequency(&frequency);
    return (double)(now.QuadPart - start.QuadPart) / (double)frequency.QuadPart;
}

static void *checked_malloc(size_t bytes)
{
    void *p = malloc(bytes != 0 ? bytes : 1);

    if (p == NULL) {
        fprintf(stderr, "lbkstress: out of memory (%zu bytes)\n", bytes);
        ExitProcess(2);
    }
    return p;
}

/* ---- the device ------------------------------------------------------------------------- */

static HANDLE open_overlapped(void)
{
    HANDLE h;
    DWORD error = lbk_open(g_device, GENERIC_READ | GENERIC_WRITE, &h);

    if (error != ERROR_SUCCESS) {
        fprintf(stderr, "lbkstress: cannot open %ls: error %lu\n", g_device, error);
        ExitProcess(2);
    }
    return h;
}

/* A handle without FILE_FLAG_OVERLAPPED: ReadFile and WriteFile block in the calling thread. */
static HANDLE open_synchronous(void)
{
    wchar_t path[LBK_MAX_NAME_CHARS + 8];
    HANDLE h;

    swprintf(path, sizeof(path) / sizeof(path[0]), L"\\\\.\\%ls", g_device);
    h = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "lbkstress: cannot open %ls: error %lu\n", path, GetLastError());
        ExitProcess(2);
    }
    return h;
}

static lbk_stats stats_of(HANDLE h)
{
    lbk_stats s;
    DWORD error = lbk_get_stats(h, &s);

    if (error != ERROR_SUCCESS) {
        fprintf(stderr, "lbkstress: GET_STATS failed: error %lu\n", error);
        ExitProcess(2);
    }
    return s;
}

static int stats_balanced(const lbk_stats *s)
{
    return s->bytes_in == s->bytes_out + s->bytes_purged + s->bytes_queued;
}

/* Waits (polling, with a deadline) until nothing is queued in the driver and only `handles` are open. */
static int wait_quiet(HANDLE h, uint32_t handles)
{
    DWORD start = GetTickCount();

    for (;;) {
        lbk_stats s = stats_of(h);

        if (s.pending_reads == 0 && s.pending_writes == 0 && s.open_handles == handles)
            return 1;
        if (GetTickCount() - start > WAIT_MS) {
            fprintf(stderr, "  still %u reads and %u writes queued, %u handles open (want %u)\n", s.pending_reads,
                    s.pending_writes, s.open_handles, handles);
            return 0;
        }
        Sleep(10);
    }
}

/* Reads until the device is empty; returns the bytes read. Nothing else may be reading. */
static uint64_t drain(HANDLE h, int check_fill)
{
    static uint8_t buffer[1 << 16];
    uint64_t total = 0;
    DWORD n, i;

    while (stats_of(h).bytes_queued != 0 && lbk_read(h, buffer, sizeof(buffer), WAIT_MS, &n) == ERROR_SUCCESS) {
        for (i = 0; check_fill && i < n; i++) {
            if (buffer[i] != FILL_BYTE) {
                integrity_error("drained byte %lu is 0x%02x", i, buffer[i]);
                break;
            }
        }
        total += n;
    }
    return total;
}

static int round_trip(HANDLE h)
{
    static const char ping[] = "still alive";
    char buffer[sizeof(ping)] = { 0 };
    DWORD n = 0, m = 0;

    return lbk_write(h, ping, sizeof(ping), WAIT_MS, &n) == ERROR_SUCCESS && n == sizeof(ping) &&
           lbk_read(h, buffer, sizeof(buffer), WAIT_MS, &m) == ERROR_SUCCESS && m == sizeof(ping) &&
           memcmp(buffer, ping, sizeof(ping)) == 0;
}

/* ==== stream: integrity under load ======================================================= */

/*
 * Writers send cells {writer, sequence, check, check}. Every write and read is a whole number
 * of cells and the capacity is too, so reads never split a cell and each cell can be checked on
 * its own: corrupted (checks), duplicated (a bitmap per writer), reordered (sequence numbers
 * from one writer rise within each reader's stream, taken in issue order), lost (count).
 */
typedef struct stream_run {
    uint32_t writers, readers, capacity, max_cells;
    uint64_t cells_per_writer;
    volatile LONG *seen; /* bit per (writer, sequence) */
    volatile LONG64 cells_received, requests;
    volatile LONG writers_done, stop;
    HANDLE reader_handles[MAX_THREADS];
    uint64_t seed;
} stream_run;

static stream_run g_run;

static uint32_t cell_check(uint32_t writer, uint32_t sequence, uint32_t salt)
{
    uint64_t x = ((uint64_t)writer << 32 | sequence) * 0x9E3779B97F4A7C15ull + salt;

    return (uint32_t)(x >> 29) ^ (uint32_t)x;
}

static void fill_cells(uint8_t *buffer, uint32_t writer, uint64_t first, uint32_t cells)
{
    uint32_t i;

    for (i = 0; i < cells; i++) {
        uint32_t cell[4];

        cell[0] = writer;
        cell[1] = (uint32_t)(first + i);
        cell[2] = cell_check(cell[0], cell[1], 1);
        cell[3] = cell_check(cell[0], cell[1], 2);
        memcpy(buffer + (size_t)i * CELL_BYTES, cell, CELL_BYTES);
    }
}

/* Checks what one read returned; last[w] is the reader's last sequence from writer w, or -1. */
static void verify_cells(const uint8_t *buffer, DWORD bytes, int64_t *last, uint32_t reader)
{
    uint32_t i, cells = bytes / CELL_BYTES;

    if (bytes % CELL_BYTES != 0)
        integrity_error("reader %u got %lu bytes, not whole cells", reader, bytes);
    for (i = 0; i < cells; i++) {
        uint32_t cell[4];
        uint64_t index;

        memcpy(cell, buffer + (size_t)i * CELL_BYTES, CELL_BYTES);
        if (cell[0] >= g_run.writers || cell[1] >= g_run.cells_per_writer ||
            cell[2] != cell_check(cell[0], cell[1], 1) || cell[3] != cell_check(cell[0], cell[1], 2)) {
            integrity_error("reader %u: corrupted cell %08x %08x %08x %08x", reader, cell[0], cell[1], cell[2], cell[3]);
            continue;
        }
        index = cell[0] * g_run.cells_per_writer + cell[1];
        if (InterlockedBitTestAndSet(&g_run.seen[index / 32], (LONG)(index % 32)))
            integrity_error("writer %u cell %u arrived twice", cell[0], cell[1]);
        if ((int64_t)cell[1] <= last[cell[0]])
            integrity_error("reader %u: writer %u cell %u after cell %lld", reader, cell[0], cell[1], last[cell[0]]);
        last[cell[0]] = cell[1];
    }
    InterlockedExchangeAdd64(&g_run.cells_received, cells);
}

typedef struct io_slot {
    OVERLAPPED overlapped;
    uint8_t *buffer;
    DWORD length;
    int busy, done;
    DWORD result, transferred;
} io_slot;

/* DEEP idle slots, each with a buffer of `bytes`. */
static void slots_init(io_slot *slots, size_t bytes)
{
    int i;

    memset(slots, 0, sizeof(io_slot) * DEEP);
    for (i = 0; i < DEEP; i++)
        slots[i].buffer = checked_malloc(bytes);
}

static void slots_free(io_slot *slots)
{
    int i;

    for (i = 0; i < DEEP; i++)
        free(slots[i].buffer);
}

/* Writers with an even id block in WriteFile; odd ones keep DEEP writes in flight on a port. */
static DWORD WINAPI stream_writer(void *param)
{
    uint32_t id = (uint32_t)(uintptr_t)param;
    rng r = rng_seeded(g_run.seed, 100 + id);
    uint64_t next = 0;
    size_t max_bytes = (size_t)g_run.max_cells * CELL_BYTES;

    if (id % 2 == 0) {
        HANDLE h = open_synchronous();
        uint8_t *buffer = checked_malloc(max_bytes);

        while (next < g_run.cells_per_writer) {
            uint32_t cells = rng_below(&r, g_run.max_cells + 1);
            DWORD n = 0;

            if (cells > g_run.cells_per_writer - next)
                cells = (uint32_t)(g_run.cells_per_writer - next);
            fill_cells(buffer, id, next, cells);
            if (!WriteFile(h, buffer, cells * CELL_BYTES, &n, NULL) || n != cells * CELL_BYTES)
                integrity_error("writer %u: WriteFile of %u bytes: %lu bytes, error %lu", id, cells * CELL_BYTES, n,
                                GetLastError());
            InterlockedIncrement64(&g_run.requests);
            next += cells;
        }
        free(buffer);
        CloseHandle(h);
    } else {
        HANDLE h = open_overlapped();
        HANDLE port = CreateIoCompletionPort(h, NULL, 0, 1);
        io_slot slots[DEEP];
        int in_flight = 0, i;

        slots_init(slots, max_bytes);
        for (;;) {
            OVERLAPPED *overlapped;
            ULONG_PTR key;
            DWORD n;
            BOOL ok;

            for (i = 0; i < DEEP && next < g_run.cells_per_writer; i++) {
                uint32_t cells = rng_below(&r, g_run.max_cells + 1);

                if (slots[i].busy)
                    continue;
                if (cells > g_run.cells_per_writer - next)
                    cells = (uint32_t)(g_run.cells_per_writer - next);
                fill_cells(slots[i].buffer, id, next, cells);
                memset(&slots[i].overlapped, 0, sizeof(slots[i].overlapped));
                slots[i].length = cells * CELL_BYTES;
                if (!WriteFile(h, slots[i].buffer, slots[i].length, NULL, &slots[i].overlapped) &&
                    GetLastError() != ERROR_IO_PENDING) {
                    integrity_error("writer %u: WriteFile failed at once: error %lu", id, GetLastError());
                    continue;
                }
                slots[i].busy = 1;
                in_flight++;
                next += cells;
                InterlockedIncrement64(&g_run.requests);
            }
            if (in_flight == 0)
                break;
            ok = GetQueuedCompletionStatus(port, &n, &key, &overlapped, WAIT_MS);
            if (overlapped == NULL) {
                integrity_error("writer %u: no completion in %u ms", id, WAIT_MS);
                continue;
            }
            i = (int)(CONTAINING_RECORD(overlapped, io_slot, overlapped) - slots);
            if (!slots[i].busy)
                integrity_error("writer %u: a write completed twice", id);
            if (!ok || n != slots[i].length)
                integrity_error("writer %u: write of %lu bytes: %lu bytes, error %lu", id, slots[i].length, n,
                                ok ? 0 : GetLastError());
            slots[i].busy = 0;
            in_flight--;
        }
        slots_free(slots);
        CloseHandle(port);
        CloseHandle(h);
    }
    InterlockedIncrement(&g_run.writers_done);
    return 0;
}

static DWORD stream_read_length(rng *r)
{
    /* Mostly whole cells up to a few capacities; now and then a zero-length read. */
    return rng_below(r, 50) == 0 ? 0 : (1 + rng_below(r, g_run.max_cells)) * CELL_BYTES;
}

/* Readers with an even id block in ReadFile; odd ones keep DEEP reads in flight on a port. */
static DWORD WINAPI stream_reader(void *param)
{
    uint32_t id = (uint32_t)(uintptr_t)param;
    rng r = rng_seeded(g_run.seed, 200 + id);
    size_t max_bytes = (size_t)g_run.max_cells * CELL_BYTES;
    int64_t *last = checked_malloc(sizeof(int64_t) * g_run.writers);
    uint32_t w;

    for (w = 0; w < g_run.writers; w++)
        last[w] = -1;
    if (id % 2 == 0) {
        HANDLE h = g_run.reader_handles[id];
        uint8_t *buffer = checked_malloc(max_bytes);

        while (!g_run.stop) {
            DWORD length = stream_read_length(&r), n = 0;

            if (!ReadFile(h, buffer, length, &n, NULL)) {
                if (GetLastError() != ERROR_OPERATION_ABORTED || !g_run.stop)
                    integrity_error("reader %u: ReadFile: error %lu", id, GetLastError());
            }
            InterlockedIncrement64(&g_run.requests);
            verify_cells(buffer, n, last, id);
        }
        free(buffer);
    } else {
        HANDLE h = g_run.reader_handles[id];
        HANDLE port = CreateIoCompletionPort(h, NULL, 0, 1);
        io_slot slots[DEEP];
        int in_flight = 0, oldest = 0, next_issue = 0, i;

        /* Slots are issued and handled in one circular order, so data is checked in issue order. */
        slots_init(slots, max_bytes);
        for (;;) {
            OVERLAPPED *overlapped;
            ULONG_PTR key;
            DWORD n;
            BOOL ok;

            while (!g_run.stop && !slots[next_issue].busy && !slots[next_issue].done) {
                io_slot *slot = &slots[next_issue];

                memset(&slot->overlapped, 0, sizeof(slot->overlapped));
                slot->length = stream_read_length(&r);
                if (!ReadFile(h, slot->buffer, slot->length, NULL, &slot->overlapped) &&
                    GetLastError() != ERROR_IO_PENDING) {
                    integrity_error("reader %u: ReadFile failed at once: error %lu", id, GetLastError());
                    break;
                }
                slot->busy = 1;
                in_flight++;
                next_issue = (next_issue + 1) % DEEP;
                InterlockedIncrement64(&g_run.requests);
            }
            if (in_flight == 0 && g_run.stop)
                break;
            ok = GetQueuedCompletionStatus(port, &n, &key, &overlapped, 50);
            if (overlapped == NULL) {
                if (g_run.stop)
                    CancelIoEx(h, NULL);
                continue;
            }
            i = (int)(CONTAINING_RECORD(overlapped, io_slot, overlapped) - slots);
            if (!slots[i].busy)
                integrity_error("reader %u: a read completed twice", id);
            slots[i].busy = 0;
            slots[i].done = 1;
            slots[i].transferred = n;
            slots[i].result = ok ? ERROR_SUCCESS : GetLastError();
            in_flight--;
            while (slots[oldest].done) {
                io_slot *done = &slots[oldest];

                if (done->result != ERROR_SUCCESS && !(done->result == ERROR_OPERATION_ABORTED && g_run.stop))
                    integrity_error("reader %u: read: error %lu", id, done->result);
                verify_cells(done->buffer, done->transferred, last, id);
                done->done = 0;
                oldest = (oldest + 1) % DEEP;
            }
        }
        slots_free(slots);
        CloseHandle(port);
    }
    free(last);
    return 0;
}

/* One writer and one reader, any byte count: the stream's bytes must come out exactly. */
static uint8_t stream_byte(uint64_t position)
{
    uint64_t x = (position >> 3) * 0x9E3779B97F4A7C15ull;

    return (uint8_t)(x >> (8 * (position & 7)));
}

typedef struct byte_stream { uint64_t bytes; uint64_t seed; uint32_t capacity; } byte_stream;

static DWORD WINAPI byte_writer(void *param)
{
    const byte_stream *plan = param;
    rng r = rng_seeded(plan->seed, 300);
    uint8_t *buffer = checked_malloc((size_t)plan->capacity * 4);
    HANDLE h = open_synchronous();
    uint64_t position = 0;

    while (position < plan->bytes) {
        DWORD length = rng_below(&r, plan->capacity * 4 + 1), n = 0, i;

        if (length > plan->bytes - position)
            length = (DWORD)(plan->bytes - position);
        for (i = 0; i < length; i++)
            buffer[i] = stream_byte(position + i);
        if (!WriteFile(h, buffer, length, &n, NULL) || n != length)
            integrity_error("byte writer: %lu of %lu bytes, error %lu", n, length, GetLastError());
        position += length;
    }
    free(buffer);
    CloseHandle(h);
    return 0;
}

static uint64_t byte_stream_read(const byte_stream *plan)
{
    rng r = rng_seeded(plan->seed, 301);
    uint8_t *buffer = checked_malloc((size_t)plan->capacity * 4);
    HANDLE h = open_synchronous();
    uint64_t position = 0;
    int reported = 0;

    while (position < plan->bytes) {
        DWORD length = 1 + rng_below(&r, plan->capacity * 4), n = 0, i;

        if (!ReadFile(h, buffer, length, &n, NULL) || n == 0 || n > length) {
            integrity_error("byte reader: %lu of %lu bytes, error %lu", n, length, GetLastError());
            break;
        }
        for (i = 0; i < n && !reported; i++) {
            if (buffer[i] != stream_byte(position + i)) {
                integrity_error("byte reader: byte %llu is 0x%02x, not 0x%02x", position + i, buffer[i],
                                stream_byte(position + i));
                reported = 1;
            }
        }
        position += n;
    }
    free(buffer);
    CloseHandle(h);
    return position;
}

static HANDLE start_thread(LPTHREAD_START_ROUTINE routine, void *param)
{
    HANDLE thread = CreateThread(NULL, 0, routine, param, 0, NULL);

    if (thread == NULL) {
        fprintf(stderr, "lbkstress: CreateThread: error %lu\n", GetLastError());
        ExitProcess(2);
    }
    return thread;
}

static int command_stream(uint64_t bytes, uint32_t writers, uint32_t readers, uint64_t seed)
{
    HANDLE control = open_overlapped();
    HANDLE threads[2 * MAX_THREADS];
    lbk_device_info info;
    lbk_stats before, after;
    LARGE_INTEGER start;
    uint64_t cells_total, stream_bytes, byte_bytes, through;
    byte_stream plan;
    double elapsed, byte_elapsed;
    uint32_t i;
    DWORD last_progress;
    LONG64 last_count = -1;

    if (lbk_get_info(control, &info) != ERROR_SUCCESS || info.capacity % CELL_BYTES != 0 || info.capacity == 0) {
        fprintf(stderr, "lbkstress: stream needs a capacity that is a multiple of %u bytes\n", CELL_BYTES);
        return 1;
    }
    if (writers == 0 || readers == 0 || writers > MAX_THREADS || readers > MAX_THREADS) {
        fprintf(stderr, "lbkstress: 1..%d writers and readers\n", MAX_THREADS);
        return 1;
    }
    memset(&g_run, 0, sizeof(g_run));
    g_run.writers = writers;
    g_run.readers = readers;
    g_run.capacity = info.capacity;
    g_run.max_cells = info.capacity / CELL_BYTES * 4; /* requests up to four times the ring */
    g_run.seed = seed;
    g_run.cells_per_writer = bytes / 2 / CELL_BYTES / writers; /* half the bytes as cells... */
    cells_total = g_run.cells_per_writer * writers;
    stream_bytes = cells_total * CELL_BYTES;
    g_run.seen = checked_malloc((size_t)(cells_total / 32 + 1) * sizeof(LONG));
    memset((void *)g_run.seen, 0, (size_t)(cells_total / 32 + 1) * sizeof(LONG));
    g_error_count = 0;
    before = stats_of(control);

    phase("stream_integrity", 600);
    QueryPerformanceCounter(&start);
    for (i = 0; i < readers; i++) {
        g_run.reader_handles[i] = i % 2 == 0 ? open_synchronous() : open_overlapped();
        threads[i] = start_thread(stream_reader, (void *)(uintptr_t)i);
    }
    for (i = 0; i < writers; i++)
        threads[readers + i] = start_thread(stream_writer, (void *)(uintptr_t)i);

    /* Done when every cell has arrived, or when nothing has moved for a while after the writers finished. */
    last_progress = GetTickCount();
    while (g_run.cells_received < (LONG64)cells_total) {
        Sleep(5);
        if (g_run.cells_received != last_count) {
            last_count = g_run.cells_received;
            last_progress = GetTickCount();
        } else if (g_run.writers_done == (LONG)writers && GetTickCount() - last_progress > 3000) {
            integrity_error("%lld of %llu cells never arrived", (long long)(cells_total - g_run.cells_received),
                            cells_total);
            break;
        }
    }
    elapsed = seconds_since(start);
    WaitForMultipleObjects(writers, threads + readers, TRUE, WAIT_MS);
    g_run.stop = 1;
    /* Blocked synchronous readers: cancel until every reader thread has left. */
    while (WaitForMultipleObjects(readers, threads, TRUE, 20) == WAIT_TIMEOUT) {
        for (i = 0; i < readers; i += 2) {
            CancelSynchronousIo(threads[i]);
            CancelIoEx(g_run.reader_handles[i], NULL);
        }
    }
    for (i = 0; i < readers + writers; i++)
        CloseHandle(threads[i]);
    for (i = 0; i < readers; i++)
        CloseHandle(g_run.reader_handles[i]);

    /* ...and the other half as a plain byte stream of any sizes, one writer to one reader. */
    plan.bytes = bytes - stream_bytes;
    plan.seed = seed;
    plan.capacity = info.capacity;
    QueryPerformanceCounter(&start);
    threads[0] = start_thread(byte_writer, &plan);
    byte_bytes = byte_stream_read(&plan);
    WaitForSingleObject(threads[0], WAIT_MS);
    CloseHandle(threads[0]);
    byte_elapsed = seconds_since(start);

    after = stats_of(control);
    through = stream_bytes + byte_bytes;
    report(g_error_count == 0 && g_run.cells_received == (LONG64)cells_total && byte_bytes == plan.bytes,
           "stream_integrity",
           "%llu bytes through (%llu as %llu tagged cells from %u writers to %u readers at %.1f MB/s, %llu as a byte "
           "stream at %.1f MB/s), %lld requests, %ld errors",
           through, stream_bytes, cells_total, writers, readers, (double)stream_bytes / elapsed / 1e6, byte_bytes,
           (double)byte_bytes / byte_elapsed / 1e6, (long long)g_run.requests, g_error_count);
    report(after.bytes_in - before.bytes_in == through && after.bytes_out - before.bytes_out == through &&
               after.bytes_queued == 0 && stats_balanced(&after),
           "stream_statistics_exact", "in +%llu, out +%llu, queued %llu, in == out + purged + queued: %s",
           after.bytes_in - before.bytes_in, after.bytes_out - before.bytes_out, after.bytes_queued,
           stats_balanced(&after) ? "yes" : "no");
    free((void *)g_run.seen);
    CloseHandle(control);
    return g_failed;
}

/* ==== cancel: storms of cancellation racing with completions ============================== */

/* What the in-process clients saw: every byte a write moved and every byte a read got. */
static volatile LONG64 g_bytes_written, g_bytes_read, g_aborted, g_completed, g_unreported;

static void account(BOOL is_write, DWORD result, DWORD transferred, const uint8_t *data, const char *who)
{
    DWORD i;

    if (result == ERROR_OPERATION_ABORTED)
        InterlockedIncrement64(&g_aborted);
    else if (result == ERROR_SUCCESS)
        InterlockedIncrement64(&g_completed);
    else
        integrity_error("%s: %s failed: error %lu", who, is_write ? "write" : "read", result);
    InterlockedExchangeAdd64(is_write ? &g_bytes_written : &g_bytes_read, transferred);
    for (i = 0; !is_write && i < transferred; i++) {
        if (data[i] != FILL_BYTE) {
            integrity_error("%s: read byte %lu is 0x%02x", who, i, data[i]);
            break;
        }
    }
}

/* Traffic on handles of its own, so that cancellations race with real completions. */
static volatile LONG g_pump_stop;
static uint32_t g_capacity;
static uint32_t g_storms = ~0u; /* which storms run: 1 CancelIoEx, 2 CancelSynchronousIo, 4 close, 8 pumps */

static DWORD WINAPI pump(void *param)
{
    rng r = rng_seeded((uint64_t)(uintptr_t)param, 400);
    uint8_t *buffer = checked_malloc((size_t)g_capacity * 2);
    HANDLE h = open_overlapped();

    while (!g_pump_stop) {
        DWORD length = 1 + rng_below(&r, g_capacity * 2u), n = 0, error;
        BOOL is_write = rng_below(&r, 2) == 0;

        memset(buffer, FILL_BYTE, length);
        error = is_write ? lbk_write(h, buffer, length, 1 + rng_below(&r, 5), &n)
                         : lbk_read(h, buffer, length, 1 + rng_below(&r, 5), &n);
        account(is_write, error == ERROR_TIMEOUT ? ERROR_OPERATION_ABORTED : error, n, buffer, "pump");
    }
    free(buffer);
    CloseHandle(h);
    return 0;
}

typedef struct storm_slot {
    OVERLAPPED overlapped;
    uint8_t *buffer;
    DWORD length;
    BOOL is_write;
    int busy;
    HANDLE handle;
} storm_slot;

/* Handles one completion packet of the storm; returns 0 when none came within the wait. */
static int storm_complete(HANDLE port, DWORD wait_ms, int *in_flight)
{
    OVERLAPPED *overlapped;
    ULONG_PTR key;
    DWORD n = 0;
    BOOL ok = GetQueuedCompletionStatus(port, &n, &key, &overlapped, wait_ms);
    storm_slot *slot;

    if (overlapped == NULL)
        return 0;
    slot = CONTAINING_RECORD(overlapped, storm_slot, overlapped);
    if (!slot->busy) {
        integrity_error("CancelIoEx storm: a request completed twice");
        return 1;
    }
    if (n > slot->length)
        integrity_error("CancelIoEx storm: %lu bytes done of a %lu-byte request", n, slot->length);
    account(slot->is_write, ok ? ERROR_SUCCESS : GetLastError(), n, slot->buffer, "CancelIoEx storm");
    slot->busy = 0;
    (*in_flight)--;
    return 1;
}

/* Issues `requests` overlapped reads and writes on several handles and cancels them at random. */
static void storm_cancel_io_ex(uint32_t requests, rng *r)
{
    enum { HANDLES = 4 };
    HANDLE handles[HANDLES], port = NULL;
    storm_slot slots[STORM_SLOTS];
    int in_flight = 0, i;
    uint32_t issued = 0;

    memset(slots, 0, sizeof(slots));
    for (i = 0; i < HANDLES; i++) {
        handles[i] = open_overlapped();
        port = CreateIoCompletionPort(handles[i], port, (ULONG_PTR)i, 1);
    }
    for (i = 0; i < STORM_SLOTS; i++)
        slots[i].buffer = checked_malloc((size_t)g_capacity * 2);
    while (issued < requests) {
        storm_slot *slot = &slots[rng_below(r, STORM_SLOTS)];
        uint32_t action = rng_below(r, 100);

        if (!slot->busy) {
            slot->handle = handles[rng_below(r, HANDLES)];
            slot->is_write = rng_below(r, 2) == 0;
            slot->length = rng_below(r, 20) == 0 ? 0 : 1 + rng_below(r, g_capacity * 2u);
            memset(slot->buffer, slot->is_write ? FILL_BYTE : 0, slot->length);
            memset(&slot->overlapped, 0, sizeof(slot->overlapped));
            slot->busy = 1;
            in_flight++;
            issued++;
            if (!(slot->is_write ? WriteFile(slot->handle, slot->buffer, slot->length, NULL, &slot->overlapped)
                                 : ReadFile(slot->handle, slot->buffer, slot->length, NULL, &slot->overlapped)) &&
                GetLastError() != ERROR_IO_PENDING) {
                /* No packet comes for a request that failed at once. */
                account(slot->is_write, GetLastError(), 0, slot->buffer, "CancelIoEx storm");
                slot->busy = 0;
                in_flight--;
            }
        }
        /* Cancel something at a random moment: one request (maybe done already), or a handle's all. */
        if (action < 45) {
            storm_slot *victim = &slots[rng_below(r, STORM_SLOTS)];

            if (victim->busy)
                CancelIoEx(victim->handle, &victim->overlapped);
        } else if (action < 48) {
            CancelIoEx(handles[rng_below(r, HANDLES)], NULL);
        } else if (action < 50) {
            Sleep(rng_below(r, 2));
        }
        while (storm_complete(port, 0, &in_flight))
            ;
        if (in_flight >= STORM_SLOTS)
            storm_complete(port, WAIT_MS, &in_flight);
    }
    for (i = 0; i < HANDLES; i++)
        CancelIoEx(handles[i], NULL);
    while (in_flight > 0) {
        if (!storm_complete(port, WAIT_MS, &in_flight)) {
            integrity_error("CancelIoEx storm: %d requests never completed", in_flight);
            break;
        }
    }
    for (i = 0; i < STORM_SLOTS; i++)
        free(slots[i].buffer);
    for (i = 0; i < HANDLES; i++)
        CloseHandle(handles[i]);
    CloseHandle(port);
}

/* Threads blocked in synchronous ReadFile/WriteFile, cancelled by CancelSynchronousIo. */
typedef struct sync_worker {
    HANDLE handle;
    uint64_t seed;
    volatile LONG *stop;
    uint64_t written;       /* bytes its writes reported */
    uint64_t aborted_room;  /* bytes its cancelled writes did not report as written */
    uint32_t id;
    int mode;               /* 0: reads and writes at random; 1: reads only; 2: writes only */
} sync_worker;

static DWORD WINAPI sync_io_worker(void *param)
{
    sync_worker *worker = param;
    rng r = rng_seeded(worker->seed, 500 + worker->id);
    uint8_t *buffer = checked_malloc((size_t)g_capacity * 2);

    while (!*worker->stop) {
        DWORD length = 1 + rng_below(&r, g_capacity * 2u), n = 0;
        BOOL is_write = worker->mode == 0 ? rng_below(&r, 2) == 0 : worker->mode == 2, ok;

        memset(buffer, is_write ? FILL_BYTE : 0, length);
        ok = is_write ? WriteFile(worker->handle, buffer, length, &n, NULL) : ReadFile(worker->handle, buffer, length, &n, NULL);
        account(is_write, ok ? ERROR_SUCCESS : GetLastError(), n, buffer, "CancelSynchronousIo");
        if (is_write) {
            worker->written += n;
            if (!ok)
                worker->aborted_room += length - n;
        }
    }
    free(buffer);
    return 0;
}

/*
 * Bytes the driver took from cancelled synchronous writes that the writer was not told of.
 * Windows reports them (0 here); Wine completes a synchronous request cancelled by
 * CancelSynchronousIo before the driver answers, so the writer learns 0. The driver's count for
 * the handle is the truth; the gap must fit in what the cancelled writes left unreported.
 */
static volatile LONG64 g_sync_unreported;

static void storm_cancel_synchronous_io_round(uint32_t cancels, int mode, rng *r)
{
    enum { WORKERS = 4 };
    sync_worker workers[WORKERS];
    HANDLE threads[WORKERS];
    volatile LONG stop = 0;
    uint32_t i;

    for (i = 0; i < WORKERS; i++) {
        workers[i].handle = open_synchronous();
        workers[i].seed = rng_next(r);
        workers[i].id = i;
        workers[i].stop = &stop;
        workers[i].mode = mode;
        workers[i].written = workers[i].aborted_room = 0;
        threads[i] = start_thread(sync_io_worker, &workers[i]);
    }
    for (i = 0; i < cancels; i++) {
        CancelSynchronousIo(threads[rng_below(r, WORKERS)]);
        if (rng_below(r, 4) == 0)
            Sleep(rng_below(r, 2));
    }
    stop = 1;
    while (WaitForMultipleObjects(WORKERS, threads, TRUE, 20) == WAIT_TIMEOUT) {
        for (i = 0; i < WORKERS; i++)
            CancelSynchronousIo(threads[i]);
    }
    for (i = 0; i < WORKERS; i++) {
        lbk_stats own = stats_of(workers[i].handle);

        if (own.handle_bytes_in < workers[i].written || own.handle_bytes_in - workers[i].written > workers[i].aborted_room)
            integrity_error("CancelSynchronousIo: handle %u: driver took %llu bytes, writer saw %llu (+ at most %llu "
                            "unreported)", i, own.handle_bytes_in, workers[i].written, workers[i].aborted_room);
        else
            g_sync_unreported += (LONG64)(own.handle_bytes_in - workers[i].written);
        CloseHandle(threads[i]);
        CloseHandle(workers[i].handle);
    }
}

/*
 * Wine 8.0 (not Windows) crashes winedevice when a cancel races with the driver's completion of
 * the same request: the server queues the cancel with the IRP's address, the driver completes and
 * Wine frees the IRP, then Wine calls IoCancelIrp on the freed memory (docs/reliability.md has
 * the trace). CancelSynchronousIo hits that race often, so under Wine its storm cancels only
 * requests that nothing else can complete: reads of an empty device, then writes to a full one,
 * with no other traffic. On Windows readers and writers complete each other's requests meanwhile.
 */
static int running_under_wine(void)
{
    return GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != NULL;
}

static void storm_cancel_synchronous_io(uint32_t cancels, HANDLE control, rng *r)
{
    static uint8_t fill[1 << 16];
    DWORD n;

    if (!running_under_wine()) {
        storm_cancel_synchronous_io_round(cancels, 0, r);
        return;
    }
    g_bytes_read += (LONG64)drain(control, 1);
    storm_cancel_synchronous_io_round(cancels / 2, 1, r);
    memset(fill, FILL_BYTE, sizeof(fill));
    while (stats_of(control).bytes_queued < g_capacity) {
        DWORD room = g_capacity - (DWORD)stats_of(control).bytes_queued;

        if (lbk_write(control, fill, room < sizeof(fill) ? room : sizeof(fill), WAIT_MS, &n) != ERROR_SUCCESS)
            break;
        g_bytes_written += n;
    }
    storm_cancel_synchronous_io_round(cancels / 2, 2, r);
}

/* Requests left behind by a thread that exits, or on a handle that is closed, with events. */
typedef struct orphan_batch {
    HANDLE handle;
    uint32_t count;
    OVERLAPPED overlapped[4];
    uint8_t *buffers[4];
    DWORD lengths[4];
    BOOL is_write[4];
    uint64_t seed;
} orphan_batch;

static void orphan_issue(orphan_batch *batch)
{
    rng r = rng_seeded(batch->seed, 600);
    uint32_t i;

    for (i = 0; i < batch->count; i++) {
        batch->is_write[i] = rng_below(&r, 2) == 0;
        batch->lengths[i] = 1 + rng_below(&r, g_capacity * 2u);
        memset(batch->buffers[i], batch->is_write[i] ? FILL_BYTE : 0, batch->lengths[i]);
        memset(&batch->overlapped[i], 0, sizeof(batch->overlapped[i]));
        batch->overlapped[i].hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (!(batch->is_write[i] ? WriteFile(batch->handle, batch->buffers[i], batch->lengths[i], NULL, &batch->overlapped[i])
                                 : ReadFile(batch->handle, batch->buffers[i], batch->lengths[i], NULL, &batch->overlapped[i])) &&
            GetLastError() != ERROR_IO_PENDING) {
            account(batch->is_write[i], GetLastError(), 0, batch->buffers[i], "orphan");
            SetEvent(batch->overlapped[i].hEvent);
            batch->lengths[i] = 0; /* settled */
        }
    }
}

static DWORD WINAPI orphan_thread(void *param)
{
    orphan_issue(param);
    return 0; /* exits with its requests pending: the system cancels them */
}

/* Waits for every request of a batch; the event is set exactly when the request completes. */
static void orphan_settle(orphan_batch *batch, const char *who)
{
    uint32_t i;

    for (i = 0; i < batch->count; i++) {
        DWORD n = 0;

        if (WaitForSingleObject(batch->overlapped[i].hEvent, WAIT_MS) != WAIT_OBJECT_0) {
            integrity_error("%s: a request never completed", who);
            continue;
        }
        if (batch->lengths[i] != 0) {
            /* The handle may be closed already: the result is in the OVERLAPPED itself. */
            /* Wine sets the event of a request whose thread has exited but never writes its result. */
            if (batch->overlapped[i].Internal == STATUS_PENDING) {
                InterlockedIncrement64(&g_unreported);
                CloseHandle(batch->overlapped[i].hEvent);
                continue;
            }
            n = (DWORD)batch->overlapped[i].InternalHigh;
            account(batch->is_write[i], RtlNtStatusToDosError((NTSTATUS)batch->overlapped[i].Internal), n,
                    batch->buffers[i], who);
        }
        CloseHandle(batch->overlapped[i].hEvent);
    }
}

static void storm_orphans(uint32_t rounds, int by_thread_exit, rng *r)
{
    orphan_batch batch;
    HANDLE shared = by_thread_exit ? open_overlapped() : NULL;
    uint32_t i, k;

    for (k = 0; k < 4; k++)
        batch.buffers[k] = checked_malloc((size_t)g_capacity * 2);
    for (i = 0; i < rounds; i++) {
        batch.count = 1 + rng_below(r, 4);
        batch.seed = rng_next(r);
        if (by_thread_exit) {
            HANDLE thread;

            batch.handle = shared;
            thread = start_thread(orphan_thread, &batch);
            if (WaitForSingleObject(thread, WAIT_MS) != WAIT_OBJECT_0)
                integrity_error("thread exit: the thread did not end");
            CloseHandle(thread);
        } else {
            batch.handle = open_overlapped();
            orphan_issue(&batch);
            if (rng_below(r, 2) == 0)
                Sleep(rng_below(r, 3));
            CloseHandle(batch.handle);
        }
        orphan_settle(&batch, by_thread_exit ? "thread exit" : "handle close");
    }
    for (k = 0; k < 4; k++)
        free(batch.buffers[k]);
    if (shared != NULL)
        CloseHandle(shared);
}

/*
 * The child: batches of pending reads and writes on one handle and a blocking read on another,
 * until the parent kills it. Each batch has its own memory, as a pending request still owns its.
 */
static int command_child(uint64_t seed)
{
    rng r = rng_seeded(seed, 700);
    HANDLE blocked = open_synchronous();
    HANDLE h = open_overlapped();
    uint32_t round, k;

    for (round = 0; round < 64; round++) {
        orphan_batch *batch = checked_malloc(sizeof(*batch));

        for (k = 0; k < 4; k++)
            batch->buffers[k] = checked_malloc((size_t)g_capacity * 2);
        batch->handle = h;
        batch->count = 4;
        batch->seed = rng_next(&r);
        orphan_issue(batch); /* never settled: the process dies with them pending */
        if (rng_below(&r, 2) == 0) {
            uint8_t byte;
            DWORD n;

            ReadFile(blocked, &byte, 1, &n, NULL); /* returns when data comes; else the kill ends it */
        }
        Sleep(rng_below(&r, 3));
    }
    Sleep(INFINITE);
    return 0;
}

static void storm_kills(uint32_t kills, uint64_t seed, rng *r)
{
    wchar_t self[MAX_PATH], command[MAX_PATH + 128];
    uint32_t i;

    GetModuleFileNameW(NULL, self, MAX_PATH);
    for (i = 0; i < kills; i++) {
        STARTUPINFOW startup;
        PROCESS_INFORMATION process;

        memset(&startup, 0, sizeof(startup));
        startup.cb = sizeof(startup);

        swprintf(command, sizeof(command) / sizeof(command[0]), L"\"%ls\" child --device %ls --seed %llu --capacity %u",
                 self, g_device, (unsigned long long)(seed + i), g_capacity);
        if (!CreateProcessW(self, command, NULL, NULL, FALSE, 0, NULL, NULL, &startup, &process)) {
            integrity_error("TerminateProcess: cannot start a child: error %lu", GetLastError());
            return;
        }
        /* Process start-up under Wine takes a while; kill at a random point in or after it. */
        Sleep(rng_below(r, 400));
        TerminateProcess(process.hProcess, 9);
        if (WaitForSingleObject(process.hProcess, WAIT_MS) != WAIT_OBJECT_0)
            integrity_error("TerminateProcess: the child did not die");
        CloseHandle(process.hThread);
        CloseHandle(process.hProcess);
    }
}

static int command_cancel(uint32_t requests, uint32_t kills, uint64_t seed)
{
    HANDLE control = open_overlapped();
    rng r = rng_seeded(seed, 1);
    lbk_device_info info;
    lbk_stats before, after;
    HANDLE pumps[2];
    LARGE_INTEGER start;
    uint64_t drained, in, out;
    int i, quiet;

    if (lbk_get_info(control, &info) != ERROR_SUCCESS)
        return 1;
    g_capacity = info.capacity;
    g_error_count = 0;
    drain(control, 0);
    before = stats_of(control);
    QueryPerformanceCounter(&start);

    g_pump_stop = 0;
    g_pump_stop = !(g_storms & 8);
    for (i = 0; i < 2; i++)
        pumps[i] = start_thread(pump, (void *)(uintptr_t)(seed + (uint64_t)i));
    phase("cancel_storm_CancelIoEx", 600);
    if (g_storms & 1)
        storm_cancel_io_ex(requests, &r);
    phase("cancel_storm_CancelSynchronousIo", 600);
    if (running_under_wine()) { /* see storm_cancel_synchronous_io */
        g_pump_stop = 1;
        WaitForMultipleObjects(2, pumps, TRUE, WAIT_MS);
        CloseHandle(pumps[0]);
        CloseHandle(pumps[1]);
    }
    if (g_storms & 2)
        storm_cancel_synchronous_io(requests / 4, control, &r);
    if (running_under_wine()) {
        g_pump_stop = !(g_storms & 8);
        for (i = 0; i < 2; i++)
            pumps[i] = start_thread(pump, (void *)(uintptr_t)(seed + 2 + (uint64_t)i));
    }
    phase("cancel_storm_handle_close", 600);
    if (g_storms & 4)
        storm_orphans(requests / 16, 0, &r);
    g_pump_stop = 1;
    WaitForMultipleObjects(2, pumps, TRUE, WAIT_MS);
    CloseHandle(pumps[0]);
    CloseHandle(pumps[1]);

    /* Everything the clients saw must match the driver's own accounting, to the byte. */
    phase("cancel_storm_accounting", 60);
    quiet = wait_quiet(control, 1);
    drained = drain(control, 1);
    after = stats_of(control);
    in = after.bytes_in - before.bytes_in;
    out = after.bytes_out - before.bytes_out;
    report(g_error_count == 0 && quiet && in == (uint64_t)(g_bytes_written + g_sync_unreported) &&
               out == (uint64_t)g_bytes_read + drained && after.bytes_purged == before.bytes_purged,
           "cancel_storm_exact_once",
           "CancelIoEx, CancelSynchronousIo, handle close: %llu requests in %.1f s, %lld completed, %lld cancelled "
           "(driver counted %llu), %llu bytes written (%lld of them by cancelled synchronous writes that Wine "
           "did not report) = %llu read + %llu drained = driver's in +%llu = out +%llu, %ld errors",
           (unsigned long long)(g_completed + g_aborted), seconds_since(start), (long long)g_completed,
           (long long)g_aborted, after.cancelled_requests - before.cancelled_requests,
           (unsigned long long)(g_bytes_written + g_sync_unreported), (long long)g_sync_unreported,
           (unsigned long long)g_bytes_read, drained, in, out, g_error_count);

    /*
     * Thread exit and killed processes: some results are the dead thread's or process's alone
     * (Wine does not even write a dead thread's OVERLAPPED), so the check is the driver's: every
     * request ends, nothing stays queued or open, the counters balance, and no hang.
     */
    g_error_count = 0;
    g_completed = g_aborted = 0;
    g_pump_stop = 0;
    pumps[0] = start_thread(pump, (void *)(uintptr_t)(seed + 7));
    before = stats_of(control);
    phase("cancel_storm_thread_exit", 600);
    storm_orphans(requests / 16, 1, &r);
    phase("cancel_storm_TerminateProcess", 600);
    storm_kills(kills, seed, &r);
    g_pump_stop = 1;
    WaitForSingleObject(pumps[0], WAIT_MS);
    CloseHandle(pumps[0]);
    quiet = wait_quiet(control, 1);
    drain(control, 0);
    after = stats_of(control);
    report(g_error_count == 0 && quiet && stats_balanced(&after) && after.bytes_queued == 0,
           "cancel_storm_thread_exit_and_kills",
           "%u threads exited and %u client processes were killed with requests pending; %lld completed, %lld "
           "cancelled, %lld without a result from Wine, driver cancelled %llu; nothing left queued or open, "
           "in == out + purged + queued: %s, %ld errors",
           requests / 16, kills, (long long)g_completed, (long long)g_aborted, (long long)g_unreported,
           after.cancelled_requests - before.cancelled_requests, stats_balanced(&after) ? "yes" : "no", g_error_count);
    report(round_trip(control), "device_works_after_storms", "a write and a read round-trip");
    CloseHandle(control);
    return g_failed;
}

/* ==== ioctls: every code, every length =================================================== */

#define STATE_BYTES 100u

/* A fixed content the device holds during the sweep; an error must leave it as it is. */
static void state_set(HANDLE h)
{
    uint8_t state[STATE_BYTES];
    DWORD i, n;

    lbk_purge(h, NULL);
    for (i = 0; i < STATE_BYTES; i++)
        state[i] = (uint8_t)(i * 7 + 3);
    lbk_write(h, state, STATE_BYTES, WAIT_MS, &n);
}

static int state_intact(HANDLE h)
{
    uint8_t seen[STATE_BYTES + 1];
    lbk_stats s = stats_of(h);
    DWORD i, n = 0;

    if (s.bytes_queued != STATE_BYTES || lbk_peek(h, seen, sizeof(seen), &n) != ERROR_SUCCESS || n != STATE_BYTES)
        return 0;
    for (i = 0; i < STATE_BYTES; i++) {
        if (seen[i] != (uint8_t)(i * 7 + 3))
            return 0;
    }
    return 1;
}

/* One synchronous DeviceIoControl on an overlapped handle; returns the Win32 result. */
static DWORD ioctl(HANDLE h, DWORD code, void *in, DWORD in_len, void *out, DWORD out_len, DWORD *returned)
{
    OVERLAPPED overlapped = { 0 };
    DWORD error = ERROR_SUCCESS;

    *returned = 0;
    overlapped.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!DeviceIoControl(h, code, in, in_len, out, out_len, NULL, &overlapped)) {
        error = GetLastError();
        if (error == ERROR_IO_PENDING) {
            if (WaitForSingleObject(overlapped.hEvent, WAIT_MS) != WAIT_OBJECT_0) {
                CancelIoEx(h, &overlapped);
                integrity_error("IOCTL 0x%08lx hung", code);
            }
            error = GetOverlappedResult(h, &overlapped, returned, TRUE) ? ERROR_SUCCESS : GetLastError();
        }
    } else {
        GetOverlappedResult(h, &overlapped, returned, TRUE);
    }
    CloseHandle(overlapped.hEvent);
    return error;
}

static int is_known_code(DWORD code)
{
    return code == IOCTL_LBK_GET_STATS || code == IOCTL_LBK_PURGE || code == IOCTL_LBK_PEEK ||
           code == IOCTL_LBK_WRITE_ATOMIC || code == IOCTL_LBK_GET_INFO || code == IOCTL_LBK_GET_HANDLE_OPTIONS ||
           code == IOCTL_LBK_SET_HANDLE_OPTIONS || code == IOCTL_LBK_SET_MESSAGE_MODE || code == IOCTL_LBK_WAIT ||
           code == IOCTL_LBK_NOP || code == IOCTL_LBK_ECHO;
}

/*
 * What the contract says a known code must answer for these lengths, given STATE_BYTES queued
 * and an input buffer full of 0xA5, which no input structure accepts.
 */
static DWORD expected_result(DWORD code, DWORD in_len, DWORD out_len, DWORD capacity, DWORD *returned)
{
    *returned = 0;
    switch (code) {
    case IOCTL_LBK_GET_HANDLE_OPTIONS:
        if (out_len < sizeof(lbk_handle_options))
            return ERROR_INSUFFICIENT_BUFFER;
        *returned = sizeof(lbk_handle_options);
        return ERROR_SUCCESS;
    case IOCTL_LBK_SET_HANDLE_OPTIONS:
    case IOCTL_LBK_SET_MESSAGE_MODE:
        return ERROR_INVALID_PARAMETER; /* wrong length, or flags/mode of 0xA5A5A5A5 */
    case IOCTL_LBK_WAIT:
        if (in_len != sizeof(lbk_wait_request))
            return ERROR_INVALID_PARAMETER;
        if (out_len < sizeof(lbk_wait_result))
            return ERROR_INSUFFICIENT_BUFFER;
        return ERROR_INVALID_PARAMETER; /* events 0xA5A5A5A5 */
    case IOCTL_LBK_GET_STATS:
        if (out_len < sizeof(lbk_stats))
            return ERROR_INSUFFICIENT_BUFFER;
        *returned = sizeof(lbk_stats);
        return ERROR_SUCCESS;
    case IOCTL_LBK_PURGE:
        if (out_len != 0 && out_len < sizeof(lbk_purge_result))
            return ERROR_INSUFFICIENT_BUFFER;
        *returned = out_len == 0 ? 0 : sizeof(lbk_purge_result);
        return ERROR_SUCCESS;
    case IOCTL_LBK_PEEK:
        *returned = out_len < STATE_BYTES ? out_len : STATE_BYTES;
        return ERROR_SUCCESS;
    case IOCTL_LBK_NOP:
        return ERROR_SUCCESS;
    case IOCTL_LBK_ECHO:
        *returned = in_len < out_len ? in_len : out_len;
        return ERROR_SUCCESS;
    case IOCTL_LBK_WRITE_ATOMIC:
        if (out_len > capacity)
            return ERROR_INVALID_PARAMETER;
        if (out_len > capacity - STATE_BYTES)
            return ERROR_BUSY;
        *returned = out_len;
        return ERROR_SUCCESS;
    default: /* IOCTL_LBK_GET_INFO */
        if (out_len < sizeof(lbk_device_info))
            return ERROR_INSUFFICIENT_BUFFER;
        *returned = sizeof(lbk_device_info);
        return ERROR_SUCCESS;
    }
}

static int command_ioctls(int all_codes)
{
    HANDLE h = open_overlapped();
    lbk_device_info info;
    const DWORD huge = 16u << 20;
    uint8_t *in, *out;
    static const DWORD known[] = { IOCTL_LBK_GET_STATS, IOCTL_LBK_PURGE, IOCTL_LBK_PEEK, IOCTL_LBK_WRITE_ATOMIC,
                                   IOCTL_LBK_GET_INFO, IOCTL_LBK_GET_HANDLE_OPTIONS, IOCTL_LBK_SET_HANDLE_OPTIONS,
                                   IOCTL_LBK_SET_MESSAGE_MODE, IOCTL_LBK_WAIT, IOCTL_LBK_NOP, IOCTL_LBK_ECHO };
    static const DWORD other_types[] = { LBK_DEVICE_TYPE - 1, LBK_DEVICE_TYPE + 1, 0x22, 0x0, 0xFFFF };
    uint32_t function, method, access, k, t, sent = 0, wrong = 0, unchanged_failures = 0;
    DWORD returned, error, capacity;
    LARGE_INTEGER start;

    if (lbk_get_info(h, &info) != ERROR_SUCCESS)
        return 1;
    capacity = info.capacity;
    in = checked_malloc(huge);
    out = checked_malloc(huge);
    memset(in, 0xA5, huge);
    g_error_count = 0;
    phase("ioctl_sweep", 600);
    QueryPerformanceCounter(&start);

    /* 1. Every other code of the device type: 4096 functions (or those near ours) x 4 methods x 4 access bits. */
    state_set(h);
    for (function = all_codes ? 0 : 0x7F0; function < (all_codes ? 0x1000u : 0x820u); function++) {
        for (method = 0; method < 4; method++) {
            for (access = 0; access < 4; access++) {
                DWORD code = LBK_CTL_CODE(function, method, access);
                DWORD in_len = (function + method) % 3 == 0 ? 0 : 16, out_len = (function + access) % 3 == 0 ? 0 : 16;

                if (is_known_code(code))
                    continue;
                error = ioctl(h, code, in, in_len, out, out_len, &returned);
                sent++;
                if (error != ERROR_INVALID_FUNCTION || returned != 0) {
                    if (wrong++ < 5)
                        integrity_error("unknown IOCTL 0x%08lx: error %lu, %lu bytes", code, error, returned);
                }
            }
        }
    }
    if (!state_intact(h))
        unchanged_failures++;
    report(wrong == 0 && unchanged_failures == 0, "ioctl_unknown_codes_refused",
           "%u unknown codes of device type 0x%04x (%s): all ERROR_INVALID_FUNCTION, device state unchanged", sent,
           LBK_DEVICE_TYPE, all_codes ? "every function" : "functions 0x7f0-0x81f");

    /* 2. The known functions under other device types. */
    sent = wrong = 0;
    for (t = 0; t < sizeof(other_types) / sizeof(other_types[0]); t++) {
        for (function = 0x7FF; function <= 0x80A; function++) {
            for (method = 0; method < 4; method++) {
                DWORD code = (other_types[t] << 16) | (function << 2) | method;

                error = ioctl(h, code, in, 16, out, 16, &returned);
                sent++;
                if (error == ERROR_SUCCESS) {
                    if (wrong++ < 5)
                        integrity_error("foreign IOCTL 0x%08lx succeeded", code);
                }
            }
        }
    }
    report(wrong == 0 && state_intact(h), "ioctl_foreign_device_types_refused",
           "%u codes of 5 other device types: all refused, device state unchanged", sent);

    /* 3. The device's own codes with input and output lengths around each structure's size. */
    sent = wrong = unchanged_failures = 0;
    for (k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
        DWORD size = known[k] == IOCTL_LBK_GET_STATS ? sizeof(lbk_stats)
                   : known[k] == IOCTL_LBK_PURGE ? sizeof(lbk_purge_result)
                   : known[k] == IOCTL_LBK_GET_INFO ? sizeof(lbk_device_info)
                   : known[k] == IOCTL_LBK_GET_HANDLE_OPTIONS ? sizeof(lbk_handle_options)
                   : known[k] == IOCTL_LBK_SET_HANDLE_OPTIONS ? sizeof(lbk_handle_options)
                   : known[k] == IOCTL_LBK_SET_MESSAGE_MODE ? sizeof(lbk_u32)
                   : known[k] == IOCTL_LBK_WAIT ? sizeof(lbk_wait_request)
                   : capacity - STATE_BYTES;
        DWORD lengths[] = { 0, 1, size - 1, size, size + 1, capacity, capacity + 1, huge };
        uint32_t a, b;

        for (a = 0; a < sizeof(lengths) / sizeof(lengths[0]); a++) {
            for (b = 0; b < sizeof(lengths) / sizeof(lengths[0]); b++) {
                DWORD want_returned, want = expected_result(known[k], lengths[a], lengths[b], capacity, &want_returned);
                int changes = want == ERROR_SUCCESS && (known[k] == IOCTL_LBK_PURGE || known[k] == IOCTL_LBK_WRITE_ATOMIC);

                state_set(h);
                memset(out, 0x3C, lengths[b] < 4096 ? lengths[b] : 4096);
                error = ioctl(h, known[k], in, lengths[a], out, lengths[b], &returned);
                sent++;
                if (error != want || returned != want_returned) {
                    if (wrong++ < 10)
                        integrity_error("IOCTL 0x%08lx in %lu out %lu: error %lu with %lu bytes, expected %lu with %lu",
                                        known[k], lengths[a], lengths[b], error, returned, want, want_returned);
                } else if (known[k] == IOCTL_LBK_ECHO && returned != 0 &&
                           (out[0] != 0xA5 || out[returned - 1] != 0xA5)) {
                    wrong++;
                    integrity_error("ECHO returned other bytes than its input");
                } else if (known[k] == IOCTL_LBK_PEEK && returned != 0 && out[0] != 3) {
                    wrong++;
                    integrity_error("PEEK returned other bytes than those queued");
                } else if (known[k] == IOCTL_LBK_GET_STATS && returned != 0 && ((lbk_stats *)out)->struct_size != sizeof(lbk_stats)) {
                    wrong++;
                    integrity_error("GET_STATS struct_size wrong");
                }
                if (!changes && !state_intact(h))
                    unchanged_failures++;
            }
        }
    }
    report(wrong == 0 && unchanged_failures == 0, "ioctl_lengths_around_each_structure",
           "%u requests (%u codes x 8 input x 8 output lengths, 0 to 16 MiB): each the contract's result, state "
           "unchanged by every error and read-only code", sent, (unsigned)(sizeof(known) / sizeof(known[0])));

    /* 4. Bad user pointers, which METHOD_NEITHER hands to the driver as they are. */
    {
        void *read_only = VirtualAlloc(NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READONLY);
        void *bad[] = { (void *)(uintptr_t)0x10, (void *)(uintptr_t)0xFFFF800000000000ull, read_only,
                        (uint8_t *)read_only + 4096 - 8 };
        uint32_t refused = 0;

        state_set(h);
        for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            error = ioctl(h, IOCTL_LBK_GET_INFO, NULL, 0, bad[k], sizeof(lbk_device_info), &returned);
            refused += error != ERROR_SUCCESS;
            if (error == ERROR_SUCCESS)
                integrity_error("GET_INFO into %p succeeded", bad[k]);
        }
        report(refused == sizeof(bad) / sizeof(bad[0]) && state_intact(h) && lbk_purge(h, NULL) == ERROR_SUCCESS &&
                   round_trip(h),
               "ioctl_neither_bad_pointers_fail", "GET_INFO into 4 invalid or read-only buffers: %u refused with an "
               "error, device still works", refused);
        VirtualFree(read_only, 0, MEM_RELEASE);
    }

    /* 5. Lengths far beyond the buffers they describe (a client bug the system must catch). */
    {
        static const DWORD liars[] = { IOCTL_LBK_GET_STATS, IOCTL_LBK_PEEK, IOCTL_LBK_WRITE_ATOMIC, IOCTL_LBK_GET_INFO };
        uint8_t *small = VirtualAlloc(NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
        uint32_t refused = 0;

        state_set(h);
        for (k = 0; k < sizeof(liars) / sizeof(liars[0]); k++) {
            /* The page after `small` is not mapped, so these lengths run off the end. */
            error = ioctl(h, liars[k], small, 0x7FFFFFF0u, small, 0x7FFFFFF0u, &returned);
            refused += error != ERROR_SUCCESS;
            if (error == ERROR_SUCCESS)
                integrity_error("IOCTL 0x%08lx with 2 GiB lengths over a 4 KiB buffer succeeded", liars[k]);
        }
        report(refused == sizeof(liars) / sizeof(liars[0]) && state_intact(h), "ioctl_lengths_beyond_buffers_fail",
               "4 codes with 2 GiB lengths over a 4 KiB buffer: %u refused, device state unchanged", refused);
        VirtualFree(small, 0, MEM_RELEASE);
    }
    fprintf(stderr, "lbkstress ioctls: %.1f s\n", seconds_since(start));
    lbk_purge(h, NULL);
    free(in);
    free(out);
    CloseHandle(h);
    return g_failed;
}

/* Reads and writes with invalid buffers: refused, and nothing is lost from the stream. */
static int command_bad_buffers(void)
{
    HANDLE h = open_overlapped();
    void *read_only = VirtualAlloc(NULL, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READONLY);
    void *bad[] = { (void *)(uintptr_t)0x10, (void *)(uintptr_t)0xFFFF800000000000ull };
    uint32_t k, refused = 0, tried = 0;
    DWORD n, error;

    g_error_count = 0;
    phase("bad_buffers", 60);
    state_set(h);
    for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        error = lbk_write(h, bad[k], 64, WAIT_MS, &n);
        tried++;
        refused += error != ERROR_SUCCESS && n == 0;
        error = lbk_read(h, bad[k], 64, WAIT_MS, &n);
        tried++;
        refused += error != ERROR_SUCCESS;
    }
    error = lbk_read(h, read_only, 64, WAIT_MS, &n); /* a read into memory it may not write */
    tried++;
    refused += error != ERROR_SUCCESS;
    report(refused == tried && state_intact(h), "bad_buffers_refused",
           "%u reads and writes with invalid or read-only buffers: %u refused, queued bytes intact", tried, refused);
    lbk_purge(h, NULL);
    VirtualFree(read_only, 0, MEM_RELEASE);
    CloseHandle(h);
    return g_failed;
}

/* ==== cycles: install, start, traffic, stop, uninstall ==================================== */

static int command_cycles(const wchar_t *image, uint32_t count, uint64_t seed)
{
    static const wchar_t *methods[] = { L"buffered", L"direct", L"neither" };
    rng r = rng_seeded(seed, 800);
    uint8_t data[3000], back[3000];
    uint32_t i, done = 0, with_pending = 0, start_retries = 0;
    LARGE_INTEGER start;

    phase("service_cycles", 60 + 10 * (LONG)count);
    QueryPerformanceCounter(&start);
    g_error_count = 0;
    for (i = 0; i < count; i++) {
        lbk_service_config config = { 0 };
        HANDLE h = INVALID_HANDLE_VALUE;
        OVERLAPPED overlapped = { 0 };
        DWORD error, n = 0, m = 0, len = 1 + rng_below(&r, sizeof(data)), j;
        int leave_pending = i % 4 == 3;

        config.name = L"LBKCYCLE";
        config.image_path = image;
        config.io_method = methods[i % 3];
        config.buffer_size = 1024 + rng_below(&r, 8192);
        config.trace_level = 2;

        if ((error = lbk_service_install(&config)) != ERROR_SUCCESS) {
            integrity_error("cycle %u: install: error %lu", i, error);
            continue;
        }
        /* Wine's service manager once answered ERROR_INTERNAL_ERROR in about 1 300 cycles without
           the driver being called (nothing in its log): one retry, counted and printed. */
        error = lbk_service_start(L"LBKCYCLE");
        if (error == ERROR_INTERNAL_ERROR && running_under_wine()) {
            fprintf(stderr, "  cycle %u: start: error %lu from Wine's service manager; retrying once\n", i, error);
            start_retries++;
            Sleep(200);
            error = lbk_service_start(L"LBKCYCLE");
        }
        if (error != ERROR_SUCCESS) {
            DWORD state = 0;

            lbk_service_query(L"LBKCYCLE", &state);
            integrity_error("cycle %u: start: error %lu (service state %lu)", i, error, state);
            lbk_service_uninstall(L"LBKCYCLE");
            continue;
        }
        g_device = L"LBKCYCLE";
        h = open_overlapped();
        for (j = 0; j < len; j++)
            data[j] = (uint8_t)rng_next(&r);
        if (len > config.buffer_size)
            len = config.buffer_size;
        if (lbk_write(h, data, len, WAIT_MS, &n) != ERROR_SUCCESS || n != len ||
            lbk_read(h, back, sizeof(back), WAIT_MS, &m) != ERROR_SUCCESS || m != len || memcmp(data, back, len) != 0)
            integrity_error("cycle %u (%ls): %lu bytes did not round-trip", i, methods[i % 3], len);
        /* Every fourth cycle stops the service under a client with a read pending. */
        if (leave_pending) {
            overlapped.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
            if (ReadFile(h, back, sizeof(back), NULL, &overlapped) || GetLastError() != ERROR_IO_PENDING)
                integrity_error("cycle %u: the read did not pend", i);
        } else {
            CloseHandle(h);
        }
        if ((error = lbk_service_stop(L"LBKCYCLE", WAIT_MS)) != ERROR_SUCCESS)
            integrity_error("cycle %u: stop: error %lu", i, error);
        if (leave_pending) {
            BOOL ok;

            if (WaitForSingleObject(overlapped.hEvent, WAIT_MS) != WAIT_OBJECT_0) {
                integrity_error("cycle %u: the pending read outlived the stop", i);
            } else {
                ok = GetOverlappedResult(h, &overlapped, &n, FALSE);
                if (ok || GetLastError() != ERROR_DEVICE_REMOVED)
                    integrity_error("cycle %u: the pending read ended with %lu, not ERROR_DEVICE_REMOVED", i,
                                    ok ? 0 : GetLastError());
                else
                    with_pending++;
            }
            CloseHandle(overlapped.hEvent);
            CloseHandle(h);
        }
        if ((error = lbk_service_uninstall(L"LBKCYCLE")) != ERROR_SUCCESS)
            integrity_error("cycle %u: uninstall: error %lu", i, error);
        else
            done++;
    }
    report(g_error_count == 0 && done == count, "service_cycles",
           "%u install/start/traffic/stop/uninstall cycles in %.1f s (all 3 I/O methods; %u stopped under a client "
           "with a read pending, which ended with ERROR_DEVICE_REMOVED), %u starts retried after Wine's "
           "ERROR_INTERNAL_ERROR, %ld errors",
           done, seconds_since(start), with_pending, start_retries, g_error_count);
    return g_failed;
}

/* ==== command line ======================================================================= */

/* ---- timeouts and WAITs racing the pump ------------------------------------------------- */

/*
 * Readers, writers and waiters on their own handles, each with random short driver timeouts,
 * so the timeout thread expires requests while dispatch serves others. Every byte a write
 * reports must be read (or drained) exactly once, the driver's counters must agree, and nothing
 * may stay queued. Run in byte-stream mode, then in message mode.
 */
typedef struct timed_worker {
    int role; /* 0 writer, 1 reader, 2 waiter */
    uint32_t requests;
    uint64_t seed;
    int messages;
} timed_worker;

static volatile LONG64 g_timed_written, g_timed_read, g_timed_timeouts, g_timed_waits;

static DWORD WINAPI timed_worker_main(void *param)
{
    const timed_worker *w = param;
    rng r = rng_seeded(w->seed, (uint64_t)w->role * 1000 + w->requests);
    HANDLE h = open_overlapped();
    uint32_t max = w->messages ? g_capacity - LBK_MESSAGE_HEADER_BYTES : 2 * g_capacity;
    uint8_t *buffer = checked_malloc(2 * (size_t)g_capacity);
    lbk_handle_options options = { 0, 1 + rng_below(&r, 8), 1 + rng_below(&r, 8), 0 };
    uint32_t i;

    memset(buffer, FILL_BYTE, 2 * (size_t)g_capacity);
    if (lbk_set_handle_options(h, &options) != ERROR_SUCCESS)
        integrity_error("SET_HANDLE_OPTIONS failed");
    for (i = 0; i < w->requests; i++) {
        DWORD n = 0, error, len = 1 + rng_below(&r, max), j;

        if (w->role == 0) {
            error = lbk_write(h, buffer, len, INFINITE, &n);
            if (error == ERROR_TIMEOUT)
                InterlockedIncrement64(&g_timed_timeouts);
            else if (error != ERROR_SUCCESS || n != len)
                integrity_error("timed write of %lu: error %lu, %lu bytes", len, error, n);
            if (n > len || (w->messages && n != 0 && n != len))
                integrity_error("timed write of %lu reported %lu bytes", len, n);
            InterlockedAdd64(&g_timed_written, n);
        } else if (w->role == 1) {
            uint8_t *in = buffer + g_capacity;

            len = 1 + rng_below(&r, g_capacity);
            error = lbk_read(h, in, len, INFINITE, &n);
            if (error == ERROR_TIMEOUT && n == 0)
                InterlockedIncrement64(&g_timed_timeouts);
            else if (!(error == ERROR_SUCCESS || (w->messages && error == ERROR_MORE_DATA && n == len)) || n == 0)
                integrity_error("timed read of %lu: error %lu, %lu bytes", len, error, n);
            for (j = 0; j < n; j++) {
                if (in[j] != FILL_BYTE) {
                    integrity_error("timed read: byte %lu is 0x%02x", j, in[j]);
                    break;
                }
            }
            memset(in, FILL_BYTE, n);
            InterlockedAdd64(&g_timed_read, n);
        } else {
            lbk_wait_result result;
            DWORD events = 1 + rng_below(&r, 3);

            error = lbk_wait(h, events, rng_below(&r, max < g_capacity ? max : g_capacity), 1 + rng_below(&r, 8),
                             &result);
            if (error != ERROR_SUCCESS || (result.events & ~events) != 0)
                integrity_error("WAIT for %lu: error %lu, events %lu", events, error, (DWORD)result.events);
            InterlockedIncrement64(&g_timed_waits);
        }
    }
    free(buffer);
    CloseHandle(h);
    return 0;
}

static void timed_round(HANDLE control, uint32_t requests, uint64_t seed, int messages)
{
    enum { WRITERS = 3, READERS = 4, WAITERS = 2, WORKERS = WRITERS + READERS + WAITERS };
    timed_worker workers[WORKERS];
    HANDLE threads[WORKERS];
    lbk_stats before = stats_of(control), after;
    uint64_t drained;
    int i, quiet;

    g_timed_written = g_timed_read = g_timed_timeouts = g_timed_waits = 0;
    if (lbk_set_message_mode(control, messages) != ERROR_SUCCESS)
        integrity_error("SET_MESSAGE_MODE %d failed", messages);
    for (i = 0; i < WORKERS; i++) {
        workers[i].role = i < WRITERS ? 0 : i < WRITERS + READERS ? 1 : 2;
        workers[i].requests = requests / WORKERS;
        workers[i].seed = seed + (uint64_t)i;
        workers[i].messages = messages;
        threads[i] = start_thread(timed_worker_main, &workers[i]);
    }
    WaitForMultipleObjects(WORKERS, threads, TRUE, INFINITE);
    for (i = 0; i < WORKERS; i++)
        CloseHandle(threads[i]);
    quiet = wait_quiet(control, 1) && stats_of(control).pending_waits == 0;
    drained = drain(control, 1);
    after = stats_of(control);
    report(g_error_count == 0 && quiet && after.bytes_in - before.bytes_in == (uint64_t)g_timed_written &&
               after.bytes_out - before.bytes_out == (uint64_t)g_timed_read + drained && after.bytes_queued == 0 &&
               after.timed_out_requests - before.timed_out_requests == (uint64_t)g_timed_timeouts &&
               g_timed_timeouts > 0,
           messages ? "timeouts_and_waits_exact[message]" : "timeouts_and_waits_exact[stream]",
           "%u requests with 1-8 ms timeouts: %lld bytes written = %lld read + %llu drained, %lld timed out "
           "(driver counted %llu), %lld WAITs, %llu bytes handed off directly, nothing left queued: %s, %lu errors",
           requests, (long long)g_timed_written, (long long)g_timed_read, (unsigned long long)drained,
           (long long)g_timed_timeouts, (unsigned long long)(after.timed_out_requests - before.timed_out_requests),
           (long long)g_timed_waits, (unsigned long long)(after.bytes_direct - before.bytes_direct),
           quiet ? "yes" : "no", (unsigned long)g_error_count);
    lbk_set_message_mode(control, FALSE);
}

static int command_timeouts(uint32_t requests, uint64_t seed)
{
    HANDLE control = open_overlapped();
    LARGE_INTEGER start;

    g_capacity = (uint32_t)stats_of(control).capacity;
    g_error_count = 0;
    phase("timeouts", 600);
    QueryPerformanceCounter(&start);
    timed_round(control, requests, seed, 0);
    g_error_count = 0;
    timed_round(control, requests, seed + 100, 1);
    fprintf(stderr, "lbkstress timeouts: %.1f s\n", seconds_since(start));
    CloseHandle(control);
    return g_failed;
}

/* ==== serial: a handshake holding and releasing output, both ways at once ================= */

/*
 * Both ends of a serial pair, one overlapped handle each, set so that the chosen handshake is in
 * force both ways; a writer and a reader thread per direction stream N bytes each way at once.
 * Writers issue writes of random lengths (up to three in flight, completed in order); readers
 * read random lengths in three COMMTIMEOUTS modes and pause at random, so the input fills past
 * its XOFF limit again and again and the handshake must hold the writer and release it many
 * times. A monitor thread samples each end's COMSTAT: a run that never saw a writer held, with
 * bytes waiting, fails (it proved nothing); with no handshake, one that saw a hold fails.
 *
 * The data are 16-byte printable cells "<a|b><sequence, 8 hex digits><check, 6 hex digits>\n",
 * so neither XON (0x11) nor XOFF (0x13) ever occurs in them. Each reader compares every byte
 * with the byte its stream position must hold; the first mismatch is described, and the next
 * whole cell in the data says whether bytes were lost, duplicated or reordered before it.
 *
 * Modes: cts (fOutxCtsFlow on each end, its RTS by RTS_CONTROL_HANDSHAKE: a reader's RTS drops
 * at its XOFF limit and the peer's writes wait for CTS), dsr (the same with fOutxDsrFlow and
 * DTR_CONTROL_HANDSHAKE), xonxoff (fOutX and fInX on each end, fTXContinueOnXoff), none (no
 * handshake: writers only wait for room). rts-handshake and dtr-handshake are the cts and dsr
 * runs: an RTS (DTR) handshake holds nothing by itself, it drives the line that the peer's CTS
 * (DSR) flow obeys, so the pair of them is the one setting in which it holds and releases output.
 */
#define SERIAL_CELL 16u
#define SERIAL_WRITE_DEPTH 3
#define SERIAL_IO_MS 30000u   /* one read or write, however long the handshake holds it */
#define SERIAL_STALL_MS 15000u /* nothing moved either way for this long: a hang */
#define SERIAL_XON 0x11
#define SERIAL_XOFF 0x13
/* ntddser.h's SERIAL_GET_STATS and CLEAR_STATS, which the Win32 API does not send. */
#define SERIAL_IOCTL_GET_STATS CTL_CODE(FILE_DEVICE_SERIAL_PORT, 35, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define SERIAL_IOCTL_CLEAR_STATS CTL_CODE(FILE_DEVICE_SERIAL_PORT, 36, METHOD_BUFFERED, FILE_ANY_ACCESS)

enum { SERIAL_NONE, SERIAL_CTS, SERIAL_DSR, SERIAL_XONXOFF };
static const char *const serial_mode_names[] = { "none", "cts", "dsr", "xonxoff" };

typedef struct { /* SERIALPERF_STATS */
    DWORD received, transmitted, frame_errors, serial_overruns, buffer_overruns, parity_errors;
} serial_perf_stats;

/* One direction: the writer's end to the reader's end. */
typedef struct serial_dir {
    int index;   /* 0: A to B, 1: B to A */
    char letter; /* what its cells start with */
    HANDLE from, to;
    const wchar_t *from_name, *to_name;
    uint64_t bytes;
    volatile LONG64 written, read; /* bytes of completed writes; bytes read */
    LONG writes, reads, mismatched;
    LONG held, held_samples;     /* the writer seen held with bytes waiting: episodes, samples (monitor) */
    LONG xoff_sent;              /* the reader seen with fXoffSent: episodes (monitor) */
    LONG foreign_samples;        /* samples with a hold the mode does not use (monitor) */
    DWORD peak_in_queue;         /* the reader end's cbInQue, largest sampled (monitor) */
} serial_dir;

static struct serial_run {
    int mode;
    uint64_t seed;
    DWORD size, xoff_lim, xon_lim;
    HANDLE ends[2];
    const wchar_t *names[2];
    serial_dir dirs[2];
    volatile LONG stop, monitor_stop;
    LONG samples, sample_errors;
} g_serial;

static const wchar_t *g_port_a, *g_port_b;

static void usage(void);

static const char hex_digits[] = "0123456789abcdef";

static void serial_cell(char letter, uint32_t sequence, uint8_t *cell)
{
    uint32_t check = cell_check((uint32_t)(uint8_t)letter, sequence, 3) & 0xFFFFFFu;
    int i;

    cell[0] = (uint8_t)letter;
    for (i = 0; i < 8; i++)
        cell[1 + i] = (uint8_t)hex_digits[(sequence >> (28 - 4 * i)) & 15];
    for (i = 0; i < 6; i++)
        cell[9 + i] = (uint8_t)hex_digits[(check >> (20 - 4 * i)) & 15];
    cell[15] = '\n';
}

/* The stream's bytes at positions [position, position + length). */
static void serial_fill(char letter, uint64_t position, uint8_t *buffer, DWORD length)
{
    uint8_t cell[SERIAL_CELL];
    uint64_t sequence = position / SERIAL_CELL;
    DWORD done = 0, offset = (DWORD)(position % SERIAL_CELL);

    while (done < length) {
        DWORD take = SERIAL_CELL - offset;

        if (take > length - done)
            take = length - done;
        serial_cell(letter, (uint32_t)sequence, cell);
        memcpy(buffer + done, cell + offset, take);
        done += take;
        offset = 0;
        sequence++;
    }
}

static int hex_value(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The sequence of the whole cell of this direction at data[0..16), or -1. */
static int64_t serial_cell_at(char letter, const uint8_t *data)
{
    uint8_t cell[SERIAL_CELL];
    uint32_t sequence = 0;
    int i;

    if (data[0] != (uint8_t)letter)
        return -1;
    for (i = 1; i <= 8; i++) {
        int value = hex_value(data[i]);

        if (value < 0)
            return -1;
        sequence = sequence << 4 | (uint32_t)value;
    }
    serial_cell(letter, sequence, cell);
    return memcmp(cell, data, SERIAL_CELL) == 0 ? (int64_t)sequence : -1;
}

/* Up to 24 bytes as C-escaped text, for a mismatch's description. */
static const char *serial_text(const uint8_t *data, DWORD n, char *out, size_t size)
{
    size_t used = 0;
    DWORD i;

    out[0] = '\0';
    for (i = 0; i < n && i < 24 && used + 5 < size; i++) {
        if (data[i] == '\n')
            used += (size_t)snprintf(out + used, size - used, "\\n");
        else if (data[i] >= 0x20 && data[i] < 0x7F && data[i] != '\\')
            out[used++] = (char)data[i], out[used] = '\0';
        else
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", data[i]);
    }
    return out;
}

/* The first byte of a read that is not what its position must hold: what went wrong there. */
static void serial_mismatch(serial_dir *d, uint64_t position, const uint8_t *data, DWORD at, DWORD n,
                            const uint8_t *expected)
{
    uint64_t where = position + at;
    char got_text[128], want_text[128];
    DWORD i;

    integrity_error("%ls to %ls: byte %llu (cell %llu, offset %llu) is 0x%02x, not 0x%02x: got \"%s\", want \"%s\"",
                    d->from_name, d->to_name, (unsigned long long)where, (unsigned long long)(where / SERIAL_CELL),
                    (unsigned long long)(where % SERIAL_CELL), data[at], expected[at],
                    serial_text(data + at, n - at, got_text, sizeof(got_text)),
                    serial_text(expected + at, n - at, want_text, sizeof(want_text)));
    for (i = at; i + SERIAL_CELL <= n; i++) {
        int64_t sequence = serial_cell_at(d->letter, data + i);

        if (sequence >= 0) {
            uint64_t here = position + i, there = (uint64_t)sequence * SERIAL_CELL;

            integrity_error("%ls to %ls: the next whole cell, %lld, is at byte %llu where it belongs at %llu: %s", d->from_name,
                            d->to_name, (long long)sequence, (unsigned long long)here, (unsigned long long)there,
                            there > here   ? "bytes lost before it"
                            : there < here ? "bytes duplicated or reordered before it"
                                           : "in place (bytes changed, none moved)");
            return;
        }
    }
    integrity_error("%ls to %ls: no whole cell in the rest of that read (%lu bytes)", d->from_name, d->to_name,
                    n - at);
}

/* Each end's queues, holds and lines, on stderr: for a hang or a state that is wrong at the end. */
static void serial_dump(void)
{
    int e;

    for (e = 0; e < 2; e++) {
        COMSTAT s;
        DWORD errors = 0, modem_status = 0;

        memset(&s, 0, sizeof(s));
        if (!ClearCommError(g_serial.ends[e], &errors, &s) || !GetCommModemStatus(g_serial.ends[e], &modem_status)) {
            fprintf(stderr, "  %ls: ClearCommError or GetCommModemStatus failed: error %lu\n", g_serial.names[e],
                    GetLastError());
            continue;
        }
        fprintf(stderr,
                "  %ls: cbInQue %lu, cbOutQue %lu, fCtsHold %u fDsrHold %u fRlsdHold %u fXoffHold %u fXoffSent %u, "
                "CTS %d DSR %d DCD %d; wrote %lld of %llu, read %lld of %llu\n",
                g_serial.names[e], s.cbInQue, s.cbOutQue, s.fCtsHold, s.fDsrHold, s.fRlsdHold, s.fXoffHold, s.fXoffSent,
                (modem_status & MS_CTS_ON) != 0, (modem_status & MS_DSR_ON) != 0, (modem_status & MS_RLSD_ON) != 0,
                (long long)g_serial.dirs[e].written, (unsigned long long)g_serial.dirs[e].bytes,
                (long long)g_serial.dirs[1 - e].read, (unsigned long long)g_serial.dirs[1 - e].bytes);
    }
}

/* Waits for an overlapped request, in slices, until it ends, the run stops, or ms pass: then it
   is cancelled. ERROR_SUCCESS with its count, its error, or WAIT_TIMEOUT if it never ended. */
static DWORD serial_finish(HANDLE h, OVERLAPPED *ov, DWORD ms, DWORD *n, int *timed_out)
{
    DWORD start = GetTickCount();

    *n = 0;
    *timed_out = 0;
    while (WaitForSingleObject(ov->hEvent, 100) == WAIT_TIMEOUT) {
        if (g_serial.stop || GetTickCount() - start > ms) {
            *timed_out = !g_serial.stop;
            CancelIoEx(h, ov);
            if (WaitForSingleObject(ov->hEvent, WAIT_MS) == WAIT_TIMEOUT)
                return WAIT_TIMEOUT;
            break;
        }
    }
    return GetOverlappedResult(h, ov, n, FALSE) ? ERROR_SUCCESS : GetLastError();
}

/* A write or read length: often small, mostly within the buffer, now and then up to three buffers. */
static DWORD serial_length(rng *r, DWORD size)
{
    switch (rng_below(r, 4)) {
    case 0:
        return 1 + rng_below(r, 64);
    case 3:
        return size + rng_below(r, 2 * size);
    default:
        return 1 + rng_below(r, size);
    }
}

typedef struct serial_write {
    OVERLAPPED ov;
    uint8_t *buffer;
    DWORD length;
    uint64_t position;
} serial_write;

static DWORD WINAPI serial_writer(void *param)
{
    serial_dir *d = param;
    rng r = rng_seeded(g_serial.seed, 900 + (uint64_t)d->index);
    serial_write slots[SERIAL_WRITE_DEPTH];
    uint64_t next = 0;
    int head = 0, count = 0, i;

    for (i = 0; i < SERIAL_WRITE_DEPTH; i++) {
        slots[i].buffer = checked_malloc(3 * (size_t)g_serial.size);
        slots[i].ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    }
    while (next < d->bytes || count > 0) {
        serial_write *slot;
        DWORD n, error;
        int timed_out;

        if (g_serial.stop && count == 0)
            break;
        if (!g_serial.stop && next < d->bytes && count < 1 + (int)rng_below(&r, SERIAL_WRITE_DEPTH)) {
            HANDLE event;

            slot = &slots[(head + count) % SERIAL_WRITE_DEPTH];
            slot->length = serial_length(&r, g_serial.size);
            if (slot->length > d->bytes - next)
                slot->length = (DWORD)(d->bytes - next);
            slot->position = next;
            serial_fill(d->letter, next, slot->buffer, slot->length);
            event = slot->ov.hEvent;
            memset(&slot->ov, 0, sizeof(slot->ov));
            slot->ov.hEvent = event;
            ResetEvent(event);
            if (!WriteFile(d->from, slot->buffer, slot->length, NULL, &slot->ov) && GetLastError() != ERROR_IO_PENDING) {
                integrity_error("%ls to %ls: WriteFile of %lu bytes at byte %llu failed at once: error %lu", d->from_name,
                                d->to_name, slot->length, (unsigned long long)next, GetLastError());
                g_serial.stop = 1;
                continue;
            }
            next += slot->length;
            count++;
            d->writes++;
            continue;
        }
        slot = &slots[head];
        error = serial_finish(d->from, &slot->ov, SERIAL_IO_MS, &n, &timed_out);
        if (timed_out) {
            integrity_error("%ls to %ls: a write of %lu bytes at byte %llu did not end in %u s (held, never released?)",
                            d->from_name, d->to_name, slot->length, (unsigned long long)slot->position,
                            SERIAL_IO_MS / 1000);
            serial_dump();
            g_serial.stop = 1;
        } else if (error == WAIT_TIMEOUT) {
            integrity_error("%ls to %ls: a cancelled write never ended", d->from_name, d->to_name);
            g_serial.stop = 1;
            break; /* its buffer may still be written: leave it */
        } else if ((error != ERROR_SUCCESS || n != slot->length) && !g_serial.stop) {
            integrity_error("%ls to %ls: a write of %lu bytes at byte %llu: %lu went, error %lu", d->from_name, d->to_name,
                            slot->length, (unsigned long long)slot->position, n, error);
            g_serial.stop = 1;
        }
        InterlockedExchangeAdd64(&d->written, n);
        head = (head + 1) % SERIAL_WRITE_DEPTH;
        count--;
    }
    for (i = 0; i < SERIAL_WRITE_DEPTH && count == 0; i++) {
        free(slots[i].buffer);
        CloseHandle(slots[i].ov.hEvent);
    }
    return 0;
}

/* The reads' COMMTIMEOUTS: what is there (waiting 100 ms for a first byte), all n bytes, or n
   bytes unless 2 ms pass between two of them. Writes never time out. (Not const: SetCommTimeouts
   takes a plain pointer.) */
static COMMTIMEOUTS serial_read_modes[3] = {
    { MAXDWORD, MAXDWORD, 100, 0, 0 },
    { 0, 0, 0, 0, 0 },
    { 2, 0, 0, 0, 0 },
};
static const char *const serial_read_mode_names[3] = { "what is there", "all of it", "2 ms interval" };

static DWORD WINAPI serial_reader(void *param)
{
    serial_dir *d = param;
    rng r = rng_seeded(g_serial.seed, 950 + (uint64_t)d->index);
    uint8_t *buffer = checked_malloc(3 * (size_t)g_serial.size), *expected = checked_malloc(3 * (size_t)g_serial.size);
    OVERLAPPED ov;
    HANDLE event = CreateEventW(NULL, TRUE, FALSE, NULL);
    uint64_t position = 0;
    int current = -1, lost = 0;

    while (position < d->bytes && !g_serial.stop) {
        DWORD length = serial_length(&r, g_serial.size), n, error, i;
        int mode = rng_below(&r, 4) != 0 ? 0 : 1 + (int)rng_below(&r, 2), timed_out;

        if (length > d->bytes - position)
            length = (DWORD)(d->bytes - position);
        if (mode != current) {
            if (!SetCommTimeouts(d->to, &serial_read_modes[mode])) {
                integrity_error("%ls: SetCommTimeouts: error %lu", d->to_name, GetLastError());
                g_serial.stop = 1;
                break;
            }
            current = mode;
        }
        memset(&ov, 0, sizeof(ov));
        ov.hEvent = event;
        ResetEvent(event);
        if (!ReadFile(d->to, buffer, length, NULL, &ov) && GetLastError() != ERROR_IO_PENDING) {
            integrity_error("%ls to %ls: ReadFile of %lu bytes failed at once: error %lu", d->from_name, d->to_name,
                            length, GetLastError());
            g_serial.stop = 1;
            break;
        }
        error = serial_finish(d->to, &ov, SERIAL_IO_MS, &n, &timed_out);
        if (timed_out) {
            integrity_error("%ls to %ls: a read of %lu bytes (%s) at byte %llu did not end in %u s", d->from_name,
                            d->to_name, length, serial_read_mode_names[mode], (unsigned long long)position,
                            SERIAL_IO_MS / 1000);
            serial_dump();
            g_serial.stop = 1;
        } else if (error == WAIT_TIMEOUT) {
            integrity_error("%ls to %ls: a cancelled read never ended", d->from_name, d->to_name);
            g_serial.stop = 1;
            free(expected);
            return 1; /* its buffer may still be written: leave it */
        } else if ((error != ERROR_SUCCESS || n > length) && !g_serial.stop) {
            integrity_error("%ls to %ls: a read of %lu bytes (%s) at byte %llu: %lu bytes, error %lu", d->from_name,
                            d->to_name, length, serial_read_mode_names[mode], (unsigned long long)position, n, error);
            g_serial.stop = 1;
        }
        if (n > length)
            n = 0;
        if (mode == 1 && n != length && !g_serial.stop)
            integrity_error("%ls to %ls: a read of all %lu bytes returned %lu", d->from_name, d->to_name, length, n);
        if (!lost && n != 0) {
            serial_fill(d->letter, position, expected, n);
            if (memcmp(buffer, expected, n) != 0) {
                for (i = 0; buffer[i] == expected[i]; i++)
                    ;
                serial_mismatch(d, position, buffer, i, n, expected);
                d->mismatched = 1;
                lost = 1; /* the rest is counted, not compared */
            }
        }
        position += n;
        InterlockedExchangeAdd64(&d->read, n);
        d->reads++;
        /* Pauses: short ones often, so the input fills to its limit and the writer is held;
           now and then a long one, so the hold lasts. */
        switch (rng_below(&r, 16)) {
        case 0: case 1: case 2: case 3:
            Sleep(1 + rng_below(&r, 4));
            break;
        case 4:
            Sleep(10 + rng_below(&r, 30));
            break;
        default:
            break;
        }
    }
    CloseHandle(event);
    free(buffer);
    free(expected);
    return 0;
}

/* Samples each end's COMSTAT about once a millisecond: end e writes direction e, reads 1 - e. */
static DWORD WINAPI serial_monitor(void *unused)
{
    int was_held[2] = { 0, 0 }, was_sent[2] = { 0, 0 };

    (void)unused;
    while (!g_serial.monitor_stop) {
        int e;

        for (e = 0; e < 2; e++) {
            serial_dir *out = &g_serial.dirs[e], *in = &g_serial.dirs[1 - e];
            COMSTAT s;
            DWORD errors = 0;
            int hold, foreign, held;

            if (!ClearCommError(g_serial.ends[e], &errors, &s)) {
                g_serial.sample_errors++;
                continue;
            }
            g_serial.samples++;
            switch (g_serial.mode) {
            case SERIAL_CTS:
                hold = s.fCtsHold;
                foreign = s.fDsrHold || s.fRlsdHold || s.fXoffHold || s.fXoffSent;
                break;
            case SERIAL_DSR:
                hold = s.fDsrHold;
                foreign = s.fCtsHold || s.fRlsdHold || s.fXoffHold || s.fXoffSent;
                break;
            case SERIAL_XONXOFF:
                hold = s.fXoffHold;
                foreign = s.fCtsHold || s.fDsrHold || s.fRlsdHold;
                break;
            default:
                hold = s.fCtsHold || s.fDsrHold || s.fRlsdHold || s.fXoffHold;
                foreign = hold || s.fXoffSent;
                break;
            }
            held = hold && s.cbOutQue != 0; /* held with bytes of a write waiting */
            if (held && !was_held[e])
                out->held++;
            out->held_samples += held;
            was_held[e] = held;
            if (s.fXoffSent && !was_sent[e])
                in->xoff_sent++;
            was_sent[e] = s.fXoffSent;
            out->foreign_samples += foreign;
            if (s.cbInQue > in->peak_in_queue)
                in->peak_in_queue = s.cbInQue;
        }
        Sleep(1);
    }
    return 0;
}

/* Opens a serial end: see open_port in integration.c. Under Wine the CLOSE of the previous
   run's handle may still be on its way, and a refused CREATE still gives a handle whose requests
   fail: a handle that cannot read the settings is closed and the open tried again, for 5 s. */
static HANDLE serial_open(const wchar_t *name)
{
    DWORD error = ERROR_SUCCESS;
    int tries;

    for (tries = 0; tries < 100; tries++) {
        HANDLE h;
        DCB dcb;

        memset(&dcb, 0, sizeof(dcb));
        dcb.DCBlength = sizeof(dcb);
        h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
        if (h != INVALID_HANDLE_VALUE && GetCommState(h, &dcb))
            return h;
        error = GetLastError();
        if (h != INVALID_HANDLE_VALUE)
            CloseHandle(h);
        Sleep(50);
    }
    fprintf(stderr, "lbkstress: cannot open %ls: error %lu\n", name, error);
    return INVALID_HANDLE_VALUE;
}

/* The mode's handshake on an end, in both its roles (writer and reader); FALSE if refused or not kept. */
static BOOL serial_configure(HANDLE h)
{
    int mode = g_serial.mode;
    DCB dcb, back;

    memset(&dcb, 0, sizeof(dcb));
    dcb.DCBlength = sizeof(dcb);
    if (!GetCommState(h, &dcb))
        return FALSE;
    dcb.BaudRate = CBR_115200;
    dcb.ByteSize = 8;
    dcb.Parity = NOPARITY;
    dcb.StopBits = ONESTOPBIT;
    dcb.fBinary = TRUE;
    dcb.fParity = FALSE;
    dcb.fOutxCtsFlow = mode == SERIAL_CTS;
    dcb.fOutxDsrFlow = mode == SERIAL_DSR;
    dcb.fDtrControl = mode == SERIAL_DSR ? DTR_CONTROL_HANDSHAKE : DTR_CONTROL_ENABLE;
    dcb.fRtsControl = mode == SERIAL_CTS ? RTS_CONTROL_HANDSHAKE : RTS_CONTROL_ENABLE;
    dcb.fDsrSensitivity = FALSE;
    dcb.fTXContinueOnXoff = TRUE;
    dcb.fOutX = mode == SERIAL_XONXOFF;
    dcb.fInX = mode == SERIAL_XONXOFF;
    dcb.fErrorChar = FALSE;
    dcb.fNull = FALSE;
    dcb.fAbortOnError = FALSE;
    dcb.XonLim = (WORD)g_serial.xon_lim;
    dcb.XoffLim = (WORD)g_serial.xoff_lim;
    dcb.XonChar = SERIAL_XON;
    dcb.XoffChar = SERIAL_XOFF;
    if (!SetCommState(h, &dcb))
        return FALSE;
    memset(&back, 0, sizeof(back));
    back.DCBlength = sizeof(back);
    return GetCommState(h, &back) && back.fOutxCtsFlow == dcb.fOutxCtsFlow && back.fOutxDsrFlow == dcb.fOutxDsrFlow &&
           back.fDtrControl == dcb.fDtrControl && back.fRtsControl == dcb.fRtsControl && back.fOutX == dcb.fOutX &&
           back.fInX == dcb.fInX && back.fTXContinueOnXoff == dcb.fTXContinueOnXoff && back.XonLim == dcb.XonLim &&
           back.XoffLim == dcb.XoffLim && back.XonChar == dcb.XonChar && back.XoffChar == dcb.XoffChar;
}

static BOOL serial_stats(HANDLE h, serial_perf_stats *stats)
{
    DWORD bytes = 0;

    memset(stats, 0, sizeof(*stats));
    return DeviceIoControl(h, SERIAL_IOCTL_GET_STATS, NULL, 0, stats, sizeof(*stats), &bytes, NULL) &&
           bytes == sizeof(*stats);
}

/* Nothing held, nothing sent to be undone, nothing queued, every line up, on both ends. */
static BOOL serial_settled(void)
{
    int e;

    for (e = 0; e < 2; e++) {
        COMSTAT s;
        DWORD errors = 0, modem_status = 0;

        if (!ClearCommError(g_serial.ends[e], &errors, &s) || !GetCommModemStatus(g_serial.ends[e], &modem_status))
            return FALSE;
        if (s.fCtsHold || s.fDsrHold || s.fRlsdHold || s.fXoffHold || s.fXoffSent || s.cbInQue != 0 || s.cbOutQue != 0 ||
            (modem_status & (MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON)) != (MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON))
            return FALSE;
    }
    return TRUE;
}

static int command_serial(const wchar_t *mode_name, uint64_t bytes, uint64_t seed)
{
    HANDLE threads[4], monitor;
    COMMPROP properties;
    LARGE_INTEGER start;
    serial_perf_stats stats[2];
    char name[64];
    const char *mode_text;
    double elapsed;
    LONG64 last = -1;
    DWORD last_change, settle_start, i;
    BOOL settled, stats_ok, in_limit;
    int e, ok;

    memset(&g_serial, 0, sizeof(g_serial));
    if (!wcscmp(mode_name, L"none"))
        g_serial.mode = SERIAL_NONE;
    else if (!wcscmp(mode_name, L"cts") || !wcscmp(mode_name, L"rts-handshake"))
        g_serial.mode = SERIAL_CTS;
    else if (!wcscmp(mode_name, L"dsr") || !wcscmp(mode_name, L"dtr-handshake"))
        g_serial.mode = SERIAL_DSR;
    else if (!wcscmp(mode_name, L"xonxoff"))
        g_serial.mode = SERIAL_XONXOFF;
    else
        usage();
    if (g_port_a == NULL || g_port_b == NULL || bytes == 0 || bytes / SERIAL_CELL > 0xFFFFFFFFull)
        usage();
    mode_text = serial_mode_names[g_serial.mode];
    g_serial.seed = seed;
    g_serial.names[0] = g_port_a;
    g_serial.names[1] = g_port_b;
    phase("serial_open", 60);
    for (e = 0; e < 2; e++) {
        if ((g_serial.ends[e] = serial_open(g_serial.names[e])) == INVALID_HANDLE_VALUE) {
            snprintf(name, sizeof(name), "serial_%s_ports_open", mode_text);
            report(0, name, "%ls and %ls: cannot open %ls", g_port_a, g_port_b, g_serial.names[e]);
            return g_failed;
        }
    }
    /* The limits, from the input buffer's size: hold at three quarters full, go on at an eighth. */
    memset(&properties, 0, sizeof(properties));
    if (!GetCommProperties(g_serial.ends[1], &properties) || properties.dwCurrentRxQueue < 64) {
        fprintf(stderr, "lbkstress: %ls: GetCommProperties: error %lu, input buffer %lu\n", g_port_b, GetLastError(),
                properties.dwCurrentRxQueue);
        return 1;
    }
    g_serial.size = properties.dwCurrentRxQueue;
    g_serial.xoff_lim = g_serial.size / 4 > 0xFFFF ? 0xFFFF : g_serial.size / 4;
    g_serial.xon_lim = g_serial.size / 8 > 0xFFFF ? 0xFFFF : g_serial.size / 8;
    for (e = 0; e < 2; e++) {
        serial_dir *d = &g_serial.dirs[e];

        d->index = e;
        d->letter = e == 0 ? 'a' : 'b';
        d->from = g_serial.ends[e];
        d->to = g_serial.ends[1 - e];
        d->from_name = g_serial.names[e];
        d->to_name = g_serial.names[1 - e];
        d->bytes = bytes;
        if (!serial_configure(g_serial.ends[e]) || !SetCommTimeouts(g_serial.ends[e], &serial_read_modes[0]) ||
            !PurgeComm(g_serial.ends[e], PURGE_RXCLEAR | PURGE_RXABORT | PURGE_TXABORT) ||
            !DeviceIoControl(g_serial.ends[e], SERIAL_IOCTL_CLEAR_STATS, NULL, 0, NULL, 0, &i, NULL)) {
            snprintf(name, sizeof(name), "serial_%s_ports_set", mode_text);
            report(0, name, "%ls: the DCB, COMMTIMEOUTS, purge or CLEAR_STATS failed: error %lu", g_serial.names[e],
                   GetLastError());
            return g_failed;
        }
    }
    g_error_count = 0;
    phase(g_serial.mode == SERIAL_NONE      ? "serial_none"
          : g_serial.mode == SERIAL_CTS     ? "serial_cts"
          : g_serial.mode == SERIAL_DSR     ? "serial_dsr"
                                            : "serial_xonxoff",
          (LONG)(60 + bytes / 16384)); /* about 0.6 MB/s each way here: ten times that */
    QueryPerformanceCounter(&start);
    monitor = start_thread(serial_monitor, NULL);
    threads[0] = start_thread(serial_reader, &g_serial.dirs[0]);
    threads[1] = start_thread(serial_reader, &g_serial.dirs[1]);
    threads[2] = start_thread(serial_writer, &g_serial.dirs[0]);
    threads[3] = start_thread(serial_writer, &g_serial.dirs[1]);
    last_change = GetTickCount();
    while (WaitForMultipleObjects(4, threads, TRUE, 100) == WAIT_TIMEOUT) {
        LONG64 now = g_serial.dirs[0].read + g_serial.dirs[1].read + g_serial.dirs[0].written + g_serial.dirs[1].written;

        if (now != last) {
            last = now;
            last_change = GetTickCount();
        } else if (!g_serial.stop && GetTickCount() - last_change > SERIAL_STALL_MS) {
            integrity_error("nothing moved either way for %u s", SERIAL_STALL_MS / 1000);
            serial_dump();
            g_serial.stop = 1;
        }
    }
    elapsed = seconds_since(start);
    g_serial.monitor_stop = 1;
    WaitForSingleObject(monitor, WAIT_MS);
    CloseHandle(monitor);
    for (i = 0; i < 4; i++)
        CloseHandle(threads[i]);

    /* Once all was read, the handshake must have let go: within 2 s, on both ends. */
    settle_start = GetTickCount();
    while (!(settled = serial_settled()) && GetTickCount() - settle_start < 2000)
        Sleep(20);
    if (!settled) {
        fprintf(stderr, "  after the run:\n");
        serial_dump();
    }
    stats_ok = serial_stats(g_serial.ends[0], &stats[0]) && serial_stats(g_serial.ends[1], &stats[1]);

    ok = g_error_count == 0;
    for (e = 0; e < 2; e++)
        ok = ok && (uint64_t)g_serial.dirs[e].read == bytes && (uint64_t)g_serial.dirs[e].written == bytes &&
             !g_serial.dirs[e].mismatched;
    snprintf(name, sizeof(name), "serial_%s_data_intact", mode_text);
    report(ok, name,
           "%llu bytes each way at once, %ls to %ls and back, as tagged cells: %lld and %lld verified in order (%ld and %ld "
           "writes, %ld and %ld reads) in %.1f s, %.2f MB/s each way; %ld errors",
           (unsigned long long)bytes, g_port_a, g_port_b, (long long)g_serial.dirs[0].read,
           (long long)g_serial.dirs[1].read, g_serial.dirs[0].writes, g_serial.dirs[1].writes, g_serial.dirs[0].reads,
           g_serial.dirs[1].reads, elapsed, (double)bytes / elapsed / 1e6, g_error_count);

    /* The handshake must have held each writer, and the inputs must not pass the XOFF level where
       a line stops the writer at once (XON/XOFF takes a character's trip, so only the peak is shown). */
    in_limit = 1;
    for (e = 0; e < 2 && (g_serial.mode == SERIAL_CTS || g_serial.mode == SERIAL_DSR); e++)
        in_limit = in_limit && g_serial.dirs[e].peak_in_queue <= g_serial.size - g_serial.xoff_lim;
    snprintf(name, sizeof(name), g_serial.mode == SERIAL_NONE ? "serial_%s_nothing_held" : "serial_%s_writers_held_and_released",
             mode_text);
    report(settled && in_limit && g_serial.dirs[0].foreign_samples == 0 && g_serial.dirs[1].foreign_samples == 0 &&
               (g_serial.mode == SERIAL_NONE ? g_serial.dirs[0].held == 0 && g_serial.dirs[1].held == 0
                                             : g_serial.dirs[0].held > 0 && g_serial.dirs[1].held > 0),
           name,
           "writers seen held with bytes waiting %ld and %ld times (%ld and %ld of %ld samples), readers seen with XOFF "
           "sent %ld and %ld times, holds of another kind in %ld samples; inputs peaked at %lu and %lu bytes (buffer %lu, "
           "XoffLim %lu: hold at %lu, XonLim %lu); after the run nothing held or queued and every line up: %s",
           g_serial.dirs[0].held, g_serial.dirs[1].held, g_serial.dirs[0].held_samples, g_serial.dirs[1].held_samples,
           g_serial.samples, g_serial.dirs[0].xoff_sent, g_serial.dirs[1].xoff_sent,
           g_serial.dirs[0].foreign_samples + g_serial.dirs[1].foreign_samples, g_serial.dirs[0].peak_in_queue,
           g_serial.dirs[1].peak_in_queue, g_serial.size, g_serial.xoff_lim, g_serial.size - g_serial.xoff_lim,
           g_serial.xon_lim, settled ? "yes" : "no");

    /* GET_STATS: what one end sent the other received, and beyond the data only its XON/XOFF
       (in pairs, each XOFF undone by an XON, none without fInX). */
    ok = stats_ok;
    for (e = 0; e < 2 && ok; e++) {
        DWORD extra = stats[e].transmitted - (DWORD)bytes; /* 32-bit counters */

        ok = stats[e].transmitted == stats[1 - e].received && extra % 2 == 0 && extra < 0x80000000u &&
             (g_serial.mode == SERIAL_XONXOFF ? extra > 0 : extra == 0);
    }
    snprintf(name, sizeof(name), "serial_%s_statistics_exact", mode_text);
    report(ok, name, "GET_STATS: %ls sent %lu and %ls received %lu, %ls sent %lu and %ls received %lu: "
           "XON/XOFF characters sent %ld and %ld",
           g_port_a, stats[0].transmitted, g_port_b, stats[1].received, g_port_b, stats[1].transmitted, g_port_a,
           stats[0].received, (long)(LONG)(stats[0].transmitted - (DWORD)bytes),
           (long)(LONG)(stats[1].transmitted - (DWORD)bytes));
    fprintf(stderr, "lbkstress serial %s: %.1f s\n", mode_text, seconds_since(start));
    CloseHandle(g_serial.ends[0]);
    CloseHandle(g_serial.ends[1]);
    return g_failed;
}

static void usage(void)
{
    fprintf(stderr, "usage: lbkstress stream|cancel|timeouts|ioctls|badbuffers|cycles|child [--device NAME] [--bytes N] "
                    "[--writers N] [--readers N] [--requests N] [--kills N] [--count N] [--image PATH] [--seed N] "
                    "[--label TEXT]\n"
                    "       lbkstress serial --port-a NAME --port-b NAME --bytes N "
                    "--mode cts|dsr|xonxoff|rts-handshake|dtr-handshake|none [--seed N] [--label TEXT]\n");
    ExitProcess(1);
}

static uint64_t number(const wchar_t *text)
{
    wchar_t *end;
    uint64_t value = wcstoull(text, &end, 0);

    if (*text == L'\0' || *end != L'\0')
        usage();
    return value;
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    uint64_t bytes = 16u << 20, seed = GetTickCount(), writers = 4, readers = 3, requests = 4000, kills = 20;
    uint64_t count = 10;
    const wchar_t *image = NULL, *mode = NULL;
    int i, codes_all = 1;

    if (argc < 2)
        usage();
    for (i = 2; i + 1 < argc; i += 2) {
        if (!wcscmp(argv[i], L"--device")) g_device = argv[i + 1];
        else if (!wcscmp(argv[i], L"--label")) g_label = argv[i + 1];
        else if (!wcscmp(argv[i], L"--image")) image = argv[i + 1];
        else if (!wcscmp(argv[i], L"--port-a")) g_port_a = argv[i + 1];
        else if (!wcscmp(argv[i], L"--port-b")) g_port_b = argv[i + 1];
        else if (!wcscmp(argv[i], L"--mode")) mode = argv[i + 1];
        else if (!wcscmp(argv[i], L"--bytes")) bytes = number(argv[i + 1]);
        else if (!wcscmp(argv[i], L"--writers")) writers = number(argv[i + 1]);
        else if (!wcscmp(argv[i], L"--readers")) readers = number(argv[i + 1]);
        else if (!wcscmp(argv[i], L"--requests")) requests = number(argv[i + 1]);
        else if (!wcscmp(argv[i], L"--kills")) kills = number(argv[i + 1]);
        else if (!wcscmp(argv[i], L"--count")) count = number(argv[i + 1]);
        else if (!wcscmp(argv[i], L"--seed")) seed = number(argv[i + 1]);
        else if (!wcscmp(argv[i], L"--codes")) codes_all = wcscmp(argv[i + 1], L"near") != 0;
        else if (!wcscmp(argv[i], L"--storms")) g_storms = (uint32_t)number(argv[i + 1]);
        else if (!wcscmp(argv[i], L"--capacity")) g_capacity = (uint32_t)number(argv[i + 1]);
        else usage();
    }
    if (i != argc)
        usage();
    if (wcscmp(argv[1], L"child") == 0)
        return command_child(seed);
    CloseHandle(start_thread(watchdog, NULL));
    fprintf(stderr, "lbkstress %ls: seed %llu\n", argv[1], (unsigned long long)seed);
    if (wcscmp(argv[1], L"stream") == 0)
        return command_stream(bytes, (uint32_t)writers, (uint32_t)readers, seed);
    if (wcscmp(argv[1], L"cancel") == 0)
        return command_cancel((uint32_t)requests, (uint32_t)kills, seed);
    if (wcscmp(argv[1], L"timeouts") == 0)
        return command_timeouts((uint32_t)requests, seed);
    if (wcscmp(argv[1], L"ioctls") == 0)
        return command_ioctls(codes_all);
    if (wcscmp(argv[1], L"badbuffers") == 0)
        return command_bad_buffers();
    if (wcscmp(argv[1], L"cycles") == 0 && image != NULL)
        return command_cycles(image, (uint32_t)count, seed);
    if (wcscmp(argv[1], L"serial") == 0 && mode != NULL)
        return command_serial(mode, bytes, seed);
    usage();
    return 1;
}
