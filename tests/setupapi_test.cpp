// SetupAPI's device information sets over the PnP manager (S-SDI-1..9): sets of
// interfaces and of devices, the two-call detail pattern and its size rules, the path
// opening the device, snapshots, handle validation and instance IDs. The devices are the
// PnP test driver's (drivers/pnp_driver.cpp) and, for I/O that says which device answered,
// the C PnP driver's module (c/pnp_driver.c).
#include <cfgmgr32.h>
#include <setupapi.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "drivers/pnp_driver.hpp"
#include "test_support.hpp"

namespace {

using namespace ntio::testing;
using pnpdrv::kInterface;
using pnpdrv::kRefInterface;

// {4d36e97d-e325-11ce-bfc1-08002be10318}, devguid.h's GUID_DEVCLASS_SYSTEM
constexpr GUID kSystemClass = {0x4d36e97d, 0xe325, 0x11ce, {0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18}};
// {4d36e978-e325-11ce-bfc1-08002be10318}, GUID_DEVCLASS_PORTS: a class no ntio device is in
constexpr GUID kPortsClass = {0x4d36e978, 0xe325, 0x11ce, {0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18}};
// The C driver's interface and IOCTL (c/pnp_public.h)
constexpr GUID kCInterface = {0x3c1f7a52, 0x9e64, 0x4b0d, {0xa8, 0x37, 0x21, 0x5e, 0x6f, 0x90, 0xc4, 0xd1}};
constexpr DWORD kWhoAreYou = CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS);

const char* kId0 = "ROOT\\PNPTEST\\0000";

std::vector<std::wstring> split(const std::wstring& multi_sz) {
    std::vector<std::wstring> out;
    for (size_t i = 0; i < multi_sz.size() && multi_sz[i];) {
        std::wstring s(multi_sz.c_str() + i);
        i += s.size() + 1;
        out.push_back(s);
    }
    return out;
}

// The Configuration Manager's list of the class, to compare with.
std::vector<std::wstring> cm_list(const GUID& g, ULONG flags = CM_GET_DEVICE_INTERFACE_LIST_PRESENT) {
    ULONG size = 0;
    GUID guid = g;
    EXPECT_EQ(CM_Get_Device_Interface_List_SizeW(&size, &guid, nullptr, flags), CR_SUCCESS);
    std::wstring buf(size, L'#');
    EXPECT_EQ(CM_Get_Device_Interface_ListW(&guid, nullptr, buf.data(), size, flags), CR_SUCCESS);
    return split(buf);
}

SP_DEVICE_INTERFACE_DATA interface_data() {
    SP_DEVICE_INTERFACE_DATA d;
    std::memset(&d, 0, sizeof d);
    d.cbSize = sizeof d;
    return d;
}

SP_DEVINFO_DATA devinfo_data() {
    SP_DEVINFO_DATA d;
    std::memset(&d, 0, sizeof d);
    d.cbSize = sizeof d;
    return d;
}

// The path of an enumerated interface, the two-call way.
std::wstring detail_path(HDEVINFO set, SP_DEVICE_INTERFACE_DATA* ifd, SP_DEVINFO_DATA* dev = nullptr) {
    DWORD size = 0;
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(set, ifd, nullptr, 0, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    std::vector<unsigned char> buf(size);
    auto* detail = reinterpret_cast<PSP_DEVICE_INTERFACE_DETAIL_DATA_W>(buf.data());
    detail->cbSize = sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_W);
    if (!SetupDiGetDeviceInterfaceDetailW(set, ifd, detail, size, nullptr, dev)) {
        ADD_FAILURE() << "error " << GetLastError();
        return L"";
    }
    return detail->DevicePath;
}

// Every interface of `g` in the set, in order: path and flags.
struct Listed {
    std::wstring path;
    DWORD flags;
    bool operator==(const Listed&) const = default;
};
std::vector<Listed> listed(HDEVINFO set, const GUID& g, SP_DEVINFO_DATA* only = nullptr) {
    std::vector<Listed> out;
    SP_DEVICE_INTERFACE_DATA ifd = interface_data();
    for (DWORD i = 0; SetupDiEnumDeviceInterfaces(set, only, &g, i, &ifd); ++i) {
        EXPECT_TRUE(IsEqualGUID(ifd.InterfaceClassGuid, g));
        out.push_back({detail_path(set, &ifd), ifd.Flags});
    }
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_MORE_ITEMS));
    return out;
}

std::vector<std::wstring> paths(const std::vector<Listed>& l) {
    std::vector<std::wstring> out;
    for (auto& x : l) out.push_back(x.path);
    return out;
}

std::wstring instance_id(HDEVINFO set, SP_DEVINFO_DATA* dev) {
    WCHAR id[MAX_DEVICE_ID_LEN + 1];
    if (!SetupDiGetDeviceInstanceIdW(set, dev, id, MAX_DEVICE_ID_LEN + 1, nullptr)) return L"error";
    return id;
}

// Every device of the set, in order: instance IDs.
std::vector<std::wstring> devices(HDEVINFO set) {
    std::vector<std::wstring> out;
    SP_DEVINFO_DATA dev = devinfo_data();
    for (DWORD i = 0; SetupDiEnumDeviceInfo(set, i, &dev); ++i) {
        EXPECT_TRUE(IsEqualGUID(dev.ClassGuid, kSystemClass));
        out.push_back(instance_id(set, &dev));
    }
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_MORE_ITEMS));
    return out;
}

// One set taken with `flags`, destroyed with the holder.
struct Set {
    Set(const GUID* g, DWORD flags, const wchar_t* enumerator = nullptr)
        : h(SetupDiGetClassDevsW(g, enumerator, nullptr, flags)) {}
    ~Set() {
        if (h != INVALID_HANDLE_VALUE) {
            EXPECT_TRUE(SetupDiDestroyDeviceInfoList(h));
        }
    }
    Set(const Set&) = delete;
    Set& operator=(const Set&) = delete;
    HDEVINFO h;
};

constexpr DWORD kPresentInterfaces = DIGCF_PRESENT | DIGCF_DEVICEINTERFACE;

class SetupApi : public VirtualTimeTest {
protected:
    void TearDown() override {
        sys.unload_driver("pnptest");
        EXPECT_EQ(sys.leak_report(), "");
    }
    void load(int instances, const pnpdrv::Config& config = {}) {
        ASSERT_EQ(pnpdrv::load(sys, instances, config), STATUS_SUCCESS);
    }
    static pnpdrv::Device device(size_t n) { return pnpdrv::device(n); }
};

// ---- S-SDI-1: SetupDiGetClassDevs's arguments -----------------------------------------------

TEST_F(SetupApi, S_SDI_1_ArgumentsAreCheckedBeforeAnythingIsCollected) {
    load(1);
    SetLastError(0);
    EXPECT_EQ(SetupDiGetClassDevsW(nullptr, nullptr, nullptr, DIGCF_DEVICEINTERFACE), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER)) << "no class and not DIGCF_ALLCLASSES";
    EXPECT_EQ(SetupDiGetClassDevsW(nullptr, nullptr, nullptr, DIGCF_PRESENT), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    EXPECT_EQ(SetupDiGetClassDevsW(&kInterface, nullptr, nullptr, kPresentInterfaces | 0x20), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_FLAGS));
    EXPECT_EQ(SetupDiGetClassDevsA(&kInterface, nullptr, nullptr, kPresentInterfaces | DIGCF_DEFAULT),
              INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_SUPPORTED)) << "no default interfaces in ntio";
    // DIGCF_PROFILE changes nothing (one hardware profile); a window is ignored.
    Set profile(&kInterface, kPresentInterfaces | DIGCF_PROFILE);
    ASSERT_NE(profile.h, INVALID_HANDLE_VALUE);
    EXPECT_EQ(paths(listed(profile.h, kInterface)), cm_list(kInterface));
    HDEVINFO with_window = SetupDiGetClassDevsW(&kInterface, nullptr, reinterpret_cast<HWND>(0x1234), kPresentInterfaces);
    ASSERT_NE(with_window, INVALID_HANDLE_VALUE);
    EXPECT_TRUE(SetupDiDestroyDeviceInfoList(with_window));
}

TEST_F(SetupApi, S_SDI_1_TheEnumeratorTakesWholeComponentsOfInstanceIds) {
    pnpdrv::Config c;
    c.reference_strings = {L"x"};
    load(2, c);
    auto of = [](const wchar_t* enumerator) {
        Set s(&kInterface, kPresentInterfaces, enumerator);
        EXPECT_NE(s.h, INVALID_HANDLE_VALUE);
        return devices(s.h);
    };
    std::vector<std::wstring> both{L"ROOT\\PNPTEST\\0000", L"ROOT\\PNPTEST\\0001"};
    EXPECT_EQ(of(nullptr), both);
    EXPECT_EQ(of(L""), both);
    EXPECT_EQ(of(L"ROOT"), both);
    EXPECT_EQ(of(L"root\\pnptest\\"), both) << "case-insensitive, a trailing backslash ignored";
    EXPECT_EQ(of(L"ROOT\\PNPTEST\\0001"), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0001"}));
    EXPECT_TRUE(of(L"ROO").empty()) << "a component is matched whole";
    EXPECT_TRUE(of(L"PCI").empty()) << "an enumerator with no devices gives an empty set";
    EXPECT_TRUE(of(L"ROOT\\PNPTEST\\0009").empty());
    // One device's interfaces of every class, by instance ID (the A form alike).
    HDEVINFO one = SetupDiGetClassDevsA(nullptr, "ROOT\\PNPTEST\\0000", nullptr,
                                        DIGCF_ALLCLASSES | DIGCF_DEVICEINTERFACE | DIGCF_PRESENT);
    ASSERT_NE(one, INVALID_HANDLE_VALUE);
    EXPECT_EQ(paths(listed(one, kInterface)), std::vector<std::wstring>({cm_list(kInterface)[0]}));
    EXPECT_EQ(paths(listed(one, kRefInterface)), std::vector<std::wstring>({cm_list(kRefInterface)[0]}));
    EXPECT_EQ(devices(one), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0000"}));
    EXPECT_TRUE(SetupDiDestroyDeviceInfoList(one));
}

// ---- S-SDI-2: sets of interfaces ---------------------------------------------------------------

TEST_F(SetupApi, S_SDI_2_APresentSetHoldsTheActiveInterfacesInTheListsOrder) {
    load(2);
    Set s(&kInterface, kPresentInterfaces);
    ASSERT_NE(s.h, INVALID_HANDLE_VALUE);
    std::vector<Listed> l = listed(s.h, kInterface);
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(paths(l), cm_list(kInterface)) << "the same names in the same order";
    EXPECT_EQ(l[0].flags, static_cast<DWORD>(SPINT_ACTIVE));
    EXPECT_EQ(l[1].flags, static_cast<DWORD>(SPINT_ACTIVE));
    EXPECT_EQ(devices(s.h), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0000", L"ROOT\\PNPTEST\\0001"}));
    // Another class is not in the set.
    SP_DEVICE_INTERFACE_DATA ifd = interface_data();
    EXPECT_FALSE(SetupDiEnumDeviceInterfaces(s.h, nullptr, &kRefInterface, 0, &ifd));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_MORE_ITEMS));
    EXPECT_FALSE(SetupDiEnumDeviceInterfaces(s.h, nullptr, &kInterface, 0xFFFFFFFF, &ifd));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_MORE_ITEMS));
}

TEST_F(SetupApi, S_SDI_2_WithoutPresentEveryRegistrationIsThereInactiveOnesWithoutFlags) {
    pnpdrv::Config c;
    c.reference_strings = {L"x"};
    load(2, c);
    UNICODE_STRING link{};
    ASSERT_EQ(IoRegisterDeviceInterface(device(1).pdo, &kRefInterface, nullptr, &link), STATUS_SUCCESS);  // disabled
    ASSERT_EQ(sys.remove_device(kId0), STATUS_SUCCESS);  // its interfaces stay registered, disabled
    std::vector<std::wstring> all = cm_list(kRefInterface, CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES);
    ASSERT_EQ(all.size(), 3u);
    {
        Set s(&kRefInterface, DIGCF_DEVICEINTERFACE);
        std::vector<Listed> l = listed(s.h, kRefInterface);
        EXPECT_EQ(paths(l), all) << "as CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES lists them";
        ASSERT_EQ(l.size(), 3u);
        EXPECT_EQ(l[0].flags, 0u) << "the removed device's";
        EXPECT_EQ(l[1].flags, 0u) << "registered, never enabled";
        EXPECT_EQ(l[2].flags, static_cast<DWORD>(SPINT_ACTIVE));
        EXPECT_EQ(devices(s.h), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0000", L"ROOT\\PNPTEST\\0001"}));
    }
    {
        Set s(&kRefInterface, kPresentInterfaces);
        EXPECT_EQ(listed(s.h, kRefInterface), std::vector<Listed>({{all[2], SPINT_ACTIVE}}));
        EXPECT_EQ(paths(listed(s.h, kRefInterface)), cm_list(kRefInterface));
        EXPECT_EQ(devices(s.h), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0001"}));
    }
    RtlFreeUnicodeString(&link);
}

TEST_F(SetupApi, S_SDI_2_AllClassesTakesEveryClassAndEnumeratesByTheOneAsked) {
    pnpdrv::Config c;
    c.reference_strings = {L"alpha", L"beta"};
    load(2, c);
    // The class GUID is ignored with DIGCF_ALLCLASSES.
    Set s(&kPortsClass, DIGCF_ALLCLASSES | kPresentInterfaces);
    ASSERT_NE(s.h, INVALID_HANDLE_VALUE);
    EXPECT_EQ(paths(listed(s.h, kInterface)), cm_list(kInterface));
    EXPECT_EQ(paths(listed(s.h, kRefInterface)), cm_list(kRefInterface));
    // Per device: its interfaces of the class asked, in order.
    SP_DEVINFO_DATA dev = devinfo_data();
    ASSERT_TRUE(SetupDiEnumDeviceInfo(s.h, 1, &dev));
    EXPECT_EQ(instance_id(s.h, &dev), L"ROOT\\PNPTEST\\0001");
    std::vector<std::wstring> refs = cm_list(kRefInterface);
    EXPECT_EQ(paths(listed(s.h, kRefInterface, &dev)), std::vector<std::wstring>({refs[2], refs[3]}));
    EXPECT_EQ(paths(listed(s.h, kInterface, &dev)), std::vector<std::wstring>({cm_list(kInterface)[1]}));
}

// ---- S-SDI-3: the detail, two calls ------------------------------------------------------------

TEST_F(SetupApi, S_SDI_3_DetailTwoCallPattern) {
    load(1);
    std::wstring path = cm_list(kInterface).at(0);
    Set s(&kInterface, kPresentInterfaces);
    SP_DEVICE_INTERFACE_DATA ifd = interface_data();
    ASSERT_TRUE(SetupDiEnumDeviceInterfaces(s.h, nullptr, &kInterface, 0, &ifd));
    // The first call: the size, and the device already.
    DWORD size = 0;
    SP_DEVINFO_DATA dev = devinfo_data();
    SetLastError(0);
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, nullptr, 0, &size, &dev));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    const DWORD expected = offsetof(SP_DEVICE_INTERFACE_DETAIL_DATA_W, DevicePath) + (path.size() + 1) * sizeof(WCHAR);
    EXPECT_EQ(size, expected);
    EXPECT_TRUE(IsEqualGUID(dev.ClassGuid, kSystemClass));
    EXPECT_EQ(instance_id(s.h, &dev), L"ROOT\\PNPTEST\\0000");
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, nullptr, 0, nullptr, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER)) << "RequiredSize is optional";
    // One byte short: still too small, the size said again.
    std::vector<unsigned char> buf(size + 16, 0xCC);
    auto* detail = reinterpret_cast<PSP_DEVICE_INTERFACE_DETAIL_DATA_W>(buf.data());
    detail->cbSize = sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_W);
    DWORD again = 0;
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, detail, size - 1, &again, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    EXPECT_EQ(again, size);
    // The second call, exactly the size: the path and its NUL, nothing past them.
    ASSERT_TRUE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, detail, size, &again, nullptr));
    EXPECT_EQ(std::wstring(detail->DevicePath), path);
    EXPECT_EQ(detail->cbSize, 8u) << "cbSize is the caller's, left as it was";
    EXPECT_EQ(buf[size], 0xCC);
    // The A form: one byte per character, the same characters.
    DWORD size_a = 0;
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailA(s.h, &ifd, nullptr, 0, &size_a, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    EXPECT_EQ(size_a, offsetof(SP_DEVICE_INTERFACE_DETAIL_DATA_A, DevicePath) + path.size() + 1);
    std::vector<unsigned char> buf_a(size_a);
    auto* detail_a = reinterpret_cast<PSP_DEVICE_INTERFACE_DETAIL_DATA_A>(buf_a.data());
    detail_a->cbSize = sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_A);
    ASSERT_TRUE(SetupDiGetDeviceInterfaceDetailA(s.h, &ifd, detail_a, size_a, nullptr, nullptr));
    EXPECT_EQ(std::string(detail_a->DevicePath), std::string(path.begin(), path.end()));
}

TEST_F(SetupApi, S_SDI_3_TheDetailsFixedPartIsEightBytesAndOtherSizesAreRefused) {
    load(1);
    Set s(&kInterface, kPresentInterfaces);
    SP_DEVICE_INTERFACE_DATA ifd = interface_data();
    ASSERT_TRUE(SetupDiEnumDeviceInterfaces(s.h, nullptr, &kInterface, 0, &ifd));
    EXPECT_EQ(sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_W), 8u);
    EXPECT_EQ(sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_A), 8u);
    std::vector<unsigned char> buf(512);
    auto* detail = reinterpret_cast<PSP_DEVICE_INTERFACE_DETAIL_DATA_W>(buf.data());
    auto* detail_a = reinterpret_cast<PSP_DEVICE_INTERFACE_DETAIL_DATA_A>(buf.data());
    DWORD size = 0;
    // cbSize: the fixed part's size, nothing else (not 0, not the buffer's, not x86's 6 or 5).
    for (DWORD bad : {0u, 4u, 6u, 12u, 512u}) {
        detail->cbSize = bad;
        SetLastError(0);
        EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, detail, 512, &size, nullptr)) << bad;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_USER_BUFFER)) << bad;
    }
    detail_a->cbSize = 5;
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailA(s.h, &ifd, detail_a, 512, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_USER_BUFFER));
    // No buffer but a size; a buffer smaller than the fixed part and one character.
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, nullptr, 100, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_USER_BUFFER));
    detail->cbSize = sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_W);
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, detail, 7, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_USER_BUFFER));
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, detail, 8, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER)) << "room for an empty path";
    // The device, an output: its cbSize wrong is ERROR_INVALID_USER_BUFFER.
    SP_DEVINFO_DATA dev = devinfo_data();
    dev.cbSize = 0;
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, detail, 512, &size, &dev));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_USER_BUFFER));
    // The interface, an input: missing, its cbSize wrong, or not one of this set's.
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, nullptr, detail, 512, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    SP_DEVICE_INTERFACE_DATA bad = ifd;
    bad.cbSize = 0;
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &bad, detail, 512, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    bad = ifd;
    bad.Reserved = 0x1234;
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &bad, detail, 512, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    bad.Reserved = ifd.Reserved + 1;
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(s.h, &bad, detail, 512, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    Set other(&kInterface, kPresentInterfaces);
    EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(other.h, &ifd, detail, 512, &size, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER)) << "another set's interface";
    // The correct call still works after all that.
    EXPECT_TRUE(SetupDiGetDeviceInterfaceDetailW(s.h, &ifd, detail, 512, &size, nullptr));
}

// ---- S-SDI-4: the path opens the device --------------------------------------------------------

TEST_F(SetupApi, S_SDI_4_EachPathOpensItsDeviceAndCarriesItsIo) {
    ASSERT_EQ(sys.load_driver(NTIO_TEST_PNP_C_DRIVER, 2), STATUS_SUCCESS);
    Set s(&kCInterface, kPresentInterfaces);
    SP_DEVICE_INTERFACE_DATA ifd = interface_data();
    DWORD n = 0;
    for (; SetupDiEnumDeviceInterfaces(s.h, nullptr, &kCInterface, n, &ifd); ++n) {
        SP_DEVINFO_DATA dev = devinfo_data();
        std::wstring path = detail_path(s.h, &ifd, &dev);
        EXPECT_EQ(instance_id(s.h, &dev), n == 0 ? L"ROOT\\PNPC\\0000" : L"ROOT\\PNPC\\0001");
        HANDLE h = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
        ASSERT_NE(h, INVALID_HANDLE_VALUE) << GetLastError();
        ULONG who = 0xFFFFFFFF;
        DWORD bytes = 0;
        EXPECT_TRUE(DeviceIoControl(h, kWhoAreYou, nullptr, 0, &who, sizeof who, &bytes, nullptr));
        EXPECT_EQ(bytes, sizeof who);
        EXPECT_EQ(who, n) << "the interface's own device answered";
        CloseHandle(h);
    }
    EXPECT_EQ(n, 2u);
    EXPECT_TRUE(sys.unload_driver("pnpc"));
}

TEST_F(SetupApi, S_SDI_4_AReferenceStringReachesTheDriverAsTheFileName) {
    pnpdrv::Config c;
    c.reference_strings = {L"alpha"};
    load(1, c);
    Set s(&kRefInterface, kPresentInterfaces);
    std::vector<Listed> l = listed(s.h, kRefInterface);
    ASSERT_EQ(l.size(), 1u);
    HANDLE h = CreateFileW(l[0].path.c_str(), GENERIC_READ, 0, nullptr, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, nullptr);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    // A read pends in the driver until cancelled.
    OVERLAPPED ov{};
    ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    char buf[8];
    EXPECT_FALSE(ReadFile(h, buf, sizeof buf, nullptr, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));
    EXPECT_EQ(pnpdrv::pending_reads(), 1u);
    EXPECT_TRUE(CancelIo(h));
    DWORD n = 0;
    EXPECT_FALSE(GetOverlappedResult(h, &ov, &n, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_OPERATION_ABORTED));
    {
        std::lock_guard g(pnpdrv::state().lock);
        EXPECT_EQ(pnpdrv::state().create_names, std::vector<std::wstring>({L"\\alpha"}));
    }
    CloseHandle(ov.hEvent);
    CloseHandle(h);
}

// ---- S-SDI-5: a set is a snapshot --------------------------------------------------------------

TEST_F(SetupApi, S_SDI_5_ASetDoesNotSeeWhatArrivesAfterIt) {
    load(1);
    Set before(nullptr, DIGCF_ALLCLASSES | kPresentInterfaces);
    Set devices_before(nullptr, DIGCF_ALLCLASSES | DIGCF_PRESENT);
    // A device arrives (the C driver's), and the test driver's device gains an interface.
    ASSERT_EQ(sys.load_driver(NTIO_TEST_PNP_C_DRIVER, 1), STATUS_SUCCESS);
    UNICODE_STRING ref = RTL_CONSTANT_STRING(L"late"), link{};
    ASSERT_EQ(IoRegisterDeviceInterface(device(0).pdo, &kRefInterface, &ref, &link), STATUS_SUCCESS);
    ASSERT_EQ(IoSetDeviceInterfaceState(&link, TRUE), STATUS_SUCCESS);
    EXPECT_TRUE(listed(before.h, kCInterface).empty());
    EXPECT_TRUE(listed(before.h, kRefInterface).empty());
    EXPECT_EQ(devices(before.h), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0000"}));
    EXPECT_EQ(devices(devices_before.h), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0000"}));
    // A set taken now has them.
    Set after(nullptr, DIGCF_ALLCLASSES | kPresentInterfaces);
    EXPECT_EQ(paths(listed(after.h, kCInterface)), cm_list(kCInterface));
    EXPECT_EQ(paths(listed(after.h, kRefInterface)), cm_list(kRefInterface));
    EXPECT_EQ(devices(after.h), std::vector<std::wstring>({L"ROOT\\PNPC\\0000", L"ROOT\\PNPTEST\\0000"}));
    RtlFreeUnicodeString(&link);
    EXPECT_TRUE(sys.unload_driver("pnpc"));
}

TEST_F(SetupApi, S_SDI_5_ADeviceGoneSinceStaysListedAndNoLongerOpens) {
    load(1);
    Set s(&kInterface, kPresentInterfaces);
    ASSERT_EQ(sys.remove_device(kId0), STATUS_SUCCESS);
    std::vector<Listed> l = listed(s.h, kInterface);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].flags, static_cast<DWORD>(SPINT_ACTIVE)) << "as it was when the set was made";
    EXPECT_EQ(CreateFileW(l[0].path.c_str(), GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    Set now(&kInterface, kPresentInterfaces);
    EXPECT_TRUE(listed(now.h, kInterface).empty());
}

// ---- S-SDI-6: handles --------------------------------------------------------------------------

TEST_F(SetupApi, S_SDI_6_ADestroyedOrBogusSetIsAnInvalidHandle) {
    load(1);
    HDEVINFO set = SetupDiGetClassDevsW(&kInterface, nullptr, nullptr, kPresentInterfaces);
    ASSERT_NE(set, INVALID_HANDLE_VALUE);
    ASSERT_NE(set, nullptr);
    SP_DEVICE_INTERFACE_DATA ifd = interface_data();
    ASSERT_TRUE(SetupDiEnumDeviceInterfaces(set, nullptr, &kInterface, 0, &ifd));
    SetLastError(12345);
    EXPECT_TRUE(SetupDiDestroyDeviceInfoList(set));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SUCCESS));
    HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    int local = 0;
    for (HDEVINFO bad : {set, static_cast<HDEVINFO>(nullptr), static_cast<HDEVINFO>(INVALID_HANDLE_VALUE),
                         static_cast<HDEVINFO>(event), static_cast<HDEVINFO>(&local)}) {
        SetLastError(0);
        EXPECT_FALSE(SetupDiDestroyDeviceInfoList(bad));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        SP_DEVINFO_DATA dev = devinfo_data();
        EXPECT_FALSE(SetupDiEnumDeviceInfo(bad, 0, &dev));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        SP_DEVICE_INTERFACE_DATA out = interface_data();
        EXPECT_FALSE(SetupDiEnumDeviceInterfaces(bad, nullptr, &kInterface, 0, &out));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        DWORD size = 0;
        EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailW(bad, &ifd, nullptr, 0, &size, nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_FALSE(SetupDiGetDeviceInterfaceDetailA(bad, &ifd, nullptr, 0, &size, nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        WCHAR id[64];
        EXPECT_FALSE(SetupDiGetDeviceInstanceIdW(bad, &dev, id, 64, nullptr));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    }
    EXPECT_EQ(WaitForSingleObject(event, 0), static_cast<DWORD>(WAIT_TIMEOUT)) << "the event is untouched";
    CloseHandle(event);
    // A set is no object handle: CloseHandle refuses it and the set lives on.
    Set s(&kInterface, kPresentInterfaces);
    EXPECT_FALSE(CloseHandle(s.h));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_EQ(listed(s.h, kInterface).size(), 1u);
    // A new set never takes a destroyed one's handle.
    EXPECT_NE(s.h, set);
}

TEST_F(SetupApi, S_SDI_6_ThreadsUseTheirOwnSetsAtOnce) {
    load(2);
    std::vector<std::wstring> expected = cm_list(kInterface);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                HDEVINFO set = SetupDiGetClassDevsW(&kInterface, nullptr, nullptr, kPresentInterfaces);
                SP_DEVICE_INTERFACE_DATA ifd = interface_data();
                std::vector<std::wstring> got;
                for (DWORD k = 0; SetupDiEnumDeviceInterfaces(set, nullptr, &kInterface, k, &ifd); ++k) {
                    union {
                        SP_DEVICE_INTERFACE_DETAIL_DATA_W d;
                        unsigned char bytes[512];
                    } u;
                    u.d.cbSize = sizeof u.d;
                    if (SetupDiGetDeviceInterfaceDetailW(set, &ifd, &u.d, sizeof u, nullptr, nullptr))
                        got.push_back(u.d.DevicePath);
                }
                if (got != expected || !SetupDiDestroyDeviceInfoList(set) || SetupDiDestroyDeviceInfoList(set))
                    ++failures;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
}

// ---- S-SDI-7: sets of devices ------------------------------------------------------------------

TEST_F(SetupApi, S_SDI_7_DeviceSetsAreBySetupClassAndEveryDeviceIsSystem) {
    load(2);
    ASSERT_EQ(sys.remove_device(kId0), STATUS_SUCCESS);
    {
        Set all(nullptr, DIGCF_ALLCLASSES);
        EXPECT_EQ(devices(all.h), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0000", L"ROOT\\PNPTEST\\0001"}))
            << "without DIGCF_PRESENT the removed device is still there";
        Set present(nullptr, DIGCF_ALLCLASSES | DIGCF_PRESENT);
        EXPECT_EQ(devices(present.h), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0001"}));
        Set system(&kSystemClass, DIGCF_PRESENT);
        EXPECT_EQ(devices(system.h), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0001"}));
        Set ports(&kPortsClass, DIGCF_PRESENT);
        ASSERT_NE(ports.h, INVALID_HANDLE_VALUE);
        EXPECT_TRUE(devices(ports.h).empty());
        Set by_enumerator(nullptr, DIGCF_ALLCLASSES, L"ROOT\\PNPTEST\\0001");
        EXPECT_EQ(devices(by_enumerator.h), std::vector<std::wstring>({L"ROOT\\PNPTEST\\0001"}));
        // Interfaces are in interface sets only.
        SP_DEVICE_INTERFACE_DATA ifd = interface_data();
        EXPECT_FALSE(SetupDiEnumDeviceInterfaces(present.h, nullptr, &kInterface, 0, &ifd));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_MORE_ITEMS));
    }
    // DevInst: the device's number, the same in every set.
    Set a(nullptr, DIGCF_ALLCLASSES), b(&kInterface, DIGCF_DEVICEINTERFACE);
    SP_DEVINFO_DATA da = devinfo_data(), db = devinfo_data();
    ASSERT_TRUE(SetupDiEnumDeviceInfo(a.h, 1, &da));
    ASSERT_TRUE(SetupDiEnumDeviceInfo(b.h, 1, &db));
    EXPECT_EQ(da.DevInst, 2u);
    EXPECT_EQ(db.DevInst, 2u);
    EXPECT_NE(da.Reserved, db.Reserved);
}

// ---- S-SDI-8: the enumerations' arguments ------------------------------------------------------

TEST_F(SetupApi, S_SDI_8_OutputsWithTheWrongSizeAreUserBuffersInputsAreParameters) {
    load(2);
    Set s(&kInterface, kPresentInterfaces);
    // SetupDiEnumDeviceInfo: the output missing or mis-sized; past the end. Nothing written.
    EXPECT_FALSE(SetupDiEnumDeviceInfo(s.h, 0, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    SP_DEVINFO_DATA dev;
    std::memset(&dev, 0xA5, sizeof dev);
    dev.cbSize = 0;
    SP_DEVINFO_DATA before = dev;
    EXPECT_FALSE(SetupDiEnumDeviceInfo(s.h, 0, &dev));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_USER_BUFFER));
    EXPECT_EQ(std::memcmp(&dev, &before, sizeof dev), 0);
    dev.cbSize = sizeof dev;
    before = dev;
    EXPECT_FALSE(SetupDiEnumDeviceInfo(s.h, 2, &dev));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_MORE_ITEMS));
    EXPECT_EQ(std::memcmp(&dev, &before, sizeof dev), 0);
    // SetupDiEnumDeviceInterfaces: the output missing or mis-sized, no class.
    SP_DEVICE_INTERFACE_DATA ifd = interface_data();
    EXPECT_FALSE(SetupDiEnumDeviceInterfaces(s.h, nullptr, &kInterface, 0, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    ifd.cbSize = sizeof ifd + 4;
    EXPECT_FALSE(SetupDiEnumDeviceInterfaces(s.h, nullptr, &kInterface, 0, &ifd));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_USER_BUFFER));
    ifd.cbSize = sizeof ifd;
    EXPECT_FALSE(SetupDiEnumDeviceInterfaces(s.h, nullptr, nullptr, 0, &ifd));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    // The device, an input: mis-sized, never filled, or another set's.
    dev = devinfo_data();
    EXPECT_FALSE(SetupDiEnumDeviceInterfaces(s.h, &dev, &kInterface, 0, &ifd));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER)) << "never filled";
    Set other(&kInterface, kPresentInterfaces);
    ASSERT_TRUE(SetupDiEnumDeviceInfo(other.h, 0, &dev));
    EXPECT_FALSE(SetupDiEnumDeviceInterfaces(s.h, &dev, &kInterface, 0, &ifd));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER)) << "another set's";
    ASSERT_TRUE(SetupDiEnumDeviceInfo(s.h, 0, &dev));
    dev.cbSize = 0;
    EXPECT_FALSE(SetupDiEnumDeviceInterfaces(s.h, &dev, &kInterface, 0, &ifd));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    dev.cbSize = sizeof dev;
    ASSERT_TRUE(SetupDiEnumDeviceInterfaces(s.h, &dev, &kInterface, 0, &ifd));
    EXPECT_EQ(detail_path(s.h, &ifd), cm_list(kInterface)[0]);
    EXPECT_FALSE(SetupDiEnumDeviceInterfaces(s.h, &dev, &kInterface, 1, &ifd));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NO_MORE_ITEMS)) << "one interface per device";
}

// ---- S-SDI-9: instance IDs ---------------------------------------------------------------------

TEST_F(SetupApi, S_SDI_9_TheInstanceIdInTwoCalls) {
    load(1);
    Set s(&kInterface, kPresentInterfaces);
    SP_DEVINFO_DATA dev = devinfo_data();
    ASSERT_TRUE(SetupDiEnumDeviceInfo(s.h, 0, &dev));
    DWORD size = 0;
    EXPECT_FALSE(SetupDiGetDeviceInstanceIdW(s.h, &dev, nullptr, 0, &size));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    EXPECT_EQ(size, std::strlen(kId0) + 1) << "characters, with the NUL";
    std::wstring w(size, L'#');
    EXPECT_FALSE(SetupDiGetDeviceInstanceIdW(s.h, &dev, w.data(), size - 1, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INSUFFICIENT_BUFFER));
    ASSERT_TRUE(SetupDiGetDeviceInstanceIdW(s.h, &dev, w.data(), size, nullptr));
    EXPECT_EQ(w, std::wstring(L"ROOT\\PNPTEST\\0000") + L'\0');
    char a[64];
    DWORD size_a = 0;
    ASSERT_TRUE(SetupDiGetDeviceInstanceIdA(s.h, &dev, a, sizeof a, &size_a));
    EXPECT_STREQ(a, kId0);
    EXPECT_EQ(size_a, size);
    EXPECT_FALSE(SetupDiGetDeviceInstanceIdA(s.h, &dev, nullptr, 10, &size_a));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_USER_BUFFER));
    EXPECT_FALSE(SetupDiGetDeviceInstanceIdA(s.h, nullptr, a, sizeof a, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    SP_DEVINFO_DATA blank = devinfo_data();
    EXPECT_FALSE(SetupDiGetDeviceInstanceIdA(s.h, &blank, a, sizeof a, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    dev.cbSize = 0;
    EXPECT_FALSE(SetupDiGetDeviceInstanceIdA(s.h, &dev, a, sizeof a, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

}  // namespace
