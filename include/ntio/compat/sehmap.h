/* ntio compat: the short spellings of the structured-exception keywords for C code
 * (try, except, finally, leave), as older driver samples write them. <wdm.h> (so
 * <ntddk.h> and <ntifs.h>) includes it, as the WDK gives driver code these names
 * (S-SEH-13); applications opt in, as with the SDK: there the names are ordinary
 * identifiers. */
#ifndef NTIO_COMPAT_SEHMAP_H
#define NTIO_COMPAT_SEHMAP_H
#include "excpt.h"
#ifndef __cplusplus
#define try __try
#define except __except
#define finally __finally
#define leave __leave
#endif
#endif
