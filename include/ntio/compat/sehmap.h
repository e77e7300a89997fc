/* ntio compat: the short spellings of the structured-exception keywords for C code
 * (try, except, finally, leave), as older driver samples write them. Opt-in, as in
 * other toolchains: these names are ordinary identifiers elsewhere. */
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
