/*
 * lbk_ring.h - the loopback device's byte ring and its accounting (any mode, any OS).
 *
 * A ring is a FIFO of bytes over storage the caller supplies. It does no locking and no
 * allocation: the caller serialises every call on one ring (the driver holds its device lock).
 * It keeps no byte counters: the channel over it does (lbk_channel.h), once.
 */
#ifndef LBK_RING_H
#define LBK_RING_H

#include "lbk_base.h"

typedef struct lbk_ring_s {
    uint8_t *data;
    size_t capacity;
    size_t head;          /* index of the oldest queued byte */
    size_t count;         /* bytes queued */
} lbk_ring_t;

/* Makes an empty ring over storage[0..capacity). capacity may be 0 (a ring that holds nothing). */
void lbk_ring_init(lbk_ring_t *ring, void *storage, size_t capacity);

/* Bytes queued, and bytes that a write could add now. */
static inline size_t lbk_ring_count(const lbk_ring_t *ring) { return ring->count; }
static inline size_t lbk_ring_room(const lbk_ring_t *ring) { return ring->capacity - ring->count; }

static inline size_t lbk__min_size(size_t a, size_t b) { return a < b ? a : b; }

/*
 * Write and read are inline: they are the whole of the byte path, and at small chunk sizes the
 * calls cost as much as the copies (docs/performance.md, core benchmark).
 */

/* Appends min(len, room) bytes from src; returns how many. Cannot fail. */
static inline size_t lbk_ring_write(lbk_ring_t *ring, const void *src, size_t len)
{
    size_t n = lbk__min_size(len, lbk_ring_room(ring));
    size_t tail, first;

    if (n == 0)
        return 0;
    /* head < capacity and count < capacity here, so this is the tail index without overflow. */
    tail = ring->head + ring->count;
    if (tail >= ring->capacity)
        tail -= ring->capacity;
    first = lbk__min_size(n, ring->capacity - tail);
    lbk__copy(ring->data + tail, src, first);
    if (n > first)
        lbk__copy(ring->data, (const uint8_t *)src + first, n - first);
    ring->count += n;
    return n;
}

/* Copies n queued bytes starting at the head to dst; n <= count. */
static inline void lbk__ring_copy_out(const lbk_ring_t *ring, uint8_t *dst, size_t n)
{
    size_t first = lbk__min_size(n, ring->capacity - ring->head);

    lbk__copy(dst, ring->data + ring->head, first);
    if (n > first)
        lbk__copy(dst + first, ring->data, n - first);
}

/* Drops the n oldest bytes; n <= count. An empty ring restarts at 0 so later copies stay whole. */
static inline void lbk__ring_drop(lbk_ring_t *ring, size_t n)
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

/* Moves min(len, count) of the oldest bytes to dst and drops them; returns how many. */
static inline size_t lbk_ring_read(lbk_ring_t *ring, void *dst, size_t len)
{
    size_t n = lbk__min_size(len, ring->count);

    if (n != 0) {
        lbk__ring_copy_out(ring, (uint8_t *)dst, n);
        lbk__ring_drop(ring, n);
    }
    return n;
}

/* Copies min(len, count) of the oldest bytes to dst and keeps them queued; returns how many. */
size_t lbk_ring_peek(const lbk_ring_t *ring, void *dst, size_t len);

/* Drops every queued byte; returns how many there were. */
size_t lbk_ring_purge(lbk_ring_t *ring);

#endif /* LBK_RING_H */
