/*
 * core_bench.c - the core's cost of moving bytes, for Callgrind to count (host, native).
 * Usage: core_bench channel|ring|memcpy CHUNK MIB
 *
 * Moves MIB MiB in CHUNK-byte writes and reads through a 1 MiB channel (byte stream, as the
 * driver uses it), or the bare ring, kept half full so that copies wrap around its end as they
 * do in a busy device; or, as the yardstick, copies the same bytes twice with plain memcpy
 * (in and out). Only move_bytes is counted: scripts/bench-core.sh runs this under
 * `valgrind --tool=callgrind --toggle-collect=move_bytes`, so setup and checks are left out.
 * Exits non-zero if the bytes that came out are not those that went in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/lbk_channel.h"

#define CAPACITY (1u << 20)

enum mode { MODE_CHANNEL, MODE_RING, MODE_MEMCPY };

static lbk_channel_t g_channel;
static lbk_ring_t g_ring;
static unsigned char *g_staging; /* memcpy mode: where the bytes rest between in and out */

/* Moves total bytes in chunk-sized pieces; returns a checksum of what came out. */
__attribute__((noinline)) unsigned move_bytes(enum mode mode, const unsigned char *src, unsigned char *dst,
                                              size_t chunk, unsigned long long total);
__attribute__((noinline)) unsigned move_bytes(enum mode mode, const unsigned char *src, unsigned char *dst,
                                              size_t chunk, unsigned long long total)
{
    unsigned long long moved;
    unsigned sum = 0;
    int message_left;

    for (moved = 0; moved < total; moved += chunk) {
        switch (mode) {
        case MODE_CHANNEL:
            lbk_channel_write(&g_channel, src, chunk);
            lbk_channel_read(&g_channel, dst, chunk, &message_left);
            break;
        case MODE_RING:
            lbk_ring_write(&g_ring, src, chunk);
            lbk_ring_read(&g_ring, dst, chunk);
            break;
        case MODE_MEMCPY:
            memcpy(g_staging, src, chunk);
            memcpy(dst, g_staging, chunk);
            break;
        }
        sum += dst[0] + dst[chunk - 1];
    }
    return sum;
}

int main(int argc, char **argv)
{
    enum mode mode;
    size_t chunk, i;
    unsigned long long total;
    unsigned char *src, *dst, *storage, *backlog;
    unsigned sum, want = 0;

    if (argc != 4 || (chunk = strtoul(argv[2], NULL, 10)) == 0 || chunk > CAPACITY / 2 ||
        (total = strtoull(argv[3], NULL, 10) << 20) == 0) {
        fprintf(stderr, "usage: core_bench channel|ring|memcpy CHUNK(1..%u) MIB\n", CAPACITY / 2);
        return 1;
    }
    mode = strcmp(argv[1], "channel") == 0 ? MODE_CHANNEL : strcmp(argv[1], "ring") == 0 ? MODE_RING : MODE_MEMCPY;
    src = malloc(chunk);
    dst = malloc(chunk);
    storage = malloc(CAPACITY);
    g_staging = malloc(chunk);
    backlog = calloc(1, CAPACITY / 2);
    if (src == NULL || dst == NULL || storage == NULL || g_staging == NULL || backlog == NULL)
        return 1;
    /* Every chunk the same bytes, so that with a backlog of the same pattern each read is checkable. */
    for (i = 0; i < chunk; i++)
        src[i] = (unsigned char)(i * 131u + 7u);
    for (i = 0; i < CAPACITY / 2; i++)
        backlog[i] = src[i % chunk];
    lbk_channel_init(&g_channel, storage, CAPACITY, 0);
    lbk_ring_init(&g_ring, storage, CAPACITY);
    /* Half full, a whole number of chunks: reads and writes then wrap at the end of storage. */
    if (mode == MODE_CHANNEL)
        lbk_channel_write(&g_channel, backlog, CAPACITY / 2 / chunk * chunk);
    else if (mode == MODE_RING)
        lbk_ring_write(&g_ring, backlog, CAPACITY / 2 / chunk * chunk);
    sum = move_bytes(mode, src, dst, chunk, total);
    for (i = 0; i < (total + chunk - 1) / chunk; i++)
        want += src[0] + src[chunk - 1];
    if (sum != want || memcmp(dst, src, chunk) != 0) {
        fprintf(stderr, "core_bench: the bytes read are not those written\n");
        return 2;
    }
    printf("%s chunk %zu: %llu bytes moved\n", argv[1], chunk, total);
    free(src);
    free(dst);
    free(storage);
    free(g_staging);
    free(backlog);
    return 0;
}
