/*
 * lbk_ioctl.h - the user/kernel contract of the loopback device.
 * Included by the Windows driver, the client library, the tools and the tests (any mode, any OS).
 *
 * Every structure here has fixed-width fields only, no pointers and 8-byte-aligned 64-bit
 * members, so a 32-bit client and a 64-bit driver see the same layout and need no thunking.
 */
#ifndef LBK_IOCTL_H
#define LBK_IOCTL_H

#if defined(_NTDDK_) || defined(_WDMDDK_) || defined(_NTIFS_)
/* Kernel mode: the DDK headers are already included and give CTL_CODE. */
typedef unsigned char lbk_u8;
typedef unsigned short lbk_u16;
typedef unsigned int lbk_u32;
typedef unsigned long long lbk_u64;
#elif defined(__KERNEL__) && defined(__linux__)
#include <linux/types.h>
typedef __u8 lbk_u8;
typedef __u16 lbk_u16;
typedef __u32 lbk_u32;
typedef __u64 lbk_u64;
#else
#include <stdint.h>
typedef uint8_t lbk_u8;
typedef uint16_t lbk_u16;
typedef uint32_t lbk_u32;
typedef uint64_t lbk_u64;
#endif

/* Bumped when a structure or code below changes incompatibly. */
#define LBK_PROTOCOL_VERSION 1u

/* Device type in the vendor range (0x8000-0xFFFF); function codes start at 0x800 for the same reason. */
#define LBK_DEVICE_TYPE 0x8B4Bu

/* Kernel and user names of a device called "LBK": \Device\LBK, \DosDevices\LBK, \\.\LBK. */
#define LBK_KERNEL_DEVICE_PREFIX L"\\Device\\"
#define LBK_KERNEL_LINK_PREFIX L"\\DosDevices\\"
#define LBK_USER_PATH_PREFIX L"\\\\.\\"
/* Longest device name, in characters, without the terminating NUL. */
#define LBK_MAX_NAME_CHARS 63u

/* Values of the service's Parameters key (all optional). */
#define LBK_PARAM_DEVICE_NAME L"DeviceName"   /* REG_SZ; default: the service's own name */
#define LBK_PARAM_BUFFER_SIZE L"BufferSize"   /* REG_DWORD, bytes; default LBK_DEFAULT_BUFFER_SIZE */
#define LBK_PARAM_IO_METHOD L"IoMethod"       /* REG_SZ: buffered | direct | neither */
#define LBK_PARAM_TRACE_LEVEL L"TraceLevel"   /* REG_DWORD: 0 errors (default) .. 3 verbose */

#define LBK_DEFAULT_BUFFER_SIZE 0x10000u /* 64 KiB */
#define LBK_MIN_BUFFER_SIZE 1u
#define LBK_MAX_BUFFER_SIZE 0x10000000u /* 256 MiB */

/* How READ and WRITE requests carry their data (DO_BUFFERED_IO, DO_DIRECT_IO, or neither). */
enum lbk_io_method {
    LBK_IO_BUFFERED = 0,
    LBK_IO_DIRECT = 1,
    LBK_IO_NEITHER = 2
};

/* CTL_CODE without the DDK/SDK headers, so the codes can be checked anywhere. */
#define LBK_CTL_CODE(function, method, access) \
    (((lbk_u32)LBK_DEVICE_TYPE << 16) | ((lbk_u32)(access) << 14) | ((lbk_u32)(function) << 2) | (lbk_u32)(method))

#define LBK_METHOD_BUFFERED 0u
#define LBK_METHOD_IN_DIRECT 1u
#define LBK_METHOD_OUT_DIRECT 2u
#define LBK_METHOD_NEITHER 3u
#define LBK_ANY_ACCESS 0u
#define LBK_READ_ACCESS 1u
#define LBK_WRITE_ACCESS 2u

/*
 * GET_STATS: output lbk_stats (METHOD_BUFFERED). Input ignored.
 * Output shorter than sizeof(lbk_stats) -> STATUS_BUFFER_TOO_SMALL.
 */
#define IOCTL_LBK_GET_STATS LBK_CTL_CODE(0x800, LBK_METHOD_BUFFERED, LBK_ANY_ACCESS)

/*
 * PURGE: discard every queued byte (METHOD_BUFFERED, needs write access).
 * Output optional: 0 bytes, or at least sizeof(lbk_purge_result) to learn how much went.
 * Pending writes then refill the buffer in arrival order, as after any read.
 */
#define IOCTL_LBK_PURGE LBK_CTL_CODE(0x801, LBK_METHOD_BUFFERED, LBK_WRITE_ACCESS)

/*
 * PEEK: copy up to OutputBufferLength queued bytes without consuming them
 * (METHOD_OUT_DIRECT, needs read access). Information = bytes copied; never pends.
 */
#define IOCTL_LBK_PEEK LBK_CTL_CODE(0x802, LBK_METHOD_OUT_DIRECT, LBK_READ_ACCESS)

/*
 * WRITE_ATOMIC: append the bytes of the "output" buffer (METHOD_IN_DIRECT: the driver reads it)
 * all at once or not at all, never pending (needs write access).
 * Not enough room now, or writers waiting -> STATUS_DEVICE_BUSY (ERROR_BUSY); more bytes than the
 * capacity -> STATUS_INVALID_PARAMETER. Information = bytes appended.
 * Wine (not Windows) also requires this buffer to be writable, or fails with ERROR_INVALID_USER_BUFFER.
 */
#define IOCTL_LBK_WRITE_ATOMIC LBK_CTL_CODE(0x803, LBK_METHOD_IN_DIRECT, LBK_WRITE_ACCESS)

/*
 * GET_INFO: output lbk_device_info (METHOD_NEITHER: the driver probes and writes the caller's
 * buffer itself). Short output -> STATUS_BUFFER_TOO_SMALL; bad pointer -> the exception's status.
 */
#define IOCTL_LBK_GET_INFO LBK_CTL_CODE(0x804, LBK_METHOD_NEITHER, LBK_ANY_ACCESS)

/* Counters since the driver was loaded, plus the caller's own handle. */
typedef struct lbk_stats {
    lbk_u32 struct_size;        /* sizeof(lbk_stats) as the driver knows it */
    lbk_u32 io_method;          /* enum lbk_io_method */
    lbk_u64 capacity;           /* ring size in bytes */
    lbk_u64 bytes_queued;       /* bytes written and not yet read */
    lbk_u64 bytes_in;           /* bytes accepted into the stream (writes, WRITE_ATOMIC) */
    lbk_u64 bytes_out;          /* bytes handed to readers */
    lbk_u64 bytes_purged;       /* bytes discarded by PURGE or by a failed copy to a reader */
    lbk_u64 write_requests;     /* WRITE IRPs received, including zero-length and failed ones */
    lbk_u64 read_requests;      /* READ IRPs received, likewise */
    lbk_u64 cancelled_requests; /* READ/WRITE IRPs completed with STATUS_CANCELLED */
    lbk_u32 pending_reads;      /* READ IRPs queued now */
    lbk_u32 pending_writes;     /* WRITE IRPs queued now */
    lbk_u32 open_handles;       /* file objects open on the device now */
    lbk_u32 reserved;           /* zero */
    lbk_u64 pool_bytes;         /* driver-wide pool outstanding, headers included */
    lbk_u64 handle_bytes_in;    /* bytes this handle wrote */
    lbk_u64 handle_bytes_out;   /* bytes this handle read */
} lbk_stats;

typedef struct lbk_purge_result {
    lbk_u64 bytes_purged;
} lbk_purge_result;

typedef struct lbk_device_info {
    lbk_u32 struct_size;     /* sizeof(lbk_device_info) */
    lbk_u32 protocol_version; /* LBK_PROTOCOL_VERSION */
    lbk_u32 io_method;       /* enum lbk_io_method */
    lbk_u32 capacity;        /* bytes */
    lbk_u16 name[LBK_MAX_NAME_CHARS + 1]; /* UTF-16 device name, NUL-terminated */
} lbk_device_info;

#if defined(__cplusplus)
#define LBK_STATIC_ASSERT static_assert
#else
#define LBK_STATIC_ASSERT _Static_assert
#endif
LBK_STATIC_ASSERT(sizeof(lbk_stats) == 112, "lbk_stats layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_purge_result) == 8, "lbk_purge_result layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_device_info) == 144, "lbk_device_info layout is part of the contract");

#endif /* LBK_IOCTL_H */
