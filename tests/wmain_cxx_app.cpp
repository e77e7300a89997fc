// A C++ program whose entry is wmain(int, wchar_t *[]): <windows.h> keeps its C name, so
// libntio_wmain.a's main finds it, as MSVC treats wmain like main.
#include <windows.h>

#include <cstdio>
#include <string>

int wmain(int argc, wchar_t* argv[]) {
    std::wstring joined;
    for (int i = 1; i < argc; ++i) joined += std::wstring(argv[i]) + L"|";
    wprintf(L"c++ wmain: %d arguments: %s\n", argc, joined.c_str());
    return argc == 3 ? 0 : 1;
}
