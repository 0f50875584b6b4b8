/*
 * bus.c - the serial port bus from user mode (lbkctl bus-... and pair ...): installing its
 * device node, its requests, the ends' device nodes in the Ports class (their friendly names),
 * who owns a COM name, and the COM name arbiter's database, where a port's number is claimed so
 * that Windows gives it to no other port.
 */
#include <windows.h>
#include <setupapi.h>
#include <wchar.h>

#ifndef MAX_DEVICE_ID_LEN
#define MAX_DEVICE_ID_LEN 200 /* cfgmgr32.h */
#endif

#include "lbk_client.h"

static const GUID lbk__bus_interface = LBK_BUS_INTERFACE_GUID_FIELDS;

DWORD lbk_bus_install(const wchar_t *inf_path, BOOL *reboot_needed)
{
    wchar_t full_path[MAX_PATH], port_inf[MAX_PATH];
    wchar_t *file_part = NULL;
    DWORD error;
    int length;

    *reboot_needed = FALSE;
    error = lbk_pnp_host_check(); /* before lbkport.inf goes into the driver store */
    if (error == ERROR_SUCCESS)
        error = lbk_full_path(inf_path, full_path, &file_part);
    if (error != ERROR_SUCCESS)
        return error;
    if (file_part == NULL)
        return ERROR_INVALID_NAME; /* a folder, not a file */
    /* The ends' INF goes into the driver store first, where Windows looks when the bus reports them. */
    /* mingw-w64's swprintf returns the length it needed, not -1, when the text did not fit. */
    length = swprintf(port_inf, MAX_PATH, L"%.*lslbkport.inf", (int)(file_part - full_path), full_path);
    if (length < 0 || length >= MAX_PATH)
        return ERROR_FILENAME_EXCED_RANGE;
    if (!SetupCopyOEMInfW(port_inf, NULL, SPOST_PATH, 0, NULL, 0, NULL, NULL))
        return GetLastError();
    return lbk_pnp_install_id(full_path, LBK_BUS_HARDWARE_ID, reboot_needed);
}

DWORD lbk_bus_open(DWORD timeout_ms, HANDLE *handle)
{
    DWORD waited = 0, error;

    *handle = INVALID_HANDLE_VALUE;
    for (;;) {
        HDEVINFO set = SetupDiGetClassDevsW(&lbk__bus_interface, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
        SP_DEVICE_INTERFACE_DATA data;
        union {
            SP_DEVICE_INTERFACE_DETAIL_DATA_W detail;
            BYTE bytes[sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_W) + MAX_PATH * sizeof(wchar_t)];
        } detail;

        if (set == INVALID_HANDLE_VALUE)
            return GetLastError();
        ZeroMemory(&data, sizeof(data));
        data.cbSize = sizeof(data);
        detail.detail.cbSize = sizeof(detail.detail);
        error = ERROR_FILE_NOT_FOUND;
        if (SetupDiEnumDeviceInterfaces(set, NULL, &lbk__bus_interface, 0, &data)) {
            if (SetupDiGetDeviceInterfaceDetailW(set, &data, &detail.detail, sizeof(detail), NULL, NULL)) {
                *handle = CreateFileW(detail.detail.DevicePath, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                                      0, NULL);
                error = *handle == INVALID_HANDLE_VALUE ? GetLastError() : ERROR_SUCCESS;
            } else {
                error = GetLastError();
            }
        }
        SetupDiDestroyDeviceInfoList(set);
        /* The PnP manager starts the bus, and enables its interface, after the install returns. */
        if (error != ERROR_FILE_NOT_FOUND || waited >= timeout_ms)
            return error;
        Sleep(100);
        waited += 100;
    }
}

static DWORD lbk__bus_ioctl(HANDLE bus, DWORD code, const void *in, DWORD in_len, void *out, DWORD out_len)
{
    DWORD returned = 0;

    return DeviceIoControl(bus, code, (void *)in, in_len, out, out_len, &returned, NULL) ? ERROR_SUCCESS
                                                                                         : GetLastError();
}

DWORD lbk_bus_add_pair(HANDLE bus, lbk_bus_pair *pair)
{
    return lbk__bus_ioctl(bus, IOCTL_LBK_BUS_ADD_PAIR, pair, sizeof(*pair), pair, sizeof(*pair));
}

DWORD lbk_bus_remove_pair(HANDLE bus, uint32_t pair)
{
    return lbk__bus_ioctl(bus, IOCTL_LBK_BUS_REMOVE_PAIR, &pair, sizeof(pair), NULL, 0);
}

DWORD lbk_bus_set_port(HANDLE bus, uint32_t pair, uint32_t end, uint16_t port)
{
    lbk_bus_port request;

    ZeroMemory(&request, sizeof(request));
    request.pair = pair;
    request.end = (uint16_t)end;
    request.port = port;
    return lbk__bus_ioctl(bus, IOCTL_LBK_BUS_SET_PORT, &request, sizeof(request), NULL, 0);
}

DWORD lbk_bus_set_options(HANDLE bus, const lbk_bus_end_options *options)
{
    return lbk__bus_ioctl(bus, IOCTL_LBK_BUS_SET_OPTIONS, options, sizeof(*options), NULL, 0);
}

DWORD lbk_bus_get_pairs(HANDLE bus, lbk_bus_list *list)
{
    return lbk__bus_ioctl(bus, IOCTL_LBK_BUS_LIST, NULL, 0, list, sizeof(*list));
}

/* Whether id (a device instance id) is the end's: LBK\SERIALPORT\...<pair><A|B>, the suffix after
   "\" (Wine) or after the bus's prefix and "&" (Windows). */
static BOOL lbk__is_end(const wchar_t *id, uint32_t pair, uint32_t end)
{
    wchar_t suffix[8];
    size_t id_chars = wcslen(id), suffix_chars, prefix_chars = wcslen(LBK_PORT_DEVICE_ID);

    swprintf(suffix, 8, L"%u%ls", pair, end == 0 ? L"A" : L"B");
    suffix_chars = wcslen(suffix);
    return id_chars > prefix_chars + suffix_chars && _wcsnicmp(id, LBK_PORT_DEVICE_ID, prefix_chars) == 0 &&
           id[prefix_chars] == L'\\' && _wcsicmp(id + id_chars - suffix_chars, suffix) == 0 &&
           (id[id_chars - suffix_chars - 1] == L'\\' || id[id_chars - suffix_chars - 1] == L'&');
}

DWORD lbk_port_set_friendly_name(uint32_t pair, uint32_t end, uint16_t port, DWORD timeout_ms)
{
    DWORD waited = 0;

    for (;;) {
        HDEVINFO set = SetupDiGetClassDevsW(NULL, NULL, NULL, DIGCF_ALLCLASSES | DIGCF_PRESENT);
        SP_DEVINFO_DATA device;
        DWORD i, error = ERROR_NOT_FOUND;

        if (set == INVALID_HANDLE_VALUE)
            return GetLastError();
        ZeroMemory(&device, sizeof(device));
        device.cbSize = sizeof(device);
        for (i = 0; SetupDiEnumDeviceInfo(set, i, &device); i++) {
            wchar_t id[MAX_DEVICE_ID_LEN], name[64];

            if (!SetupDiGetDeviceInstanceIdW(set, &device, id, MAX_DEVICE_ID_LEN, NULL) || !lbk__is_end(id, pair, end))
                continue;
            if (port != 0)
                swprintf(name, 64, L"LBK virtual serial port (COM%u)", port);
            else
                swprintf(name, 64, L"LBK virtual serial port");
            error = SetupDiSetDeviceRegistryPropertyW(set, &device, SPDRP_FRIENDLYNAME, (const BYTE *)name,
                                                      (DWORD)((wcslen(name) + 1) * sizeof(wchar_t)))
                        ? ERROR_SUCCESS
                        : GetLastError();
            break;
        }
        SetupDiDestroyDeviceInfoList(set);
        /* The PnP manager enumerates a new pair's ends after ADD_PAIR returns. */
        if (error != ERROR_NOT_FOUND || waited >= timeout_ms)
            return error;
        Sleep(100);
        waited += 100;
    }
}

/* ---- Who has a COM name --------------------------------------------------------------------- */

static const wchar_t lbk__arbiter_key[] = L"SYSTEM\\CurrentControlSet\\Control\\COM Name Arbiter";

/* Under Wine, whose msports.dll has only stubs (calling one ends the process). */
static BOOL lbk__on_wine(void)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

    return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* Whether the arbiter's database (a bit per COM number, bit n-1 for COM<n>) has port claimed. */
static DWORD lbk__comdb_read(BYTE *bits, DWORD *bytes)
{
    HKEY key;
    DWORD type = 0, error;

    error = RegOpenKeyExW(HKEY_LOCAL_MACHINE, lbk__arbiter_key, 0, KEY_READ, &key);
    if (error == ERROR_FILE_NOT_FOUND) {
        *bytes = 0;
        return ERROR_SUCCESS;
    }
    if (error != ERROR_SUCCESS)
        return error;
    error = RegQueryValueExW(key, L"ComDB", NULL, &type, bits, bytes);
    RegCloseKey(key);
    if (error == ERROR_FILE_NOT_FOUND) {
        *bytes = 0;
        return ERROR_SUCCESS;
    }
    return error == ERROR_SUCCESS && type != REG_BINARY ? ERROR_INVALID_DATA : error;
}

DWORD lbk_comdb_is_claimed(uint16_t port, BOOL *claimed)
{
    BYTE bits[LBK_MAX_COM_PORT / 8 + 64];
    DWORD bytes = sizeof(bits), error = lbk__comdb_read(bits, &bytes);

    *claimed = FALSE;
    if (error == ERROR_SUCCESS && port >= 1 && (DWORD)(port - 1) / 8 < bytes)
        *claimed = (bits[(port - 1) / 8] >> ((port - 1) % 8)) & 1;
    return error;
}

typedef LONG(WINAPI *lbk__comdb_open)(HANDLE *);
typedef LONG(WINAPI *lbk__comdb_close)(HANDLE);
typedef LONG(WINAPI *lbk__comdb_claim)(HANDLE, DWORD, BOOL, BOOL *);
typedef LONG(WINAPI *lbk__comdb_release)(HANDLE, DWORD);

/* Claims (claim TRUE) or releases port in the arbiter's database: msports.dll's ComDB routines on
   Windows, the same bit of the same value under Wine, whose msports.dll has none. */
DWORD lbk_comdb_set(uint16_t port, BOOL claim)
{
    HMODULE msports;
    DWORD error;

    if (port < 1 || port > LBK_MAX_COM_PORT)
        return ERROR_INVALID_PARAMETER;
    if (lbk__on_wine()) {
        BYTE bits[LBK_MAX_COM_PORT / 8] = { 0 };
        DWORD bytes = sizeof(bits);
        HKEY key;
        HANDLE mutex = CreateMutexW(NULL, FALSE, L"Global\\lbkComDB"); /* our writers, one at a time */

        if (mutex != NULL)
            WaitForSingleObject(mutex, 10000);
        error = lbk__comdb_read(bits, &bytes);
        if (error == ERROR_MORE_DATA)
            error = ERROR_INVALID_DATA; /* larger than COM256 needs: not ours to rewrite */
        if (error == ERROR_SUCCESS) {
            if (claim)
                bits[(port - 1) / 8] |= (BYTE)(1u << ((port - 1) % 8));
            else
                bits[(port - 1) / 8] &= (BYTE)~(1u << ((port - 1) % 8));
            error = RegCreateKeyExW(HKEY_LOCAL_MACHINE, lbk__arbiter_key, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL);
            if (error == ERROR_SUCCESS) {
                error = RegSetValueExW(key, L"ComDB", 0, REG_BINARY, bits, sizeof(bits));
                RegCloseKey(key);
            }
        }
        if (mutex != NULL) {
            ReleaseMutex(mutex);
            CloseHandle(mutex);
        }
        return error;
    }
    msports = LoadLibraryW(L"msports.dll");
    if (msports == NULL)
        return GetLastError();
    {
        lbk__comdb_open open = (lbk__comdb_open)(void *)GetProcAddress(msports, "ComDBOpen");
        lbk__comdb_close close = (lbk__comdb_close)(void *)GetProcAddress(msports, "ComDBClose");
        lbk__comdb_claim claim_port = (lbk__comdb_claim)(void *)GetProcAddress(msports, "ComDBClaimPort");
        lbk__comdb_release release_port = (lbk__comdb_release)(void *)GetProcAddress(msports, "ComDBReleasePort");
        HANDLE db;

        if (open == NULL || close == NULL || claim_port == NULL || release_port == NULL) {
            error = ERROR_PROC_NOT_FOUND;
        } else if ((error = (DWORD)open(&db)) == ERROR_SUCCESS) {
            BOOL forced = FALSE;

            error = (DWORD)(claim ? claim_port(db, port, FALSE, &forced) : release_port(db, port));
            close(db);
        }
    }
    FreeLibrary(msports);
    return error;
}

DWORD lbk_com_owner(uint16_t port, wchar_t *owner, size_t chars)
{
    wchar_t com[8], target[MAX_PATH];
    HKEY key;
    HDEVINFO set;
    DWORD i;
    BOOL claimed = FALSE;

    owner[0] = L'\0';
    swprintf(com, 8, L"COM%u", port);
    /* A port listed where programs look for ports: the device that listed it. */
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, L"HARDWARE\\DEVICEMAP\\SERIALCOMM", 0, KEY_READ, &key) == ERROR_SUCCESS) {
        for (i = 0;; i++) {
            wchar_t name[MAX_PATH], data[16];
            DWORD name_chars = MAX_PATH, data_bytes = sizeof(data) - sizeof(wchar_t), type;

            ZeroMemory(data, sizeof(data));
            if (RegEnumValueW(key, i, name, &name_chars, NULL, &type, (BYTE *)data, &data_bytes) != ERROR_SUCCESS)
                break;
            if (type == REG_SZ && _wcsicmp(data, com) == 0) {
                swprintf(owner, chars, L"%ls (listed in SERIALCOMM)", name);
                RegCloseKey(key);
                return ERROR_SUCCESS;
            }
        }
        RegCloseKey(key);
    }
    /* A device of the Ports class with that PortName, present or not (its number is kept). */
    set = SetupDiGetClassDevsW(NULL, NULL, NULL, DIGCF_ALLCLASSES);
    if (set != INVALID_HANDLE_VALUE) {
        SP_DEVINFO_DATA device;

        ZeroMemory(&device, sizeof(device));
        device.cbSize = sizeof(device);
        for (i = 0; SetupDiEnumDeviceInfo(set, i, &device) && owner[0] == L'\0'; i++) {
            HKEY device_key = SetupDiOpenDevRegKey(set, &device, DICS_FLAG_GLOBAL, 0, DIREG_DEV, KEY_READ);
            wchar_t name[16] = { 0 }, id[MAX_DEVICE_ID_LEN];
            DWORD bytes = sizeof(name) - sizeof(wchar_t), type = 0;

            if (device_key == INVALID_HANDLE_VALUE)
                continue;
            if (RegQueryValueExW(device_key, L"PortName", NULL, &type, (BYTE *)name, &bytes) == ERROR_SUCCESS &&
                type == REG_SZ && _wcsicmp(name, com) == 0 &&
                SetupDiGetDeviceInstanceIdW(set, &device, id, MAX_DEVICE_ID_LEN, NULL))
                swprintf(owner, chars, L"device %ls", id);
            RegCloseKey(device_key);
        }
        SetupDiDestroyDeviceInfoList(set);
        if (owner[0] != L'\0')
            return ERROR_SUCCESS;
    }
    /* A name in the object namespace: another driver's port, or under Wine a host serial line. */
    if (QueryDosDeviceW(com, target, MAX_PATH) != 0) {
        swprintf(owner, chars, L"%ls", target);
        return ERROR_SUCCESS;
    }
    if (lbk_comdb_is_claimed(port, &claimed) == ERROR_SUCCESS && claimed)
        swprintf(owner, chars, L"a device not present (claimed in the COM name arbiter's database)");
    return ERROR_SUCCESS;
}
