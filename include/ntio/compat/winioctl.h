/* ntio compat: <winioctl.h> for applications: CTL_CODE and the device types, and the
 * disk and storage control codes with their structures (<ntdddisk.h>, <ntddstor.h>),
 * as the SDK's header carries them. */
#ifndef NTIO_COMPAT_WINIOCTL_H
#define NTIO_COMPAT_WINIOCTL_H
#define _WINIOCTL_
#include "ntdef.h"
#include "devioctl.h"
#include "ntddstor.h"
#include "ntdddisk.h"
#endif
