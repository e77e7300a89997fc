/* ntio compat: include before a header full of DEFINE_GUID to define (not just declare) them. */
#define INITGUID
#include "guiddef.h"
