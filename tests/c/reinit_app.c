/* The program run after the reinit drivers (test compat.reinit_group_c): its main runs
 * after their reinitialization routines. It also asks IsProcessorFeaturePresent, which
 * every x64 processor answers TRUE for SSE2 (S-KAPI-6). */
#include <windows.h>

int main(void) {
    OutputDebugStringA(IsProcessorFeaturePresent(PF_XMMI64_INSTRUCTIONS_AVAILABLE) &&
                               !IsProcessorFeaturePresent(PF_ARM_NEON_INSTRUCTIONS_AVAILABLE)
                           ? "reinit_app: main, SSE2 present\n"
                           : "reinit_app: main, FAILED IsProcessorFeaturePresent\n");
    return 0;
}
