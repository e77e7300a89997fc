// The Configuration Manager's device-interface lists (S-W32-23): the application side
// of the PnP manager's interface registry (io/pnp.cpp).
#include <cstring>
#include <string>

#include "cfgmgr32.h"
#include "io/iomgr.hpp"

namespace {

CONFIGRET check_flags(ULONG flags) {
    return (flags & ~ULONG(CM_GET_DEVICE_INTERFACE_LIST_BITS)) ? CR_INVALID_FLAG : CR_SUCCESS;
}

CONFIGRET collect(LPGUID guid, const std::wstring& device_id, ULONG flags, std::wstring* list) {
    if (device_id.size() > MAX_DEVICE_ID_LEN) return CR_INVALID_DEVICE_ID;
    return ntio::io::pnp::interface_list(*guid, device_id, flags & CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES, list);
}

std::wstring widen(const char* s) {
    std::wstring w;
    if (s)
        for (; *s; ++s) w += static_cast<wchar_t>(static_cast<unsigned char>(*s));
    return w;
}

// Interface names are ASCII (instance IDs, GUIDs); anything else becomes '?', as a
// conversion to the ANSI code page would make of it.
std::string narrow(const std::wstring& w) {
    std::string s;
    s.reserve(w.size());
    for (wchar_t c : w) s += (c >= 0 && c < 0x80) ? static_cast<char>(c) : '?';
    return s;
}

template <typename Char>
CONFIGRET copy_list(const std::basic_string<Char>& list, Char* buffer, ULONG length) {
    if (list.size() > length) {
        // Too small (the list may have grown since the size call): the caller retries.
        // What it holds meanwhile is an empty list, not the head of a truncated one.
        buffer[0] = 0;
        return CR_BUFFER_SMALL;
    }
    std::memcpy(buffer, list.data(), list.size() * sizeof(Char));
    return CR_SUCCESS;
}

}  // namespace

extern "C" {

CONFIGRET CM_Get_Device_Interface_List_SizeW(PULONG pulLen, LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID,
                                             ULONG ulFlags) {
    if (!pulLen || !InterfaceClassGuid) return CR_INVALID_POINTER;
    *pulLen = 0;
    if (CONFIGRET r = check_flags(ulFlags)) return r;
    std::wstring list;
    CONFIGRET r = collect(InterfaceClassGuid, pDeviceID ? pDeviceID : L"", ulFlags, &list);
    if (r == CR_SUCCESS) *pulLen = static_cast<ULONG>(list.size());
    return r;
}

CONFIGRET CM_Get_Device_Interface_List_SizeA(PULONG pulLen, LPGUID InterfaceClassGuid, DEVINSTID_A pDeviceID,
                                             ULONG ulFlags) {
    if (!pulLen || !InterfaceClassGuid) return CR_INVALID_POINTER;
    *pulLen = 0;
    if (CONFIGRET r = check_flags(ulFlags)) return r;
    std::wstring list;
    CONFIGRET r = collect(InterfaceClassGuid, widen(pDeviceID), ulFlags, &list);
    if (r == CR_SUCCESS) *pulLen = static_cast<ULONG>(list.size());  // one byte per character
    return r;
}

CONFIGRET CM_Get_Device_Interface_ListW(LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID, PZZWSTR Buffer,
                                        ULONG BufferLen, ULONG ulFlags) {
    if (!InterfaceClassGuid || !Buffer || BufferLen == 0) return CR_INVALID_POINTER;
    if (CONFIGRET r = check_flags(ulFlags)) return r;
    std::wstring list;
    if (CONFIGRET r = collect(InterfaceClassGuid, pDeviceID ? pDeviceID : L"", ulFlags, &list)) return r;
    return copy_list(list, Buffer, BufferLen);
}

CONFIGRET CM_Get_Device_Interface_ListA(LPGUID InterfaceClassGuid, DEVINSTID_A pDeviceID, PZZSTR Buffer,
                                        ULONG BufferLen, ULONG ulFlags) {
    if (!InterfaceClassGuid || !Buffer || BufferLen == 0) return CR_INVALID_POINTER;
    if (CONFIGRET r = check_flags(ulFlags)) return r;
    std::wstring list;
    if (CONFIGRET r = collect(InterfaceClassGuid, widen(pDeviceID), ulFlags, &list)) return r;
    return copy_list(narrow(list), Buffer, BufferLen);
}

}  // extern "C"
