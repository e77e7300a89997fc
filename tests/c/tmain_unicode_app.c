/* _tmain with _UNICODE, as Visual Studio's console template writes it: wmain. */
#define _UNICODE
#define UNICODE
#include <windows.h>
#include <tchar.h>
#include <stdio.h>

int _tmain(int argc, _TCHAR *argv[]) {
    _tprintf(_T("tmain: %d arguments, last [%s]\n"), argc, argv[argc - 1]);
    return 0;
}
