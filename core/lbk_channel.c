/*
 * lbk_channel.c - framing and accounting over the ring (any mode, any OS). See lbk_channel.h.
 */
#include "lbk_channel.h"

void lbk_channel_init(lbk_channel_t *channel, void *storage, size_t capacity, int message_mode)
{
    lbk_ring_init(&channel->ring, storage, capacity);
    channel->message_mode = message_mode != 0;
    channel->queued = 0;
    channel->head_left = 0;
    channel->bytes_in = 0;
    channel->bytes_out = 0;
    channel->bytes_purged = 0;
    channel->bytes_direct = 0;
    channel->taken = 0;
    channel->open_length = 0;
    channel->open_left = 0;
}

int lbk_channel_set_message_mode(lbk_channel_t *channel, int message_mode)
{
    if (lbk_ring_count(&channel->ring) != 0 || channel->open_length != 0)
        return 0;
    channel->message_mode = message_mode != 0;
    return 1;
}

size_t lbk_channel_max_message(const lbk_channel_t *channel)
{
    size_t capacity = channel->ring.capacity;

    if (!channel->message_mode)
        return SIZE_MAX;
    return capacity > LBK_MESSAGE_HEADER_BYTES ? capacity - LBK_MESSAGE_HEADER_BYTES : 0;
}

size_t lbk_channel_room(const lbk_channel_t *channel)
{
    size_t room = lbk_ring_room(&channel->ring) - channel->open_left; /* an open write's rest is spoken for */

    if (!channel->message_mode)
        return room;
    return room > LBK_MESSAGE_HEADER_BYTES ? room - LBK_MESSAGE_HEADER_BYTES : 0;
}

/* The ring as readers see it: without the bytes taken and not yet copied out (at its head). */
static lbk_ring_t untaken_view(const lbk_channel_t *channel)
{
    lbk_ring_t view = channel->ring;

    lbk__ring_drop(&view, channel->taken);
    return view;
}

/* Message mode: the length stored before the oldest message; the caller knows one is queued. */
static size_t peek_header(const lbk_channel_t *channel)
{
    lbk_ring_t view = untaken_view(channel);
    uint32_t length = 0;

    lbk_ring_peek(&view, &length, sizeof(length));
    return length;
}

size_t lbk_channel_next_length(const lbk_channel_t *channel)
{
    if (!channel->message_mode)
        return lbk_channel_queued(channel);
    if (channel->head_left != 0)
        return channel->head_left;
    return channel->queued != 0 ? peek_header(channel) : 0;
}

/* lbk_channel_write for message mode. */
size_t lbk__channel_write_message(lbk_channel_t *channel, const void *src, size_t len)
{
    uint32_t header = (uint32_t)len;

    if (len == 0 || len > lbk_channel_room(channel))
        return 0;
    lbk_ring_write(&channel->ring, &header, sizeof(header));
    lbk_ring_write(&channel->ring, src, len);
    channel->queued += len;
    channel->bytes_in += len;
    return len;
}

/* Message mode: makes the next message's bytes the head of the ring; returns its unread length. */
static size_t open_head_message(lbk_channel_t *channel)
{
    if (channel->head_left == 0 && channel->queued != 0) {
        uint32_t header = 0; /* queued != 0: a whole header is there */

        lbk_ring_read(&channel->ring, &header, sizeof(header));
        channel->head_left = header;
    }
    return channel->head_left;
}

/* lbk_channel_read for message mode. */
size_t lbk__channel_read_message(lbk_channel_t *channel, void *dst, size_t len, int *message_left)
{
    size_t left = open_head_message(channel);
    size_t n = lbk_ring_read(&channel->ring, dst, lbk__min_size(len, left));

    channel->head_left = left - n;
    if (message_left != NULL)
        *message_left = channel->head_left != 0;
    channel->queued -= n;
    channel->bytes_out += n;
    return n;
}

size_t lbk_channel_take(lbk_channel_t *channel, size_t len, int *message_left)
{
    size_t n;

    if (channel->message_mode) {
        n = lbk__min_size(len, open_head_message(channel));
        channel->head_left -= n;
        channel->queued -= n;
        if (message_left != NULL)
            *message_left = channel->head_left != 0;
    } else {
        n = lbk__min_size(len, lbk_channel_queued(channel));
        if (message_left != NULL)
            *message_left = 0;
    }
    channel->taken = n;
    channel->bytes_out += n;
    return n;
}

size_t lbk_channel_copy_taken(lbk_channel_t *channel, void *dst, size_t len)
{
    size_t n = lbk_ring_read(&channel->ring, dst, lbk__min_size(len, channel->taken));

    channel->taken -= n;
    return n;
}

/* Ring bytes of the open write: its header (message mode) and what is put. */
static size_t open_bytes(const lbk_channel_t *channel)
{
    if (channel->open_length == 0)
        return 0;
    return (channel->message_mode ? LBK_MESSAGE_HEADER_BYTES : 0) + lbk__channel_open_put(channel);
}

int lbk_channel_open(lbk_channel_t *channel, size_t len)
{
    uint32_t header = (uint32_t)len;

    if (len == 0 || len > lbk_channel_room(channel))
        return 0;
    if (channel->message_mode)
        lbk_ring_write(&channel->ring, &header, sizeof(header));
    channel->open_length = len;
    channel->open_left = len;
    return 1;
}

size_t lbk_channel_put(lbk_channel_t *channel, const void *src, size_t len)
{
    size_t n = lbk_ring_write(&channel->ring, src, lbk__min_size(len, channel->open_left));

    channel->open_left -= n;
    return n;
}

void lbk_channel_abandon(lbk_channel_t *channel)
{
    /* Its bytes are the newest in the ring: step its tail back over them. */
    channel->ring.count -= open_bytes(channel);
    if (channel->ring.count == 0)
        channel->ring.head = 0;
    channel->open_length = 0;
    channel->open_left = 0;
}

void lbk_channel_close(lbk_channel_t *channel)
{
    if (channel->message_mode)
        channel->queued += channel->open_length;
    channel->bytes_in += channel->open_length;
    channel->open_length = 0;
    channel->open_left = 0;
}

size_t lbk_channel_peek_start(const lbk_channel_t *channel, size_t len, lbk_ring_t *view)
{
    size_t want = lbk__min_size(len, lbk_channel_next_length(channel));

    *view = untaken_view(channel);
    if (channel->message_mode && want != 0 && channel->head_left == 0) /* skip the next message's header */
        lbk__ring_drop(view, LBK_MESSAGE_HEADER_BYTES);
    return want;
}

size_t lbk_channel_peek(const lbk_channel_t *channel, void *dst, size_t len)
{
    lbk_ring_t view;
    size_t n = lbk_channel_peek_start(channel, len, &view);

    return lbk_ring_read(&view, dst, n);
}

size_t lbk_channel_purge(lbk_channel_t *channel)
{
    size_t n = lbk_channel_queued(channel);

    /* What is taken sits at the ring's head and an open write at its tail: keep either. */
    if (channel->taken != 0)
        channel->ring.count = channel->taken;
    else if (channel->open_length != 0)
        lbk__ring_drop(&channel->ring, lbk_ring_count(&channel->ring) - open_bytes(channel));
    else
        lbk_ring_purge(&channel->ring);
    channel->head_left = 0;
    channel->queued = 0;
    channel->bytes_purged += n;
    return n;
}

size_t lbk_channel_hand_off(lbk_channel_t *channel, void *dst, size_t dst_len, const void *src,
                            size_t src_len, int *message_left)
{
    size_t n = lbk__min_size(dst_len, src_len);

    if (n != 0)
        lbk__copy(dst, src, n);
    if (message_left != NULL)
        *message_left = channel->message_mode && n < src_len;
    channel->bytes_in += n;
    channel->bytes_out += n;
    channel->bytes_direct += n;
    return n;
}

void lbk_channel_count_lost(lbk_channel_t *channel, size_t bytes)
{
    channel->bytes_out -= bytes;
    channel->bytes_purged += bytes;
}
