/*
 * serialtest.c - a serial program that knows nothing of this project: it opens two COM ports
 * joined by a null-modem cable and checks them with the Win32 communications API alone (no
 * project header, no library), as a terminal or a device simulator would.
 *
 * Usage: serialtest PORT_A PORT_B LABEL      e.g. serialtest COM5 COM6 buffered
 *        serialtest PORT_A PORT_B LABEL paced (a pair with baud-rate emulation: the pacing checks)
 *        serialtest --probe PORT             exit 0 when PORT answers GetCommState, 1 otherwise
 *        serialtest --hold PORT EVENT_NAME   (child) opens PORT, leaves a WaitCommEvent
 *                                            pending, sets EVENT_NAME, and sleeps until killed
 * Prints one PASS/FAIL line per check and "N passed, N failed"; exits non-zero on a failure.
 */
#include <windows.h>
#include <winioctl.h>
#include <stdio.h>
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

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    HANDLE a, b;

    if (argc == 4 && wcscmp(argv[1], L"--hold") == 0)
        return hold(argv[2], argv[3]);
    if (argc == 3 && wcscmp(argv[1], L"--probe") == 0) { /* 0 when PORT opens and answers GetCommState */
        DCB dcb = { .DCBlength = sizeof(dcb) };

        a = open_port(argv[2]);
        return a != INVALID_HANDLE_VALUE && GetCommState(a, &dcb) ? 0 : 1;
    }
    if (argc != 4 && !(argc == 5 && wcscmp(argv[4], L"paced") == 0)) {
        fwprintf(stderr, L"usage: serialtest PORT_A PORT_B LABEL [paced]\n");
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
    if (argc == 5) { /* baud-rate emulation: only the pacing checks */
        test_pacing(a, b);
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
    CloseHandle(a);
    test_killed_holder(b);
    test_peer_close(b);
    CloseHandle(b);
    wprintf(L"%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
