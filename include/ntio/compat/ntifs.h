#ifndef NTIO_COMPAT_NTIFS_H
#define NTIO_COMPAT_NTIFS_H
#include "ntddk.h"
#endif
