/* The C entry point of a program whose entry is wmain (or _tmain with _UNICODE): Linux
 * starts programs at main, so this main widens the arguments and the environment (UTF-8,
 * as the host passes them) and calls wmain with both, as the MSVC runtime does.
 *
 * It lives in its own static archive, libntio_wmain.a, last on pkg-config's link line: a
 * linker pulls an archive member only for a symbol still undefined, so a program with its
 * own main never gets this one, and a driver module (no main wanted) neither. */
#include <stdlib.h>
#include <wchar.h>

#include "windows.h"

/* The program's. Called with the environment too; a two-parameter wmain ignores it, as
 * main(argc, argv) ignores the environment the C runtime passes. */
extern int wmain(int argc, wchar_t **argv, wchar_t **envp);

static wchar_t *widen(const char *text) {
    int n = MultiByteToWideChar(CP_UTF8, 0, text, -1, NULL, 0);
    wchar_t *wide = (wchar_t *)malloc((size_t)(n > 0 ? n : 1) * sizeof(wchar_t));
    if (!wide) return NULL;
    if (n <= 0 || MultiByteToWideChar(CP_UTF8, 0, text, -1, wide, n) != n) wide[0] = L'\0';
    return wide;
}

/* A NULL-terminated array of widened copies, kept until the program exits. */
static wchar_t **widen_all(char **list, int count) {
    wchar_t **wide = (wchar_t **)calloc((size_t)count + 1, sizeof(wchar_t *));
    int i;
    if (!wide) return NULL;
    for (i = 0; i < count; ++i)
        if (!(wide[i] = widen(list[i]))) return NULL;
    return wide;
}

/* Kept for the program's life, as the C runtime keeps argv: reachable from here, so a leak
 * checker at exit does not count them, whether wmain returns or calls exit. volatile, so
 * that the stores stay although nothing reads the variables again. */
static wchar_t **volatile g_wide_argv;
static wchar_t **volatile g_wide_envp;

int main(int argc, char **argv, char **envp) {
    int env_count = 0;
    while (envp && envp[env_count]) ++env_count;
    g_wide_argv = widen_all(argv, argc);
    g_wide_envp = widen_all(envp, env_count);
    if (!g_wide_argv || !g_wide_envp) return 255;
    return wmain(argc, g_wide_argv, g_wide_envp);
}
