// Shared helpers of the Win32 layer.
#pragma once
#include <string>

#include "windows.h"

namespace ntio::win32 {
DWORD last_error();
void set_last_error(DWORD e);
void set_error_from_status(NTSTATUS s);
// NULL for INFINITE, else a relative NT timeout in *storage.
LARGE_INTEGER* timeout_from_ms(DWORD ms, LARGE_INTEGER* storage);
// NTSTATUS of a wait -> WAIT_OBJECT_0+i / WAIT_ABANDONED_0+i / WAIT_TIMEOUT / WAIT_FAILED (+ last error).
DWORD wait_result(NTSTATUS s);
std::wstring widen(LPCSTR s);
}  // namespace ntio::win32
