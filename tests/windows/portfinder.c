/*
 * portfinder.c - a port picker that knows nothing of this project: it finds COM ports only as
 * pyserial's serial.tools.list_ports does on Windows (the Ports setup class through SetupAPI with
 * DIGCF_PRESENT, each device's PortName from its device key, its friendly name), and as
 * node-serialport and others do (the GUID_DEVINTERFACE_COMPORT device interface), then opens
 * what it found and talks through it with the Win32 communications API.
 *
 * Usage: portfinder list                     every port found, a line each
 *        portfinder expect COMa,COMb [LABEL]  COMa and COMb are found both ways, with friendly
 *                                             names ending "(COMa)", and carry a line each way
 *        portfinder absent COMn [LABEL]       no present port is COMn, by either way
 * Prints one PASS/FAIL line per check and "N passed, N failed"; exits 1 on a failure.
 */
#include <windows.h>
#include <setupapi.h>
#include <initguid.h>
#include <devguid.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* GUID_DEVINTERFACE_COMPORT, as ntddser.h defines it. */
DEFINE_GUID(portfinder_comport_interface, 0x86e0d1e0, 0x8089, 0x11d0, 0x9c, 0xe4, 0x08, 0x00, 0x3e, 0x30, 0x1f, 0x73);

static const wchar_t *label = L"ports";
static int passed, failed;

static void report(BOOL ok, const wchar_t *name, const wchar_t *detail)
{
    if (ok)
        passed++;
    else
        failed++;
    wprintf(L"%ls portfinder[%ls]: %ls%ls%ls\n", ok ? L"PASS" : L"FAIL", label, name, detail[0] ? L" - " : L"",
            detail);
}

typedef struct found_port {
    wchar_t port_name[32];
    wchar_t friendly[256];
    wchar_t instance[256];
    BOOL has_interface;
} found_port;

#define MAX_FOUND 128
static found_port found[MAX_FOUND];
static int found_count;

/* The Ports class, as pyserial asks for it: by name, then its present devices and their PortName. */
static void find_by_class(void)
{
    GUID guids[8];
    DWORD guid_count = 0, g, i;

    if (!SetupDiClassGuidsFromNameW(L"Ports", guids, 8, &guid_count))
        return;
    for (g = 0; g < guid_count && g < 8; g++) {
        HDEVINFO set = SetupDiGetClassDevsW(&guids[g], NULL, NULL, DIGCF_PRESENT);
        SP_DEVINFO_DATA device;

        if (set == INVALID_HANDLE_VALUE)
            continue;
        ZeroMemory(&device, sizeof(device));
        device.cbSize = sizeof(device);
        for (i = 0; SetupDiEnumDeviceInfo(set, i, &device) && found_count < MAX_FOUND; i++) {
            found_port *port = &found[found_count];
            HKEY key = SetupDiOpenDevRegKey(set, &device, DICS_FLAG_GLOBAL, 0, DIREG_DEV, KEY_READ);
            DWORD bytes = sizeof(port->port_name) - sizeof(wchar_t), type = 0;

            ZeroMemory(port, sizeof(*port));
            if (key == INVALID_HANDLE_VALUE)
                continue;
            if (RegQueryValueExW(key, L"PortName", NULL, &type, (BYTE *)port->port_name, &bytes) != ERROR_SUCCESS ||
                type != REG_SZ || _wcsnicmp(port->port_name, L"LPT", 3) == 0) {
                RegCloseKey(key);
                continue;
            }
            RegCloseKey(key);
            SetupDiGetDeviceRegistryPropertyW(set, &device, SPDRP_FRIENDLYNAME, NULL, (BYTE *)port->friendly,
                                              sizeof(port->friendly) - sizeof(wchar_t), NULL);
            SetupDiGetDeviceInstanceIdW(set, &device, port->instance, 255, NULL);
            found_count++;
        }
        SetupDiDestroyDeviceInfoList(set);
    }
}

/* The COM port interface: each enabled one marks the device it belongs to. */
static void find_by_interface(void)
{
    HDEVINFO set = SetupDiGetClassDevsW(&portfinder_comport_interface, NULL, NULL,
                                        DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    SP_DEVICE_INTERFACE_DATA data;
    DWORD i;
    int f;

    if (set == INVALID_HANDLE_VALUE)
        return;
    ZeroMemory(&data, sizeof(data));
    data.cbSize = sizeof(data);
    for (i = 0; SetupDiEnumDeviceInterfaces(set, NULL, &portfinder_comport_interface, i, &data); i++) {
        SP_DEVINFO_DATA device;
        wchar_t instance[256];

        ZeroMemory(&device, sizeof(device));
        device.cbSize = sizeof(device);
        if (!(data.Flags & SPINT_ACTIVE) ||
            (!SetupDiGetDeviceInterfaceDetailW(set, &data, NULL, 0, NULL, &device) &&
             GetLastError() != ERROR_INSUFFICIENT_BUFFER))
            continue;
        if (!SetupDiGetDeviceInstanceIdW(set, &device, instance, 255, NULL))
            continue;
        for (f = 0; f < found_count; f++) {
            if (_wcsicmp(found[f].instance, instance) == 0)
                found[f].has_interface = TRUE;
        }
    }
    SetupDiDestroyDeviceInfoList(set);
}

static const found_port *lookup(const wchar_t *name)
{
    int f;

    for (f = 0; f < found_count; f++) {
        if (_wcsicmp(found[f].port_name, name) == 0)
            return &found[f];
    }
    return NULL;
}

static HANDLE open_port(const wchar_t *name)
{
    wchar_t path[64];
    HANDLE port;
    COMMTIMEOUTS timeouts = { 0 };

    swprintf(path, 64, L"\\\\.\\%ls", name);
    port = CreateFileW(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (port == INVALID_HANDLE_VALUE)
        return port;
    /* A read returns what came within a second, as a terminal's would. */
    timeouts.ReadIntervalTimeout = 50;
    timeouts.ReadTotalTimeoutConstant = 1000;
    timeouts.WriteTotalTimeoutConstant = 1000;
    SetCommTimeouts(port, &timeouts);
    return port;
}

/* A line from one found port to the other, as a program that picked them would send it. */
static void talk(const wchar_t *from, const wchar_t *to)
{
    HANDLE sender = open_port(from), receiver = open_port(to);
    char line[64], got[64] = { 0 };
    DWORD written = 0, read = 0;
    wchar_t name[96], detail[160] = L"";
    BOOL ok;

    snprintf(line, sizeof(line), "hello from %ls to %ls\r\n", from, to);
    /* As a terminal starts: whatever an earlier program left in the input is not this line's. */
    ok = sender != INVALID_HANDLE_VALUE && receiver != INVALID_HANDLE_VALUE && PurgeComm(receiver, PURGE_RXCLEAR) &&
         WriteFile(sender, line, (DWORD)strlen(line), &written, NULL) && written == strlen(line) &&
         ReadFile(receiver, got, sizeof(got) - 1, &read, NULL) && read == written && memcmp(got, line, read) == 0;
    if (!ok)
        swprintf(detail, 160, L"opened %d/%d, wrote %lu, read %lu: \"%hs\" (last error %lu)",
                 sender != INVALID_HANDLE_VALUE, receiver != INVALID_HANDLE_VALUE, written, read, got, GetLastError());
    swprintf(name, 96, L"a_line_goes_from_%ls_to_%ls", from, to);
    report(ok, name, detail);
    if (sender != INVALID_HANDLE_VALUE)
        CloseHandle(sender);
    if (receiver != INVALID_HANDLE_VALUE)
        CloseHandle(receiver);
}

static void expect(const wchar_t *names)
{
    wchar_t a[16] = L"", b[16] = L"", check[96], detail[400];
    const wchar_t *comma = wcschr(names, L',');
    const wchar_t *both[2];
    int i;

    if (comma == NULL || comma - names >= 16 || wcslen(comma + 1) >= 16) {
        report(FALSE, L"arguments", L"expect COMa,COMb");
        return;
    }
    wcsncpy(a, names, (size_t)(comma - names));
    wcscpy(b, comma + 1);
    both[0] = a;
    both[1] = b;
    for (i = 0; i < 2; i++) {
        const found_port *port = lookup(both[i]);
        wchar_t suffix[24];
        size_t chars = port != NULL ? wcslen(port->friendly) : 0;

        swprintf(check, 96, L"%ls_is_in_the_ports_class_with_its_port_name", both[i]);
        swprintf(detail, 400, L"%d ports found, none with PortName %ls", found_count, both[i]);
        report(port != NULL, check, port != NULL ? L"" : detail);
        if (port == NULL)
            continue;
        swprintf(suffix, 24, L"(%ls)", both[i]);
        swprintf(check, 96, L"%ls_has_a_friendly_name_ending_in_its_name", both[i]);
        swprintf(detail, 400, L"friendly name \"%ls\"", port->friendly);
        report(chars >= wcslen(suffix) && wcscmp(port->friendly + chars - wcslen(suffix), suffix) == 0, check, detail);
        swprintf(check, 96, L"%ls_has_an_enabled_com_port_interface", both[i]);
        swprintf(detail, 400, L"device %ls has none", port->instance);
        report(port->has_interface, check, port->has_interface ? L"" : detail);
    }
    talk(a, b);
    talk(b, a);
}

static void absent(const wchar_t *name)
{
    wchar_t check[96], detail[400];
    const found_port *port = lookup(name);

    swprintf(check, 96, L"%ls_is_not_listed_by_a_present_port", name);
    swprintf(detail, 400, L"device %ls (interface %d) says %ls", port ? port->instance : L"", port ? port->has_interface : 0,
             name);
    report(port == NULL || !port->has_interface, check, port == NULL || !port->has_interface ? L"" : detail);
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    if (argc < 2 || (wcscmp(argv[1], L"list") != 0 && argc < 3)) {
        fwprintf(stderr, L"usage: portfinder list | expect COMa,COMb [LABEL] | absent COMn [LABEL]\n");
        return 2;
    }
    if (argc > 3)
        label = argv[3];
    find_by_class();
    find_by_interface();
    if (wcscmp(argv[1], L"list") == 0) {
        int f;

        for (f = 0; f < found_count; f++)
            wprintf(L"%-8ls %-40ls %ls%ls\n", found[f].port_name, found[f].friendly, found[f].instance,
                    found[f].has_interface ? L" (COM port interface)" : L"");
        return 0;
    }
    if (wcscmp(argv[1], L"expect") == 0)
        expect(argv[2]);
    else if (wcscmp(argv[1], L"absent") == 0)
        absent(argv[2]);
    else {
        fwprintf(stderr, L"portfinder: unknown command %ls\n", argv[1]);
        return 2;
    }
    wprintf(L"%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
