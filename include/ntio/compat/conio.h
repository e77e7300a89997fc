/* ntio compat: the MSVC CRT's console input (<conio.h>): whether a key is waiting, and
 * reading one without waiting for Enter. Windows reads the console; ntio reads standard
 * input, the terminal when there is one (docs/design.md, S-CON). */
#ifndef NTIO_COMPAT_CONIO_H
#define NTIO_COMPAT_CONIO_H
#include "ntdef.h"
NTIO_EXTERN_C_BEGIN
/* Non-zero when a read would not wait: a key typed on the terminal (without Enter), or
 * on a pipe or file, input waiting or its end reached. */
NTIO_API int _kbhit(void);
/* The next character, without echo and without waiting for Enter on a terminal; EOF at
 * the end of input (the console never ends on Windows). */
NTIO_API int _getch(void);
/* _getch, then the character echoed to standard output. */
NTIO_API int _getche(void);
NTIO_EXTERN_C_END
/* The old names MSVC's <conio.h> still declares. */
#define kbhit _kbhit
#define getch _getch
#define getche _getche
#endif
