/*
 * fuzz_channel.c - libFuzzer target: framing and accounting over the ring, against a model
 * (host, ASan/UBSan). Input: two bytes of capacity, one of mode, then operations of three bytes
 * (kind, 16-bit length). The model keeps the queued bytes in one array and, in message mode,
 * each message's remaining length in another; every result, byte and counter must agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/lbk_channel.h"

#define MAX_CAPACITY 2048u
#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t storage[MAX_CAPACITY], model[MAX_CAPACITY], out[MAX_CAPACITY * 2], src[MAX_CAPACITY * 2];
static size_t lengths[MAX_CAPACITY]; /* message mode: bytes left of each queued message */
static size_t model_count, message_count;
static int head_opened; /* a read has consumed the head message's header */

static void model_drop(size_t n)
{
    memmove(model, model + n, model_count - n);
    model_count -= n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t capacity, i;
    uint64_t in = 0, read = 0, purged = 0, direct = 0;
    uint8_t next_byte = 0;
    int messages;
    lbk_channel_t ch;

    if (size < 3)
        return 0;
    capacity = ((size_t)data[0] | (size_t)data[1] << 8) % MAX_CAPACITY + 1;
    messages = data[2] & 1;
    model_count = message_count = 0;
    head_opened = 0;
    lbk_channel_init(&ch, storage, capacity, messages);
    for (i = 3; i + 3 <= size; i += 3) {
        size_t length = ((size_t)data[i + 1] | (size_t)data[i + 2] << 8) % (sizeof(out) + 1);
        size_t expected, n, k;
        int left = -1;

        switch (data[i] % 6) {
        case 0: /* write: fresh bytes, so a misplaced one shows */
            for (k = 0; k < length; k++)
                src[k] = next_byte++;
            if (messages) {
                size_t used = model_count + LBK_MESSAGE_HEADER_BYTES * (message_count - (size_t)head_opened);

                expected = (length != 0 && length + LBK_MESSAGE_HEADER_BYTES <= capacity - used) ? length : 0;
            } else {
                expected = length < capacity - model_count ? length : capacity - model_count;
            }
            n = lbk_channel_write(&ch, src, length);
            CHECK(n == expected);
            memcpy(model + model_count, src, n);
            model_count += n;
            if (messages && n != 0)
                lengths[message_count++] = n;
            in += n;
            break;
        case 1: /* read */
            expected = messages ? (message_count != 0 ? (length < lengths[0] ? length : lengths[0]) : 0)
                                : (length < model_count ? length : model_count);
            n = lbk_channel_read(&ch, out, length, &left);
            CHECK(n == expected);
            CHECK(n == 0 || memcmp(out, model, n) == 0);
            if (messages && message_count != 0) {
                head_opened = 1;
                lengths[0] -= n;
                CHECK(left == (lengths[0] != 0));
                if (lengths[0] == 0) {
                    memmove(lengths, lengths + 1, (message_count - 1) * sizeof(lengths[0]));
                    message_count--;
                    head_opened = 0;
                }
            } else {
                CHECK(left == 0);
            }
            model_drop(n);
            read += n;
            break;
        case 2: /* peek */
            expected = messages ? (message_count != 0 ? (length < lengths[0] ? length : lengths[0]) : 0)
                                : (length < model_count ? length : model_count);
            n = lbk_channel_peek(&ch, out, length);
            CHECK(n == expected);
            CHECK(n == 0 || memcmp(out, model, n) == 0);
            break;
        case 3: /* purge */
            CHECK(lbk_channel_purge(&ch) == model_count);
            purged += model_count;
            model_count = message_count = 0;
            head_opened = 0;
            break;
        case 4: /* hand-off: only legal when nothing is queued */
            if (model_count != 0)
                break;
            for (k = 0; k < length; k++)
                src[k] = next_byte++;
            k = (size_t)data[i + 1] % (length + 1); /* the reader's buffer */
            n = lbk_channel_hand_off(&ch, out, k, src, length, &left);
            CHECK(n == (k < length ? k : length));
            CHECK(n == 0 || memcmp(out, src, n) == 0);
            CHECK(left == (messages && n < length));
            in += n;
            read += n;
            direct += n;
            break;
        case 5: /* switch mode */
            k = lbk_channel_set_message_mode(&ch, !messages);
            CHECK(k == (model_count == 0));
            if (k)
                messages = !messages;
            break;
        }
        CHECK(lbk_channel_queued(&ch) == model_count);
        CHECK(lbk_channel_next_length(&ch) == (messages ? (message_count ? lengths[0] : 0) : model_count));
        CHECK(ch.bytes_in == in && ch.bytes_out == read && ch.bytes_purged == purged && ch.bytes_direct == direct);
        CHECK(ch.bytes_in == ch.bytes_out + ch.bytes_purged + lbk_channel_queued(&ch));
    }
    return 0;
}
