/* ntio compat: <ntddk.h> is <wdm.h> plus a few non-WDM declarations. */
#ifndef NTIO_COMPAT_NTDDK_H
#define NTIO_COMPAT_NTDDK_H
#include "wdm.h"
#endif
