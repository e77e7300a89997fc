/* A client of pnp_driver.c that finds its devices the SetupAPI way, as older Windows
 * samples do: a set of the present devices with the interface, each interface's path in
 * two calls (the generic names, so A or W as UNICODE says), each device opened and asked
 * who it is. Checks that the paths are the Configuration Manager's, in its order, and the
 * Windows 2000 names and a few error codes on the way. Also checks that <setupapi.h>
 * compiles as strict C11 after <windows.h>. Exit status 0 when every check passed. */
#ifdef UNICODE
#include <setupapi.h> /* alone first: it brings <windows.h> itself */
#endif
#include <windows.h>
#include <winioctl.h>
#include <setupapi.h>
#include <cfgmgr32.h>
#include <initguid.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "check.h"
#include "pnp_public.h"

/* Whether a generic-character path is the wide one, character for character. */
static int same_path(const TCHAR *t, const WCHAR *w) {
    for (; *t && *w; ++t, ++w)
        if ((WCHAR)*t != *w) return 0;
    return *t == 0 && *w == 0;
}

int main(void) {
    ULONG cm_len = 0;
    WCHAR *cm_list, *cm_next;
    SP_DEVICE_INTERFACE_DATA ifd;
    HDEVINFO set;
    DWORD i;

    /* What the Configuration Manager lists, to compare with. */
    CHECK(CM_Get_Device_Interface_List_SizeW(&cm_len, (LPGUID)&GUID_DEVINTERFACE_NTIO_PNPTEST, NULL,
                                             CM_GET_DEVICE_INTERFACE_LIST_PRESENT) == CR_SUCCESS);
    cm_list = (WCHAR *)malloc(cm_len * sizeof(WCHAR));
    if (!cm_list) return 1;
    CHECK(CM_Get_Device_Interface_ListW((LPGUID)&GUID_DEVINTERFACE_NTIO_PNPTEST, NULL, cm_list, cm_len,
                                        CM_GET_DEVICE_INTERFACE_LIST_PRESENT) == CR_SUCCESS);
    cm_next = cm_list;

    set = SetupDiGetClassDevs(&GUID_DEVINTERFACE_NTIO_PNPTEST, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    if (set == INVALID_HANDLE_VALUE) {
        printf("SetupDiGetClassDevs: error %u\n", (unsigned)GetLastError());
        return 1;
    }
    ifd.cbSize = sizeof(ifd);
    for (i = 0; SetupDiEnumDeviceInterfaces(set, NULL, &GUID_DEVINTERFACE_NTIO_PNPTEST, i, &ifd); ++i) {
        DWORD size = 0, size_again = 0, bytes = 0;
        ULONG who = 0xFFFFFFFF;
        PSP_DEVICE_INTERFACE_DETAIL_DATA detail;
        SP_DEVINFO_DATA dev;
        TCHAR id[MAX_DEVICE_ID_LEN + 1];
        HANDLE h;

        CHECK(ifd.Flags == SPINT_ACTIVE);
        dev.cbSize = sizeof(dev);
        /* First call: the size (and the device). */
        CHECK(!SetupDiGetDeviceInterfaceDetail(set, &ifd, NULL, 0, &size, &dev));
        CHECK(GetLastError() == ERROR_INSUFFICIENT_BUFFER);
        CHECK(size > offsetof(SP_DEVICE_INTERFACE_DETAIL_DATA, DevicePath));
        detail = (PSP_DEVICE_INTERFACE_DETAIL_DATA)malloc(size);
        if (!detail) return 1;
        /* The fixed part's size, as the SDK's samples set it; not the buffer's. */
        detail->cbSize = size;
        CHECK(!SetupDiGetDeviceInterfaceDetail(set, &ifd, detail, size, NULL, NULL));
        CHECK(GetLastError() == ERROR_INVALID_USER_BUFFER);
        detail->cbSize = sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA);
        /* Second call: the path. */
        if (!SetupDiGetDeviceInterfaceDetail(set, &ifd, detail, size, &size_again, NULL)) {
            printf("SetupDiGetDeviceInterfaceDetail: error %u\n", (unsigned)GetLastError());
            return 1;
        }
        CHECK(size_again == size);
        CHECK(*cm_next != 0 && same_path(detail->DevicePath, cm_next));
        printf("interface %u: %ls\n", (unsigned)i, cm_next);
        CHECK(SetupDiGetDeviceInstanceId(set, &dev, id, MAX_DEVICE_ID_LEN + 1, NULL));
        CHECK(id[0] == 'R' && id[13] == (TCHAR)('0' + (int)i) && id[14] == 0); /* ROOT\PNPC\000i */

        h = CreateFile(detail->DevicePath, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                       OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
        if (h == INVALID_HANDLE_VALUE) {
            printf("cannot open %ls: error %u\n", cm_next, (unsigned)GetLastError());
            return 1;
        }
        CHECK(DeviceIoControl(h, IOCTL_PNPTEST_WHO_ARE_YOU, NULL, 0, &who, sizeof(who), &bytes, NULL));
        CHECK(bytes == sizeof(who) && who == i);
        CloseHandle(h);
        free(detail);
        cm_next += wcslen(cm_next) + 1;
    }
    CHECK(GetLastError() == ERROR_NO_MORE_ITEMS);
    CHECK(*cm_next == 0);
    if (i == 0) printf("no device found (is the driver loaded? ntio run --driver pnpc.so -- ...)\n");
    CHECK(i > 0);

    /* The Windows 2000 names are the same functions and structures. */
    {
        SP_INTERFACE_DEVICE_DATA old;
        old.cbSize = sizeof(old);
        CHECK(SetupDiEnumInterfaceDevice(set, NULL, &GUID_DEVINTERFACE_NTIO_PNPTEST, 0, &old));
        CHECK(old.Flags == SPID_ACTIVE);
        CHECK(DIGCF_INTERFACEDEVICE == DIGCF_DEVICEINTERFACE);
    }

    SetLastError(0);
    CHECK(SetupDiDestroyDeviceInfoList(set));
    CHECK(!SetupDiDestroyDeviceInfoList(set));
    CHECK(GetLastError() == ERROR_INVALID_HANDLE);
    CHECK(SetupDiGetClassDevs(NULL, NULL, NULL, DIGCF_DEVICEINTERFACE) == INVALID_HANDLE_VALUE);
    CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
    free(cm_list);

    printf("setupapi: %u device(s) found and answered in order; %d checks, %d failed\n", (unsigned)i, checks,
           failures);
    return failures ? 1 : 0;
}
