/* ntio compat: the driver-side header, as in the WDK. A driver file includes
 * <wdm.h> or <ntddk.h> and links against ntio (pkg-config ntio). */
#ifndef NTIO_COMPAT_WDM_H
#define NTIO_COMPAT_WDM_H
#define _WDMDDK_ /* the WDK's guard name, which code tests to know the header is in */

/* Kernel code sees exception codes as NTSTATUS (<excpt.h>), as the WDK types them. */
#ifndef NTIO_COMPAT_KERNEL_SIDE
#define NTIO_COMPAT_KERNEL_SIDE 1
#endif
#include "ntdef.h"
#include "ntstatus.h"
#include "kernel/ke.h"
#include "kernel/rtl.h"
#include "kernel/ex.h"
#include "kernel/ps_ob.h"
#include "kernel/nt_services.h"
#include "kernel/io.h"
#include "kernel/pnp.h"
#include "kernel/cm.h"
#include "kernel/io_completion.h"
/* S-SEH-13: in C, driver files get the short spellings try, except, finally and leave,
 * as the WDK gives them (Microsoft's WDM samples write them: general/ioctl/wdm's
 * sioctl.c). Applications and C++ ask for them with <sehmap.h>. */
#include "sehmap.h"

#define ASSERT(e) ((e) ? (void)0 : ntio_assert_failed(#e, __FILE__, __LINE__))
#define ASSERTMSG(msg, e) ((e) ? (void)0 : ntio_assert_failed(msg, __FILE__, __LINE__))
#define NT_ASSERT(e) ASSERT(e)
NTIO_EXTERN_C NTIO_API VOID ntio_assert_failed(PCSTR Expression, PCSTR File, ULONG Line);
/* NT_VERIFY is an expression (its value is the test's) that is also used as a statement;
 * through a function its unused value draws no -Wunused-value. */
NTIO_INLINE BOOLEAN ntio_verify(int Holds, PCSTR Expression, PCSTR File, ULONG Line) {
    if (!Holds) ntio_assert_failed(Expression, File, Line);
    return Holds ? TRUE : FALSE;
}
#define NT_VERIFY(e) ntio_verify((e) ? 1 : 0, #e, __FILE__, __LINE__)

#endif
