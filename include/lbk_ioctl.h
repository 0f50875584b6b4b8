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

/* Bumped when a structure or code below changes incompatibly. 2: several devices, pairs,
   message mode, handle options and WAIT; lbk_stats and lbk_device_info grew at their ends.
   3: lbk_stats.max_locked_copy, which was reserved. */
#define LBK_PROTOCOL_VERSION 3u

/* Device type in the vendor range (0x8000-0xFFFF); function codes start at 0x800 for the same reason. */
#define LBK_DEVICE_TYPE 0x8B4Bu

/*
 * READ and WRITE. Byte-stream mode: a read returns as soon as any byte is queued, with as many
 * as fit; a write completes when all its bytes are in. Message mode: each write of n > 0 bytes is
 * one message, queued whole or not at all; a read returns at most one message, and a buffer too
 * small for it gets what fits with STATUS_BUFFER_OVERFLOW (ERROR_MORE_DATA), the rest staying
 * for the next read. A write longer than max_message fails with STATUS_INVALID_BUFFER_SIZE
 * (ERROR_INVALID_USER_BUFFER). In both modes zero-length requests complete at once, and a read
 * that is waiting when a write arrives takes its bytes straight from the write's buffer.
 */

/* The INF install (windows/inf/lbk.inf): its device setup class, as text, and the hardware id
   of the root-enumerated device it installs on. */
#define LBK_SETUP_CLASS_GUID_TEXT "{a6dca497-3d01-4241-b405-1568ba72dbc1}"
#define LBK_HARDWARE_ID L"Root\\LBK"

/* The device interface class that every Plug and Play loopback device registers and enables
   while started: clients find devices by it (SetupDiGetClassDevs, CM_Get_Device_Interface_List)
   rather than by name. LBK_INTERFACE_GUID_FIELDS initialises a GUID in kernel or user mode. */
#define LBK_INTERFACE_GUID_TEXT "{6a3c1f5e-82d4-4b0a-9e71-3d5b2c8f40a7}"
#define LBK_INTERFACE_GUID_FIELDS { 0x6a3c1f5eu, 0x82d4u, 0x4b0au, { 0x9eu, 0x71u, 0x3du, 0x5bu, 0x2cu, 0x8fu, 0x40u, 0xa7u } }

/* Kernel and user names of a device called "LBK": \Device\LBK, \DosDevices\Global\LBK, \\.\LBK.
   Links are made in the global namespace by name: a bus's requests run in the caller's thread,
   where \DosDevices alone is that caller's logon session's, seen by no other session. */
#define LBK_KERNEL_DEVICE_PREFIX L"\\Device\\"
#define LBK_KERNEL_LINK_PREFIX L"\\DosDevices\\Global\\"
#define LBK_USER_PATH_PREFIX L"\\\\.\\"
/* Longest device name, in characters, without the terminating NUL. */
#define LBK_MAX_NAME_CHARS 63u

/* Values of the service's Parameters key (all optional). */
#define LBK_PARAM_DEVICE_NAME L"DeviceName"   /* REG_SZ; default: the service's own name */
#define LBK_PARAM_BUFFER_SIZE L"BufferSize"   /* REG_DWORD, bytes; default LBK_DEFAULT_BUFFER_SIZE */
#define LBK_PARAM_IO_METHOD L"IoMethod"       /* REG_SZ: buffered | direct | neither */
#define LBK_PARAM_TRACE_LEVEL L"TraceLevel"   /* REG_DWORD: 0 errors (default) .. 3 verbose */
#define LBK_PARAM_DEVICE_COUNT L"DeviceCount" /* REG_DWORD 1..LBK_MAX_DEVICE_COUNT; default 1 */
#define LBK_PARAM_MESSAGE_MODE L"MessageMode" /* REG_DWORD 0 byte stream (default), 1 messages */
#define LBK_PARAM_PAIRS L"Pairs"              /* REG_DWORD 0 loopback (default), 1 cross-connected pairs */
#define LBK_PARAM_WHEN_PEER_CLOSED L"WhenPeerClosed" /* REG_SZ: pend (default) | fail | discard */
/* REG_SZ: who may open the devices, as SDDL (core/lbk_security.h says which subset); default
   "D:P(A;;GA;;;SY)(A;;GA;;;BA)": SYSTEM and Administrators only. */
#define LBK_PARAM_SECURITY L"Security"
/* REG_DWORD: 0 (default) the service's start creates the devices; 1 the INF install's device
   nodes do, one loopback device <Name><slot> each (lbk.inf sets it). */
#define LBK_PARAM_PLUG_AND_PLAY L"PlugAndPlay"
/* REG_DWORD: 0 (default) plain pairs; 1 each pair is a null-modem cable whose ends serial
   programs use with the Win32 communications API (docs/serial.md). Or REG_SZ, the pair numbers
   that are, "0,2". Needs Pairs 1. */
#define LBK_PARAM_SERIAL L"Serial"
/* REG_SZ: the COM names of the ends, in device order (A then B, pair by pair), comma-separated,
   "-" for none: "COM5,COM6,-,COM8". Each end keeps its own name (<Name><n>A) too. Needs Serial 1. */
#define LBK_PARAM_PORT_NAMES L"PortNames"
/* REG_DWORD: 0 (default) bytes cross at once; 1 no faster than each end's baud rate and line
   settings would carry them. Or REG_SZ, the pair numbers paced, "2". Needs Serial for them. */
#define LBK_PARAM_BAUD_EMULATION L"BaudEmulation"

/*
 * REG_DWORD: what requests waiting in the driver (pending) may hold, so that no client makes it
 * hold unbounded kernel memory: how many, and the bytes of their buffers (a buffered request's
 * system buffer, a direct one's locked pages, a neither one's bounce buffer), per handle and per
 * device. A request past either limit fails at once with STATUS_QUOTA_EXCEEDED
 * (ERROR_NOT_ENOUGH_QUOTA). The defaults are far above what an ordinary program keeps waiting.
 */
#define LBK_PARAM_PENDING_REQUESTS_PER_HANDLE L"PendingRequestsPerHandle" /* default 1024 */
#define LBK_PARAM_PENDING_BYTES_PER_HANDLE L"PendingBytesPerHandle"       /* default 256 MiB */
#define LBK_PARAM_PENDING_REQUESTS_PER_DEVICE L"PendingRequestsPerDevice" /* default 8192 */
#define LBK_PARAM_PENDING_BYTES_PER_DEVICE L"PendingBytesPerDevice"       /* default 1 GiB */
#define LBK_DEFAULT_PENDING_REQUESTS_PER_HANDLE 1024u
#define LBK_DEFAULT_PENDING_BYTES_PER_HANDLE 0x10000000u /* 256 MiB */
#define LBK_DEFAULT_PENDING_REQUESTS_PER_DEVICE 8192u
#define LBK_DEFAULT_PENDING_BYTES_PER_DEVICE 0x40000000u /* 1 GiB */
/* Each value: requests 1 .. 65536 (walks of a device's queues at DISPATCH_LEVEL grow with it),
   bytes 64 KiB .. 4 GiB - 1 and at least BufferSize (a read of the whole buffer may wait); a
   handle's at most its device's. */
#define LBK_MAX_PENDING_REQUESTS 0x10000u
#define LBK_MIN_PENDING_BYTES 0x10000u

/*
 * Device names. With DeviceCount 1 a loopback device is <Name>; with N > 1 they are <Name>0 ..
 * <Name>N-1. With Pairs = 1 each of those becomes two ends, <Name>A and <Name>B (or <Name>0A,
 * <Name>0B, ...): what one end writes, the other reads, each direction with its own buffer.
 */
#define LBK_MAX_DEVICE_COUNT 64u
/* DeviceCount x ends x BufferSize may not exceed this, so a typo cannot exhaust the pool. */
#define LBK_MAX_TOTAL_BUFFER 0x40000000u /* 1 GiB */

/*
 * Message mode: each queued message also takes LBK_MESSAGE_HEADER_BYTES of its buffer for its
 * length, so the largest message is the buffer size minus that (lbk_device_info.max_message).
 */
#define LBK_MESSAGE_HEADER_BYTES 4u

/* What a write on one end of a pair does while the other end has no handle open. */
enum lbk_peer_closed {
    LBK_PEER_CLOSED_PEND = 0,   /* waits like any write: the buffer fills, then writes pend */
    LBK_PEER_CLOSED_FAIL = 1,   /* fails with STATUS_PIPE_DISCONNECTED (ERROR_PIPE_NOT_CONNECTED) */
    LBK_PEER_CLOSED_DISCARD = 2 /* succeeds at once; the bytes are counted in bytes_discarded */
};

enum lbk_role {
    LBK_ROLE_LOOPBACK = 0, /* reads what it is written */
    LBK_ROLE_A = 1,        /* end A of a pair */
    LBK_ROLE_B = 2         /* end B of a pair */
};

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
 * In message mode it copies from the next message only.
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

/*
 * GET_HANDLE_OPTIONS / SET_HANDLE_OPTIONS: the options of the caller's handle (METHOD_BUFFERED),
 * output or input lbk_handle_options. They apply to READ and WRITE requests issued afterwards.
 * SET with unknown flags or a non-zero reserved field -> STATUS_INVALID_PARAMETER.
 */
#define IOCTL_LBK_GET_HANDLE_OPTIONS LBK_CTL_CODE(0x805, LBK_METHOD_BUFFERED, LBK_ANY_ACCESS)
#define IOCTL_LBK_SET_HANDLE_OPTIONS LBK_CTL_CODE(0x806, LBK_METHOD_BUFFERED, LBK_ANY_ACCESS)

/*
 * SET_MESSAGE_MODE: input lbk_u32, 0 byte stream or 1 messages (METHOD_BUFFERED, needs write
 * access). Both directions of a pair change together. Only while nothing is queued and no write
 * waits, else STATUS_DEVICE_BUSY (ERROR_BUSY).
 */
#define IOCTL_LBK_SET_MESSAGE_MODE LBK_CTL_CODE(0x807, LBK_METHOD_BUFFERED, LBK_WRITE_ACCESS)

/*
 * WAIT: input lbk_wait_request, output lbk_wait_result (METHOD_BUFFERED). Completes when one of
 * the requested events holds, without consuming anything; pends until then (an overlapped
 * request, cancellable like any other), or until its timeout, when it succeeds with no events.
 * On a non-blocking handle it never pends: it reports the events that hold now, maybe none.
 */
#define IOCTL_LBK_WAIT LBK_CTL_CODE(0x808, LBK_METHOD_BUFFERED, LBK_ANY_ACCESS)

/*
 * NOP and ECHO exist for benchmarks: they measure what the host charges for a request, so that
 * the device's own cost can be told apart from it (docs/performance.md). Neither touches a queue,
 * a counter or the device lock, and both work on any handle.
 *
 * NOP: completes at once with STATUS_SUCCESS and Information 0 (METHOD_BUFFERED); buffers ignored.
 * ECHO: hands its input back as its output (METHOD_BUFFERED): Information = min(input, output)
 * bytes, which the I/O manager copies back from the very buffer it copied the input into, so
 * the driver itself copies nothing. It is the host's cost of carrying N bytes in and N bytes out.
 */
#define IOCTL_LBK_NOP LBK_CTL_CODE(0x809, LBK_METHOD_BUFFERED, LBK_ANY_ACCESS)
#define IOCTL_LBK_ECHO LBK_CTL_CODE(0x80A, LBK_METHOD_BUFFERED, LBK_ANY_ACCESS)

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
    lbk_u32 max_locked_copy;    /* protocol 3 (before: zero): the most payload bytes the driver
                                   copied in one hold of this device's lock since it was loaded */
    lbk_u64 pool_bytes;         /* driver-wide pool outstanding, headers included */
    lbk_u64 handle_bytes_in;    /* bytes this handle wrote */
    lbk_u64 handle_bytes_out;   /* bytes this handle read */
    /* Protocol 2 */
    lbk_u64 bytes_direct;       /* of bytes_out: went from a write's buffer straight to a read's */
    lbk_u64 bytes_discarded;    /* written while the peer had no handle (WhenPeerClosed=discard) */
    lbk_u64 timed_out_requests; /* READ/WRITE IRPs completed by their handle's timeout */
    lbk_u64 peer_bytes_queued;  /* bytes this device wrote that the reading end has not read yet */
    lbk_u32 pending_waits;      /* WAIT IRPs queued now */
    lbk_u32 state;              /* LBK_STATE_* */
} lbk_stats;

/*
 * In a pair, bytes_in counts what this end wrote and bytes_out, bytes_purged and bytes_queued
 * what it reads, so A.bytes_in == B.bytes_out + B.bytes_purged + B.bytes_queued. A loopback
 * device is its own peer.
 */
#define LBK_STATE_MESSAGE_MODE 0x1u /* the device is in message mode */
#define LBK_STATE_PAIRED 0x2u       /* one end of a pair */
#define LBK_STATE_PEER_OPEN 0x4u    /* the reading end of this device's writes has a handle open */
#define LBK_STATE_SERIAL 0x8u       /* an end of a serial pair: a COM port (docs/serial.md) */

typedef struct lbk_purge_result {
    lbk_u64 bytes_purged;
} lbk_purge_result;

typedef struct lbk_device_info {
    lbk_u32 struct_size;     /* sizeof(lbk_device_info) */
    lbk_u32 protocol_version; /* LBK_PROTOCOL_VERSION */
    lbk_u32 io_method;       /* enum lbk_io_method */
    lbk_u32 capacity;        /* bytes */
    lbk_u16 name[LBK_MAX_NAME_CHARS + 1]; /* UTF-16 device name, NUL-terminated */
    /* Protocol 2 */
    lbk_u16 peer_name[LBK_MAX_NAME_CHARS + 1]; /* the other end of a pair; the device itself otherwise */
    lbk_u32 role;             /* enum lbk_role */
    lbk_u32 unit;             /* index of the device (or pair) among DeviceCount */
    lbk_u32 unit_count;       /* DeviceCount */
    lbk_u32 state;            /* LBK_STATE_* */
    lbk_u32 max_message;      /* longest write accepted in message mode */
    lbk_u32 when_peer_closed; /* enum lbk_peer_closed */
} lbk_device_info;

/* Options of one handle, each request taking those in force when it arrives. */
typedef struct lbk_handle_options {
    lbk_u32 flags;            /* LBK_HANDLE_* */
    lbk_u32 read_timeout_ms;  /* 0: reads wait for ever */
    lbk_u32 write_timeout_ms; /* 0: writes wait for ever */
    lbk_u32 reserved;         /* zero */
} lbk_handle_options;

/*
 * Non-blocking, as a PIPE_NOWAIT named pipe: a read that finds nothing queued fails at once with
 * STATUS_PIPE_EMPTY (ERROR_NO_DATA); a write takes what fits now and succeeds with that count,
 * which is 0 when nothing fits (in message mode: when the whole message does not fit).
 * A timed-out request completes with STATUS_TIMEOUT, a success status, and the bytes it moved
 * (0 for a read, since a read completes as soon as it gets any): ReadFile and WriteFile return
 * TRUE with fewer bytes than asked, as on a serial port with COMMTIMEOUTS.
 */
#define LBK_HANDLE_NONBLOCKING 0x1u
#define LBK_HANDLE_VALID_FLAGS LBK_HANDLE_NONBLOCKING

#define LBK_EVENT_READABLE 0x1u /* a read would complete now with data */
#define LBK_EVENT_WRITABLE 0x2u /* a write of min_room bytes would go in now without waiting */
#define LBK_EVENT_VALID (LBK_EVENT_READABLE | LBK_EVENT_WRITABLE)

typedef struct lbk_wait_request {
    lbk_u32 events;     /* LBK_EVENT_*, at least one */
    lbk_u32 min_room;   /* WRITABLE: room for this many bytes (0 means 1); at most max_message */
    lbk_u32 timeout_ms; /* 0: no timeout */
    lbk_u32 reserved;   /* zero */
} lbk_wait_request;

typedef struct lbk_wait_result {
    lbk_u32 events;         /* the requested events that hold; 0 after a timeout or a poll */
    lbk_u32 next_message;   /* message mode: bytes of the next message (0 when none) */
    lbk_u64 bytes_readable; /* bytes a read could take now */
    lbk_u64 room;           /* bytes a write could add now */
} lbk_wait_result;

/*
 * The serial port bus (docs/serial.md, "Plug and Play pairs"). lbk.inf also installs a
 * root-enumerated bus device, hardware id LBK_BUS_HARDWARE_ID, whose function device is a bus:
 * each pair it holds is two child devices with hardware id LBK_PORT_HARDWARE_ID, which
 * Windows enumerates, installs in the Ports setup class and starts; each child is a serial end
 * (a COM port) itself. Pairs are added, named and removed with the requests below, sent to the
 * bus's device interface, LBK_BUS_INTERFACE_GUID (lbkctl pair ...); the bus keeps them in its
 * device key (LBK_BUS_PAIR_VALUE_PREFIX<n>), so they come back at its next start.
 */
#define LBK_BUS_HARDWARE_ID L"Root\\LBKBUS"
#define LBK_PORT_DEVICE_ID L"LBK\\SerialPort"
#define LBK_PORT_HARDWARE_ID LBK_PORT_DEVICE_ID
#define LBK_BUS_INTERFACE_GUID_TEXT "{0f6c3b8e-5a27-4d1c-b39e-8e2d7a41c905}"
#define LBK_BUS_INTERFACE_GUID_FIELDS { 0x0f6c3b8eu, 0x5a27u, 0x4d1cu, { 0xb3u, 0x9eu, 0x8eu, 0x2du, 0x7au, 0x41u, 0xc9u, 0x05u } }
/* GUID_DEVINTERFACE_COMPORT (ntddser.h), which each started end enables, and the Ports class. */
#define LBK_COMPORT_INTERFACE_GUID_FIELDS { 0x86e0d1e0u, 0x8089u, 0x11d0u, { 0x9cu, 0xe4u, 0x08u, 0x00u, 0x3eu, 0x30u, 0x1fu, 0x73u } }
#define LBK_PORTS_CLASS_GUID_TEXT "{4d36e978-e325-11ce-bfc1-08002be10318}"
/* REG_SZ in the bus's device key, per pair n: "COM5,COM6" ("-" for an end with no COM name). */
#define LBK_BUS_PAIR_VALUE_PREFIX L"Pair"
/* Per pair n, only when not the default: REG_SZ Wiring<n> = "<end A's wiring>;<end B's>" (the
   Wiring parameter's grammar, docs/serial.md), REG_DWORD Paced<n> = bit 0 end A, bit 1 end B. */
#define LBK_BUS_WIRING_VALUE_PREFIX L"Wiring"
#define LBK_BUS_PACED_VALUE_PREFIX L"Paced"
/* How many pairs one bus holds; pair numbers are 0 .. LBK_BUS_MAX_PAIRS - 1. */
#define LBK_BUS_MAX_PAIRS 32u
/* The highest COM number a port may have (COM1 .. COM256, as the COM name arbiter counts). */
#define LBK_MAX_COM_PORT 256u

/* A pair: its number and the COM number of each end (0 for none). */
typedef struct lbk_bus_pair {
    lbk_u32 pair;     /* ADD: LBK_BUS_ANY_PAIR or the number wanted; the number it got */
    lbk_u16 port[2];  /* [0] end A, [1] end B: 1..LBK_MAX_COM_PORT, or 0 */
} lbk_bus_pair;
#define LBK_BUS_ANY_PAIR 0xFFFFFFFFu

/* SET_PORT: one end's COM number (0 takes its COM name away), while it may be in use. */
typedef struct lbk_bus_port {
    lbk_u32 pair;
    lbk_u16 end;  /* 0 A, 1 B */
    lbk_u16 port; /* 1..LBK_MAX_COM_PORT, or 0 */
} lbk_bus_port;

/*
 * An end's wiring: where each of its modem inputs (CTS, DSR, DCD, RI) comes from, as com0com's
 * pin map: an output line of its peer or of itself, or a constant. Null-modem, the default:
 * CTS <- peer RTS, DSR and DCD <- peer DTR, RI off.
 */
#define LBK_WIRE_OFF 0u
#define LBK_WIRE_ON 1u
#define LBK_WIRE_PEER_RTS 2u
#define LBK_WIRE_PEER_DTR 3u
#define LBK_WIRE_OWN_RTS 4u
#define LBK_WIRE_OWN_DTR 5u

/* SET_OPTIONS: one end's options, while it may be in use. The modem status both ends read
   changes before the request completes; the events it raises (EV_CTS, ...) and the output it
   releases follow from the driver's timer thread a moment later. */
typedef struct lbk_bus_end_options {
    lbk_u32 pair;
    lbk_u16 end;       /* 0 A, 1 B */
    lbk_u8 paced;      /* 1: its writes cross at its baud rate (as BaudEmulation), 0: at once */
    lbk_u8 reserved;   /* zero */
    lbk_u8 wiring[4];  /* the sources of its CTS, DSR, DCD, RI: LBK_WIRE_* */
} lbk_bus_end_options;

/* LIST: each end as the bus sees it. */
typedef struct lbk_bus_end_info {
    lbk_u16 name[LBK_MAX_NAME_CHARS + 1]; /* its own device name, <Name>P<pair>A; NUL-terminated, zero after */
    lbk_u16 port;          /* its COM number, 0 for none */
    lbk_u8 port_linked;    /* 1: \DosDevices\COM<port> is its own now (the name was free) */
    lbk_u8 paced;          /* its options, as lbk_bus_end_options */
    lbk_u32 pnp_state;     /* enum lbk_pnp_state (core/lbk_pnp.h): 1 started */
    lbk_u32 open_handles;
    lbk_u8 wiring[4];      /* CTS, DSR, DCD, RI: LBK_WIRE_* */
} lbk_bus_end_info;

typedef struct lbk_bus_pair_info {
    lbk_u32 pair;
    lbk_u32 reported;      /* 1: Windows has been told of its two ends */
    lbk_bus_end_info end[2];
} lbk_bus_pair_info;

typedef struct lbk_bus_list {
    lbk_u32 count;         /* pairs below, in pair order */
    lbk_u32 reserved;      /* zero */
    lbk_bus_pair_info pairs[LBK_BUS_MAX_PAIRS];
} lbk_bus_list;

/*
 * Requests to the bus (METHOD_BUFFERED). ADD: in and out lbk_bus_pair; a COM number another pair
 * of this bus has, or a pair number in use: STATUS_OBJECT_NAME_COLLISION; no free pair number
 * or slot: STATUS_TOO_MANY_NODES. REMOVE: in lbk_u32 pair number; unknown: STATUS_NOT_FOUND.
 * SET_PORT: in lbk_bus_port. LIST: out lbk_bus_list. SET_OPTIONS: in lbk_bus_end_options; a
 * source past LBK_WIRE_OWN_DTR, paced above 1 or reserved not zero: STATUS_INVALID_PARAMETER.
 * Short buffers: STATUS_BUFFER_TOO_SMALL.
 */
#define IOCTL_LBK_BUS_ADD_PAIR LBK_CTL_CODE(0x840, LBK_METHOD_BUFFERED, LBK_WRITE_ACCESS)
#define IOCTL_LBK_BUS_REMOVE_PAIR LBK_CTL_CODE(0x841, LBK_METHOD_BUFFERED, LBK_WRITE_ACCESS)
#define IOCTL_LBK_BUS_SET_PORT LBK_CTL_CODE(0x842, LBK_METHOD_BUFFERED, LBK_WRITE_ACCESS)
#define IOCTL_LBK_BUS_LIST LBK_CTL_CODE(0x843, LBK_METHOD_BUFFERED, LBK_ANY_ACCESS)
#define IOCTL_LBK_BUS_SET_OPTIONS LBK_CTL_CODE(0x844, LBK_METHOD_BUFFERED, LBK_WRITE_ACCESS)

#if defined(__cplusplus)
#define LBK_STATIC_ASSERT static_assert
#else
#define LBK_STATIC_ASSERT _Static_assert
#endif
LBK_STATIC_ASSERT(sizeof(lbk_stats) == 152, "lbk_stats layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_purge_result) == 8, "lbk_purge_result layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_device_info) == 296, "lbk_device_info layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_handle_options) == 16, "lbk_handle_options layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_wait_request) == 16, "lbk_wait_request layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_wait_result) == 24, "lbk_wait_result layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_bus_pair) == 8, "lbk_bus_pair layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_bus_port) == 8, "lbk_bus_port layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_bus_end_options) == 12, "lbk_bus_end_options layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_bus_end_info) == 144, "lbk_bus_end_info layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_bus_pair_info) == 296, "lbk_bus_pair_info layout is part of the contract");
LBK_STATIC_ASSERT(sizeof(lbk_bus_list) == 8 + 32 * 296, "lbk_bus_list layout is part of the contract");

#endif /* LBK_IOCTL_H */
