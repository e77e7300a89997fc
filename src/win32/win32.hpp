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
// A Win32 object name ("Global\\" and "Local\\" prefixes dropped) as \BaseNamedObjects\name in *oa; false
// for a name that cannot be one (empty, or with a backslash).
bool named_object_attributes(const std::wstring& name, std::wstring* path, UNICODE_STRING* us, OBJECT_ATTRIBUTES* oa,
                             ULONG attributes);
// OpenEvent's shape, shared by the Open* calls: NULL name ERROR_INVALID_PARAMETER, a bad one
// ERROR_BAD_PATHNAME, else `open` on \BaseNamedObjects\name with the last error from its status.
using OpenFn = NTSTATUS (*)(PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES);
// `attributes`: OBJ_INHERIT when the caller asked for an inheritable handle (S-OBH-1).
HANDLE open_object(LPCWSTR name, ACCESS_MASK access, OpenFn open, ULONG attributes = 0);
// SECURITY_ATTRIBUTES.bInheritHandle as an object attribute (OBJ_INHERIT or 0).
inline ULONG inherit_attribute(const SECURITY_ATTRIBUTES* sa) { return sa && sa->bInheritHandle ? OBJ_INHERIT : 0; }
}  // namespace ntio::win32
