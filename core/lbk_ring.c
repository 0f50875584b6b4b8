/*
 * lbk_ring.c - the byte ring (any mode, any OS). See lbk_ring.h for the contract.
 * Write and read are inline, in lbk_ring.h.
 */
#include "lbk_ring.h"

void lbk_ring_init(lbk_ring_t *ring, void *storage, size_t capacity)
{
    ring->data = (uint8_t *)storage;
    ring->capacity = capacity;
    ring->head = 0;
    ring->count = 0;
}

size_t lbk_ring_peek(const lbk_ring_t *ring, void *dst, size_t len)
{
    size_t n = lbk__min_size(len, ring->count);

    if (n != 0)
        lbk__ring_copy_out(ring, (uint8_t *)dst, n);
    return n;
}

size_t lbk_ring_purge(lbk_ring_t *ring)
{
    size_t n = ring->count;

    lbk__ring_drop(ring, n);
    return n;
}
