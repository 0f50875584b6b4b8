/*
 * lbk_channel.h - one direction of data through a device: a ring, its framing (byte stream or
 * messages) and its accounting (any mode, any OS).
 *
 * A loopback device has one channel; each end of a pair writes into one and reads from the
 * other. Like the ring, a channel does no locking and no allocation: the caller serialises every
 * call on it. At any time: bytes_in == bytes_out + bytes_purged + lbk_channel_queued().
 *
 * Message mode stores each message as a 4-byte length, then its bytes. A read that takes only
 * part of a message leaves the rest as the head message (head_left), to be read next.
 *
 * A caller that must not copy a whole transfer at once (the driver copies a bounded chunk per
 * hold of its spin lock) moves bytes in pieces: a read is taken (counted at once) and its bytes
 * copied out later; a write is opened, put piece by piece and closed, and no reader sees any of
 * it before it is closed. At most one take or one open write at a time.
 */
#ifndef LBK_CHANNEL_H
#define LBK_CHANNEL_H

#include "lbk_ring.h"
#include "../include/lbk_ioctl.h"

typedef struct lbk_channel_s {
    lbk_ring_t ring;       /* payload, and in message mode the length before each message */
    int message_mode;      /* 0 byte stream, 1 messages */
    size_t queued;         /* message mode: payload bytes queued (headers not counted); a byte
                              stream uses ring.count instead, one counter less on its path */
    size_t head_left;      /* message mode: unread bytes of a message whose header is consumed */
    uint64_t bytes_in;     /* payload bytes ever accepted, through the ring or handed off */
    uint64_t bytes_out;    /* payload bytes ever handed to readers */
    uint64_t bytes_purged; /* payload bytes ever dropped */
    uint64_t bytes_direct; /* of bytes_out, those handed off without passing through the ring */
    size_t taken;          /* bytes counted as read whose storage is not yet copied out */
    size_t open_length;    /* length of the write being put in pieces, 0 when none */
    size_t open_left;      /* bytes of it still to put */
} lbk_channel_t;

void lbk_channel_init(lbk_channel_t *channel, void *storage, size_t capacity, int message_mode);

/* Switches framing; only an empty channel can (returns 0 when bytes are queued, taken or open). */
int lbk_channel_set_message_mode(lbk_channel_t *channel, int message_mode);

/* Bytes of an open write already put: in the ring, but not queued yet. */
static inline size_t lbk__channel_open_put(const lbk_channel_t *channel)
{
    return channel->open_length - channel->open_left;
}

static inline size_t lbk_channel_queued(const lbk_channel_t *channel)
{
    if (channel->message_mode)
        return channel->queued;
    return channel->ring.count - channel->taken - lbk__channel_open_put(channel);
}
static inline size_t lbk_channel_capacity(const lbk_channel_t *channel) { return channel->ring.capacity; }

/* The longest write accepted: any length in byte-stream mode, capacity - header for messages. */
size_t lbk_channel_max_message(const lbk_channel_t *channel);

/* Payload bytes a write could add now (message mode: the longest message that fits now). */
size_t lbk_channel_room(const lbk_channel_t *channel);

/* Message mode: bytes left of the next message to read; 0 when none. Stream: lbk_channel_queued. */
size_t lbk_channel_next_length(const lbk_channel_t *channel);

/*
 * Appends from src. Byte stream: min(len, room) bytes. Message mode: len bytes as one message if
 * it fits whole, else nothing. Returns the payload bytes appended. len 0 appends nothing.
 */
size_t lbk__channel_write_message(lbk_channel_t *channel, const void *src, size_t len);
static inline size_t lbk_channel_write(lbk_channel_t *channel, const void *src, size_t len)
{
    size_t n;

    /* The byte stream inline, as the ring's own write: see lbk_ring.h. */
    if (channel->message_mode)
        return lbk__channel_write_message(channel, src, len);
    n = lbk_ring_write(&channel->ring, src, len);
    channel->bytes_in += n;
    return n;
}

/*
 * Moves queued bytes to dst; not while a take or a write is open (the byte stream's path is the
 * ring's own, with nothing to check: see lbk_ring.h). Byte stream: min(len, queued). Message mode: at most the rest of the
 * next message; *message_left (may be NULL) is set when part of that message stays queued.
 */
size_t lbk__channel_read_message(lbk_channel_t *channel, void *dst, size_t len, int *message_left);
static inline size_t lbk_channel_read(lbk_channel_t *channel, void *dst, size_t len, int *message_left)
{
    size_t n;

    if (channel->message_mode)
        return lbk__channel_read_message(channel, dst, len, message_left);
    if (message_left != NULL)
        *message_left = 0;
    n = lbk_ring_read(&channel->ring, dst, len); /* all the ring holds is queued: nothing is taken or open */
    channel->bytes_out += n;
    return n;
}

/*
 * Counts bytes as read like lbk_channel_read (same lengths, same *message_left), but leaves them
 * in the ring until lbk_channel_copy_taken moves them out: from now on nothing else sees them.
 * Only while no take and no message is open.
 */
size_t lbk_channel_take(lbk_channel_t *channel, size_t len, int *message_left);

/* Moves up to len of the taken bytes to dst, in order, and frees their room; returns how many. */
size_t lbk_channel_copy_taken(lbk_channel_t *channel, void *dst, size_t len);

/*
 * A write in pieces that readers see whole or not at all: starts one of len bytes (len > 0) if
 * it fits whole now (message mode: as one message), returning 1, else 0. Its room is held;
 * lbk_channel_put appends its bytes, and lbk_channel_close, once all are put, queues them as the
 * newest bytes (message). Until then readers, peek, purge and counts do not see them. Only
 * while no take and no write is open.
 */
int lbk_channel_open(lbk_channel_t *channel, size_t len);
size_t lbk_channel_put(lbk_channel_t *channel, const void *src, size_t len); /* at most open_left */
void lbk_channel_close(lbk_channel_t *channel);
/* Drops the open write, put or not: none of it ever appears. */
void lbk_channel_abandon(lbk_channel_t *channel);

/* Copies like lbk_channel_read without consuming anything. */
size_t lbk_channel_peek(const lbk_channel_t *channel, void *dst, size_t len);

/*
 * Peek in pieces: returns how many bytes lbk_channel_peek would copy, and sets *view to a copy of
 * the ring's indices at the first of them; lbk_ring_read(view, ...) then copies them in order
 * without changing the channel. The bytes stay valid while nothing is written to the channel.
 */
size_t lbk_channel_peek_start(const lbk_channel_t *channel, size_t len, lbk_ring_t *view);

/* Drops everything queued (not what is taken, nor an open write); returns the payload bytes dropped. */
size_t lbk_channel_purge(lbk_channel_t *channel);

/*
 * Direct hand-off from a waiting writer to a waiting reader, legal only while nothing is queued
 * (the writer's bytes are the oldest). Copies min(dst_len, src_len) bytes; in message mode src
 * is the rest of one message and *message_left is set when dst was too small for all of it.
 * Counts the bytes as in, out and direct. Returns the bytes copied.
 */
size_t lbk_channel_hand_off(lbk_channel_t *channel, void *dst, size_t dst_len, const void *src,
                            size_t src_len, int *message_left);

/*
 * Counts bytes that a reader lost after they left the channel (its buffer faulted): they move
 * from bytes_out to bytes_purged, so the accounting still balances.
 */
void lbk_channel_count_lost(lbk_channel_t *channel, size_t bytes);

#endif /* LBK_CHANNEL_H */
