/*
 * lbk_ring.c - the byte ring (any mode, any OS). See lbk_ring.h for the contract.
 * Each transfer is at most two copies: up to the end of storage, then from its start.
 */
#include "lbk_ring.h"

void lbk_ring_init(lbk_ring_t *ring, void *storage, size_t capacity)
{
    ring->data = (uint8_t *)storage;
    ring->capacity = capacity;
    ring->head = 0;
    ring->count = 0;
    ring->bytes_in = 0;
    ring->bytes_out = 0;
    ring->bytes_purged = 0;
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Copies n queued bytes starting at the head to dst; n <= count. */
static void copy_out(const lbk_ring_t *ring, uint8_t *dst, size_t n)
{
    size_t first = min_size(n, ring->capacity - ring->head);

    lbk__copy(dst, ring->data + ring->head, first);
    if (n > first)
        lbk__copy(dst + first, ring->data, n - first);
}

size_t lbk_ring_write(lbk_ring_t *ring, const void *src, size_t len)
{
    size_t n = min_size(len, lbk_ring_room(ring));
    size_t tail, first;

    if (n == 0)
        return 0;
    /* head < capacity and count < capacity here, so this is the tail index without overflow. */
    tail = ring->head + ring->count;
    if (tail >= ring->capacity)
        tail -= ring->capacity;
    first = min_size(n, ring->capacity - tail);
    lbk__copy(ring->data + tail, src, first);
    if (n > first)
        lbk__copy(ring->data, (const uint8_t *)src + first, n - first);
    ring->count += n;
    ring->bytes_in += n;
    return n;
}

size_t lbk_ring_peek(const lbk_ring_t *ring, void *dst, size_t len)
{
    size_t n = min_size(len, ring->count);

    if (n != 0)
        copy_out(ring, (uint8_t *)dst, n);
    return n;
}

/* Drops the n oldest bytes; n <= count. An empty ring restarts at 0 so later copies stay whole. */
static void drop(lbk_ring_t *ring, size_t n)
{
    ring->count -= n;
    if (ring->count == 0) {
        ring->head = 0;
        return;
    }
    ring->head += n;
    if (ring->head >= ring->capacity)
        ring->head -= ring->capacity;
}

size_t lbk_ring_read(lbk_ring_t *ring, void *dst, size_t len)
{
    size_t n = lbk_ring_peek(ring, dst, len);

    drop(ring, n);
    ring->bytes_out += n;
    return n;
}

size_t lbk_ring_purge(lbk_ring_t *ring)
{
    size_t n = ring->count;

    drop(ring, n);
    ring->bytes_purged += n;
    return n;
}
