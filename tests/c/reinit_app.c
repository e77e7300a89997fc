/* The program run after the reinit drivers (test compat.reinit_group_c): its main runs
 * after their reinitialization routines. */
#include <windows.h>
#include <stdio.h>

int main(void) {
    OutputDebugStringA("reinit_app: main\n");
    return 0;
}
