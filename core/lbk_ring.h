/*
 * lbk_ring.h - the loopback device's byte ring and its accounting (any mode, any OS).
 *
 * A ring is a FIFO of bytes over storage the caller supplies. It does no locking and no
 * allocation: the caller serialises every call on one ring (the driver holds its device lock).
 * Counters only ever grow, so at any time: bytes_in == bytes_out + bytes_purged + count.
 */
#ifndef LBK_RING_H
#define LBK_RING_H

#include "lbk_base.h"

typedef struct lbk_ring_s {
    uint8_t *data;
    size_t capacity;
    size_t head;          /* index of the oldest queued byte */
    size_t count;         /* bytes queued */
    uint64_t bytes_in;    /* bytes ever accepted by lbk_ring_write */
    uint64_t bytes_out;   /* bytes ever handed out by lbk_ring_read */
    uint64_t bytes_purged; /* bytes ever dropped by lbk_ring_purge */
} lbk_ring_t;

/* Makes an empty ring over storage[0..capacity). capacity may be 0 (a ring that holds nothing). */
void lbk_ring_init(lbk_ring_t *ring, void *storage, size_t capacity);

/* Bytes queued, and bytes that a write could add now. */
static inline size_t lbk_ring_count(const lbk_ring_t *ring) { return ring->count; }
static inline size_t lbk_ring_room(const lbk_ring_t *ring) { return ring->capacity - ring->count; }

/* Appends min(len, room) bytes from src; returns how many. Cannot fail. */
size_t lbk_ring_write(lbk_ring_t *ring, const void *src, size_t len);

/* Moves min(len, count) of the oldest bytes to dst and drops them; returns how many. */
size_t lbk_ring_read(lbk_ring_t *ring, void *dst, size_t len);

/* Copies min(len, count) of the oldest bytes to dst and keeps them queued; returns how many. */
size_t lbk_ring_peek(const lbk_ring_t *ring, void *dst, size_t len);

/* Drops every queued byte; returns how many there were. */
size_t lbk_ring_purge(lbk_ring_t *ring);

#endif /* LBK_RING_H */
