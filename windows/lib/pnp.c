/*
 * pnp.c - installing and removing the root-enumerated device of the INF install, the way
 * devcon and pnputil do: SetupAPI makes the device node, newdev installs the INF's driver on it.
 */
#include <windows.h>
#include <setupapi.h>
#include <newdev.h>
#include <string.h>

#include "lbk_client.h"

/* The machine this library is built for, named as IsWow64Process2 names machines. */
#if defined(__aarch64__) || defined(_M_ARM64)
#define LBK_BUILT_FOR IMAGE_FILE_MACHINE_ARM64
#elif defined(__x86_64__) || defined(_M_AMD64)
#define LBK_BUILT_FOR IMAGE_FILE_MACHINE_AMD64
#else
#define LBK_BUILT_FOR IMAGE_FILE_MACHINE_I386
#endif

DWORD lbk_pnp_machine_check(unsigned short built_for, unsigned short native_machine)
{
    if (native_machine == IMAGE_FILE_MACHINE_UNKNOWN || native_machine == built_for)
        return ERROR_SUCCESS;
    return ERROR_EXE_MACHINE_TYPE_MISMATCH;
}

/* IsWow64Process2 (Windows 10 1709 and later) names the machine even to an emulated x64 program,
   which GetNativeSystemInfo does not; without it, the machine is taken to be the program's. */
unsigned short lbk_pnp_native_machine(void)
{
    typedef BOOL(WINAPI * is_wow64_process2_fn)(HANDLE, USHORT *, USHORT *);
    HMODULE kernel32 = GetModuleHandleW(L"kernel32.dll");
    FARPROC found = kernel32 != NULL ? GetProcAddress(kernel32, "IsWow64Process2") : NULL;
    is_wow64_process2_fn is_wow64_process2;
    USHORT process = IMAGE_FILE_MACHINE_UNKNOWN, native = IMAGE_FILE_MACHINE_UNKNOWN;

    if (found == NULL)
        return IMAGE_FILE_MACHINE_UNKNOWN;
    memcpy(&is_wow64_process2, &found, sizeof(found)); /* one function pointer type to another */
    if (!is_wow64_process2(GetCurrentProcess(), &process, &native))
        return IMAGE_FILE_MACHINE_UNKNOWN;
    return native;
}

DWORD lbk_pnp_host_check(void)
{
    return lbk_pnp_machine_check(LBK_BUILT_FOR, lbk_pnp_native_machine());
}

DWORD lbk_pnp_install(const wchar_t *inf_path, BOOL *reboot_needed)
{
    return lbk_pnp_install_id(inf_path, LBK_HARDWARE_ID, reboot_needed);
}

DWORD lbk_pnp_install_id(const wchar_t *inf_path, const wchar_t *hardware_id, BOOL *reboot_needed)
{
    wchar_t full_path[MAX_PATH], class_name[MAX_CLASS_NAME], hardware_ids[64] = { 0 };
    SP_DEVINFO_DATA device;
    HDEVINFO set;
    GUID class_guid;
    DWORD error = ERROR_SUCCESS;
    BOOL reboot = FALSE;

    *reboot_needed = FALSE;
    error = lbk_pnp_host_check();
    if (error != ERROR_SUCCESS)
        return error;
    /* A multi-string, "Root\\LBK\\0\\0", as SPDRP_HARDWAREID wants it. */
    if (wcslen(hardware_id) + 2 > sizeof(hardware_ids) / sizeof(hardware_ids[0]))
        return ERROR_INVALID_PARAMETER;
    wcscpy(hardware_ids, hardware_id);
    ZeroMemory(&device, sizeof(device));
    device.cbSize = sizeof(device);
    error = lbk_full_path(inf_path, full_path, NULL);
    if (error != ERROR_SUCCESS)
        return error;
    if (!SetupDiGetINFClassW(full_path, &class_guid, class_name, MAX_CLASS_NAME, NULL))
        return GetLastError();
    set = SetupDiCreateDeviceInfoList(&class_guid, NULL);
    if (set == INVALID_HANDLE_VALUE)
        return GetLastError();
    /* A new device node under Root, with the INF's hardware id, that Plug and Play then knows. */
    if (!SetupDiCreateDeviceInfoW(set, class_name, &class_guid, NULL, NULL, DICD_GENERATE_ID, &device) ||
        !SetupDiSetDeviceRegistryPropertyW(set, &device, SPDRP_HARDWAREID, (const BYTE *)hardware_ids,
                                           (DWORD)((wcslen(hardware_id) + 2) * sizeof(wchar_t))) ||
        !SetupDiCallClassInstaller(DIF_REGISTERDEVICE, set, &device)) {
        error = GetLastError();
        SetupDiDestroyDeviceInfoList(set);
        return error;
    }
    /* Installs the INF's driver on every device with that id, ours among them. */
    if (!UpdateDriverForPlugAndPlayDevicesW(NULL, hardware_id, full_path, INSTALLFLAG_FORCE, &reboot)) {
        error = GetLastError();
        SetupDiCallClassInstaller(DIF_REMOVE, set, &device); /* no half-installed device left */
    }
    SetupDiDestroyDeviceInfoList(set);
    *reboot_needed = reboot;
    return error;
}

/* What lbk__for_each_device does to each Root\LBK device: FALSE, with GetLastError, to stop. */
typedef BOOL (*lbk__device_action)(HDEVINFO set, SP_DEVINFO_DATA *device, const void *argument);

/* Applies action to every device with hardware_id; *done counts them. */
static DWORD lbk__for_each_device(const wchar_t *hardware_id, lbk__device_action action, const void *argument,
                                  DWORD *done)
{
    SP_DEVINFO_DATA device;
    HDEVINFO set;
    DWORD i, error = ERROR_SUCCESS;

    *done = 0;
    ZeroMemory(&device, sizeof(device));
    device.cbSize = sizeof(device);
    set = SetupDiGetClassDevsW(NULL, NULL, NULL, DIGCF_ALLCLASSES);
    if (set == INVALID_HANDLE_VALUE)
        return GetLastError();
    for (i = 0; SetupDiEnumDeviceInfo(set, i, &device); i++) {
        wchar_t ids[256] = { 0 };

        if (!SetupDiGetDeviceRegistryPropertyW(set, &device, SPDRP_HARDWAREID, NULL, (BYTE *)ids,
                                               sizeof(ids) - sizeof(ids[0]), NULL) ||
            _wcsicmp(ids, hardware_id) != 0)
            continue;
        if (!action(set, &device, argument)) {
            error = GetLastError();
            /* Wine's SetupDiSetClassInstallParams is a stub that fails without saying why. */
            if (error == ERROR_SUCCESS)
                error = ERROR_CALL_NOT_IMPLEMENTED;
            break;
        }
        (*done)++;
    }
    SetupDiDestroyDeviceInfoList(set);
    return error;
}

static BOOL lbk__remove_device(HDEVINFO set, SP_DEVINFO_DATA *device, const void *argument)
{
    (void)argument;
    return SetupDiCallClassInstaller(DIF_REMOVE, set, device);
}

/* DIF_PROPERTYCHANGE, as Device Manager's Disable and Enable send it: *argument is DICS_*. */
static BOOL lbk__change_state(HDEVINFO set, SP_DEVINFO_DATA *device, const void *argument)
{
    SP_PROPCHANGE_PARAMS change;

    ZeroMemory(&change, sizeof(change));
    change.ClassInstallHeader.cbSize = sizeof(change.ClassInstallHeader);
    change.ClassInstallHeader.InstallFunction = DIF_PROPERTYCHANGE;
    change.StateChange = *(const DWORD *)argument;
    change.Scope = DICS_FLAG_GLOBAL;
    return SetupDiSetClassInstallParamsW(set, device, &change.ClassInstallHeader, sizeof(change)) &&
           SetupDiCallClassInstaller(DIF_PROPERTYCHANGE, set, device);
}

DWORD lbk_pnp_remove(DWORD *removed)
{
    return lbk__for_each_device(LBK_HARDWARE_ID, lbk__remove_device, NULL, removed);
}

DWORD lbk_bus_remove(DWORD *removed)
{
    DWORD ends = 0, error = lbk__for_each_device(LBK_BUS_HARDWARE_ID, lbk__remove_device, NULL, removed);

    /* Then the ends' device nodes, which Windows keeps once their bus is gone (as it keeps any
       device's that is not present), each with its PortName: uninstalled, as setupc does. */
    do /* again while some went: a removal may shift the set's indexes past the next one */
        error = error == ERROR_SUCCESS ? lbk__for_each_device(LBK_PORT_HARDWARE_ID, lbk__remove_device, NULL, &ends)
                                       : error;
    while (error == ERROR_SUCCESS && ends != 0);
    return error;
}

DWORD lbk_pnp_set_enabled(BOOL enable, DWORD *changed)
{
    DWORD state = enable ? DICS_ENABLE : DICS_DISABLE;

    return lbk__for_each_device(LBK_HARDWARE_ID, lbk__change_state, &state, changed);
}

DWORD lbk_pnp_count_devices_of(const wchar_t *service, DWORD *count)
{
    SP_DEVINFO_DATA device;
    HDEVINFO set;
    DWORD i;

    *count = 0;
    ZeroMemory(&device, sizeof(device));
    device.cbSize = sizeof(device);
    set = SetupDiGetClassDevsW(NULL, NULL, NULL, DIGCF_ALLCLASSES | DIGCF_PRESENT);
    if (set == INVALID_HANDLE_VALUE)
        return GetLastError();
    for (i = 0; SetupDiEnumDeviceInfo(set, i, &device); i++) {
        wchar_t name[256] = { 0 };

        if (SetupDiGetDeviceRegistryPropertyW(set, &device, SPDRP_SERVICE, NULL, (BYTE *)name,
                                              sizeof(name) - sizeof(name[0]), NULL) &&
            _wcsicmp(name, service) == 0)
            (*count)++;
    }
    SetupDiDestroyDeviceInfoList(set);
    return ERROR_SUCCESS;
}
