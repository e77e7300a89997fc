// IoGetDeviceProperty (S-PROP-1..4): what a PDO's device is, as its bus driver, its INF
// and the PnP manager's registry would say on Windows. ntio's devices are root-enumerated
// and have no INF, so the INF's part comes from the device's Enum key when a .reg file
// wrote it there, else from defaults consistent with IoOpenDeviceRegistryKey (every
// device is in the System setup class, its software key numbered by its node).
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/xchar.h>

#include "io/iomgr.hpp"
#include "system.hpp"
#include "verifier/report.hpp"

using namespace ntio;

namespace {

// A value of the device's Enum key (\Registry\Machine\System\CurrentControlSet\Enum\<id>)
// of the given type, as raw bytes; nothing when the key or the value is not there.
std::optional<std::vector<unsigned char>> enum_value(const std::wstring& instance_id, const wchar_t* value,
                                                     ULONG type) {
    std::wstring path = L"\\Registry\\Machine\\System\\CurrentControlSet\\Enum\\" + instance_id;
    UNICODE_STRING key_name{static_cast<USHORT>(path.size() * sizeof(WCHAR)),
                            static_cast<USHORT>(path.size() * sizeof(WCHAR)), path.data()};
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &key_name, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, nullptr, nullptr);
    HANDLE key;
    if (!NT_SUCCESS(ZwOpenKey(&key, KEY_QUERY_VALUE, &oa))) return std::nullopt;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, value);
    ULONG needed = 0;
    std::vector<unsigned char> info(sizeof(KEY_VALUE_PARTIAL_INFORMATION) + 256);
    NTSTATUS s = ZwQueryValueKey(key, &name, KeyValuePartialInformation, info.data(), static_cast<ULONG>(info.size()),
                                 &needed);
    if (s == STATUS_BUFFER_OVERFLOW || s == STATUS_BUFFER_TOO_SMALL) {
        info.resize(needed);
        s = ZwQueryValueKey(key, &name, KeyValuePartialInformation, info.data(), static_cast<ULONG>(info.size()),
                            &needed);
    }
    ZwClose(key);
    if (!NT_SUCCESS(s)) return std::nullopt;
    auto* partial = reinterpret_cast<KEY_VALUE_PARTIAL_INFORMATION*>(info.data());
    if (partial->Type != type) return std::nullopt;
    return std::vector<unsigned char>(partial->Data, partial->Data + partial->DataLength);
}

std::vector<unsigned char> bytes_of(const std::wstring& text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.c_str());
    return std::vector<unsigned char>(p, p + (text.size() + 1) * sizeof(WCHAR));  // with the terminator
}

// A MULTI_SZ of one string: the string, its terminator and the list's.
std::vector<unsigned char> multi_sz_of(const std::wstring& text) {
    std::wstring list = text;
    list.push_back(L'\0');
    return bytes_of(list);
}

template <typename T>
std::vector<unsigned char> bytes_of_value(T value) {
    std::vector<unsigned char> out(sizeof(T));
    std::memcpy(out.data(), &value, sizeof(T));
    return out;
}

// The service part of ROOT\<SERVICE>\0000.
std::wstring service_of(const std::wstring& instance_id) {
    size_t first = instance_id.find(L'\\');
    size_t last = instance_id.rfind(L'\\');
    return first == std::wstring::npos || last == first ? instance_id : instance_id.substr(first + 1, last - first - 1);
}

// The property's bytes, or nothing when no one supplies it.
std::optional<std::vector<unsigned char>> property(DEVICE_OBJECT* pdo, const io::pnp::NodeFacts& node,
                                                   DEVICE_REGISTRY_PROPERTY which) {
    auto string_or = [&](const wchar_t* value, const std::wstring& fallback) {
        auto v = enum_value(node.instance_id, value, REG_SZ);
        return v ? *v : bytes_of(fallback);
    };
    switch (which) {
    case DevicePropertyDeviceDescription: return string_or(L"DeviceDesc", service_of(node.instance_id));
    case DevicePropertyHardwareID: {
        auto v = enum_value(node.instance_id, L"HardwareID", REG_MULTI_SZ);
        return v ? *v : multi_sz_of(L"ROOT\\" + service_of(node.instance_id));
    }
    case DevicePropertyCompatibleIDs: return enum_value(node.instance_id, L"CompatibleIDs", REG_MULTI_SZ);
    case DevicePropertyClassName: return string_or(L"Class", L"System");
    case DevicePropertyClassGuid: return string_or(L"ClassGUID", node.class_guid);
    case DevicePropertyDriverKeyName: return bytes_of(node.driver_key);
    case DevicePropertyManufacturer: return enum_value(node.instance_id, L"Mfg", REG_SZ);
    case DevicePropertyFriendlyName: return enum_value(node.instance_id, L"FriendlyName", REG_SZ);
    case DevicePropertyLocationInformation: return enum_value(node.instance_id, L"LocationInformation", REG_SZ);
    case DevicePropertyPhysicalDeviceObjectName: return bytes_of(io::runtime(pdo).name);
    case DevicePropertyEnumeratorName: return bytes_of(node.instance_id.substr(0, node.instance_id.find(L'\\')));
    // The root bus gives no address; 0xFFFFFFFF is how a bus says so.
    case DevicePropertyAddress: return bytes_of_value<ULONG>(0xFFFFFFFF);
    case DevicePropertyInstallState: return bytes_of_value<DEVICE_INSTALL_STATE>(InstallStateInstalled);
    case DevicePropertyRemovalPolicy: return bytes_of_value<DEVICE_REMOVAL_POLICY>(RemovalPolicyExpectNoRemoval);
    // No bus information, no hardware resources, no container: the root bus reports none.
    case DevicePropertyBootConfiguration:
    case DevicePropertyBootConfigurationTranslated:
    case DevicePropertyBusTypeGuid:
    case DevicePropertyLegacyBusType:
    case DevicePropertyBusNumber:
    case DevicePropertyUINumber:
    case DevicePropertyResourceRequirements:
    case DevicePropertyAllocatedResources:
    case DevicePropertyContainerID: return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace

extern "C" {

NTSTATUS IoGetDeviceProperty(PDEVICE_OBJECT DeviceObject, DEVICE_REGISTRY_PROPERTY DeviceProperty,
                             ULONG BufferLength, PVOID PropertyBuffer, PULONG ResultLength) {
    verifier::check_irql_at_most(PASSIVE_LEVEL, "IoGetDeviceProperty");
    if (!DeviceObject || !ResultLength) return STATUS_INVALID_PARAMETER;
    *ResultLength = 0;
    io::pnp::NodeFacts node;
    if (!io::pnp::node_facts(DeviceObject, &node)) {
        // Windows stops with PNP_DETECTED_FATAL_ERROR (0xCA, 2: invalid PDO).
        verifier::report(verifier::Check::PNP_DETECTED_FATAL_ERROR,
                         fmt::format("IoGetDeviceProperty on {}, which is not a PDO; pass the PhysicalDeviceObject "
                                     "your AddDevice received, not your own device",
                                     io::device_label(DeviceObject)),
                         {.device = DeviceObject});
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    if (static_cast<unsigned>(DeviceProperty) > DevicePropertyContainerID) return STATUS_INVALID_PARAMETER_2;
    std::optional<std::vector<unsigned char>> value = property(DeviceObject, node, DeviceProperty);
    if (!value) return STATUS_OBJECT_NAME_NOT_FOUND;
    *ResultLength = static_cast<ULONG>(value->size());
    if (BufferLength < value->size() || !PropertyBuffer) return STATUS_BUFFER_TOO_SMALL;
    std::memcpy(PropertyBuffer, value->data(), value->size());
    return STATUS_SUCCESS;
}

}  // extern "C"
