/* ntio compat: NTSTATUS values (the ones drivers and the I/O model use).
 *
 * All of them are NTSTATUS (LONG) once this header is included, including the subset
 * winnt.h defines as DWORD for <windows.h>: as with the SDK's ntstatus.h, which redefines
 * them, the later uses in a file that includes both see NTSTATUS. */
#ifndef NTIO_COMPAT_NTSTATUS_H
#define NTIO_COMPAT_NTSTATUS_H

#undef NTIO_WINNT_STATUS_TYPE
#define NTIO_WINNT_STATUS_TYPE NTSTATUS
#include "win32/winnt_status.h"
#include "ntstatus_values.h"

#endif
