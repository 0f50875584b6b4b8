/*
 * fuzz_ring.c - libFuzzer target: the byte ring against a model (host, ASan/UBSan).
 * Input: two bytes of capacity, then operations of three bytes each (kind, 16-bit length).
 * The ring's results, its bytes and its counters must match a plain array that shifts on
 * every read; any difference aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/lbk_ring.h"

#define MAX_CAPACITY 4096u
#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t storage[MAX_CAPACITY], model[MAX_CAPACITY], out[MAX_CAPACITY * 2], src[MAX_CAPACITY * 2];
    size_t capacity, model_count = 0, i;
    uint64_t written = 0, read = 0, purged = 0;
    uint8_t next_byte = 0;
    lbk_ring_t ring;

    if (size < 2)
        return 0;
    capacity = ((size_t)data[0] | (size_t)data[1] << 8) % (MAX_CAPACITY + 1); /* 0 is allowed */
    lbk_ring_init(&ring, storage, capacity);
    for (i = 2; i + 3 <= size; i += 3) {
        size_t length = ((size_t)data[i + 1] | (size_t)data[i + 2] << 8) % (sizeof(out) + 1);
        size_t expected, n, k;

        switch (data[i] % 4) {
        case 0: /* write: fresh bytes, so a misplaced one shows */
            for (k = 0; k < length; k++)
                src[k] = next_byte++;
            expected = length < capacity - model_count ? length : capacity - model_count;
            n = lbk_ring_write(&ring, src, length);
            CHECK(n == expected);
            memcpy(model + model_count, src, n);
            model_count += n;
            next_byte = (uint8_t)(next_byte - (length - n)); /* the refused bytes come again */
            written += n;
            break;
        case 1: /* read */
        case 2: /* peek */
            expected = length < model_count ? length : model_count;
            n = data[i] % 4 == 1 ? lbk_ring_read(&ring, out, length) : lbk_ring_peek(&ring, out, length);
            CHECK(n == expected);
            CHECK(memcmp(out, model, n) == 0);
            if (data[i] % 4 == 1) {
                memmove(model, model + n, model_count - n);
                model_count -= n;
                read += n;
            }
            break;
        default: /* purge */
            CHECK(lbk_ring_purge(&ring) == model_count);
            purged += model_count;
            model_count = 0;
            break;
        }
        CHECK(lbk_ring_count(&ring) == model_count);
        CHECK(lbk_ring_room(&ring) == capacity - model_count);
        CHECK(written == read + purged + lbk_ring_count(&ring));
    }
    return 0;
}
