/* ntio compat: <ntddk.h> is <wdm.h> plus a few non-WDM declarations. */
#ifndef NTIO_COMPAT_NTDDK_H
#define NTIO_COMPAT_NTDDK_H
#define _NTDDK_ /* the WDK's guard name, which code tests to know the header is in */
#include "wdm.h"
#include "kernel/rtl_tables.h" /* splay links and generic tables (ntddk.h on Windows too) */
#endif
