/* ntio compat: <dontuse.h>, which in the WDK marks the unbounded CRT string routines
 * deprecated for drivers. Nothing to do here: the header exists so that drivers that
 * include it build. */
#ifndef NTIO_COMPAT_DONTUSE_H
#define NTIO_COMPAT_DONTUSE_H
#endif
