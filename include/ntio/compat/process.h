/* ntio compat: the MSVC CRT's thread creation (<process.h>). */
#ifndef NTIO_COMPAT_PROCESS_H
#define NTIO_COMPAT_PROCESS_H
#include "ntdef.h"
NTIO_EXTERN_C_BEGIN
/* _beginthread: the thread's handle is closed by the runtime when the thread ends. */
NTIO_API uintptr_t _beginthread(void (*start_address)(void *), unsigned stack_size, void *arglist);
/* _beginthreadex: the caller owns the returned handle and closes it with CloseHandle. */
NTIO_API uintptr_t _beginthreadex(void *security, unsigned stack_size, unsigned (*start_address)(void *),
                                  void *arglist, unsigned initflag, unsigned *thrdaddr);
NTIO_API DECLSPEC_NORETURN void _endthread(void);
NTIO_API DECLSPEC_NORETURN void _endthreadex(unsigned retval);
NTIO_EXTERN_C_END
#endif
