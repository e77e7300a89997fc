/* A program whose entry is wmain with the environment, as MSVC allows: its arguments
 * arrive widened from UTF-8 and NULL-terminated (libntio_wmain.a's main). */
#include <windows.h>
#include <stdio.h>
#include <wchar.h>

int wmain(int argc, wchar_t *argv[], wchar_t *envp[]) {
    int i, marker = 0;
    wprintf(L"wmain: %d arguments\n", argc);
    for (i = 1; i < argc; ++i) wprintf(L"arg %d: [%s] %u characters\n", i, argv[i], (unsigned)wcslen(argv[i]));
    if (argv[argc] != NULL) return 2;
    for (i = 0; envp[i]; ++i)
        if (wcscmp(envp[i], L"NTIO_WMAIN_TEST=\x00e9t\x00e9") == 0) marker = 1;
    wprintf(L"environment: %s\n", marker ? L"widened" : L"missing");
    return marker ? 0 : 3;
}
