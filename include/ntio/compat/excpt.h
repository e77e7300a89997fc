/* ntio compat: structured exception handling for C code, as drivers and apps use it:
 * __try / __except (filter) / __finally / __leave, GetExceptionCode(),
 * GetExceptionInformation(), AbnormalTermination(), and the records they see.
 * Included by <ntdef.h>, so <wdm.h>, <ntddk.h> and <windows.h> have it.
 *
 * How it works (docs/compat.md, "Structured exceptions"): __try links a frame into
 * the thread's frame list and takes a setjmp; an access violation, misaligned
 * access, division by zero or illegal instruction inside the __try (a signal), or
 * ExRaiseStatus / RaiseException, jumps back to the innermost frame. There the
 * filter runs; EXCEPTION_EXECUTE_HANDLER runs the handler after the block,
 * EXCEPTION_CONTINUE_SEARCH passes the exception to the next frame out. A __finally
 * block runs when its __try ends normally, by __leave, or while an exception passes.
 *
 * What differs from the compiler's SEH (each documented, none silent):
 *   - the keywords are C only: libstdc++ defines __try itself, so C++ code cannot
 *     use these macros (C++ drivers get a compile error, not a wrong program);
 *   - the unwind happens before the filter runs: __finally blocks inside the
 *     __try run before an outer filter sees the exception, and stack variables of
 *     the functions unwound are gone when the filter runs;
 *   - EXCEPTION_CONTINUE_EXECUTION cannot resume the faulting code: ntio says so
 *     and stops the process (for a non-continuable exception it raises
 *     STATUS_NONCONTINUABLE_EXCEPTION, as Windows does);
 *   - leaving a __try that has a __finally by return, break, continue or goto
 *     (rather than __leave or falling off its end) cannot run the __finally: ntio
 *     says so and stops the process. Leaving a __try that has an __except that way
 *     is fine.
 *   - with GCC, a local written inside a __try keeps its value when a call in the
 *     body raises (see __try below); written just before a fault in the function's
 *     own instructions, or compiled by Clang, it must be volatile, as with setjmp.
 *     GCC's -Wclobbered flags every such variable, so it is off after this header. */
#ifndef NTIO_COMPAT_EXCPT_H
#define NTIO_COMPAT_EXCPT_H

#include <setjmp.h>
/* Its types (DWORD, PVOID, NTSTATUS): included first, <ntdef.h> comes here before going on,
 * and its own include of this header is then skipped by the guard above. */
#include "ntdef.h"

#define EXCEPTION_EXECUTE_HANDLER 1
#define EXCEPTION_CONTINUE_SEARCH 0
#define EXCEPTION_CONTINUE_EXECUTION (-1)

#define EXCEPTION_NONCONTINUABLE 0x1
#define EXCEPTION_UNWINDING 0x2
#define EXCEPTION_EXIT_UNWIND 0x4
#define EXCEPTION_MAXIMUM_PARAMETERS 15

/* The user-mode names of the exception codes, DWORDs as winnt.h has them (kernel code
 * compares with the STATUS_ names, which are NTSTATUS). */
#define EXCEPTION_ACCESS_VIOLATION ((DWORD)0xC0000005L)
#define EXCEPTION_DATATYPE_MISALIGNMENT ((DWORD)0x80000002L)
#define EXCEPTION_BREAKPOINT ((DWORD)0x80000003L)
#define EXCEPTION_SINGLE_STEP ((DWORD)0x80000004L)
#define EXCEPTION_ARRAY_BOUNDS_EXCEEDED ((DWORD)0xC000008CL)
#define EXCEPTION_FLT_DENORMAL_OPERAND ((DWORD)0xC000008DL)
#define EXCEPTION_FLT_DIVIDE_BY_ZERO ((DWORD)0xC000008EL)
#define EXCEPTION_FLT_INEXACT_RESULT ((DWORD)0xC000008FL)
#define EXCEPTION_FLT_INVALID_OPERATION ((DWORD)0xC0000090L)
#define EXCEPTION_FLT_OVERFLOW ((DWORD)0xC0000091L)
#define EXCEPTION_FLT_STACK_CHECK ((DWORD)0xC0000092L)
#define EXCEPTION_FLT_UNDERFLOW ((DWORD)0xC0000093L)
#define EXCEPTION_INT_DIVIDE_BY_ZERO ((DWORD)0xC0000094L)
#define EXCEPTION_INT_OVERFLOW ((DWORD)0xC0000095L)
#define EXCEPTION_PRIV_INSTRUCTION ((DWORD)0xC0000096L)
#define EXCEPTION_IN_PAGE_ERROR ((DWORD)0xC0000006L)
#define EXCEPTION_ILLEGAL_INSTRUCTION ((DWORD)0xC000001DL)
#define EXCEPTION_NONCONTINUABLE_EXCEPTION ((DWORD)0xC0000025L)
#define EXCEPTION_STACK_OVERFLOW ((DWORD)0xC00000FDL)
#define EXCEPTION_INVALID_DISPOSITION ((DWORD)0xC0000026L)
#define EXCEPTION_INVALID_HANDLE ((DWORD)0xC0000008L)

/* An exception code is an NTSTATUS to kernel code (<wdm.h> first) and a DWORD to user
 * code (<windows.h> first), as the WDK's and the SDK's headers type it, so that either
 * side compares it with its own constants without mixing signedness. */
#if defined(NTIO_COMPAT_KERNEL_SIDE)
typedef NTSTATUS NTIO_EXCEPTION_CODE;
#else
typedef DWORD NTIO_EXCEPTION_CODE;
#endif

NTIO_EXTERN_C_BEGIN

typedef struct _EXCEPTION_RECORD {
    NTIO_EXCEPTION_CODE ExceptionCode;
    ULONG ExceptionFlags;
    struct _EXCEPTION_RECORD *ExceptionRecord;
    PVOID ExceptionAddress;
    ULONG NumberParameters;
    ULONG_PTR ExceptionInformation[EXCEPTION_MAXIMUM_PARAMETERS];
} EXCEPTION_RECORD, *PEXCEPTION_RECORD;

/* The integer registers of an x64 CONTEXT, filled from the signal's machine context
 * for a hardware exception; a raised exception fills Rip with its caller and Rsp
 * with its caller's stack, and leaves the rest 0. No floating-point state. */
typedef struct _CONTEXT {
    ULONG ContextFlags;
    ULONG EFlags;
    ULONG64 Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi;
    ULONG64 R8, R9, R10, R11, R12, R13, R14, R15;
    ULONG64 Rip;
} CONTEXT, *PCONTEXT;

typedef struct _EXCEPTION_POINTERS {
    PEXCEPTION_RECORD ExceptionRecord;
    PCONTEXT ContextRecord;
} EXCEPTION_POINTERS, *PEXCEPTION_POINTERS;

/* ---- the machinery behind the keywords (names are ntio's, not Windows's) ---- */
typedef struct _NTIO_SEH_FRAME {
    jmp_buf Jump;
    struct _NTIO_SEH_FRAME *Outer;
    void *Receiver[5]; /* __builtin_setjmp's buffer: never jumped to (see __try) */
    void *Code;        /* in the function that holds the __try: driver or application */
    int Kind;  /* 1: __except, 2: __finally */
    int State; /* 0: its __try is running and the frame is linked; 1: done */
    const char *File;
    int Line;
} NTIO_SEH_FRAME;

typedef struct _NTIO_SEH_FINALLY {
    int Pass;     /* 1 while the __finally block runs */
    int Abnormal; /* AbnormalTermination(): an exception is passing through */
    EXCEPTION_RECORD Record;
} NTIO_SEH_FINALLY;

NTIO_API void ntio_seh_enter(NTIO_SEH_FRAME *Frame, int Kind, const char *File, int Line);
NTIO_API void ntio_seh_done(NTIO_SEH_FRAME *Frame);
NTIO_API void ntio_seh_frame_exit(NTIO_SEH_FRAME *Frame);
NTIO_API void ntio_seh_filter(NTIO_SEH_FRAME *Frame, long Disposition);
NTIO_API void ntio_seh_finally_unwind(NTIO_SEH_FRAME *Frame);
NTIO_API NTIO_SEH_FINALLY ntio_seh_finally_begin(void);
NTIO_API void ntio_seh_finally_end(NTIO_SEH_FINALLY *Finally);
NTIO_API NTSTATUS ntio_seh_exception_code(void);
NTIO_API PEXCEPTION_POINTERS ntio_seh_exception_pointers(void);
/* Whether the calling thread is inside a __try: whether a raise would be taken. */
NTIO_API int ntio_seh_frame_active(void);

NTIO_EXTERN_C_END

#define GetExceptionCode() ((NTIO_EXCEPTION_CODE)ntio_seh_exception_code())
#define _exception_code() ((NTIO_EXCEPTION_CODE)ntio_seh_exception_code())
#define GetExceptionInformation() ntio_seh_exception_pointers()
#define _exception_info() ntio_seh_exception_pointers()

#if !defined(__cplusplus)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wclobbered"
#endif

/* The whole __try ... __except / __finally is one if statement, so an if, else or
 * loop around it without braces guards all of it. Its condition is a statement
 * expression holding the frame and the __try's body; the frame's kind is only known
 * in the macro after the body, so __try jumps ahead to the code that macro placed
 * there, which enters the frame and jumps back. __label__ keeps those labels local to
 * this __try. Jumping out of the body (return, break, continue, goto) leaves the
 * statement expression, which GCC and Clang allow, and runs the frame's cleanup.
 *
 * The __builtin_setjmp beside the setjmp is never jumped to. It is there for what it
 * tells GCC: a function with one may resume at its receiver after any call, so GCC
 * keeps every variable that lives across a call in memory and stores it before each
 * call; the handler path then reads what the body wrote before the call that raised
 * (with setjmp alone GCC may keep such a variable in a register the jump restores,
 * or never store it). Clang draws no such conclusion (docs/compat.md).
 *
 * An exception whose filter chose the handler jumps from the statement expression
 * straight to the handler (a label numbered by __COUNTER__), so the
 * construct's normal end is reached only from the body's: a function whose __try and
 * __except both return does not fall off its end as far as -Wreturn-type can see. */
#define NTIO_SEH_CAT2_(a, b) a##b
#define NTIO_SEH_CAT_(a, b) NTIO_SEH_CAT2_(a, b)

#define __try                                                                        \
    if (__extension__ ({                                                             \
      __label__ ntio_seh_body_, ntio_seh_kind_, ntio_seh_leave_, ntio_seh_out_;                   \
      NTIO_SEH_FRAME ntio_seh_frame_ __attribute__((cleanup(ntio_seh_frame_exit)));  \
      goto ntio_seh_kind_;                                                           \
    ntio_seh_body_:                                                                  \
      if (setjmp(ntio_seh_frame_.Jump) == 0 && __builtin_setjmp(ntio_seh_frame_.Receiver) == 0)

#define NTIO_SEH_CLOSE_(kind, skip_after)                                            \
    ntio_seh_leave_: __attribute__((unused));                                        \
      ntio_seh_done(&ntio_seh_frame_);                                               \
      goto ntio_seh_out_;                                                            \
    ntio_seh_kind_:                                                                  \
      ntio_seh_enter(&ntio_seh_frame_, (kind), __FILE__, __LINE__);                  \
      goto ntio_seh_body_;                                                           \
    ntio_seh_out_:;                                                                  \
    }), (skip_after)) {} else

#define __except(...) NTIO_SEH_EXCEPT_(__COUNTER__, __VA_ARGS__)
#define NTIO_SEH_EXCEPT_(n, ...) /* the filter: one expression, commas and all */   \
      else {                                                                         \
          ntio_seh_filter(&ntio_seh_frame_, (long)(__VA_ARGS__));                   \
          goto NTIO_SEH_CAT_(ntio_seh_handler_, n);                                  \
      }                                                                              \
      NTIO_SEH_CLOSE_(1, 1)                                                          \
    NTIO_SEH_CAT_(ntio_seh_handler_, n):

#define __finally                                                                    \
      else ntio_seh_finally_unwind(&ntio_seh_frame_);                                \
      NTIO_SEH_CLOSE_(2, 0)                                                          \
    for (NTIO_SEH_FINALLY ntio_seh_fin_ = ntio_seh_finally_begin(); ntio_seh_fin_.Pass; \
         ntio_seh_finally_end(&ntio_seh_fin_))

#define __leave goto ntio_seh_leave_
#define AbnormalTermination() (ntio_seh_fin_.Abnormal)
#define _abnormal_termination() (ntio_seh_fin_.Abnormal)

#endif /* !__cplusplus */

#endif
