/* The client of pnp_driver.c: finds the devices by interface class with the
 * Configuration Manager (size, then list), warns when there is more than one, and opens
 * each to ask which device answers. Also checks that <cfgmgr32.h> compiles as strict C11
 * after <windows.h>. Exit status 0 when every check passed. */
#include <windows.h>
#include <winioctl.h>
#include <cfgmgr32.h>
#include <initguid.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "pnp_public.h"

int main(void) {
    ULONG length = 0, length_a = 0, count = 0;
    WCHAR *list, *p;
    CONFIGRET cr = CM_Get_Device_Interface_List_SizeW(&length, (LPGUID)&GUID_DEVINTERFACE_NTIO_PNPTEST, NULL,
                                                      CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
    if (cr != CR_SUCCESS) {
        printf("CM_Get_Device_Interface_List_SizeW: CONFIGRET 0x%x\n", (unsigned)cr);
        return 1;
    }
    cr = CM_Get_Device_Interface_List_SizeA(&length_a, (LPGUID)&GUID_DEVINTERFACE_NTIO_PNPTEST, NULL,
                                            CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
    if (cr != CR_SUCCESS || length_a != length) {
        printf("the A and W sizes differ: %u, %u\n", (unsigned)length_a, (unsigned)length);
        return 1;
    }
    list = (WCHAR *)malloc(length * sizeof(WCHAR));
    if (!list) return 1;
    cr = CM_Get_Device_Interface_ListW((LPGUID)&GUID_DEVINTERFACE_NTIO_PNPTEST, NULL, list, length,
                                       CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
    if (cr != CR_SUCCESS) {
        printf("CM_Get_Device_Interface_ListW: CONFIGRET 0x%x\n", (unsigned)cr);
        return 1;
    }
    for (p = list; *p; p += wcslen(p) + 1) printf("interface %u: %ls\n", (unsigned)count++, p);
    if ((ULONG)(p - list) + 1 != length) {
        printf("the list holds %u characters, the size call said %u\n", (unsigned)(p - list + 1), (unsigned)length);
        return 1;
    }
    if (count == 0) {
        printf("no device found (is the driver loaded? ntio run --driver pnp_driver.so -- ...)\n");
        return 1;
    }
    if (count > 1) printf("warning: %u devices have the interface; a client would use the first\n", (unsigned)count);
    count = 0;
    for (p = list; *p; p += wcslen(p) + 1, ++count) {
        ULONG who = 0xFFFFFFFF;
        DWORD bytes = 0;
        HANDLE h = CreateFileW(p, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                               FILE_ATTRIBUTE_NORMAL, NULL);
        if (h == INVALID_HANDLE_VALUE) {
            printf("cannot open %ls: error %u\n", p, (unsigned)GetLastError());
            return 1;
        }
        if (!DeviceIoControl(h, IOCTL_PNPTEST_WHO_ARE_YOU, NULL, 0, &who, sizeof(who), &bytes, NULL) ||
            bytes != sizeof(who) || who != count) {
            printf("interface %u answered device %u (error %u)\n", (unsigned)count, (unsigned)who,
                   (unsigned)GetLastError());
            return 1;
        }
        CloseHandle(h);
    }
    printf("%u device(s) found and answered in order\n", (unsigned)count);
    free(list);
    return 0;
}
