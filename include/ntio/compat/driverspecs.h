/* ntio compat: <DriverSpecs.h>, the WDK's analysis annotations for drivers; like the
 * rest of SAL here they compile to nothing (sal.h). */
#ifndef NTIO_COMPAT_DRIVERSPECS_H
#define NTIO_COMPAT_DRIVERSPECS_H
#include "sal.h"
#endif
