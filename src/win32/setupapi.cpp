// SetupAPI's device information sets (S-SDI): the application side of the PnP manager's
// device and interface tables (io/pnp.cpp), in the form older Windows code finds a device
// by interface class. A set is a snapshot, copied whole when it is made and never changed
// afterwards, so the calls that read it need no lock beyond finding it.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <cwctype>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "io/iomgr.hpp"
#include "setupapi.h"
#include "win32/win32.hpp"

using namespace ntio::win32;

namespace {

// {4d36e97d-e325-11ce-bfc1-08002be10318}: the System setup class, every ntio device's
// (there are no INF files to name another; S-REG-10 files the software keys there too).
constexpr GUID kSystemClass = {0x4d36e97d, 0xe325, 0x11ce, {0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18}};

constexpr DWORD kKnownFlags = DIGCF_DEFAULT | DIGCF_PRESENT | DIGCF_ALLCLASSES | DIGCF_PROFILE | DIGCF_DEVICEINTERFACE;

static_assert(sizeof(SP_DEVINFO_DATA) == 32 && sizeof(SP_DEVICE_INTERFACE_DATA) == 32, "x64 Windows's sizes");
static_assert(sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_W) == 8 && sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_A) == 8,
              "the cbSize x64 Windows asks for");

struct Device {
    std::wstring instance_id;
    DWORD devinst;
};

struct Interface {
    GUID guid;
    std::wstring path;
    size_t device;  // index in DeviceInfoSet::devices
    DWORD flags;
};

struct DeviceInfoSet {
    std::vector<Device> devices;
    std::vector<Interface> interfaces;
};
using SetRef = std::shared_ptr<const DeviceInfoSet>;

// The live sets by handle. A handle value is never used twice and is never a multiple of
// 4, so it is neither a stale set's nor an object handle (CloseHandle refuses it). A
// caller holds its SetRef while it reads, so a destroy meanwhile frees the set after it.
class SetTable {
public:
    HDEVINFO insert(SetRef s) {
        std::lock_guard g(m_lock);
        uintptr_t v = (++m_serial << 2) | 2;
        m_sets.emplace(v, std::move(s));
        return reinterpret_cast<HDEVINFO>(v);
    }
    SetRef find(HDEVINFO h) {
        std::lock_guard g(m_lock);
        auto it = m_sets.find(reinterpret_cast<uintptr_t>(h));
        return it == m_sets.end() ? nullptr : it->second;
    }
    bool erase(HDEVINFO h) {
        SetRef gone;  // freed after the lock is released
        std::lock_guard g(m_lock);
        auto it = m_sets.find(reinterpret_cast<uintptr_t>(h));
        if (it == m_sets.end()) return false;
        gone = std::move(it->second);
        m_sets.erase(it);
        return true;
    }

private:
    std::mutex m_lock;
    std::unordered_map<uintptr_t, SetRef> m_sets;
    uintptr_t m_serial = 0;
};

SetTable& sets() {
    static SetTable* t = new SetTable;  // never destroyed: a set may be freed during exit
    return *t;
}

BOOL fail(DWORD error) {
    set_last_error(error);
    return FALSE;
}

wchar_t upper(wchar_t c) { return static_cast<wchar_t>(std::towupper(static_cast<wint_t>(c))); }

bool same_text(const std::wstring& a, const std::wstring& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](wchar_t x, wchar_t y) {
               return upper(x) == upper(y);
           });
}

// Whether `id` is `prefix` or lies under it: "ROOT" and "ROOT\ECHO" take ROOT\ECHO\0000,
// "ROO" does not. An empty prefix takes everything.
bool under(const std::wstring& id, const std::wstring& prefix) {
    if (prefix.empty()) return true;
    if (id.size() < prefix.size() || !same_text(id.substr(0, prefix.size()), prefix)) return false;
    return id.size() == prefix.size() || id[prefix.size()] == L'\\';
}

// The element of `v` whose address a Reserved field holds, or nullptr: a structure filled
// from another set, or never filled, is refused without being followed.
template <typename T>
const T* member(const std::vector<T>& v, ULONG_PTR reserved) {
    auto base = reinterpret_cast<uintptr_t>(v.data());
    if (v.empty() || reserved < base) return nullptr;
    uintptr_t offset = reserved - base;
    if (offset % sizeof(T) != 0 || offset / sizeof(T) >= v.size()) return nullptr;
    return &v[offset / sizeof(T)];
}

void fill(const Device& d, PSP_DEVINFO_DATA out) {
    out->ClassGuid = kSystemClass;
    out->DevInst = d.devinst;
    out->Reserved = reinterpret_cast<ULONG_PTR>(&d);
}

// The names are ASCII (instance IDs, GUIDs); anything else becomes '?', as a conversion
// to the ANSI code page would make of it (the A forms of cfgmgr.cpp do the same).
void copy_out(const std::wstring& s, wchar_t* out) { std::memcpy(out, s.c_str(), (s.size() + 1) * sizeof(wchar_t)); }
void copy_out(const std::wstring& s, char* out) {
    for (wchar_t c : s) *out++ = (c >= 0 && c < 0x80) ? static_cast<char>(c) : '?';
    *out = '\0';
}

HDEVINFO get_class_devs(const GUID* class_guid, std::wstring enumerator, DWORD flags) {
    if (flags & ~kKnownFlags) {
        set_last_error(ERROR_INVALID_FLAGS);
        return INVALID_HANDLE_VALUE;
    }
    if (!class_guid && !(flags & DIGCF_ALLCLASSES)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    if (flags & DIGCF_DEFAULT) {  // ntio has no way to name a class's default interface
        set_last_error(ERROR_NOT_SUPPORTED);
        return INVALID_HANDLE_VALUE;
    }
    while (!enumerator.empty() && enumerator.back() == L'\\') enumerator.pop_back();
    bool all_classes = flags & DIGCF_ALLCLASSES, present = flags & DIGCF_PRESENT;
    std::vector<ntio::io::pnp::DeviceRecord> devices;
    std::vector<ntio::io::pnp::InterfaceRecord> interfaces;
    ntio::io::pnp::snapshot(&devices, &interfaces);
    auto set = std::make_shared<DeviceInfoSet>();
    std::vector<size_t> index_in_set(devices.size(), SIZE_MAX);
    auto add_device = [&](size_t k) {
        if (index_in_set[k] == SIZE_MAX) {
            index_in_set[k] = set->devices.size();
            set->devices.push_back({devices[k].instance_id, devices[k].number});
        }
        return index_in_set[k];
    };
    if (flags & DIGCF_DEVICEINTERFACE) {
        std::vector<const ntio::io::pnp::InterfaceRecord*> chosen;
        for (auto& i : interfaces)
            if ((all_classes || IsEqualGUID(i.guid, *class_guid)) && (!present || i.active) &&
                under(i.instance_id, enumerator))
                chosen.push_back(&i);
        // By name, as the Configuration Manager lists them (so a device's come together).
        std::stable_sort(chosen.begin(), chosen.end(), [](auto* a, auto* b) {
            return std::lexicographical_compare(a->path.begin(), a->path.end(), b->path.begin(), b->path.end(),
                                                [](wchar_t x, wchar_t y) { return upper(x) < upper(y); });
        });
        for (auto* i : chosen)
            for (size_t k = 0; k < devices.size(); ++k)
                if (same_text(devices[k].instance_id, i->instance_id)) {
                    set->interfaces.push_back({i->guid, i->path, add_device(k), i->active ? DWORD(SPINT_ACTIVE) : 0});
                    break;
                }
    } else if (all_classes || IsEqualGUID(*class_guid, kSystemClass)) {
        for (size_t k = 0; k < devices.size(); ++k)
            if ((!present || devices[k].present) && under(devices[k].instance_id, enumerator)) add_device(k);
    }
    return sets().insert(std::move(set));
}

template <typename Detail>
BOOL get_interface_detail(HDEVINFO set_handle, PSP_DEVICE_INTERFACE_DATA data, Detail* detail, DWORD size,
                          PDWORD required_size, PSP_DEVINFO_DATA device) {
    using Char = std::remove_reference_t<decltype(detail->DevicePath[0])>;
    constexpr DWORD fixed = offsetof(Detail, DevicePath);
    SetRef set = sets().find(set_handle);
    if (!set) return fail(ERROR_INVALID_HANDLE);
    const Interface* i = nullptr;
    if (!data || data->cbSize != sizeof(SP_DEVICE_INTERFACE_DATA) || !(i = member(set->interfaces, data->Reserved)))
        return fail(ERROR_INVALID_PARAMETER);
    if (detail) {
        // At least the fixed part and one character (an empty path), and the fixed part's
        // size in cbSize, before anything is read from or written to it.
        if (size < fixed + sizeof(Char) || detail->cbSize != sizeof(Detail)) return fail(ERROR_INVALID_USER_BUFFER);
    } else if (size != 0) {
        return fail(ERROR_INVALID_USER_BUFFER);
    }
    if (device && device->cbSize != sizeof(SP_DEVINFO_DATA)) return fail(ERROR_INVALID_USER_BUFFER);
    DWORD needed = fixed + static_cast<DWORD>((i->path.size() + 1) * sizeof(Char));
    if (required_size) *required_size = needed;
    if (device) fill(set->devices[i->device], device);  // with a buffer too small as well
    if (!detail || size < needed) return fail(ERROR_INSUFFICIENT_BUFFER);
    copy_out(i->path, detail->DevicePath);
    return TRUE;
}

template <typename Char>
BOOL get_instance_id(HDEVINFO set_handle, PSP_DEVINFO_DATA device, Char* buffer, DWORD size, PDWORD required_size) {
    SetRef set = sets().find(set_handle);
    if (!set) return fail(ERROR_INVALID_HANDLE);
    const Device* d = nullptr;
    if (!device || device->cbSize != sizeof(SP_DEVINFO_DATA) || !(d = member(set->devices, device->Reserved)))
        return fail(ERROR_INVALID_PARAMETER);
    if (!buffer && size != 0) return fail(ERROR_INVALID_USER_BUFFER);
    DWORD needed = static_cast<DWORD>(d->instance_id.size() + 1);
    if (required_size) *required_size = needed;
    if (size < needed) return fail(ERROR_INSUFFICIENT_BUFFER);
    copy_out(d->instance_id, buffer);
    return TRUE;
}

}  // namespace

extern "C" {

HDEVINFO SetupDiGetClassDevsW(const GUID* ClassGuid, PCWSTR Enumerator, HWND, DWORD Flags) {
    try {
        return get_class_devs(ClassGuid, Enumerator ? Enumerator : L"", Flags);
    } catch (const std::bad_alloc&) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
}

HDEVINFO SetupDiGetClassDevsA(const GUID* ClassGuid, PCSTR Enumerator, HWND, DWORD Flags) {
    try {
        return get_class_devs(ClassGuid, Enumerator ? widen(Enumerator) : std::wstring(), Flags);
    } catch (const std::bad_alloc&) {
        set_last_error(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
}

BOOL SetupDiDestroyDeviceInfoList(HDEVINFO DeviceInfoSet) {
    if (!sets().erase(DeviceInfoSet)) return fail(ERROR_INVALID_HANDLE);
    set_last_error(ERROR_SUCCESS);  // as Windows's does
    return TRUE;
}

BOOL SetupDiEnumDeviceInfo(HDEVINFO DeviceInfoSet, DWORD MemberIndex, PSP_DEVINFO_DATA DeviceInfoData) {
    SetRef set = sets().find(DeviceInfoSet);
    if (!set) return fail(ERROR_INVALID_HANDLE);
    if (!DeviceInfoData) return fail(ERROR_INVALID_PARAMETER);
    if (DeviceInfoData->cbSize != sizeof(SP_DEVINFO_DATA)) return fail(ERROR_INVALID_USER_BUFFER);
    if (MemberIndex >= set->devices.size()) return fail(ERROR_NO_MORE_ITEMS);
    fill(set->devices[MemberIndex], DeviceInfoData);
    return TRUE;
}

BOOL SetupDiEnumDeviceInterfaces(HDEVINFO DeviceInfoSet, PSP_DEVINFO_DATA DeviceInfoData,
                                 const GUID* InterfaceClassGuid, DWORD MemberIndex,
                                 PSP_DEVICE_INTERFACE_DATA DeviceInterfaceData) {
    SetRef set = sets().find(DeviceInfoSet);
    if (!set) return fail(ERROR_INVALID_HANDLE);
    const Device* only = nullptr;
    if (DeviceInfoData && (DeviceInfoData->cbSize != sizeof(SP_DEVINFO_DATA) ||
                           !(only = member(set->devices, DeviceInfoData->Reserved))))
        return fail(ERROR_INVALID_PARAMETER);
    if (!InterfaceClassGuid || !DeviceInterfaceData) return fail(ERROR_INVALID_PARAMETER);
    if (DeviceInterfaceData->cbSize != sizeof(SP_DEVICE_INTERFACE_DATA)) return fail(ERROR_INVALID_USER_BUFFER);
    DWORD n = 0;
    for (const Interface& i : set->interfaces) {
        if (!IsEqualGUID(i.guid, *InterfaceClassGuid)) continue;
        if (only && &set->devices[i.device] != only) continue;
        if (n++ != MemberIndex) continue;
        DeviceInterfaceData->InterfaceClassGuid = i.guid;
        DeviceInterfaceData->Flags = i.flags;
        DeviceInterfaceData->Reserved = reinterpret_cast<ULONG_PTR>(&i);
        return TRUE;
    }
    return fail(ERROR_NO_MORE_ITEMS);
}

BOOL SetupDiGetDeviceInterfaceDetailW(HDEVINFO DeviceInfoSet, PSP_DEVICE_INTERFACE_DATA DeviceInterfaceData,
                                      PSP_DEVICE_INTERFACE_DETAIL_DATA_W DeviceInterfaceDetailData,
                                      DWORD DeviceInterfaceDetailDataSize, PDWORD RequiredSize,
                                      PSP_DEVINFO_DATA DeviceInfoData) {
    return get_interface_detail(DeviceInfoSet, DeviceInterfaceData, DeviceInterfaceDetailData,
                                DeviceInterfaceDetailDataSize, RequiredSize, DeviceInfoData);
}

BOOL SetupDiGetDeviceInterfaceDetailA(HDEVINFO DeviceInfoSet, PSP_DEVICE_INTERFACE_DATA DeviceInterfaceData,
                                      PSP_DEVICE_INTERFACE_DETAIL_DATA_A DeviceInterfaceDetailData,
                                      DWORD DeviceInterfaceDetailDataSize, PDWORD RequiredSize,
                                      PSP_DEVINFO_DATA DeviceInfoData) {
    return get_interface_detail(DeviceInfoSet, DeviceInterfaceData, DeviceInterfaceDetailData,
                                DeviceInterfaceDetailDataSize, RequiredSize, DeviceInfoData);
}

BOOL SetupDiGetDeviceInstanceIdW(HDEVINFO DeviceInfoSet, PSP_DEVINFO_DATA DeviceInfoData, PWSTR DeviceInstanceId,
                                 DWORD DeviceInstanceIdSize, PDWORD RequiredSize) {
    return get_instance_id(DeviceInfoSet, DeviceInfoData, DeviceInstanceId, DeviceInstanceIdSize, RequiredSize);
}

BOOL SetupDiGetDeviceInstanceIdA(HDEVINFO DeviceInfoSet, PSP_DEVINFO_DATA DeviceInfoData, PSTR DeviceInstanceId,
                                 DWORD DeviceInstanceIdSize, PDWORD RequiredSize) {
    return get_instance_id(DeviceInfoSet, DeviceInfoData, DeviceInstanceId, DeviceInstanceIdSize, RequiredSize);
}

}  // extern "C"
