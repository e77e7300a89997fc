/* Shared by the EX_TIMER C driver and its app (test compat.ex_timer_c). */
#ifndef EX_TIMER_PUBLIC_H
#define EX_TIMER_PUBLIC_H

#define EX_TIMER_WIN32_NAME "\\\\.\\ExTimerDemo"
/* Output: an EXT_RESULT, once the timer has expired four times and been deleted. */
#define IOCTL_EXT_RUN CTL_CODE(FILE_DEVICE_UNKNOWN, 0x920, METHOD_BUFFERED, FILE_ANY_ACCESS)

#define EXT_EXPIRIES 4

typedef struct _EXT_RESULT {
    LONGLONG Offset[EXT_EXPIRIES]; /* interrupt time of each callback after the set, 100 ns */
    ULONG Irql[EXT_EXPIRIES];      /* the callback's IRQL */
    ULONG SameTimer;               /* every callback got the timer ExAllocateTimer gave */
    ULONG FirstSet;                /* ExSetTimer on the new timer: FALSE */
    ULONG Reset;                   /* ExSetTimer on the pending timer: TRUE */
    ULONG Deleted;                 /* ExDeleteTimer(Cancel) from the last callback: TRUE */
} EXT_RESULT;

#endif
