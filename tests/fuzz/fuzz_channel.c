/*
 * fuzz_channel.c - libFuzzer target: framing and accounting over the ring, against a model
 * (host, ASan/UBSan). Input: two bytes of capacity, one of mode, then operations of three bytes
 * (kind, 16-bit length). The model keeps the queued bytes in one array and, in message mode,
 * each message's remaining length in another; a read in pieces (take, copy) and a message in
 * pieces (open, put, close) have their own. Every result, byte and counter must agree.
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
static uint8_t taken[MAX_CAPACITY], opened[MAX_CAPACITY];
static size_t taken_count, taken_copied; /* a take: its bytes, and how many are copied out */
static size_t open_length, open_put;      /* an open write: its length, and bytes put */

/* Bytes of storage in use: queued, their headers, taken and not copied, an open message. */
static size_t model_used(int messages)
{
    size_t used = model_count + taken_count - taken_copied + open_length; /* an open write's rest is held */

    if (messages)
        used += LBK_MESSAGE_HEADER_BYTES * (message_count - (size_t)head_opened + (open_length != 0));
    return used;
}

/* The model's side of a read of up to length bytes: returns how many, and sets *left. */
static size_t model_read(int messages, size_t length, int *left)
{
    size_t n;

    *left = 0;
    if (!messages)
        return length < model_count ? length : model_count;
    if (message_count == 0)
        return 0;
    n = length < lengths[0] ? length : lengths[0];
    head_opened = 1;
    lengths[0] -= n;
    *left = lengths[0] != 0;
    if (lengths[0] == 0) {
        memmove(lengths, lengths + 1, (message_count - 1) * sizeof(lengths[0]));
        message_count--;
        head_opened = 0;
    }
    return n;
}

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
    taken_count = taken_copied = open_length = open_put = 0;
    lbk_channel_init(&ch, storage, capacity, messages);
    for (i = 3; i + 3 <= size; i += 3) {
        size_t length = ((size_t)data[i + 1] | (size_t)data[i + 2] << 8) % (sizeof(out) + 1);
        size_t expected, n, k;
        int left = -1, exp_left = 0;

        int busy = taken_count != taken_copied || open_length != 0; /* a piece-wise transfer is open */

        switch (data[i] % 11) {
        case 0: /* write: fresh bytes, so a misplaced one shows */
            if (open_length != 0)
                break;
            for (k = 0; k < length; k++)
                src[k] = next_byte++;
            if (messages)
                expected = (length != 0 && length + LBK_MESSAGE_HEADER_BYTES <= capacity - model_used(1)) ? length : 0;
            else
                expected = length < capacity - model_used(0) ? length : capacity - model_used(0);
            n = lbk_channel_write(&ch, src, length);
            CHECK(n == expected);
            memcpy(model + model_count, src, n);
            model_count += n;
            if (messages && n != 0)
                lengths[message_count++] = n;
            in += n;
            break;
        case 1: /* read: not while a take or a write is open */
            if (busy)
                break;
            expected = model_read(messages, length, &exp_left);
            n = lbk_channel_read(&ch, out, length, &left);
            CHECK(n == expected && left == exp_left);
            CHECK(n == 0 || memcmp(out, model, n) == 0);
            model_drop(n);
            read += n;
            break;
        case 2: /* peek */
            expected = messages ? (message_count != 0 ? (length < lengths[0] ? length : lengths[0]) : 0)
                                : (length < model_count ? length : model_count);
            n = lbk_channel_peek(&ch, out, length);
            CHECK(n == expected);
            CHECK(n == 0 || memcmp(out, model, n) == 0);
            { /* and in pieces of up to 7 bytes, from a view */
                lbk_ring_t view;
                size_t copied = 0;

                CHECK(lbk_channel_peek_start(&ch, length, &view) == n);
                while (copied < n)
                    copied += lbk_ring_read(&view, out + copied, n - copied < 7 ? n - copied : 7);
                CHECK(n == 0 || memcmp(out, model, n) == 0);
            }
            break;
        case 3: /* purge: keeps what is taken and an open message */
            CHECK(lbk_channel_purge(&ch) == model_count);
            purged += model_count;
            model_count = message_count = 0;
            head_opened = 0;
            break;
        case 4: /* hand-off: only legal when nothing is queued */
            if (model_count != 0 || busy)
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
            CHECK(k == (model_count == 0 && !busy));
            if (k)
                messages = !messages;
            break;
        case 6: /* take: counted as read now */
            if (busy)
                break;
            expected = model_read(messages, length, &exp_left);
            n = lbk_channel_take(&ch, length, &left);
            CHECK(n == expected && left == exp_left);
            memcpy(taken, model, n);
            taken_count = n;
            taken_copied = 0;
            model_drop(n);
            read += n;
            break;
        case 7: /* copy out part of what is taken */
            expected = taken_count - taken_copied;
            expected = length < expected ? length : expected;
            n = lbk_channel_copy_taken(&ch, out, length);
            CHECK(n == expected);
            CHECK(n == 0 || memcmp(out, taken + taken_copied, n) == 0);
            taken_copied += n;
            if (taken_copied == taken_count)
                taken_count = taken_copied = 0;
            break;
        case 8: /* open a write (message mode: a message) */
            if (busy)
                break;
            length %= MAX_CAPACITY;
            k = length != 0 && length + (messages ? LBK_MESSAGE_HEADER_BYTES : 0) <= capacity - model_used(messages);
            CHECK(lbk_channel_open(&ch, length) == (int)k);
            if (k) {
                open_length = length;
                open_put = 0;
            }
            break;
        case 9: /* put part of it: fresh bytes */
            if (open_length == 0)
                break;
            for (k = 0; k < length; k++)
                src[k] = next_byte++;
            expected = open_length - open_put;
            expected = length < expected ? length : expected;
            CHECK(lbk_channel_put(&ch, src, length) == expected);
            memcpy(opened + open_put, src, expected);
            open_put += expected;
            break;
        case 10: /* close it once whole: the newest bytes (message); abandon it before */
            if (open_length == 0)
                break;
            if (open_put != open_length) {
                lbk_channel_abandon(&ch);
                open_length = open_put = 0;
                break;
            }
            lbk_channel_close(&ch);
            memcpy(model + model_count, opened, open_length);
            model_count += open_length;
            if (messages)
                lengths[message_count++] = open_length;
            in += open_length;
            open_length = open_put = 0;
            break;
        }
        CHECK(lbk_channel_queued(&ch) == model_count);
        k = capacity - model_used(messages);
        CHECK(lbk_channel_room(&ch) == (!messages ? k : k > LBK_MESSAGE_HEADER_BYTES ? k - LBK_MESSAGE_HEADER_BYTES : 0));
        CHECK(lbk_channel_next_length(&ch) == (messages ? (message_count ? lengths[0] : 0) : model_count));
        CHECK(ch.bytes_in == in && ch.bytes_out == read && ch.bytes_purged == purged && ch.bytes_direct == direct);
        CHECK(ch.bytes_in == ch.bytes_out + ch.bytes_purged + lbk_channel_queued(&ch));
    }
    return 0;
}
