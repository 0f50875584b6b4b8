/*
 * serialtest.c - a serial program that knows nothing of this project: it opens two COM ports
 * joined by a null-modem cable and checks them with the Win32 communications API alone (no
 * project header, no library), as a terminal or a device simulator would.
 *
 * Usage: serialtest PORT_A PORT_B LABEL      e.g. serialtest COM5 COM6 buffered
 *        serialtest PORT_A PORT_B LABEL paced (a pair with baud-rate emulation: the pacing checks)
 *        serialtest PORT_A PORT_B LABEL loopback (both ends wired as loopback plugs: the wiring checks)
 *        serialtest --probe PORT             exit 0 when PORT answers GetCommState, 1 otherwise
 *        serialtest --rewired PORT LABEL     PORT (its peer closed, so its CTS low) holds a write
 *                                            by CTS flow; prints "ready" and expects its wiring
 *                                            changed to cts=on within 30 s (lbkctl pair options):
 *                                            EV_CTS, CTS on, the write gone
 *        serialtest --hold PORT EVENT_NAME   (child) opens PORT, leaves a WaitCommEvent
 *                                            pending, sets EVENT_NAME, and sleeps until killed
 * Prints one PASS/FAIL line per check and "N passed, N failed"; exits non-zero on a failure.
 */
#include <windows.h>
#include <winioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const wchar_t *label = L"serial";
static const wchar_t *port_a, *port_b;
static int passed, failed;

static void report(BOOL ok, const char *name, const char *detail)
{
    if (ok)
        passed++;
    else
        failed++;
    wprintf(L"%ls serial[%ls]: %hs%hs%hs\n", ok ? L"PASS" : L"FAIL", label, name, detail[0] ? L" - " : L"", detail);
}

#define CHECK(name, cond)                                                                          \
    do {                                                                                           \
        char detail_[160] = "";                                                                    \
        BOOL ok_ = (cond);                                                                         \
        if (!ok_)                                                                                  \
            snprintf(detail_, sizeof(detail_), "%s (line %d, last error %lu)", #cond, __LINE__,    \
                     GetLastError());                                                              \
        report(ok_, name, detail_);                                                                \
    } while (0)

static HANDLE open_port(const wchar_t *name)
{
    wchar_t path[64];

    /* "COM10" and above only open as \\.\COM10: use that form for every name, as careful programs do. */
    if (wcsncmp(name, L"\\\\.\\", 4) == 0)
        wcsncpy(path, name, 63);
    else
        _snwprintf(path, 63, L"\\\\.\\%ls", name);
    path[63] = 0;
    return CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
}

/* A request on an overlapped handle, waited for like a plain call; TRUE and the count on success. */
static BOOL io_wait(HANDLE port, OVERLAPPED *ov, BOOL started, DWORD *bytes)
{
    if (!started && GetLastError() != ERROR_IO_PENDING)
        return FALSE;
    return GetOverlappedResult(port, ov, bytes, TRUE);
}

/* A ReadFile or WriteFile on the overlapped handle, waited for like a plain call. */
static BOOL transfer(HANDLE port, BOOL write, void *data, DWORD length, DWORD *done)
{
    OVERLAPPED ov = { 0 };
    BOOL ok;

    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    *done = 0;
    ok = io_wait(port, &ov, write ? WriteFile(port, data, length, NULL, &ov) : ReadFile(port, data, length, NULL, &ov),
                 done);
    CloseHandle(ov.hEvent);
    return ok;
}

static BOOL write_all(HANDLE port, const void *data, DWORD length, DWORD *written)
{
    return transfer(port, TRUE, (void *)data, length, written);
}

static BOOL read_some(HANDLE port, void *data, DWORD length, DWORD *got)
{
    return transfer(port, FALSE, data, length, got);
}

static BOOL set_timeouts(HANDLE port, DWORD interval, DWORD multiplier, DWORD constant, DWORD write_multiplier,
                         DWORD write_constant)
{
    COMMTIMEOUTS t = { interval, multiplier, constant, write_multiplier, write_constant };

    return SetCommTimeouts(port, &t);
}

static DWORD modem(HANDLE port)
{
    DWORD status = 0xFFFFFFFFu;

    if (!GetCommModemStatus(port, &status))
        return 0xFFFFFFFFu;
    return status;
}

static DWORD in_queue(HANDLE port)
{
    COMSTAT stat;
    DWORD errors;

    return ClearCommError(port, &errors, &stat) ? stat.cbInQue : 0xFFFFFFFFu;
}

static void drain(HANDLE port)
{
    PurgeComm(port, PURGE_RXCLEAR | PURGE_RXABORT | PURGE_TXABORT);
}

/*
 * Wine 8.0 quirk: for an overlapped serial IOCTL on a port that a kernel driver serves, ntdll
 * first tries its own serial code, which fails with STATUS_BAD_DEVICE_TYPE, writes that status
 * into the OVERLAPPED and sets its event, and only then sends the request to the driver. Until
 * the driver completes it, the OVERLAPPED says BAD_DEVICE_TYPE rather than PENDING, and
 * GetOverlappedResult fails with ERROR_BAD_DEV_TYPE at once. A request is done once its status
 * is neither (on Windows this is HasOverlappedIoCompleted).
 */
#define WINE_EARLY_STATUS 0xC00000CBu /* STATUS_BAD_DEVICE_TYPE */
static BOOL request_done(const OVERLAPPED *ov)
{
    return ov->Internal != STATUS_PENDING && ov->Internal != WINE_EARLY_STATUS;
}

/* Waits up to ms for an overlapped request; TRUE once it completed (with any status). */
static BOOL wait_done(const OVERLAPPED *ov, DWORD ms)
{
    DWORD start = GetTickCount();

    while (!request_done(ov) && GetTickCount() - start < ms)
        Sleep(5);
    return request_done(ov);
}

/* Starts a WaitCommEvent; ov->hEvent is made here. */
static BOOL start_wait(HANDLE port, OVERLAPPED *ov, DWORD *events)
{
    memset(ov, 0, sizeof(*ov));
    ov->hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    *events = 0;
    if (WaitCommEvent(port, events, ov))
        return TRUE;
    return GetLastError() == ERROR_IO_PENDING;
}

/* Waits up to 5 s for the WaitCommEvent; TRUE with its events once it completed successfully. */
static BOOL end_wait(HANDLE port, OVERLAPPED *ov, DWORD *events)
{
    DWORD bytes;
    BOOL ok = wait_done(ov, 5000) && GetOverlappedResult(port, ov, &bytes, FALSE);

    if (!ok) {
        CancelIoEx(port, ov);
        wait_done(ov, 5000);
    }
    CloseHandle(ov->hEvent);
    (void)events;
    return ok;
}

static BOOL still_pending(HANDLE port, OVERLAPPED *ov)
{
    (void)port;
    Sleep(100);
    return !request_done(ov);
}

/* Sets a wait mask, triggers with action, and returns the events the WaitCommEvent reported. */
typedef void (*action_fn)(HANDLE a, HANDLE b);

static DWORD event_after(HANDLE waiter, DWORD mask, action_fn action, HANDLE a, HANDLE b)
{
    OVERLAPPED ov;
    DWORD events = 0;

    if (!SetCommMask(waiter, mask) || !start_wait(waiter, &ov, &events))
        return 0xFFFFFFFFu;
    action(a, b);
    if (!end_wait(waiter, &ov, &events))
        return 0xFFFFFFFEu;
    return events;
}

static void a_writes_byte(HANDLE a, HANDLE b) { DWORD n; (void)b; write_all(a, "x", 1, &n); }
static void a_writes_flag(HANDLE a, HANDLE b) { DWORD n; (void)b; write_all(a, "ab\n", 3, &n); }
static void a_clears_rts(HANDLE a, HANDLE b) { (void)b; EscapeCommFunction(a, CLRRTS); }
static void a_clears_dtr(HANDLE a, HANDLE b) { (void)b; EscapeCommFunction(a, CLRDTR); }
static void a_sets_break(HANDLE a, HANDLE b) { (void)b; SetCommBreak(a); }

static void test_settings(HANDLE a, HANDLE b)
{
    DCB dcb = { .DCBlength = sizeof(dcb) }, got = { .DCBlength = sizeof(got) }, other = { .DCBlength = sizeof(other) };
    COMMTIMEOUTS t = { 0 }, tg = { 0 };
    COMMPROP prop = { 0 };
    DWORD mask = 0;

    {
        /* Windows refuses a second open of a port with ERROR_ACCESS_DENIED. Wine hands out a handle
           even when the driver fails the CREATE; then every request on it fails. */
        HANDLE again = open_port(port_a);
        DWORD error = GetLastError();
        DCB probe = { .DCBlength = sizeof(probe) };

        CHECK("a_port_opens_once", again == INVALID_HANDLE_VALUE ? error == ERROR_ACCESS_DENIED : !GetCommState(again, &probe));
        if (again != INVALID_HANDLE_VALUE)
            CloseHandle(again);
    }
    CHECK("default_line_is_9600_8N1", GetCommState(a, &dcb) && dcb.BaudRate == 9600 && dcb.ByteSize == 8 &&
                                          dcb.Parity == NOPARITY && dcb.StopBits == ONESTOPBIT &&
                                          dcb.fDtrControl == DTR_CONTROL_ENABLE && dcb.fRtsControl == RTS_CONTROL_ENABLE);
    dcb.BaudRate = 115200;
    dcb.ByteSize = 7;
    dcb.Parity = EVENPARITY;
    dcb.StopBits = TWOSTOPBITS;
    dcb.EvtChar = '\n';
    dcb.XonChar = 0x21;
    dcb.XoffChar = 0x23;
    dcb.fOutxCtsFlow = TRUE;
    CHECK("line_settings_round_trip",
          SetCommState(a, &dcb) && GetCommState(a, &got) && got.BaudRate == 115200 && got.ByteSize == 7 &&
              got.Parity == EVENPARITY && got.StopBits == TWOSTOPBITS && got.EvtChar == '\n' && got.XonChar == 0x21 &&
              got.XoffChar == 0x23 && got.fOutxCtsFlow);
    CHECK("line_settings_are_per_end", GetCommState(b, &other) && other.BaudRate == 9600 && other.ByteSize == 8);
    got.ByteSize = 9;
    CHECK("nine_data_bits_are_refused", !SetCommState(a, &got) && GetLastError() == ERROR_INVALID_PARAMETER);
    got.ByteSize = 8;
    got.StopBits = ONE5STOPBITS;
    CHECK("one_and_a_half_stop_bits_need_5_data_bits",
          !SetCommState(a, &got) && GetLastError() == ERROR_INVALID_PARAMETER);
    got.StopBits = ONESTOPBIT;
    got.BaudRate = 0;
    CHECK("baud_rate_0_is_refused", !SetCommState(a, &got) && GetLastError() == ERROR_INVALID_PARAMETER);
    got.BaudRate = 9600;
    got.fOutxCtsFlow = FALSE;
    CHECK("a_valid_state_after_refusals_is_taken", SetCommState(a, &got));

    t.ReadIntervalTimeout = 7;
    t.ReadTotalTimeoutMultiplier = 8;
    t.ReadTotalTimeoutConstant = 9;
    t.WriteTotalTimeoutMultiplier = 10;
    t.WriteTotalTimeoutConstant = 11;
    CHECK("timeouts_round_trip", SetCommTimeouts(a, &t) && GetCommTimeouts(a, &tg) && memcmp(&t, &tg, sizeof(t)) == 0);
    t.ReadIntervalTimeout = t.ReadTotalTimeoutMultiplier = t.ReadTotalTimeoutConstant = MAXDWORD;
    CHECK("all_read_timeouts_maxdword_are_refused", !SetCommTimeouts(a, &t) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK("setupcomm_is_accepted", SetupComm(a, 4096, 4096));
    CHECK("properties_say_rs232_with_a_receive_queue",
          GetCommProperties(a, &prop) && prop.dwProvSubType == PST_RS232 && prop.dwServiceMask == SP_SERIALCOMM &&
              prop.dwCurrentRxQueue > 0 && (prop.dwProvCapabilities & PCF_RTSCTS) && (prop.dwSettableBaud & BAUD_USER));
    CHECK("properties_offer_xon_xoff_and_settable_chars",
          GetCommProperties(a, &prop) && (prop.dwProvCapabilities & (PCF_XONXOFF | PCF_SETXCHAR)) ==
                                             (PCF_XONXOFF | PCF_SETXCHAR));
    CHECK("mask_round_trips", SetCommMask(a, EV_RXCHAR | EV_BREAK) && GetCommMask(a, &mask) &&
                                  mask == (EV_RXCHAR | EV_BREAK));
    CHECK("unknown_mask_bits_are_refused", !SetCommMask(a, 0x80000000u) && GetLastError() == ERROR_INVALID_PARAMETER);
    SetCommMask(a, 0);
}

static void test_requests(HANDLE a)
{
    DWORD code = CTL_CODE(FILE_DEVICE_SERIAL_PORT, 0x7F, METHOD_BUFFERED, FILE_ANY_ACCESS);
    DWORD get_baud = CTL_CODE(FILE_DEVICE_SERIAL_PORT, 20, METHOD_BUFFERED, FILE_ANY_ACCESS);
    DWORD bytes = 0;
    WORD small = 0;

    CHECK("unknown_serial_ioctl_is_invalid_function",
          !DeviceIoControl(a, code, NULL, 0, NULL, 0, &bytes, NULL) && GetLastError() == ERROR_INVALID_FUNCTION);
    CHECK("short_output_buffer_is_refused",
          !DeviceIoControl(a, get_baud, NULL, 0, &small, sizeof(small), &bytes, NULL) &&
              GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    CHECK("escape_function_out_of_range_is_refused", !EscapeCommFunction(a, 99) && GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK("purge_with_no_flags_is_refused", !PurgeComm(a, 0) && GetLastError() == ERROR_INVALID_PARAMETER);
}

static void test_modem_lines(HANDLE a, HANDLE b)
{
    DCB dcb = { .DCBlength = sizeof(dcb) };

    CHECK("peer_open_shows_cts_dsr_and_dcd", modem(b) == (MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON));
    CHECK("clear_dtr_drops_peer_dsr_and_dcd", EscapeCommFunction(a, CLRDTR) && modem(b) == MS_CTS_ON);
    CHECK("clear_rts_drops_peer_cts", EscapeCommFunction(a, CLRRTS) && modem(b) == 0);
    CHECK("set_dtr_and_rts_raise_them_again",
          EscapeCommFunction(a, SETDTR) && EscapeCommFunction(a, SETRTS) && modem(b) == (MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON));
    GetCommState(a, &dcb);
    dcb.fDtrControl = DTR_CONTROL_DISABLE;
    CHECK("dcb_dtr_disable_drops_peer_dsr", SetCommState(a, &dcb) && modem(b) == MS_CTS_ON);
    dcb.fDtrControl = DTR_CONTROL_HANDSHAKE;
    CHECK("dtr_handshake_keeps_dtr_up", SetCommState(a, &dcb) && modem(b) == (MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON));
    CHECK("escape_cannot_drive_a_handshake_line",
          !EscapeCommFunction(a, CLRDTR) && GetLastError() == ERROR_INVALID_PARAMETER);
    dcb.fDtrControl = DTR_CONTROL_ENABLE;
    SetCommState(a, &dcb);
    CHECK("the_other_direction_too", EscapeCommFunction(b, CLRRTS) && modem(a) == (MS_DSR_ON | MS_RLSD_ON));
    EscapeCommFunction(b, SETRTS);
}

static void test_data(HANDLE a, HANDLE b)
{
    char buffer[64];
    DWORD n = 0, errors = 0;
    COMSTAT stat;

    set_timeouts(b, MAXDWORD, 0, 0, 0, 0);
    CHECK("bytes_cross_the_cable", write_all(a, "hello", 5, &n) && n == 5 && in_queue(b) == 5 &&
                                       read_some(b, buffer, sizeof(buffer), &n) && n == 5 && memcmp(buffer, "hello", 5) == 0);
    CHECK("and_back", write_all(b, "olleh", 5, &n) && read_some(a, buffer, 5, &n) && n == 5 && memcmp(buffer, "olleh", 5) == 0);
    CHECK("transmit_comm_char_arrives", TransmitCommChar(a, 'Z') && read_some(b, buffer, 8, &n) && n == 1 && buffer[0] == 'Z');
    write_all(a, "1234567", 7, &n);
    CHECK("clear_comm_error_counts_the_input_queue", ClearCommError(b, &errors, &stat) && stat.cbInQue == 7 &&
                                                         stat.cbOutQue == 0 && errors == 0);
    CHECK("purge_rxclear_empties_the_input", PurgeComm(b, PURGE_RXCLEAR) && in_queue(b) == 0);
    CHECK("purge_of_one_end_leaves_the_other", write_all(b, "k", 1, &n) && PurgeComm(b, PURGE_RXCLEAR) && in_queue(a) == 1);
    drain(a);
}

static void test_timeouts(HANDLE a, HANDLE b)
{
    char buffer[4096];
    DWORD n = 0, start;
    OVERLAPPED ov = { 0 };
    COMMPROP prop = { 0 };

    set_timeouts(b, MAXDWORD, 0, 0, 0, 0);
    CHECK("maxdword_0_0_returns_at_once_with_nothing", read_some(b, buffer, 10, &n) && n == 0);
    write_all(a, "abc", 3, &n);
    CHECK("maxdword_0_0_returns_what_is_there", read_some(b, buffer, 10, &n) && n == 3);

    set_timeouts(b, MAXDWORD, MAXDWORD, 300, 0, 0);
    start = GetTickCount();
    CHECK("maxdword_maxdword_c_waits_c_for_a_first_byte", read_some(b, buffer, 10, &n) && n == 0 &&
                                                              GetTickCount() - start >= 250);
    write_all(a, "abcd", 4, &n);
    start = GetTickCount();
    CHECK("maxdword_maxdword_c_returns_with_the_bytes_there", read_some(b, buffer, 10, &n) && n == 4 &&
                                                                  GetTickCount() - start < 250);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ReadFile(b, buffer, 10, NULL, &ov);
    Sleep(50);
    write_all(a, "e", 1, &n);
    CHECK("maxdword_maxdword_c_returns_at_the_first_byte", GetOverlappedResult(b, &ov, &n, TRUE) && n == 1);
    CloseHandle(ov.hEvent);

    set_timeouts(b, 0, 0, 0, 0, 0);
    write_all(a, "1234", 4, &n);
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    CHECK("no_timeouts_read_waits_until_full", !ReadFile(b, buffer, 10, NULL, &ov) && GetLastError() == ERROR_IO_PENDING &&
                                                   still_pending(b, &ov));
    write_all(a, "567890", 6, &n);
    CHECK("no_timeouts_read_completes_when_full", GetOverlappedResult(b, &ov, &n, TRUE) && n == 10 &&
                                                      memcmp(buffer, "1234567890", 10) == 0);
    CloseHandle(ov.hEvent);

    set_timeouts(b, 0, 10, 100, 0, 0);
    write_all(a, "xyz", 3, &n);
    start = GetTickCount();
    CHECK("total_timeout_returns_what_came", read_some(b, buffer, 10, &n) && n == 3 && GetTickCount() - start >= 150);

    set_timeouts(b, 100, 0, 0, 0, 0);
    write_all(a, "pq", 2, &n);
    start = GetTickCount();
    CHECK("interval_timeout_ends_a_read_after_a_gap", read_some(b, buffer, 10, &n) && n == 2 &&
                                                          GetTickCount() - start >= 80);
    memset(&ov, 0, sizeof(ov));
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    CHECK("interval_timeout_waits_for_a_first_byte",
          !ReadFile(b, buffer, 10, NULL, &ov) && GetLastError() == ERROR_IO_PENDING && still_pending(b, &ov) &&
              still_pending(b, &ov));
    write_all(a, "r", 1, &n);
    CHECK("interval_timeout_then_counts_from_that_byte", GetOverlappedResult(b, &ov, &n, TRUE) && n == 1 && buffer[0] == 'r');
    CloseHandle(ov.hEvent);

    /* Writes: B does not read, so once its input is full A's write waits, then times out. */
    GetCommProperties(b, &prop);
    set_timeouts(a, 0, 0, 0, 0, 200);
    {
        DWORD size = prop.dwCurrentRxQueue + 100;
        char *big = calloc(1, size);

        start = GetTickCount();
        CHECK("write_total_timeout_returns_what_went", big != NULL && write_all(a, big, size, &n) &&
                                                           n == prop.dwCurrentRxQueue && GetTickCount() - start >= 150);
        free(big);
    }
    drain(b);
    set_timeouts(a, 0, 0, 0, 0, 0);
}

static void test_events(HANDLE a, HANDLE b)
{
    OVERLAPPED ov, ov2;
    DWORD events = 0, events2 = 0, n, errors = 0;
    DCB dcb = { .DCBlength = sizeof(dcb) };
    COMSTAT stat;

    set_timeouts(b, MAXDWORD, 0, 0, 0, 0);
    CHECK("ev_rxchar", event_after(b, EV_RXCHAR, a_writes_byte, a, b) == EV_RXCHAR);
    drain(b);
    GetCommState(b, &dcb);
    dcb.EvtChar = '\n';
    SetCommState(b, &dcb);
    CHECK("ev_rxflag", event_after(b, EV_RXFLAG, a_writes_flag, a, b) == EV_RXFLAG);
    drain(b);
    CHECK("ev_txempty", event_after(a, EV_TXEMPTY, a_writes_byte, a, b) == EV_TXEMPTY);
    drain(b);
    CHECK("ev_cts", event_after(b, EV_CTS, a_clears_rts, a, b) == EV_CTS);
    EscapeCommFunction(a, SETRTS);
    CHECK("ev_dsr_and_ev_rlsd", event_after(b, EV_DSR | EV_RLSD, a_clears_dtr, a, b) == (EV_DSR | EV_RLSD));
    EscapeCommFunction(a, SETDTR);
    CHECK("ev_break", event_after(b, EV_BREAK, a_sets_break, a, b) == EV_BREAK);
    CHECK("break_shows_in_clear_comm_error", ClearCommError(b, &errors, &stat) && (errors & CE_BREAK));
    CHECK("clear_comm_error_takes_the_error", ClearCommError(b, &errors, &stat) && errors == 0);
    CHECK("clear_comm_break", ClearCommBreak(a));
    CHECK("events_outside_the_mask_do_not_fire", SetCommMask(b, EV_BREAK) && start_wait(b, &ov, &events) &&
                                                     (write_all(a, "q", 1, &n), still_pending(b, &ov)));
    CHECK("second_wait_comm_event_is_refused", !WaitCommEvent(b, &events2, (memset(&ov2, 0, sizeof(ov2)), &ov2)) &&
                                                   GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK("set_comm_mask_ends_a_pending_wait_with_no_event", SetCommMask(b, EV_RXCHAR) && end_wait(b, &ov, &events) &&
                                                                 events == 0);
    drain(b);
    SetCommMask(b, EV_RXCHAR);
    start_wait(b, &ov, &events);
    CHECK("wait_comm_event_can_be_cancelled", CancelIoEx(b, &ov) && wait_done(&ov, 5000) &&
                                                  !GetOverlappedResult(b, &ov, &n, TRUE) &&
                                                  GetLastError() == ERROR_OPERATION_ABORTED);
    CloseHandle(ov.hEvent);
    write_all(a, "s", 1, &n);
    CHECK("an_event_before_the_wait_is_kept", start_wait(b, &ov, &events) && end_wait(b, &ov, &events) &&
                                                  events == EV_RXCHAR);
    drain(b);
    SetCommMask(b, 0);
    SetCommMask(a, 0);
}

static void test_purge(HANDLE a, HANDLE b)
{
    OVERLAPPED ov = { 0 };
    char buffer[16];
    DWORD n;
    COMMPROP prop = { 0 };

    set_timeouts(b, 0, 0, 0, 0, 0);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    ReadFile(b, buffer, sizeof(buffer), NULL, &ov);
    CHECK("purge_rxabort_cancels_a_waiting_read", still_pending(b, &ov) && PurgeComm(b, PURGE_RXABORT) &&
                                                      !GetOverlappedResult(b, &ov, &n, TRUE) &&
                                                      GetLastError() == ERROR_OPERATION_ABORTED);
    CloseHandle(ov.hEvent);
    GetCommProperties(b, &prop);
    {
        DWORD size = prop.dwCurrentRxQueue + 16;
        char *big = calloc(1, size);

        memset(&ov, 0, sizeof(ov));
        ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
        WriteFile(a, big, size, NULL, &ov);
        CHECK("purge_txabort_cancels_a_waiting_write", big != NULL && still_pending(a, &ov) && PurgeComm(a, PURGE_TXABORT) &&
                                                           !GetOverlappedResult(a, &ov, &n, TRUE) &&
                                                           GetLastError() == ERROR_OPERATION_ABORTED);
        CloseHandle(ov.hEvent);
        free(big);
    }
    drain(b);
}

/* A program killed with a WaitCommEvent pending must leave the port working for the next one. */
static void test_killed_holder(HANDLE b)
{
    wchar_t self[MAX_PATH], command[MAX_PATH + 128], event_name[64];
    STARTUPINFOW si = { .cb = sizeof(si) };
    PROCESS_INFORMATION pi;
    HANDLE ready, a = INVALID_HANDLE_VALUE;
    DWORD n, events = 0;
    OVERLAPPED ov;
    int tries;

    _snwprintf(event_name, 63, L"serialtest-ready-%lu", GetCurrentProcessId());
    event_name[63] = 0;
    ready = CreateEventW(NULL, TRUE, FALSE, event_name);
    GetModuleFileNameW(NULL, self, MAX_PATH);
    _snwprintf(command, MAX_PATH + 127, L"\"%ls\" --hold %ls %ls", self, port_a, event_name);
    command[MAX_PATH + 127] = 0;
    if (!CreateProcessW(NULL, command, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        CHECK("killed_holder_starts", FALSE);
        return;
    }
    CHECK("killed_holder_waits_on_the_port", WaitForSingleObject(ready, 10000) == WAIT_OBJECT_0);
    CHECK("killed_holder_holds_dtr_up", modem(b) == (MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON));
    TerminateProcess(pi.hProcess, 9);
    WaitForSingleObject(pi.hProcess, 10000);
    /* The kill closes its handle; the driver's CLOSE may come a moment after the process is gone. */
    for (tries = 0; tries < 50 && (a = open_port(port_a)) == INVALID_HANDLE_VALUE; tries++)
        Sleep(100);
    CHECK("port_opens_again_after_its_holder_was_killed", a != INVALID_HANDLE_VALUE);
    if (a != INVALID_HANDLE_VALUE) {
        set_timeouts(b, MAXDWORD, 0, 0, 0, 0);
        SetCommMask(a, EV_RXCHAR);
        CHECK("and_its_wait_comm_event_works", start_wait(a, &ov, &events) && write_all(b, "k", 1, &n) &&
                                                   end_wait(a, &ov, &events) && events == EV_RXCHAR);
        CloseHandle(a);
    }
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    CloseHandle(ready);
}

static void test_peer_close(HANDLE b)
{
    HANDLE a = open_port(port_a);
    OVERLAPPED ov;
    DWORD events = 0;

    CHECK("reopened_port_raises_its_lines", a != INVALID_HANDLE_VALUE && modem(b) == (MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON));
    SetCommMask(b, EV_DSR | EV_CTS | EV_RLSD);
    start_wait(b, &ov, &events);
    CloseHandle(a);
    CHECK("closing_the_peer_drops_its_lines", end_wait(b, &ov, &events) && events == (EV_DSR | EV_CTS | EV_RLSD) &&
                                                  modem(b) == 0);
}

/* With baud-rate emulation on: bytes cross no faster than the line settings would carry them. */
static void test_pacing(HANDLE a, HANDLE b)
{
    DCB dcb = { .DCBlength = sizeof(dcb) };
    static char sent[960], got[960];
    OVERLAPPED ov = { 0 };
    DWORD n = 0, start, elapsed, i, errors;
    COMSTAT stat = { 0 };
    BOOL midway;

    for (i = 0; i < sizeof(sent); i++)
        sent[i] = (char)('a' + i % 26);
    GetCommState(a, &dcb);
    dcb.BaudRate = 9600; /* 8N1: 10 bits a character, 960 characters a second */
    dcb.ByteSize = 8;
    dcb.Parity = NOPARITY;
    dcb.StopBits = ONESTOPBIT;
    SetCommState(a, &dcb);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    start = GetTickCount();
    WriteFile(a, sent, sizeof(sent), NULL, &ov);
    Sleep(300);
    midway = ClearCommError(a, &errors, &stat) && stat.cbOutQue > 0 && in_queue(b) < sizeof(sent);
    CHECK("paced_write_is_still_going_after_300_ms", midway);
    CHECK("paced_write_completes", GetOverlappedResult(a, &ov, &n, TRUE) && n == sizeof(sent));
    elapsed = GetTickCount() - start;
    CloseHandle(ov.hEvent);
    /* A second at 9600 baud, less the 10 ms an idle line lets through at once; timers are coarse. */
    CHECK("960_bytes_at_9600_baud_take_about_a_second", elapsed >= 900 && elapsed < 20000);
    set_timeouts(b, MAXDWORD, 0, 0, 0, 0);
    CHECK("paced_bytes_arrive_intact", read_some(b, got, sizeof(got), &n) && n == sizeof(got) &&
                                           memcmp(sent, got, sizeof(got)) == 0);
    dcb.BaudRate = 115200;
    SetCommState(a, &dcb);
    start = GetTickCount();
    CHECK("a_faster_line_is_faster", write_all(a, sent, sizeof(sent), &n) && n == sizeof(sent) &&
                                         GetTickCount() - start < elapsed);
    drain(b);
}

/*
 * The handshake a null-modem cable carries (docs/serial.md, "Handshake"): each check sets the
 * two ports' DCBs as a program would, and puts them back after (restore).
 */
#define XON_CHAR 0x11
#define XOFF_CHAR 0x13
/* ntddser.h's codes the Win32 API does not send; winioctl.h has no IOCTL_SERIAL_* of its own. */
#define SERIAL_CODE(function) CTL_CODE(FILE_DEVICE_SERIAL_PORT, function, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_SERIAL_XOFF_COUNTER_ SERIAL_CODE(28)
#define IOCTL_SERIAL_LSRMST_INSERT_ SERIAL_CODE(31)
#define IOCTL_SERIAL_CONFIG_SIZE_ SERIAL_CODE(32)
#define IOCTL_SERIAL_GET_STATS_ SERIAL_CODE(35)
#define IOCTL_SERIAL_CLEAR_STATS_ SERIAL_CODE(36)
#define IOCTL_SERIAL_GET_MODEM_CONTROL_ SERIAL_CODE(37)
#define IOCTL_SERIAL_SET_MODEM_CONTROL_ SERIAL_CODE(38)
#define IOCTL_SERIAL_SET_FIFO_CONTROL_ SERIAL_CODE(39)

typedef struct { /* SERIALPERF_STATS */
    DWORD received, transmitted, frame_errors, serial_overruns, buffer_overruns, parity_errors;
} perf_stats;

typedef struct { /* SERIAL_XOFF_COUNTER */
    DWORD timeout;
    LONG counter;
    UCHAR xoff_char;
} xoff_counter;

static DCB saved_a, saved_b;

static void save_state(HANDLE a, HANDLE b)
{
    saved_a.DCBlength = saved_b.DCBlength = sizeof(DCB);
    GetCommState(a, &saved_a);
    GetCommState(b, &saved_b);
}

/* Both ports as they were, nothing held, nothing queued. */
static void restore(HANDLE a, HANDLE b)
{
    SetCommState(a, &saved_a);
    SetCommState(b, &saved_b);
    EscapeCommFunction(a, SETXON);
    EscapeCommFunction(b, SETXON);
    SetCommMask(a, 0);
    SetCommMask(b, 0);
    drain(a);
    drain(b);
    set_timeouts(a, MAXDWORD, 0, 0, 0, 0);
    set_timeouts(b, MAXDWORD, 0, 0, 0, 0);
}

static void fill_pattern(unsigned char *buffer, DWORD length, DWORD seed)
{
    DWORD i;

    for (i = 0; i < length; i++)
        buffer[i] = (unsigned char)((i * 7 + seed + i / 251) & 0xFF); /* every byte value, XON and XOFF too */
}

static COMSTAT comstat(HANDLE port)
{
    COMSTAT stat;
    DWORD errors;

    memset(&stat, 0xFF, sizeof(stat));
    if (!ClearCommError(port, &errors, &stat))
        memset(&stat, 0xFF, sizeof(stat));
    return stat;
}

static DWORD capacity(HANDLE port)
{
    COMMPROP prop = { 0 };

    return GetCommProperties(port, &prop) ? prop.dwCurrentRxQueue : 0;
}

/* Reads exactly length bytes, waiting up to ms for them all (a FILL read with a total timeout). */
static BOOL read_exactly(HANDLE port, void *data, DWORD length, DWORD ms)
{
    DWORD got = 0;

    return set_timeouts(port, 0, 0, ms, 0, 0) && read_some(port, data, length, &got) && got == length;
}

/* Starts an overlapped write; ov->hEvent is made here. */
static BOOL start_write(HANDLE port, OVERLAPPED *ov, const void *data, DWORD length)
{
    memset(ov, 0, sizeof(*ov));
    ov->hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    return WriteFile(port, data, length, NULL, ov) || GetLastError() == ERROR_IO_PENDING;
}

/* Waits for a write started by start_write; TRUE with its count once it completed successfully. */
static BOOL end_write(HANDLE port, OVERLAPPED *ov, DWORD *written)
{
    BOOL ok = wait_done(ov, 10000) && GetOverlappedResult(port, ov, written, FALSE);

    if (!wait_done(ov, 0)) {
        CancelIoEx(port, ov);
        wait_done(ov, 5000);
    }
    CloseHandle(ov->hEvent);
    return ok;
}

static BOOL set_dcb(HANDLE port, void (*change)(DCB *dcb, DWORD arg), DWORD arg)
{
    DCB dcb = { .DCBlength = sizeof(dcb) };

    if (!GetCommState(port, &dcb))
        return FALSE;
    change(&dcb, arg);
    return SetCommState(port, &dcb);
}

static void cts_flow(DCB *dcb, DWORD on) { dcb->fOutxCtsFlow = on != 0; }
static void dsr_flow(DCB *dcb, DWORD on) { dcb->fOutxDsrFlow = on != 0; }
static void rts_control(DCB *dcb, DWORD mode) { dcb->fRtsControl = mode; }
static void dtr_control(DCB *dcb, DWORD mode) { dcb->fDtrControl = mode; }
static void out_x(DCB *dcb, DWORD on) { dcb->fOutX = on != 0; dcb->XonChar = XON_CHAR; dcb->XoffChar = XOFF_CHAR; }
static void dsr_sensitivity(DCB *dcb, DWORD on) { dcb->fDsrSensitivity = on != 0; }
/* The input's limits: XOFF (or the handshake line down) at half the buffer, XON at a quarter
   (DCB limits are WORDs: at most 65535 for a larger buffer). */
static DWORD xoff_lim(DWORD size) { return size / 2 > 0xFFFF ? 0xFFFF : size / 2; }
static DWORD xoff_level(DWORD size) { return size - xoff_lim(size); }
static void limits(DCB *dcb, DWORD size)
{
    dcb->XoffLim = (WORD)xoff_lim(size);
    dcb->XonLim = (WORD)(size / 4 > 0xFFFF ? 0xFFFF : size / 4);
    dcb->XonChar = XON_CHAR;
    dcb->XoffChar = XOFF_CHAR;
    dcb->fTXContinueOnXoff = TRUE;
}
static void in_x(DCB *dcb, DWORD size) { limits(dcb, size); dcb->fInX = TRUE; }

/*
 * Output flow by a modem line: the sender holds while the line its peer drives is down, no byte
 * crosses meanwhile, and everything arrives in order once it rises. line_flow sets the
 * sender's handshake, peer_line the peer's line control (disable / enable).
 */
static void check_line_flow(HANDLE a, HANDLE b, const char *name, void (*line_flow)(DCB *, DWORD),
                            void (*peer_line)(DCB *, DWORD), DWORD up_mode, DWORD modem_bit)
{
    DWORD size = capacity(b), total = size + 2000, n = 0, events = 0, first;
    unsigned char *sent = malloc(total), *got = malloc(total);
    OVERLAPPED ov, wait;
    char check[96];
    COMSTAT stat;
    BOOL held, hold_shown, intact;

    if (sent == NULL || got == NULL) {
        CHECK("buffers_for_the_flow_checks", FALSE);
        goto End;
    }
    fill_pattern(sent, total, (DWORD)modem_bit);
    set_dcb(a, line_flow, TRUE);
    set_dcb(b, peer_line, 0); /* the peer's line down */
    snprintf(check, sizeof(check), "%s_low_on_the_peer_is_low_here", name);
    CHECK(check, (modem(a) & modem_bit) == 0);
    SetCommMask(a, EV_TXEMPTY);
    start_wait(a, &wait, &events);
    start_write(a, &ov, sent, 1000);
    Sleep(100);
    stat = comstat(a);
    held = !request_done(&ov) && in_queue(b) == 0;
    hold_shown = stat.cbOutQue == 1000 && (modem_bit == MS_CTS_ON ? stat.fCtsHold && !stat.fDsrHold
                                                                   : stat.fDsrHold && !stat.fCtsHold);
    snprintf(check, sizeof(check), "%s_flow_holds_the_write", name);
    CHECK(check, held);
    snprintf(check, sizeof(check), "%s_hold_shows_in_comstat", name);
    CHECK(check, hold_shown);
    snprintf(check, sizeof(check), "%s_ev_txempty_waits_for_the_held_bytes", name);
    CHECK(check, still_pending(a, &wait));
    set_dcb(b, peer_line, up_mode);
    snprintf(check, sizeof(check), "%s_raised_releases_the_write", name);
    CHECK(check, end_write(a, &ov, &n) && n == 1000);
    snprintf(check, sizeof(check), "%s_ev_txempty_once_they_went", name);
    CHECK(check, end_wait(a, &wait, &events) && (events & EV_TXEMPTY));
    snprintf(check, sizeof(check), "%s_released_bytes_arrive_intact", name);
    CHECK(check, read_exactly(b, got, 1000, 2000) && memcmp(sent, got, 1000) == 0 && comstat(a).cbOutQue == 0);
    /* A longer write: the ring takes what it can, the line drops, the reader empties the ring,
       the rest waits for the line, and all of it arrives once, in order. */
    start_write(a, &ov, sent, total);
    Sleep(100);
    first = in_queue(b);
    set_dcb(b, peer_line, 0);
    intact = first == size && read_exactly(b, got, first, 2000);
    Sleep(100);
    snprintf(check, sizeof(check), "%s_dropped_mid_write_holds_the_rest", name);
    CHECK(check, intact && in_queue(b) == 0 && comstat(a).cbOutQue == total - first && !request_done(&ov));
    set_dcb(b, peer_line, up_mode);
    snprintf(check, sizeof(check), "%s_no_byte_lost_duplicated_or_reordered", name);
    CHECK(check, read_exactly(b, got + first, total - first, 5000) && end_write(a, &ov, &n) && n == total &&
                     memcmp(sent, got, total) == 0 && in_queue(b) == 0);
End:
    free(sent);
    free(got);
    restore(a, b);
}

/* A write's timeout keeps counting while the handshake holds it; it ends with what went across. */
static void check_write_timeout_while_held(HANDLE a, HANDLE b)
{
    DWORD size = capacity(b), total = size + 2000, n = 0, start, elapsed;
    unsigned char *sent = malloc(total), *got = malloc(total);
    OVERLAPPED ov;

    if (sent == NULL || got == NULL) {
        CHECK("buffers_for_the_write_timeout_check", FALSE);
        goto End;
    }
    fill_pattern(sent, total, 5);
    set_dcb(a, cts_flow, TRUE);
    set_timeouts(a, 0, 0, 0, 0, 600);
    start = GetTickCount();
    start_write(a, &ov, sent, total); /* the ring takes size bytes, the rest waits for room */
    Sleep(100);
    EscapeCommFunction(b, CLRRTS);
    read_exactly(b, got, size, 2000); /* room now, but the line holds the rest */
    CHECK("write_timeout_expires_while_held_with_the_bytes_that_went",
          end_write(a, &ov, &n) && n == size && memcmp(sent, got, size) == 0);
    elapsed = GetTickCount() - start;
    CHECK("write_timeout_counted_while_held", elapsed >= 550 && elapsed < 10000 && in_queue(b) == 0);
    EscapeCommFunction(b, SETRTS);
End:
    free(sent);
    free(got);
    restore(a, b);
}

/* fOutX: an XOFF the port receives holds its output until an XON; neither reaches its reader. */
static void check_out_x(HANDLE a, HANDLE b)
{
    static unsigned char plain[254], got[300];
    DWORD i, n = 0;
    OVERLAPPED ov;
    COMSTAT stat;
    unsigned char xoff = XOFF_CHAR, xon = XON_CHAR;

    for (i = 0, n = 0; i < 256; i++) {
        if (i != XON_CHAR && i != XOFF_CHAR)
            plain[n++] = (unsigned char)i;
    }
    set_dcb(a, out_x, TRUE);
    CHECK("data_with_neither_char_passes_unchanged", write_all(b, plain, sizeof(plain), &n) &&
                                                         read_exactly(a, got, sizeof(plain), 2000) &&
                                                         memcmp(plain, got, sizeof(plain)) == 0 && in_queue(a) == 0);
    CHECK("xoff_received_is_not_delivered", write_all(b, "ab\x13" "cd", 5, &n) && n == 5 &&
                                                read_exactly(a, got, 4, 2000) && memcmp(got, "abcd", 4) == 0 &&
                                                in_queue(a) == 0);
    stat = comstat(a);
    CHECK("xoff_received_shows_in_comstat", stat.fXoffHold && !stat.fCtsHold && !stat.fXoffSent);
    start_write(a, &ov, "held", 4);
    CHECK("xoff_received_holds_the_output", still_pending(a, &ov) && in_queue(b) == 0 && comstat(a).cbOutQue == 4);
    CHECK("transmit_comm_char_goes_while_xoff_holds", TransmitCommChar(a, '!') && read_exactly(b, got, 1, 2000) &&
                                                          got[0] == '!');
    CHECK("xon_received_releases_the_output", write_all(b, &xon, 1, &n) && end_write(a, &ov, &n) && n == 4 &&
                                                  read_exactly(b, got, 4, 2000) && memcmp(got, "held", 4) == 0 &&
                                                  in_queue(a) == 0 && !comstat(a).fXoffHold);
    /* The same by TransmitCommChar, as programs send XOFF by hand. */
    CHECK("xoff_by_transmit_comm_char_holds", TransmitCommChar(b, xoff) && (Sleep(50), comstat(a).fXoffHold) &&
                                                  in_queue(a) == 0);
    CHECK("xon_by_transmit_comm_char_releases", TransmitCommChar(b, xon) && (Sleep(50), !comstat(a).fXoffHold) &&
                                                    in_queue(a) == 0);
    /* Many of them among the data, more than the buffer and one hold of the driver's lock: only
       the data arrives, in order, and the last XON leaves the output free. */
    {
        static unsigned char mixed[3 * 30000], data[30000], back[30000];
        DWORD k;

        for (k = 0; k < 30000; k++) {
            data[k] = plain[k % sizeof(plain)];
            mixed[3 * k] = XOFF_CHAR;
            mixed[3 * k + 1] = data[k];
            mixed[3 * k + 2] = XON_CHAR;
        }
        start_write(b, &ov, mixed, sizeof(mixed));
        CHECK("many_xon_xoff_among_data_only_the_data_arrives", read_exactly(a, back, sizeof(back), 10000) &&
                                                                    end_write(b, &ov, &n) && n == sizeof(mixed) &&
                                                                    memcmp(back, data, sizeof(back)) == 0 &&
                                                                    in_queue(a) == 0 && !comstat(a).fXoffHold);
    }
    /* Without fOutX they are plain data. */
    set_dcb(a, out_x, FALSE);
    CHECK("without_fOutX_xon_and_xoff_are_data", write_all(b, &xoff, 1, &n) && write_all(b, &xon, 1, &n) &&
                                                     read_exactly(a, got, 2, 2000) && got[0] == XOFF_CHAR &&
                                                     got[1] == XON_CHAR && !comstat(a).fXoffHold);
    restore(a, b);
}

/* EscapeCommFunction(SETXOFF) holds the output as a received XOFF would; SETXON releases it. */
static void check_escape_xoff(HANDLE a, HANDLE b)
{
    unsigned char got[8];
    OVERLAPPED ov;
    DWORD n = 0;

    CHECK("escape_setxoff_holds_the_output", EscapeCommFunction(a, SETXOFF) && comstat(a).fXoffHold &&
                                                 start_write(a, &ov, "abc", 3) && still_pending(a, &ov) &&
                                                 in_queue(b) == 0);
    CHECK("escape_setxon_releases_it", EscapeCommFunction(a, SETXON) && end_write(a, &ov, &n) && n == 3 &&
                                           read_exactly(b, got, 3, 2000) && memcmp(got, "abc", 3) == 0 &&
                                           !comstat(a).fXoffHold);
    restore(a, b);
}

/*
 * fInX on the receiver, fOutX on the sender: the receiver sends XOFF once its input reaches
 * the buffer size less XoffLim, the sender holds, and XON once it drains to XonLim; every byte
 * (XON and XOFF values among them: the receiver does not have fOutX) arrives once, in order.
 */
static void check_in_x(HANDLE a, HANDLE b)
{
    DWORD size = capacity(b), total = size * 3, n = 0;
    unsigned char *sent = malloc(total), *got = malloc(total);
    OVERLAPPED ov;
    COMSTAT stat_a, stat_b;
    perf_stats stats_a = { 0 }, stats_b = { 0 };
    DWORD bytes;

    if (sent == NULL || got == NULL) {
        CHECK("buffers_for_the_fInX_checks", FALSE);
        goto End;
    }
    fill_pattern(sent, total, 9);
    set_dcb(a, out_x, TRUE);
    set_dcb(b, in_x, size);
    DeviceIoControl(a, IOCTL_SERIAL_CLEAR_STATS_, NULL, 0, NULL, 0, &bytes, NULL);
    DeviceIoControl(b, IOCTL_SERIAL_CLEAR_STATS_, NULL, 0, NULL, 0, &bytes, NULL);
    start_write(a, &ov, sent, total);
    Sleep(150);
    stat_a = comstat(a);
    stat_b = comstat(b);
    CHECK("fInX_input_stops_at_the_xoff_limit", stat_b.cbInQue == xoff_level(size));
    CHECK("fInX_receiver_shows_xoff_sent", stat_b.fXoffSent && !stat_b.fXoffHold);
    CHECK("fInX_sender_holds_on_the_xoff", stat_a.fXoffHold && stat_a.cbOutQue == total - xoff_level(size) &&
                                               in_queue(a) == 0 && !request_done(&ov));
    CHECK("fInX_whole_pattern_arrives_in_order", read_exactly(b, got, total, 10000) && end_write(a, &ov, &n) &&
                                                     n == total && memcmp(sent, got, total) == 0);
    Sleep(50);
    stat_a = comstat(a);
    stat_b = comstat(b);
    CHECK("fInX_xon_sent_once_drained", !stat_b.fXoffSent && !stat_a.fXoffHold && stat_a.cbInQue == 0);
    CHECK("get_stats_counts_both_ways",
          DeviceIoControl(a, IOCTL_SERIAL_GET_STATS_, NULL, 0, &stats_a, sizeof(stats_a), &bytes, NULL) &&
              bytes == sizeof(stats_a) &&
              DeviceIoControl(b, IOCTL_SERIAL_GET_STATS_, NULL, 0, &stats_b, sizeof(stats_b), &bytes, NULL) &&
              stats_a.transmitted == total && stats_b.received == total && stats_a.received >= 2 &&
              stats_a.received == stats_b.transmitted && stats_a.received % 2 == 0 && stats_b.frame_errors == 0 &&
              stats_b.buffer_overruns == 0 && stats_b.parity_errors == 0 && stats_b.serial_overruns == 0);
    CHECK("clear_stats_zeroes_them",
          DeviceIoControl(b, IOCTL_SERIAL_CLEAR_STATS_, NULL, 0, NULL, 0, &bytes, NULL) &&
              DeviceIoControl(b, IOCTL_SERIAL_GET_STATS_, NULL, 0, &stats_b, sizeof(stats_b), &bytes, NULL) &&
              stats_b.received == 0 && stats_b.transmitted == 0);
End:
    free(sent);
    free(got);
    restore(a, b);
}

/*
 * RTS (or DTR) handshake on the receiver: its line drops once its input reaches the XOFF limit
 * and rises when it drains to XonLim; the sender sees CTS (DSR) change, gets EV_CTS (EV_DSR),
 * and its CTS (DSR) flow holds it meanwhile.
 */
static void check_line_handshake(HANDLE a, HANDLE b, const char *name, void (*line_control)(DCB *, DWORD),
                                 DWORD handshake_mode, void (*line_flow)(DCB *, DWORD), DWORD modem_bit, DWORD event)
{
    DWORD size = capacity(b), total = size * 3, n = 0, events = 0;
    unsigned char *sent = malloc(total), *got = malloc(total);
    OVERLAPPED ov, wait;
    char check[96];
    COMSTAT stat;

    if (sent == NULL || got == NULL) {
        CHECK("buffers_for_the_handshake_line_checks", FALSE);
        goto End;
    }
    fill_pattern(sent, total, modem_bit);
    set_dcb(b, limits, size);
    set_dcb(b, line_control, handshake_mode);
    set_dcb(a, line_flow, TRUE);
    snprintf(check, sizeof(check), "%s_handshake_line_up_while_input_is_low", name);
    CHECK(check, (modem(a) & modem_bit) != 0);
    SetCommMask(a, event);
    start_wait(a, &wait, &events);
    start_write(a, &ov, sent, total);
    Sleep(150);
    stat = comstat(a);
    snprintf(check, sizeof(check), "%s_handshake_line_drops_at_the_limit", name);
    CHECK(check, (modem(a) & modem_bit) == 0 && in_queue(b) == xoff_level(size));
    snprintf(check, sizeof(check), "%s_handshake_peer_gets_the_event", name);
    CHECK(check, end_wait(a, &wait, &events) && (events & event));
    snprintf(check, sizeof(check), "%s_handshake_holds_the_sender", name);
    CHECK(check, (modem_bit == MS_CTS_ON ? stat.fCtsHold : stat.fDsrHold) && !request_done(&ov) &&
                     stat.cbOutQue == total - xoff_level(size));
    snprintf(check, sizeof(check), "%s_handshake_whole_pattern_arrives", name);
    CHECK(check, read_exactly(b, got, total, 10000) && end_write(a, &ov, &n) && n == total &&
                     memcmp(sent, got, total) == 0);
    snprintf(check, sizeof(check), "%s_handshake_line_rises_once_drained", name);
    CHECK(check, (Sleep(20), (modem(a) & modem_bit) != 0));
End:
    free(sent);
    free(got);
    restore(a, b);
}

/* RTS_CONTROL_TOGGLE: RTS up while the port has something to send, down once it went. */
static void check_rts_toggle(HANDLE a, HANDLE b)
{
    unsigned char got[8];
    OVERLAPPED ov;
    DWORD n = 0;

    set_dcb(b, rts_control, RTS_CONTROL_DISABLE); /* a's CTS low: a's write waits */
    set_dcb(a, cts_flow, TRUE);
    set_dcb(a, rts_control, RTS_CONTROL_TOGGLE);
    CHECK("rts_toggle_is_down_with_nothing_to_send", (modem(b) & MS_CTS_ON) == 0);
    CHECK("rts_toggle_rises_with_bytes_to_send", start_write(a, &ov, "tog", 3) && still_pending(a, &ov) &&
                                                     (modem(b) & MS_CTS_ON) != 0);
    set_dcb(b, rts_control, RTS_CONTROL_ENABLE);
    CHECK("rts_toggle_drops_once_they_went", end_write(a, &ov, &n) && n == 3 && (Sleep(20), (modem(b) & MS_CTS_ON) == 0) &&
                                                 read_exactly(b, got, 3, 2000) && memcmp(got, "tog", 3) == 0);
    restore(a, b);
}

/* fDsrSensitivity: what arrives while DSR is low is dropped, as serial.sys does. */
static void check_dsr_sensitivity(HANDLE a, HANDLE b)
{
    unsigned char got[8];
    DWORD n = 0;

    set_dcb(a, dsr_sensitivity, TRUE);
    set_dcb(b, dtr_control, DTR_CONTROL_DISABLE);
    CHECK("dsr_sensitivity_drops_input_while_dsr_is_low", write_all(b, "lost", 4, &n) && n == 4 &&
                                                              (Sleep(20), in_queue(a) == 0));
    set_dcb(b, dtr_control, DTR_CONTROL_ENABLE);
    CHECK("dsr_sensitivity_takes_input_once_dsr_is_up", write_all(b, "kept", 4, &n) && read_exactly(a, got, 4, 2000) &&
                                                            memcmp(got, "kept", 4) == 0);
    restore(a, b);
}

#define STATUS_SERIAL_MORE_WRITES_ 0x40000008u
#define STATUS_SERIAL_COUNTER_TIMEOUT_ 0x4000000Cu

/* An overlapped IOCTL_SERIAL_XOFF_COUNTER; ov->hEvent is made here. */
static BOOL start_xoff_counter(HANDLE port, OVERLAPPED *ov, DWORD timeout, LONG count, UCHAR xoff)
{
    xoff_counter counter = { timeout, count, xoff };
    DWORD bytes;

    memset(ov, 0, sizeof(*ov));
    ov->hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    return DeviceIoControl(port, IOCTL_SERIAL_XOFF_COUNTER_, &counter, sizeof(counter), NULL, 0, &bytes, ov) ||
           GetLastError() == ERROR_IO_PENDING;
}

/* Its final status (the OVERLAPPED's: informational statuses are successes on Windows, but
   Wine's GetOverlappedResult fails on them), or STATUS_PENDING after 5 s. */
static DWORD end_xoff_counter(HANDLE port, OVERLAPPED *ov)
{
    DWORD status = wait_done(ov, 5000) ? (DWORD)ov->Internal : STATUS_PENDING;

    if (status == STATUS_PENDING) {
        CancelIoEx(port, ov);
        wait_done(ov, 5000);
    }
    CloseHandle(ov->hEvent);
    return status;
}

/*
 * IOCTL_SERIAL_XOFF_COUNTER as serial.sys serves it: it sends its XoffChar after the writes
 * before it, and ends once Counter characters came (STATUS_SUCCESS), a later write came
 * (STATUS_SERIAL_MORE_WRITES) or its timeout passed (STATUS_SERIAL_COUNTER_TIMEOUT).
 */
static void check_xoff_counter(HANDLE a, HANDLE b)
{
    unsigned char got[8];
    OVERLAPPED ov, write;
    DWORD n = 0, start, status;

    CHECK("xoff_counter_sends_its_char_and_waits", start_xoff_counter(a, &ov, 0, 3, 'X') &&
                                                       read_exactly(b, got, 1, 2000) && got[0] == 'X' &&
                                                       still_pending(a, &ov));
    CHECK("xoff_counter_counts_what_comes", write_all(b, "ab", 2, &n) && still_pending(a, &ov) &&
                                                write_all(b, "c", 1, &n) && end_xoff_counter(a, &ov) == 0 &&
                                                read_exactly(a, got, 3, 2000) && memcmp(got, "abc", 3) == 0);
    start = GetTickCount();
    CHECK("xoff_counter_times_out", start_xoff_counter(a, &ov, 200, 5, 'Y') &&
                                        end_xoff_counter(a, &ov) == STATUS_SERIAL_COUNTER_TIMEOUT_ &&
                                        GetTickCount() - start >= 150 && read_exactly(b, got, 1, 2000) && got[0] == 'Y');
    CHECK("xoff_counter_ends_at_a_later_write", start_xoff_counter(a, &ov, 0, 5, 'Z') && still_pending(a, &ov) &&
                                                    write_all(a, "w", 1, &n) &&
                                                    end_xoff_counter(a, &ov) == STATUS_SERIAL_MORE_WRITES_ &&
                                                    read_exactly(b, got, 2, 2000) && memcmp(got, "Zw", 2) == 0);
    /* Behind a held write: its character goes after that write's bytes, a later write after it. */
    set_dcb(a, cts_flow, TRUE);
    EscapeCommFunction(b, CLRRTS);
    start_write(a, &write, "1st", 3);
    start_xoff_counter(a, &ov, 0, 5, 'C');
    CHECK("xoff_counter_waits_behind_earlier_writes", still_pending(a, &ov) && in_queue(b) == 0);
    EscapeCommFunction(b, SETRTS);
    status = end_write(a, &write, &n) ? 0 : 1;
    CHECK("xoff_counter_char_after_the_earlier_write", status == 0 && n == 3 && read_exactly(b, got, 4, 2000) &&
                                                           memcmp(got, "1stC", 4) == 0 && still_pending(a, &ov));
    CHECK("xoff_counter_can_be_cancelled", CancelIoEx(a, &ov) && end_xoff_counter(a, &ov) == 0xC0000120u);
    restore(a, b);
}

/* An XOFF counter waits in the write queue in serial.sys: an XOFF received holds its character,
   and PurgeComm(PURGE_TXABORT) ends it with the writes. */
static void check_xoff_counter_held(HANDLE a, HANDLE b)
{
    unsigned char got[4];
    OVERLAPPED ov;

    EscapeCommFunction(a, SETXOFF);
    CHECK("xoff_counter_char_waits_while_xoff_holds", start_xoff_counter(a, &ov, 0, 5, 'H') &&
                                                          still_pending(a, &ov) && in_queue(b) == 0);
    CHECK("xoff_counter_char_goes_at_xon", EscapeCommFunction(a, SETXON) && read_exactly(b, got, 1, 2000) &&
                                               got[0] == 'H' && still_pending(a, &ov));
    CHECK("purge_txabort_ends_the_xoff_counter",
          PurgeComm(a, PURGE_TXABORT) && end_xoff_counter(a, &ov) == 0xC0000120u);
    EscapeCommFunction(a, SETXOFF);
    start_xoff_counter(a, &ov, 0, 5, 'P');
    CHECK("purge_txabort_ends_a_held_xoff_counter_unsent",
          PurgeComm(a, PURGE_TXABORT) && end_xoff_counter(a, &ov) == 0xC0000120u &&
              EscapeCommFunction(a, SETXON) && (Sleep(50), in_queue(b) == 0));
    restore(a, b);
}

/*
 * SetCommState turning flow control off releases what it held, as serial.sys: fOutX off ends
 * an XOFF received; fInX off with its XOFF out sends XON at once, even while the RTS handshake
 * it was paired with still holds the line down.
 */
static void check_flow_turned_off(HANDLE a, HANDLE b)
{
    DWORD size = capacity(b), n = 0;
    unsigned char *sent = malloc(size), got[4];
    OVERLAPPED ov;
    COMSTAT stat;

    if (sent == NULL) {
        CHECK("buffer_for_the_flow_off_checks", FALSE);
        return;
    }
    set_dcb(a, out_x, TRUE);
    write_all(b, "\x13", 1, &n);
    CHECK("fOutX_xoff_holds_before_it_is_turned_off", (Sleep(50), comstat(a).fXoffHold) && start_write(a, &ov, "go", 2) &&
                                                          still_pending(a, &ov));
    set_dcb(a, out_x, FALSE);
    CHECK("fOutX_turned_off_ends_the_xoff_hold", !comstat(a).fXoffHold && end_write(a, &ov, &n) && n == 2 &&
                                                     read_exactly(b, got, 2, 2000) && memcmp(got, "go", 2) == 0);
    restore(a, b);
    /* b: fInX and RTS handshake; a sends plain (no fOutX), so the XOFF and XON arrive as data. */
    memset(sent, 'd', size);
    set_dcb(b, in_x, size);
    set_dcb(b, rts_control, RTS_CONTROL_HANDSHAKE);
    write_all(a, sent, xoff_level(size), &n);
    Sleep(100);
    stat = comstat(b);
    CHECK("fInX_with_rts_handshake_sends_xoff_at_the_limit",
          stat.fXoffSent && (modem(a) & MS_CTS_ON) == 0 && read_exactly(a, got, 1, 2000) && got[0] == XOFF_CHAR);
    {
        DCB dcb = { .DCBlength = sizeof(dcb) };

        GetCommState(b, &dcb);
        dcb.fInX = FALSE;
        SetCommState(b, &dcb);
    }
    CHECK("fInX_turned_off_sends_xon_at_once", read_exactly(a, got, 1, 2000) && got[0] == XON_CHAR &&
                                                   !comstat(b).fXoffSent && (modem(a) & MS_CTS_ON) == 0);
    drain(b);
    CHECK("rts_handshake_still_releases_once_drained", (Sleep(50), (modem(a) & MS_CTS_ON) != 0) && in_queue(a) == 0);
    free(sent);
    restore(a, b);
}

/* XoffLim of the whole buffer: holding from the first byte, and released once it is read. */
static void check_xoff_limit_of_the_whole_buffer(HANDLE a, HANDLE b)
{
    DWORD size = capacity(b), n = 0;
    DCB dcb = { .DCBlength = sizeof(dcb) };
    unsigned char got[4];

    GetCommState(b, &dcb);
    dcb.XoffLim = (WORD)(size > 0xFFFF ? 0xFFFF : size);
    dcb.XonLim = 0;
    dcb.XonChar = XON_CHAR;
    dcb.XoffChar = XOFF_CHAR;
    dcb.fTXContinueOnXoff = TRUE;
    dcb.fInX = TRUE;
    if (size > 0xFFFF) { /* a DCB cannot say it: nothing to check */
        restore(a, b);
        return;
    }
    CHECK("xofflim_of_the_buffer_accepted_and_nothing_held_while_empty",
          SetCommState(b, &dcb) && (Sleep(50), !comstat(b).fXoffSent) && in_queue(a) == 0);
    CHECK("xofflim_of_the_buffer_holds_at_the_first_byte", write_all(a, "1", 1, &n) &&
                                                               (Sleep(50), comstat(b).fXoffSent) &&
                                                               read_exactly(a, got, 1, 2000) && got[0] == XOFF_CHAR);
    CHECK("xofflim_of_the_buffer_releases_once_read", read_exactly(b, got, 1, 2000) && got[0] == '1' &&
                                                          read_exactly(a, got, 1, 2000) && got[0] == XON_CHAR &&
                                                          !comstat(b).fXoffSent);
    restore(a, b);
}

/*
 * A closed port's settings control nothing: what is written to it while no handle has it open
 * (writes to a closed end wait in its input) is kept as it came, XON and XOFF among it, though
 * the port had fOutX when it closed. Returns the port open again.
 */
static HANDLE check_closed_port_takes_nothing(HANDLE a, HANDLE b)
{
    unsigned char got[8];
    DWORD n = 0;

    int tries;

    set_dcb(b, out_x, TRUE);
    CloseHandle(b);
    /* Wine sends the CLOSE afterwards: closed once its lines are down here. */
    for (tries = 0; tries < 100 && (modem(a) & (MS_CTS_ON | MS_DSR_ON)) != 0; tries++)
        Sleep(50);
    write_all(a, "x\x13y\x11z", 5, &n);
    b = open_port(port_b);
    CHECK("closed_port_keeps_xon_and_xoff_as_data", b != INVALID_HANDLE_VALUE && n == 5 &&
                                                        read_exactly(b, got, 5, 2000) &&
                                                        memcmp(got, "x\x13y\x11z", 5) == 0 && !comstat(b).fXoffHold);
    if (b != INVALID_HANDLE_VALUE)
        set_dcb(b, out_x, FALSE);
    return b;
}

/* The serial.sys requests the Win32 API does not send: their sizes and what they do here. */
static void check_other_requests(HANDLE a)
{
    perf_stats stats;
    xoff_counter counter = { 100, 0, XOFF_CHAR };
    DWORD bytes = 0, value = 0xFFFFFFFFu, fifo = 0x01;
    UCHAR escape = 0;
    char small[23];

    CHECK("get_stats_short_buffer_is_refused",
          !DeviceIoControl(a, IOCTL_SERIAL_GET_STATS_, NULL, 0, small, sizeof(small), &bytes, NULL) &&
              GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    CHECK("get_stats_answers", DeviceIoControl(a, IOCTL_SERIAL_GET_STATS_, NULL, 0, &stats, sizeof(stats), &bytes, NULL) &&
                                   bytes == sizeof(stats));
    CHECK("config_size_is_0", DeviceIoControl(a, IOCTL_SERIAL_CONFIG_SIZE_, NULL, 0, &value, sizeof(value), &bytes, NULL) &&
                                  bytes == sizeof(value) && value == 0);
    CHECK("config_size_short_buffer_is_refused",
          !DeviceIoControl(a, IOCTL_SERIAL_CONFIG_SIZE_, NULL, 0, small, 2, &bytes, NULL) &&
              GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    CHECK("xoff_counter_short_buffer_is_refused",
          !DeviceIoControl(a, IOCTL_SERIAL_XOFF_COUNTER_, &counter, 8, NULL, 0, &bytes, NULL) &&
              GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    CHECK("xoff_counter_of_0_is_refused",
          !DeviceIoControl(a, IOCTL_SERIAL_XOFF_COUNTER_, &counter, sizeof(counter), NULL, 0, &bytes, NULL) &&
              GetLastError() == ERROR_INVALID_PARAMETER);
    CHECK("lsrmst_insert_off_is_accepted",
          DeviceIoControl(a, IOCTL_SERIAL_LSRMST_INSERT_, &escape, 1, NULL, 0, &bytes, NULL));
    escape = 0xFF;
    CHECK("lsrmst_insert_on_is_not_supported",
          !DeviceIoControl(a, IOCTL_SERIAL_LSRMST_INSERT_, &escape, 1, NULL, 0, &bytes, NULL) &&
              GetLastError() == ERROR_NOT_SUPPORTED);
    CHECK("lsrmst_insert_short_buffer_is_refused",
          !DeviceIoControl(a, IOCTL_SERIAL_LSRMST_INSERT_, NULL, 0, NULL, 0, &bytes, NULL) &&
              GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    CHECK("set_fifo_control_is_accepted",
          DeviceIoControl(a, IOCTL_SERIAL_SET_FIFO_CONTROL_, &fifo, sizeof(fifo), NULL, 0, &bytes, NULL));
    CHECK("get_modem_control_shows_dtr_and_rts",
          DeviceIoControl(a, IOCTL_SERIAL_GET_MODEM_CONTROL_, NULL, 0, &value, sizeof(value), &bytes, NULL) &&
              bytes == sizeof(value) && value == 0x03);
    value = 0x08 | 0x01; /* OUT2 and DTR, RTS down */
    CHECK("set_modem_control_drives_the_lines",
          DeviceIoControl(a, IOCTL_SERIAL_SET_MODEM_CONTROL_, &value, sizeof(value), NULL, 0, &bytes, NULL) &&
              DeviceIoControl(a, IOCTL_SERIAL_GET_MODEM_CONTROL_, NULL, 0, &value, sizeof(value), &bytes, NULL) &&
              value == 0x09);
    CHECK("set_modem_control_short_buffer_is_refused",
          !DeviceIoControl(a, IOCTL_SERIAL_SET_MODEM_CONTROL_, &value, 2, NULL, 0, &bytes, NULL) &&
              GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    EscapeCommFunction(a, SETRTS);
}

static void test_handshake(HANDLE a, HANDLE b)
{
    save_state(a, b);
    restore(a, b);
    check_line_flow(a, b, "cts", cts_flow, rts_control, RTS_CONTROL_ENABLE, MS_CTS_ON);
    check_line_flow(a, b, "dsr", dsr_flow, dtr_control, DTR_CONTROL_ENABLE, MS_DSR_ON);
    check_write_timeout_while_held(a, b);
    check_out_x(a, b);
    check_escape_xoff(a, b);
    check_in_x(a, b);
    check_line_handshake(a, b, "rts", rts_control, RTS_CONTROL_HANDSHAKE, cts_flow, MS_CTS_ON, EV_CTS);
    check_line_handshake(a, b, "dtr", dtr_control, DTR_CONTROL_HANDSHAKE, dsr_flow, MS_DSR_ON, EV_DSR);
    check_rts_toggle(a, b);
    check_dsr_sensitivity(a, b);
    check_other_requests(a);
    check_xoff_counter(a, b);
    check_xoff_counter_held(a, b);
    check_flow_turned_off(a, b);
    check_xoff_limit_of_the_whole_buffer(a, b);
    restore(a, b);
}

/* Both ends wired as loopback plugs (Wiring "loopback;loopback"): each reads its own lines. */
static void test_loopback_wiring(HANDLE a, HANDLE b)
{
    OVERLAPPED ov;
    DWORD n = 0;
    unsigned char got[4];

    save_state(a, b);
    CHECK("loopback_plug_reads_its_own_lines", modem(a) == (MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON) &&
                                                   EscapeCommFunction(a, CLRRTS) && modem(a) == (MS_DSR_ON | MS_RLSD_ON) &&
                                                   modem(b) == (MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON));
    CHECK("loopback_plug_dtr_gives_dsr_and_dcd", EscapeCommFunction(a, CLRDTR) && modem(a) == 0 &&
                                                     EscapeCommFunction(a, SETDTR) &&
                                                     modem(a) == (MS_DSR_ON | MS_RLSD_ON));
    set_dcb(a, cts_flow, TRUE); /* SetCommState raises RTS again (RTS_CONTROL_ENABLE) */
    CHECK("loopback_plug_own_rts_holds_own_cts_flow", EscapeCommFunction(a, CLRRTS) && start_write(a, &ov, "own", 3) &&
                                                          still_pending(a, &ov) &&
                                                          comstat(a).fCtsHold);
    CHECK("loopback_plug_own_rts_releases_it", EscapeCommFunction(a, SETRTS) && end_write(a, &ov, &n) && n == 3 &&
                                                   read_exactly(b, got, 3, 2000) && memcmp(got, "own", 3) == 0);
    restore(a, b);
}

static int hold(const wchar_t *port, const wchar_t *event_name)
{
    HANDLE h = open_port(port), ready = OpenEventW(EVENT_MODIFY_STATE, FALSE, event_name);
    OVERLAPPED ov;
    DWORD events;

    if (h == INVALID_HANDLE_VALUE || ready == NULL || !SetCommMask(h, EV_BREAK) || !start_wait(h, &ov, &events))
        return 2;
    SetEvent(ready);
    Sleep(INFINITE);
    return 0;
}

/* --rewired: a port's wiring changed while it is open acts at once, as a line change would. */
static int rewired(const wchar_t *port)
{
    HANDLE h = open_port(port);
    DCB dcb = { .DCBlength = sizeof(dcb) };
    COMMTIMEOUTS timeouts = { 0 };
    OVERLAPPED write_ov = { 0 }, wait_ov;
    DWORD lines = 0, events = 0, written = 0;
    BOOL writing;
    char data[] = "rewired";

    CHECK("rewired_port_opens", h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE)
        return 1;
    dcb.BaudRate = 9600;
    dcb.ByteSize = 8;
    dcb.fBinary = TRUE;
    dcb.fOutxCtsFlow = TRUE;
    dcb.fRtsControl = RTS_CONTROL_ENABLE;
    dcb.fDtrControl = DTR_CONTROL_ENABLE;
    timeouts.WriteTotalTimeoutConstant = 30000;
    CHECK("rewired_settings", SetCommState(h, &dcb) && SetCommTimeouts(h, &timeouts) && SetCommMask(h, EV_CTS));
    CHECK("rewired_cts_low_with_the_peer_closed", GetCommModemStatus(h, &lines) && (lines & MS_CTS_ON) == 0);
    write_ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    writing = WriteFile(h, data, 7, NULL, &write_ov) || GetLastError() == ERROR_IO_PENDING;
    CHECK("rewired_write_is_held_by_cts", writing && !wait_done(&write_ov, 500));
    CHECK("rewired_wait_starts", start_wait(h, &wait_ov, &events));
    wprintf(L"ready\n");
    fflush(stdout);
    CHECK("rewired_cts_rises_with_ev_cts", wait_done(&wait_ov, 30000) && GetOverlappedResult(h, &wait_ov, &written, FALSE) &&
                                               (events & EV_CTS) != 0);
    CHECK("rewired_cts_reads_on", GetCommModemStatus(h, &lines) && (lines & MS_CTS_ON) != 0);
    CHECK("rewired_held_write_goes_whole", writing && wait_done(&write_ov, 5000) &&
                                               GetOverlappedResult(h, &write_ov, &written, FALSE) && written == 7);
    CloseHandle(h);
    wprintf(L"%d passed, %d failed\n", passed, failed);
    return failed != 0;
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    HANDLE a, b;

    if (argc == 4 && wcscmp(argv[1], L"--hold") == 0)
        return hold(argv[2], argv[3]);
    if (argc == 4 && wcscmp(argv[1], L"--rewired") == 0) {
        label = argv[3];
        return rewired(argv[2]);
    }
    if (argc == 3 && wcscmp(argv[1], L"--probe") == 0) { /* 0 when PORT opens and answers GetCommState */
        DCB dcb = { .DCBlength = sizeof(dcb) };

        a = open_port(argv[2]);
        return a != INVALID_HANDLE_VALUE && GetCommState(a, &dcb) ? 0 : 1;
    }
    if (argc != 4 && !(argc == 5 && (wcscmp(argv[4], L"paced") == 0 || wcscmp(argv[4], L"loopback") == 0))) {
        fwprintf(stderr, L"usage: serialtest PORT_A PORT_B LABEL [paced|loopback]\n");
        return 2;
    }
    port_a = argv[1];
    port_b = argv[2];
    label = argv[3];
    a = open_port(port_a);
    b = open_port(port_b);
    CHECK("both_ports_open", a != INVALID_HANDLE_VALUE && b != INVALID_HANDLE_VALUE);
    if (a == INVALID_HANDLE_VALUE || b == INVALID_HANDLE_VALUE)
        return 1;
    if (argc == 5) { /* baud-rate emulation, or loopback-plug wiring: only their checks */
        if (wcscmp(argv[4], L"paced") == 0)
            test_pacing(a, b);
        else
            test_loopback_wiring(a, b);
        CloseHandle(a);
        CloseHandle(b);
        wprintf(L"%d passed, %d failed\n", passed, failed);
        return failed != 0;
    }
    test_settings(a, b);
    test_requests(a);
    test_modem_lines(a, b);
    test_data(a, b);
    test_timeouts(a, b);
    test_events(a, b);
    test_purge(a, b);
    test_handshake(a, b);
    b = check_closed_port_takes_nothing(a, b);
    if (b == INVALID_HANDLE_VALUE)
        return 1;
    CloseHandle(a);
    test_killed_holder(b);
    test_peer_close(b);
    CloseHandle(b);
    wprintf(L"%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
