/* test_ring.c - unit tests of the byte ring (host, ASan/UBSan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/lbk_ring.h"
#include "test_main.h"

TEST(ring_starts_empty)
{
    uint8_t storage[8];
    lbk_ring_t ring;
    uint8_t out[8];

    lbk_ring_init(&ring, storage, sizeof(storage));
    ASSERT_EQ(0, lbk_ring_count(&ring));
    ASSERT_EQ(8, lbk_ring_room(&ring));
    ASSERT_EQ(0, lbk_ring_read(&ring, out, sizeof(out)));
    ASSERT_EQ(0, lbk_ring_peek(&ring, out, sizeof(out)));
    ASSERT_EQ(0, lbk_ring_purge(&ring));
}

TEST(ring_round_trip)
{
    uint8_t storage[16];
    lbk_ring_t ring;
    char out[16] = { 0 };

    lbk_ring_init(&ring, storage, sizeof(storage));
    ASSERT_EQ(5, lbk_ring_write(&ring, "hello", 5));
    ASSERT_EQ(5, lbk_ring_count(&ring));
    ASSERT_EQ(5, lbk_ring_read(&ring, out, sizeof(out)));
    ASSERT_TRUE(memcmp(out, "hello", 5) == 0);
    ASSERT_EQ(0, lbk_ring_count(&ring));
    ASSERT_EQ(16, lbk_ring_room(&ring));
}

TEST(ring_write_stops_at_capacity)
{
    uint8_t storage[4];
    lbk_ring_t ring;
    char out[8] = { 0 };

    lbk_ring_init(&ring, storage, sizeof(storage));
    ASSERT_EQ(4, lbk_ring_write(&ring, "abcdef", 6));
    ASSERT_EQ(0, lbk_ring_room(&ring));
    ASSERT_EQ(0, lbk_ring_write(&ring, "x", 1));
    ASSERT_EQ(4, lbk_ring_read(&ring, out, sizeof(out)));
    ASSERT_TRUE(memcmp(out, "abcd", 4) == 0);
}

TEST(ring_short_read_keeps_rest_in_order)
{
    uint8_t storage[8];
    lbk_ring_t ring;
    char out[8] = { 0 };

    lbk_ring_init(&ring, storage, sizeof(storage));
    lbk_ring_write(&ring, "abcdef", 6);
    ASSERT_EQ(2, lbk_ring_read(&ring, out, 2));
    ASSERT_TRUE(memcmp(out, "ab", 2) == 0);
    ASSERT_EQ(4, lbk_ring_read(&ring, out, 8));
    ASSERT_TRUE(memcmp(out, "cdef", 4) == 0);
}

TEST(ring_wraps_around)
{
    uint8_t storage[8];
    lbk_ring_t ring;
    char out[8] = { 0 };

    lbk_ring_init(&ring, storage, sizeof(storage));
    lbk_ring_write(&ring, "123456", 6);
    lbk_ring_read(&ring, out, 4);                    /* head at 4, "56" queued */
    ASSERT_EQ(6, lbk_ring_write(&ring, "abcdef", 6)); /* crosses the end of storage */
    ASSERT_EQ(0, lbk_ring_room(&ring));
    ASSERT_EQ(3, lbk_ring_peek(&ring, out, 3));
    ASSERT_TRUE(memcmp(out, "56a", 3) == 0);
    ASSERT_EQ(8, lbk_ring_read(&ring, out, 8));
    ASSERT_TRUE(memcmp(out, "56abcdef", 8) == 0);
}

TEST(ring_peek_does_not_consume)
{
    uint8_t storage[8];
    lbk_ring_t ring;
    char out[8] = { 0 };

    lbk_ring_init(&ring, storage, sizeof(storage));
    lbk_ring_write(&ring, "xyz", 3);
    ASSERT_EQ(3, lbk_ring_peek(&ring, out, 8));
    ASSERT_EQ(3, lbk_ring_count(&ring));
    ASSERT_EQ(3, lbk_ring_read(&ring, out, 8));
    ASSERT_TRUE(memcmp(out, "xyz", 3) == 0);
}

TEST(ring_purge_counts_and_empties)
{
    uint8_t storage[8];
    lbk_ring_t ring;
    char out[8];

    lbk_ring_init(&ring, storage, sizeof(storage));
    lbk_ring_write(&ring, "abcdefgh", 8);
    lbk_ring_read(&ring, out, 3);
    ASSERT_EQ(5, lbk_ring_purge(&ring));
    ASSERT_EQ(0, lbk_ring_count(&ring));
    ASSERT_EQ(8, lbk_ring_room(&ring));
    ASSERT_EQ(2, lbk_ring_write(&ring, "ok", 2));
    ASSERT_EQ(2, lbk_ring_read(&ring, out, 8));
    ASSERT_TRUE(memcmp(out, "ok", 2) == 0);
}

TEST(ring_zero_lengths_change_nothing)
{
    uint8_t storage[4];
    lbk_ring_t ring;

    lbk_ring_init(&ring, storage, sizeof(storage));
    lbk_ring_write(&ring, "ab", 2);
    ASSERT_EQ(0, lbk_ring_write(&ring, "", 0));
    ASSERT_EQ(0, lbk_ring_read(&ring, NULL, 0));
    ASSERT_EQ(0, lbk_ring_peek(&ring, NULL, 0));
    ASSERT_EQ(2, lbk_ring_count(&ring));
}

TEST(ring_of_one_byte)
{
    uint8_t storage[1];
    lbk_ring_t ring;
    char c = 0;

    lbk_ring_init(&ring, storage, sizeof(storage));
    ASSERT_EQ(1, lbk_ring_write(&ring, "pq", 2));
    ASSERT_EQ(1, lbk_ring_read(&ring, &c, 1));
    ASSERT_EQ('p', c);
    ASSERT_EQ(1, lbk_ring_write(&ring, "q", 1));
    ASSERT_EQ(1, lbk_ring_read(&ring, &c, 1));
    ASSERT_EQ('q', c);
}

TEST(ring_of_zero_capacity_holds_nothing)
{
    lbk_ring_t ring;
    char c;

    lbk_ring_init(&ring, NULL, 0);
    ASSERT_EQ(0, lbk_ring_write(&ring, "a", 1));
    ASSERT_EQ(0, lbk_ring_read(&ring, &c, 1));
}

/* Random sizes against a simple model: every byte comes out once, in order. */
TEST(ring_matches_model_over_random_operations)
{
    enum { CAPACITY = 97, STEPS = 200000 };
    uint8_t storage[CAPACITY], chunk[3 * CAPACITY];
    lbk_ring_t ring;
    uint32_t seed = 12345;
    uint8_t next_in = 0, next_out = 0;
    uint64_t model_count = 0;
    int step;

    lbk_ring_init(&ring, storage, CAPACITY);
    for (step = 0; step < STEPS; step++) {
        size_t len, n, i;

        seed = seed * 1103515245u + 12345u;
        len = (seed >> 8) % sizeof(chunk);
        switch ((seed >> 4) % 4) {
        case 0:
        case 1:
            for (i = 0; i < len; i++)
                chunk[i] = (uint8_t)(next_in + i);
            n = lbk_ring_write(&ring, chunk, len);
            ASSERT_EQ(len < CAPACITY - model_count ? len : CAPACITY - model_count, n);
            next_in = (uint8_t)(next_in + n);
            model_count += n;
            break;
        case 2:
            n = lbk_ring_read(&ring, chunk, len);
            ASSERT_EQ(len < model_count ? len : model_count, n);
            for (i = 0; i < n; i++)
                ASSERT_EQ((uint8_t)(next_out + i), chunk[i]);
            next_out = (uint8_t)(next_out + n);
            model_count -= n;
            break;
        default:
            n = lbk_ring_peek(&ring, chunk, len);
            ASSERT_EQ(len < model_count ? len : model_count, n);
            for (i = 0; i < n; i++)
                ASSERT_EQ((uint8_t)(next_out + i), chunk[i]);
            break;
        }
        ASSERT_EQ(model_count, lbk_ring_count(&ring));
    }
}
