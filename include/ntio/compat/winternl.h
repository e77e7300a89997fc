/* ntio compat: user-mode access to the Nt* services (a subset of <winternl.h>). */
#ifndef NTIO_COMPAT_WINTERNL_H
#define NTIO_COMPAT_WINTERNL_H
#include "windows.h"
#include "ntstatus.h"
#include "kernel/ke.h"
#include "kernel/ps_ob.h"
#include "kernel/nt_services.h"
#endif
