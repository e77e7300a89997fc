/* echo: shared by the Echo driver and its client. The interface class the driver
 * registers and the client looks up (include <initguid.h> first in one file to define it). */
#ifndef ECHO_PUBLIC_H
#define ECHO_PUBLIC_H

#include <guiddef.h>

/* {8c7a1d35-2b4e-4f8e-9a61-3c0d5e2f7b19} */
DEFINE_GUID(GUID_DEVINTERFACE_NTIO_ECHO, 0x8c7a1d35, 0x2b4e, 0x4f8e, 0x9a, 0x61, 0x3c, 0x0d, 0x5e, 0x2f, 0x7b, 0x19);

#define ECHO_MAX_CHUNK 4096 /* the largest write the driver accepts */

#endif
