/* Shared by the registry C driver and its app (test compat.registry_c). */
#ifndef REGISTRY_PUBLIC_H
#define REGISTRY_PUBLIC_H

#define REGISTRY_WIN32_NAME "\\\\.\\RegDemo"
/* Output: the RegistrySettings the driver read in DriverEntry. */
#define IOCTL_REGISTRY_SETTINGS CTL_CODE(FILE_DEVICE_UNKNOWN, 0x910, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _REGISTRY_SETTINGS {
    ULONG Level;       /* Parameters\Level, from the .reg file */
    ULONG Retries;     /* Parameters\Retries: absent, so the table's default (3) */
    ULONG Start;       /* the service key's Start, written by the load */
    ULONG Subkeys;     /* subkeys of Parameters: Extra */
    WCHAR Label[32];   /* Parameters\Label */
} REGISTRY_SETTINGS;

#endif
