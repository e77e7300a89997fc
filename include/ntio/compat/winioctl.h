/* ntio compat: <winioctl.h> for applications: CTL_CODE and the device types. */
#ifndef NTIO_COMPAT_WINIOCTL_H
#define NTIO_COMPAT_WINIOCTL_H
#define _WINIOCTL_
#include "ntdef.h"
#include "devioctl.h"
#endif
