/* test_channel.c - unit tests of framing, hand-off and accounting over the ring (host, ASan/UBSan). */
#include <stdint.h>
#include <string.h>

#include "../../core/lbk_channel.h"
#include "test_main.h"

/* in == out + purged + queued must hold after every call. */
#define ASSERT_ACCOUNTED(ch) \
    ASSERT_EQ((ch)->bytes_in, (ch)->bytes_out + (ch)->bytes_purged + lbk_channel_queued(ch))

TEST(channel_stream_is_a_ring)
{
    uint8_t storage[8];
    lbk_channel_t ch;
    char out[16] = { 0 };
    int left = 1;

    lbk_channel_init(&ch, storage, sizeof(storage), 0);
    ASSERT_EQ(SIZE_MAX, lbk_channel_max_message(&ch));
    ASSERT_EQ(8, lbk_channel_room(&ch));
    ASSERT_EQ(5, lbk_channel_write(&ch, "hello", 5));
    ASSERT_EQ(3, lbk_channel_write(&ch, "world", 5)); /* partial: what fits */
    ASSERT_EQ(8, lbk_channel_next_length(&ch));
    ASSERT_EQ(4, lbk_channel_peek(&ch, out, 4));
    ASSERT_EQ(8, lbk_channel_read(&ch, out, sizeof(out), &left));
    ASSERT_EQ(0, left);
    ASSERT_TRUE(memcmp(out, "hellowor", 8) == 0);
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_messages_keep_their_boundaries)
{
    uint8_t storage[32];
    lbk_channel_t ch;
    char out[32] = { 0 };
    int left = 1;

    lbk_channel_init(&ch, storage, sizeof(storage), 1);
    ASSERT_EQ(28, lbk_channel_max_message(&ch));
    ASSERT_EQ(3, lbk_channel_write(&ch, "one", 3));
    ASSERT_EQ(5, lbk_channel_write(&ch, "three", 5));
    ASSERT_EQ(8, lbk_channel_queued(&ch)); /* headers are not counted */
    ASSERT_EQ(3, lbk_channel_next_length(&ch));
    ASSERT_EQ(3, lbk_channel_read(&ch, out, sizeof(out), &left));
    ASSERT_EQ(0, left);
    ASSERT_TRUE(memcmp(out, "one", 3) == 0);
    ASSERT_EQ(5, lbk_channel_read(&ch, out, sizeof(out), &left));
    ASSERT_TRUE(memcmp(out, "three", 5) == 0);
    ASSERT_EQ(0, lbk_channel_read(&ch, out, sizeof(out), &left));
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_short_read_leaves_the_rest_of_the_message)
{
    uint8_t storage[32];
    lbk_channel_t ch;
    char out[32] = { 0 };
    int left = 0;

    lbk_channel_init(&ch, storage, sizeof(storage), 1);
    ASSERT_EQ(10, lbk_channel_write(&ch, "0123456789", 10));
    ASSERT_EQ(2, lbk_channel_write(&ch, "xy", 2));
    ASSERT_EQ(4, lbk_channel_read(&ch, out, 4, &left));
    ASSERT_EQ(1, left);
    ASSERT_EQ(6, lbk_channel_next_length(&ch));
    ASSERT_EQ(3, lbk_channel_peek(&ch, out, 3));
    ASSERT_TRUE(memcmp(out, "456", 3) == 0);
    ASSERT_EQ(6, lbk_channel_read(&ch, out, sizeof(out), &left));
    ASSERT_EQ(0, left);
    ASSERT_TRUE(memcmp(out, "456789", 6) == 0);
    ASSERT_EQ(2, lbk_channel_peek(&ch, out, sizeof(out))); /* peek skips the next header */
    ASSERT_TRUE(memcmp(out, "xy", 2) == 0);
    ASSERT_EQ(2, lbk_channel_read(&ch, out, sizeof(out), &left));
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_message_is_whole_or_nothing)
{
    uint8_t storage[16];
    lbk_channel_t ch;
    char big[16] = { 0 };

    lbk_channel_init(&ch, storage, sizeof(storage), 1);
    ASSERT_EQ(12, lbk_channel_max_message(&ch));
    ASSERT_EQ(0, lbk_channel_write(&ch, big, 13)); /* larger than any message can be */
    ASSERT_EQ(12, lbk_channel_write(&ch, big, 12));
    ASSERT_EQ(0, lbk_channel_room(&ch));
    ASSERT_EQ(0, lbk_channel_write(&ch, big, 1));
    ASSERT_EQ(12, lbk_channel_queued(&ch));
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_messages_wrap_around_the_ring)
{
    uint8_t storage[23]; /* odd size, so headers straddle the end */
    lbk_channel_t ch;
    char in[8], out[8];
    int i, left;

    lbk_channel_init(&ch, storage, sizeof(storage), 1);
    for (i = 0; i < 200; i++) {
        size_t len = 1 + (size_t)(i % 7);

        memset(in, 'a' + i % 26, len);
        ASSERT_EQ(len, lbk_channel_write(&ch, in, len));
        if (i % 2 == 1) {
            /* read two messages, each exactly */
            ASSERT_TRUE(lbk_channel_read(&ch, out, sizeof(out), &left) > 0);
            ASSERT_EQ(0, left);
            ASSERT_EQ(len, lbk_channel_read(&ch, out, sizeof(out), &left));
            ASSERT_TRUE(memcmp(in, out, len) == 0);
        }
    }
    ASSERT_EQ(0, lbk_channel_queued(&ch));
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_mode_changes_only_when_empty)
{
    uint8_t storage[16];
    lbk_channel_t ch;
    char out[4];

    lbk_channel_init(&ch, storage, sizeof(storage), 0);
    ASSERT_EQ(2, lbk_channel_write(&ch, "ab", 2));
    ASSERT_EQ(0, lbk_channel_set_message_mode(&ch, 1));
    ASSERT_EQ(2, lbk_channel_read(&ch, out, sizeof(out), NULL));
    ASSERT_EQ(1, lbk_channel_set_message_mode(&ch, 1));
    ASSERT_EQ(12, lbk_channel_room(&ch));
    ASSERT_EQ(2, lbk_channel_write(&ch, "cd", 2));
    ASSERT_EQ(2, lbk_channel_purge(&ch));
    ASSERT_EQ(1, lbk_channel_set_message_mode(&ch, 0));
    ASSERT_EQ(16, lbk_channel_room(&ch));
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_hand_off_counts_direct_bytes)
{
    uint8_t storage[16];
    lbk_channel_t ch;
    char out[8] = { 0 };
    int left = 0;

    lbk_channel_init(&ch, storage, sizeof(storage), 0);
    ASSERT_EQ(5, lbk_channel_hand_off(&ch, out, sizeof(out), "hello", 5, &left));
    ASSERT_EQ(0, left);
    ASSERT_EQ(3, lbk_channel_hand_off(&ch, out, 3, "world", 5, &left));
    ASSERT_EQ(0, left); /* a byte stream has no message to leave */
    ASSERT_EQ(8, ch.bytes_direct);
    ASSERT_EQ(8, ch.bytes_out);
    ASSERT_EQ(0, lbk_channel_queued(&ch));
    lbk_channel_set_message_mode(&ch, 1);
    ASSERT_EQ(3, lbk_channel_hand_off(&ch, out, 3, "message", 7, &left));
    ASSERT_EQ(1, left);
    ASSERT_EQ(0, lbk_channel_hand_off(&ch, NULL, 0, NULL, 0, &left));
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_lost_bytes_move_to_purged)
{
    uint8_t storage[16];
    lbk_channel_t ch;
    char out[8];

    lbk_channel_init(&ch, storage, sizeof(storage), 0);
    lbk_channel_write(&ch, "abcdef", 6);
    ASSERT_EQ(6, lbk_channel_read(&ch, out, sizeof(out), NULL));
    lbk_channel_count_lost(&ch, 6);
    ASSERT_EQ(0, ch.bytes_out);
    ASSERT_EQ(6, ch.bytes_purged);
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_taken_bytes_are_read_at_once_and_copied_in_pieces)
{
    uint8_t storage[16];
    lbk_channel_t ch;
    char out[16] = { 0 };
    int left = 0;

    lbk_channel_init(&ch, storage, sizeof(storage), 0);
    ASSERT_EQ(10, lbk_channel_write(&ch, "0123456789", 10));
    ASSERT_EQ(6, lbk_channel_take(&ch, 6, &left));
    ASSERT_EQ(0, left);
    ASSERT_EQ(4, lbk_channel_queued(&ch)); /* counted as read already */
    ASSERT_EQ(6, ch.bytes_out);
    ASSERT_EQ(4, lbk_channel_next_length(&ch));
    ASSERT_EQ(6, lbk_channel_room(&ch)); /* but their room is not free yet */
    ASSERT_EQ(4, lbk_channel_peek(&ch, out, sizeof(out)));
    ASSERT_TRUE(memcmp(out, "6789", 4) == 0);
    ASSERT_EQ(4, lbk_channel_purge(&ch)); /* drops only what is not taken */
    ASSERT_EQ(0, lbk_channel_set_message_mode(&ch, 1));
    ASSERT_EQ(4, lbk_channel_copy_taken(&ch, out, 4));
    ASSERT_EQ(2, lbk_channel_copy_taken(&ch, out + 4, 8));
    ASSERT_TRUE(memcmp(out, "012345", 6) == 0);
    ASSERT_EQ(16, lbk_channel_room(&ch));
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_taken_message_part_leaves_the_rest_for_the_next_read)
{
    uint8_t storage[32];
    lbk_channel_t ch;
    char out[16] = { 0 };
    int left = 0;

    lbk_channel_init(&ch, storage, sizeof(storage), 1);
    ASSERT_EQ(8, lbk_channel_write(&ch, "abcdefgh", 8));
    ASSERT_EQ(2, lbk_channel_write(&ch, "xy", 2));
    ASSERT_EQ(5, lbk_channel_take(&ch, 5, &left));
    ASSERT_EQ(1, left);
    ASSERT_EQ(3, lbk_channel_next_length(&ch));
    ASSERT_EQ(3, lbk_channel_peek(&ch, out, sizeof(out))); /* past the taken bytes */
    ASSERT_TRUE(memcmp(out, "fgh", 3) == 0);
    ASSERT_EQ(5, lbk_channel_copy_taken(&ch, out, sizeof(out)));
    ASSERT_TRUE(memcmp(out, "abcde", 5) == 0);
    ASSERT_EQ(3, lbk_channel_take(&ch, 16, &left));
    ASSERT_EQ(0, left);
    ASSERT_EQ(3, lbk_channel_copy_taken(&ch, out, sizeof(out)));
    ASSERT_EQ(2, lbk_channel_next_length(&ch)); /* the next header, past none taken */
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_open_message_is_unseen_until_closed_and_survives_a_purge)
{
    uint8_t storage[32];
    lbk_channel_t ch;
    char out[16] = { 0 };
    int left = 0;

    lbk_channel_init(&ch, storage, sizeof(storage), 1);
    ASSERT_EQ(3, lbk_channel_write(&ch, "old", 3));
    ASSERT_EQ(0, lbk_channel_open(&ch, 22)); /* 4 + 3 + 4 + 22 > 32 */
    ASSERT_EQ(1, lbk_channel_open(&ch, 6));
    ASSERT_EQ(4, lbk_channel_put(&ch, "newm", 4));
    ASSERT_EQ(3, lbk_channel_queued(&ch));
    ASSERT_EQ(3, lbk_channel_next_length(&ch));
    ASSERT_EQ(3, lbk_channel_purge(&ch));
    ASSERT_EQ(0, lbk_channel_queued(&ch));
    ASSERT_EQ(0, lbk_channel_read(&ch, out, sizeof(out), &left)); /* a message: not readable while open */
    ASSERT_EQ(0, lbk_channel_set_message_mode(&ch, 0));
    ASSERT_EQ(2, lbk_channel_put(&ch, "sgXX", 4)); /* no more than its length */
    lbk_channel_close(&ch);
    ASSERT_EQ(6, lbk_channel_queued(&ch));
    ASSERT_EQ(6, lbk_channel_read(&ch, out, sizeof(out), &left));
    ASSERT_TRUE(memcmp(out, "newmsg", 6) == 0);
    ASSERT_EQ(0, left);
    ASSERT_ACCOUNTED(&ch);
}

TEST(channel_open_stream_write_is_seen_whole_or_not_at_all)
{
    uint8_t storage[16];
    lbk_channel_t ch;
    char out[16] = { 0 };

    lbk_channel_init(&ch, storage, sizeof(storage), 0);
    ASSERT_EQ(2, lbk_channel_write(&ch, "ab", 2));
    ASSERT_EQ(0, lbk_channel_open(&ch, 15)); /* more than the room */
    ASSERT_EQ(1, lbk_channel_open(&ch, 10));
    ASSERT_EQ(4, lbk_channel_room(&ch));     /* its whole length is held */
    ASSERT_EQ(6, lbk_channel_put(&ch, "cdefgh", 6));
    ASSERT_EQ(2, lbk_channel_queued(&ch));   /* only what was there before */
    ASSERT_EQ(2, lbk_channel_peek(&ch, out, sizeof(out)));
    ASSERT_EQ(2, lbk_channel_purge(&ch));    /* keeps the open write */
    ASSERT_EQ(0, lbk_channel_peek(&ch, out, sizeof(out)));
    ASSERT_EQ(0, lbk_channel_set_message_mode(&ch, 1));
    ASSERT_EQ(4, lbk_channel_put(&ch, "ijkl", 4));
    lbk_channel_close(&ch);
    ASSERT_EQ(10, lbk_channel_queued(&ch));
    ASSERT_EQ(10, lbk_channel_read(&ch, out, sizeof(out), NULL));
    ASSERT_TRUE(memcmp(out, "cdefghijkl", 10) == 0);
    ASSERT_EQ(1, lbk_channel_open(&ch, 3));
    ASSERT_EQ(1, lbk_channel_put(&ch, "x", 1));
    lbk_channel_abandon(&ch);                /* as if never begun */
    ASSERT_EQ(16, lbk_channel_room(&ch));
    ASSERT_EQ(0, lbk_channel_queued(&ch));
    ASSERT_ACCOUNTED(&ch);
}
