// Plug and Play (issue 5): root-enumerated devices through AddDevice and
// IRP_MN_START_DEVICE, removal (orderly and surprise), DO_DEVICE_INITIALIZING, device
// interfaces and the Configuration Manager's lists, and `ntio run --instances`. Each test
// names the rule it checks (S-PNP-*, S-W32-12, S-W32-13, S-W32-21..23).
#include "command_support.hpp"
#include <cfgmgr32.h>

#include <cstdio>
#include <string>
#include <vector>

#include "drivers/pnp_driver.hpp"
#include "test_support.hpp"

namespace {

using namespace ntio::testing;
using pnpdrv::kInterface;
using pnpdrv::kRefInterface;

const char* kId0 = "ROOT\\PNPTEST\\0000";
const char* kId1 = "ROOT\\PNPTEST\\0001";

std::wstring guid_text(const GUID& g) {
    wchar_t buf[40];
    std::swprintf(buf, 40, L"{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}", g.Data1, g.Data2, g.Data3,
                  g.Data4[0], g.Data4[1], g.Data4[2], g.Data4[3], g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7]);
    return buf;
}

// The user-mode interface path of device `n` of the test driver.
std::wstring path_of(int n, const GUID& g = kInterface, const std::wstring& ref = L"") {
    wchar_t id[8];
    std::swprintf(id, 8, L"%04d", n);
    std::wstring p = L"\\\\?\\ROOT#PNPTEST#" + std::wstring(id) + L"#" + guid_text(g);
    return ref.empty() ? p : p + L"\\" + ref;
}

std::string narrow(const std::wstring& w) { return std::string(w.begin(), w.end()); }

std::vector<std::wstring> split(const std::wstring& multi_sz) {
    std::vector<std::wstring> out;
    for (size_t i = 0; i < multi_sz.size() && multi_sz[i];) {
        std::wstring s(multi_sz.c_str() + i);
        i += s.size() + 1;
        out.push_back(s);
    }
    return out;
}

// The size call, then the list call with exactly that size, as the Echo client does.
std::vector<std::wstring> cm_list(const GUID& g, const wchar_t* device_id = nullptr,
                                  ULONG flags = CM_GET_DEVICE_INTERFACE_LIST_PRESENT) {
    ULONG size = 0;
    GUID guid = g;
    EXPECT_EQ(CM_Get_Device_Interface_List_SizeW(&size, &guid, const_cast<wchar_t*>(device_id), flags), CR_SUCCESS);
    std::wstring buf(size, L'#');
    EXPECT_EQ(CM_Get_Device_Interface_ListW(&guid, const_cast<wchar_t*>(device_id), buf.data(), size, flags),
              CR_SUCCESS);
    // Sized exactly: the last character is the list's closing NUL.
    EXPECT_EQ(buf.back(), L'\0');
    std::vector<std::wstring> list = split(buf);
    size_t chars = 1;
    for (auto& s : list) chars += s.size() + 1;
    EXPECT_EQ(chars, size) << "the size call and the list disagree";
    return list;
}

HANDLE open_path(const std::wstring& path, DWORD flags = FILE_ATTRIBUTE_NORMAL) {
    return CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                       OPEN_EXISTING, flags, nullptr);
}

NTSTATUS pnp_done(PDEVICE_OBJECT, PIRP, PVOID context) {
    KeSetEvent(static_cast<PKEVENT>(context), IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

// A PnP IRP as the PnP manager builds it, sent from the test thread.
NTSTATUS send_pnp(PDEVICE_OBJECT pdo, UCHAR minor) {
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo);
    PIRP irp = IoAllocateIrp(top->StackSize, FALSE);
    irp->IoStatus.Status = STATUS_NOT_SUPPORTED;
    PIO_STACK_LOCATION sl = IoGetNextIrpStackLocation(irp);
    sl->MajorFunction = IRP_MJ_PNP;
    sl->MinorFunction = minor;
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoSetCompletionRoutine(irp, pnp_done, &done, TRUE, TRUE, TRUE);
    if (IoCallDriver(top, irp) == STATUS_PENDING) KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, nullptr);
    NTSTATUS status = irp->IoStatus.Status;
    IoFreeIrp(irp);
    ObDereferenceObject(top);
    return status;
}

class Pnp : public VirtualTimeTest {
protected:
    void SetUp() override {
        bugs0 = ntio::driver_bug_count();
        warnings0 = ntio::driver_warning_count();
    }
    // Whatever a test leaves, the driver's unload (its devices' removal first) frees it all.
    void TearDown() override {
        sys.unload_driver("pnptest");
        EXPECT_EQ(sys.leak_report(), "");
        EXPECT_EQ(sys.live_irps(), 0);
    }
    void load(int instances, const pnpdrv::Config& config = {}) {
        ASSERT_EQ(pnpdrv::load(sys, instances, config), STATUS_SUCCESS);
    }
    static pnpdrv::Device device(size_t n) { return pnpdrv::device(n); }
    static std::vector<std::string> ev(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }
    uint64_t new_bugs() const { return ntio::driver_bug_count() - bugs0; }
    uint64_t new_warnings() const { return ntio::driver_warning_count() - warnings0; }
    uint64_t bugs0 = 0, warnings0 = 0;
};

// ---- AddDevice and START --------------------------------------------------------------------

TEST_F(Pnp, AddDeviceRunsOncePerInstanceWithItsOwnPdoThenStart_S_PNP_1) {
    load(2);
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0", "AddDevice 1", "START 1"}));
    pnpdrv::Device d0 = device(0), d1 = device(1);
    EXPECT_NE(d0.pdo, d1.pdo);
    EXPECT_NE(d0.fdo, d1.fdo);
    EXPECT_EQ(sys.device_instances(), std::vector<std::string>({kId0, kId1}));
    // The instance ID appears, '#'-separated, in each device's interface name.
    ASSERT_EQ(d0.links.size(), 1u);
    ASSERT_EQ(d1.links.size(), 1u);
    EXPECT_EQ(d0.links[0], L"\\??\\ROOT#PNPTEST#0000#" + guid_text(kInterface));
    EXPECT_EQ(d1.links[0], L"\\??\\ROOT#PNPTEST#0001#" + guid_text(kInterface));
    EXPECT_EQ(pnpdrv::state().add_irql, PASSIVE_LEVEL);
    EXPECT_TRUE(pnpdrv::state().add_on_system_thread);
    EXPECT_EQ(new_bugs(), 0u);
    EXPECT_EQ(new_warnings(), 0u);
}

TEST_F(Pnp, StartArrivesAtPassiveLevelOnASystemThreadWithNotSupportedPreset_S_PNP_1) {
    load(1);
    std::lock_guard g(pnpdrv::state().lock);
    ASSERT_EQ(pnpdrv::state().pnp.size(), 1u);
    const pnpdrv::PnpIrp& start = pnpdrv::state().pnp[0];
    EXPECT_EQ(start.minor, IRP_MN_START_DEVICE);
    EXPECT_EQ(start.status_on_arrival, STATUS_NOT_SUPPORTED);
    EXPECT_EQ(start.irql, PASSIVE_LEVEL);
    EXPECT_TRUE(start.system_thread);
}

TEST_F(Pnp, APendedStartIsWaitedForBeforeLoadReturns_S_PNP_1) {
    pnpdrv::Config c;
    c.pend_start = true;
    int64_t t0 = now_ms();
    load(1, c);
    EXPECT_EQ(now_ms() - t0, 250) << "the driver finishes START 250 ms later";
    EXPECT_EQ(sys.device_instances(), std::vector<std::string>({kId0}));
    HANDLE h = open_path(path_of(0));
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    CloseHandle(h);
}

TEST_F(Pnp, TheStackIsTheFdoOverTheRootBusPdo_S_IRP_4) {
    load(1);
    pnpdrv::Device d = device(0);
    EXPECT_EQ(d.pdo->StackSize, 1);
    EXPECT_EQ(d.fdo->StackSize, 2);
    EXPECT_EQ(IoGetAttachedDevice(d.pdo), d.fdo);
    PDEVICE_OBJECT lower = IoGetLowerDeviceObject(d.fdo);
    EXPECT_EQ(lower, d.pdo);
    ObDereferenceObject(lower);
    EXPECT_TRUE(d.pdo->Flags & DO_BUS_ENUMERATED_DEVICE);
    EXPECT_FALSE(d.pdo->Flags & DO_DEVICE_INITIALIZING);
    EXPECT_EQ(std::wstring(d.pdo->DriverObject->DriverName.Buffer, d.pdo->DriverObject->DriverName.Length / sizeof(WCHAR)),
              L"\\Driver\\PnpManager");
    EXPECT_EQ(d.fdo->DriverObject, pnpdrv::state().driver);
}

TEST_F(Pnp, TheBusCompletesMinorsNobodyHandlesWithThePresetStatus_S_PNP_1) {
    load(1);
    PDEVICE_OBJECT pdo = device(0).pdo;
    // The FDO passes both down untouched; the PDO succeeds what a bus driver succeeds and
    // leaves the rest as they came.
    EXPECT_EQ(send_pnp(pdo, IRP_MN_QUERY_CAPABILITIES), STATUS_NOT_SUPPORTED);
    EXPECT_EQ(send_pnp(pdo, IRP_MN_QUERY_STOP_DEVICE), STATUS_SUCCESS);
}

// ---- DO_DEVICE_INITIALIZING (S-W32-12) -------------------------------------------------------

TEST_F(Pnp, AnFdoLeftInitializingCannotBeOpenedOrAttachedToAndIsReported_S_W32_12) {
    pnpdrv::Config c;
    c.leave_initializing = true;
    ::testing::internal::CaptureStderr();
    load(1, c);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(new_warnings(), 1u);
    EXPECT_NE(err.find("driver warning PnpDeviceStillInitializing: AddDevice of \\Driver\\pnptest returned with "
                       "DO_DEVICE_INITIALIZING still set"),
              std::string::npos)
        << err;
    EXPECT_NE(err.find("ROOT\\PNPTEST\\0000"), std::string::npos) << err;
    EXPECT_EQ(open_path(path_of(0)), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));  // STATUS_NO_SUCH_DEVICE

    pnpdrv::Device d = device(0);
    PDEVICE_OBJECT filter = nullptr, below = nullptr;
    ASSERT_EQ(IoCreateDevice(pnpdrv::state().driver, 0, nullptr, FILE_DEVICE_UNKNOWN, 0, FALSE, &filter),
              STATUS_SUCCESS);
    EXPECT_EQ(IoAttachDeviceToDeviceStackSafe(filter, d.pdo, &below), STATUS_NO_SUCH_DEVICE);
    EXPECT_EQ(below, nullptr);
    IoDeleteDevice(filter);

    d.fdo->Flags &= ~DO_DEVICE_INITIALIZING;  // late, but from now on the device is there
    HANDLE h = open_path(path_of(0));
    EXPECT_NE(h, INVALID_HANDLE_VALUE);
    CloseHandle(h);
}

// ---- device interfaces (S-W32-21, S-W32-22, S-W32-13) ----------------------------------------

TEST_F(Pnp, RegisteringGivesTheWindowsNameStartsDisabledAndRepeatsTheSameName_S_W32_21) {
    load(1);
    PDEVICE_OBJECT pdo = device(0).pdo;
    const GUID other = {0x11223344, 0x5566, 0x7788, {0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00}};
    UNICODE_STRING a{}, b{}, r{};
    ASSERT_EQ(IoRegisterDeviceInterface(pdo, &other, nullptr, &a), STATUS_SUCCESS);
    EXPECT_EQ(std::wstring(a.Buffer, a.Length / sizeof(WCHAR)), L"\\??\\ROOT#PNPTEST#0000#{11223344-5566-7788-99aa-bbccddeeff00}");
    ASSERT_EQ(IoRegisterDeviceInterface(pdo, &other, nullptr, &b), STATUS_SUCCESS);
    EXPECT_EQ(std::wstring(b.Buffer, b.Length / sizeof(WCHAR)), std::wstring(a.Buffer, a.Length / sizeof(WCHAR)));
    UNICODE_STRING ref = RTL_CONSTANT_STRING(L"Ref1");
    ASSERT_EQ(IoRegisterDeviceInterface(pdo, &other, &ref, &r), STATUS_SUCCESS);
    EXPECT_EQ(std::wstring(r.Buffer, r.Length / sizeof(WCHAR)),
              L"\\??\\ROOT#PNPTEST#0000#{11223344-5566-7788-99aa-bbccddeeff00}\\Ref1");
    // Registered, not yet enabled: listed for ALL_DEVICES only.
    EXPECT_TRUE(cm_list(other).empty());
    EXPECT_EQ(cm_list(other, nullptr, CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES).size(), 2u);
    // A reference string is one path component.
    UNICODE_STRING bad = RTL_CONSTANT_STRING(L"a\\b"), out{};
    EXPECT_EQ(IoRegisterDeviceInterface(pdo, &other, &bad, &out), STATUS_INVALID_DEVICE_REQUEST);
    RtlFreeUnicodeString(&a);
    RtlFreeUnicodeString(&b);
    RtlFreeUnicodeString(&r);
    EXPECT_EQ(new_bugs(), 0u);
}

TEST_F(Pnp, RegisteringOnAnFdoIsADriverBug_S_W32_21) {
    load(1);
    UNICODE_STRING link{};
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(IoRegisterDeviceInterface(device(0).fdo, &kInterface, nullptr, &link), STATUS_INVALID_DEVICE_REQUEST);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(new_bugs(), 1u);
    EXPECT_NE(err.find("DRIVER BUG PNP_DETECTED_FATAL_ERROR"), std::string::npos) << err;
    EXPECT_EQ(link.Buffer, nullptr);
}

TEST_F(Pnp, EnablingAndDisablingReturnTheWindowsCodes_S_W32_22) {
    load(1);  // the driver enabled its interface in START
    UNICODE_STRING link{};
    ASSERT_EQ(IoRegisterDeviceInterface(device(0).pdo, &kInterface, nullptr, &link), STATUS_SUCCESS);
    EXPECT_EQ(IoSetDeviceInterfaceState(&link, TRUE), STATUS_OBJECT_NAME_EXISTS);
    EXPECT_EQ(cm_list(kInterface), std::vector<std::wstring>({path_of(0)}));
    EXPECT_EQ(IoSetDeviceInterfaceState(&link, FALSE), STATUS_SUCCESS);
    EXPECT_TRUE(cm_list(kInterface).empty());
    EXPECT_EQ(open_path(path_of(0)), INVALID_HANDLE_VALUE) << "the symbolic link is gone";
    EXPECT_EQ(IoSetDeviceInterfaceState(&link, FALSE), STATUS_OBJECT_NAME_NOT_FOUND);
    EXPECT_EQ(IoSetDeviceInterfaceState(&link, TRUE), STATUS_SUCCESS);
    EXPECT_EQ(cm_list(kInterface), std::vector<std::wstring>({path_of(0)}));
    UNICODE_STRING unknown = RTL_CONSTANT_STRING(L"\\??\\ROOT#PNPTEST#0009#{6a3e0f9b-2c41-4d8e-9b1f-5c7a2e8d4f10}");
    EXPECT_EQ(IoSetDeviceInterfaceState(&unknown, TRUE), STATUS_OBJECT_NAME_NOT_FOUND);
    RtlFreeUnicodeString(&link);
}

TEST_F(Pnp, OpeningAnInterfaceReachesTheFdoWithTheReferenceStringAsFileName_S_W32_13) {
    pnpdrv::Config c;
    c.reference_strings = {L"alpha", L"beta"};
    load(1, c);
    HANDLE plain = open_path(path_of(0));
    ASSERT_NE(plain, INVALID_HANDLE_VALUE);
    HANDLE alpha = open_path(path_of(0, kRefInterface, L"alpha"));
    ASSERT_NE(alpha, INVALID_HANDLE_VALUE);
    // Case-insensitive, as the object manager is.
    std::wstring upper = path_of(0, kRefInterface, L"beta");
    for (auto& ch : upper) ch = static_cast<wchar_t>(towupper(ch));
    HANDLE beta = open_path(upper);
    ASSERT_NE(beta, INVALID_HANDLE_VALUE);
    {
        std::lock_guard g(pnpdrv::state().lock);
        EXPECT_EQ(pnpdrv::state().create_names, std::vector<std::wstring>({L"", L"\\alpha", L"\\BETA"}));
    }
    EXPECT_EQ(cm_list(kRefInterface), std::vector<std::wstring>({path_of(0, kRefInterface, L"alpha"),
                                                                 path_of(0, kRefInterface, L"beta")}));
    CloseHandle(plain);
    CloseHandle(alpha);
    CloseHandle(beta);
}

TEST_F(Pnp, TheKernelListHasTheKernelNames) {
    load(2);
    PWSTR list = nullptr;
    ASSERT_EQ(IoGetDeviceInterfaces(&kInterface, nullptr, 0, &list), STATUS_SUCCESS);
    std::wstring expected0 = L"\\??\\" + path_of(0).substr(4), expected1 = L"\\??\\" + path_of(1).substr(4);
    std::wstring all(list, expected0.size() + expected1.size() + 3);
    EXPECT_EQ(split(all), std::vector<std::wstring>({expected0, expected1}));
    ExFreePool(list);
    ASSERT_EQ(IoGetDeviceInterfaces(&kInterface, device(1).pdo, 0, &list), STATUS_SUCCESS);
    EXPECT_EQ(std::wstring(list), expected1);
    ExFreePool(list);
}

// ---- the Configuration Manager's lists (S-W32-23) -------------------------------------------

TEST_F(Pnp, TheListIsAMultiSzOfBothInstancesInOrderSizedExactly_S_W32_23) {
    load(2);
    GUID g = kInterface;
    ULONG size = 0;
    ASSERT_EQ(CM_Get_Device_Interface_List_SizeW(&size, &g, nullptr, CM_GET_DEVICE_INTERFACE_LIST_PRESENT),
              CR_SUCCESS);
    EXPECT_EQ(size, path_of(0).size() + 1 + path_of(1).size() + 1 + 1);
    std::wstring buf(size, L'#');
    ASSERT_EQ(CM_Get_Device_Interface_ListW(&g, nullptr, buf.data(), size, CM_GET_DEVICE_INTERFACE_LIST_PRESENT),
              CR_SUCCESS);
    EXPECT_EQ(buf, path_of(0) + L'\0' + path_of(1) + L'\0' + L'\0');
    // The A forms: the same characters, one byte each.
    ULONG size_a = 0;
    ASSERT_EQ(CM_Get_Device_Interface_List_SizeA(&size_a, &g, nullptr, CM_GET_DEVICE_INTERFACE_LIST_PRESENT),
              CR_SUCCESS);
    EXPECT_EQ(size_a, size);
    std::string a(size_a, '#');
    ASSERT_EQ(CM_Get_Device_Interface_ListA(&g, nullptr, a.data(), size_a, CM_GET_DEVICE_INTERFACE_LIST_PRESENT),
              CR_SUCCESS);
    EXPECT_EQ(a, narrow(buf));
    // Each path opens its own device.
    for (int n = 0; n < 2; ++n) {
        HANDLE h = open_path(path_of(n));
        ASSERT_NE(h, INVALID_HANDLE_VALUE);
        CloseHandle(h);
    }
}

TEST_F(Pnp, AnEmptyListIsOneNul_S_W32_23) {
    const GUID nobody = {0x01020304, 0x0506, 0x0708, {1, 2, 3, 4, 5, 6, 7, 8}};
    GUID g = nobody;
    ULONG size = 99;
    ASSERT_EQ(CM_Get_Device_Interface_List_SizeW(&size, &g, nullptr, CM_GET_DEVICE_INTERFACE_LIST_PRESENT),
              CR_SUCCESS);
    EXPECT_EQ(size, 1u);
    WCHAR buf[1] = {L'x'};
    ASSERT_EQ(CM_Get_Device_Interface_ListW(&g, nullptr, buf, 1, CM_GET_DEVICE_INTERFACE_LIST_PRESENT), CR_SUCCESS);
    EXPECT_EQ(buf[0], L'\0');
}

TEST_F(Pnp, TheDeviceIdNarrowsTheList_S_W32_23) {
    load(2);
    EXPECT_EQ(cm_list(kInterface, L"ROOT\\PNPTEST\\0001"), std::vector<std::wstring>({path_of(1)}));
    EXPECT_EQ(cm_list(kInterface, L"root\\pnptest\\0000"), std::vector<std::wstring>({path_of(0)}));
    EXPECT_EQ(cm_list(kInterface, L"").size(), 2u) << "an empty ID is no filter";
    GUID g = kInterface;
    ULONG size = 5;
    WCHAR id[] = L"ROOT\\NOSUCH\\0000";
    EXPECT_EQ(CM_Get_Device_Interface_List_SizeW(&size, &g, id, CM_GET_DEVICE_INTERFACE_LIST_PRESENT),
              CR_NO_SUCH_DEVNODE);
    EXPECT_EQ(size, 0u);
    char ida[] = "ROOT\\PNPTEST\\0001";
    ASSERT_EQ(CM_Get_Device_Interface_List_SizeA(&size, &g, ida, CM_GET_DEVICE_INTERFACE_LIST_PRESENT), CR_SUCCESS);
    EXPECT_EQ(size, path_of(1).size() + 2);
}

TEST_F(Pnp, AllDevicesAddsDisabledAndRemovedDevicesInterfaces_S_W32_23) {
    pnpdrv::Config c;
    c.reference_strings = {L"x"};
    load(2, c);
    UNICODE_STRING link{};
    ASSERT_EQ(IoRegisterDeviceInterface(device(1).pdo, &kRefInterface, nullptr, &link), STATUS_SUCCESS);  // disabled
    EXPECT_EQ(cm_list(kRefInterface).size(), 2u);
    EXPECT_EQ(cm_list(kRefInterface, nullptr, CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES),
              std::vector<std::wstring>({path_of(0, kRefInterface, L"x"), path_of(1, kRefInterface),
                                         path_of(1, kRefInterface, L"x")}));
    RtlFreeUnicodeString(&link);
    ASSERT_EQ(sys.remove_device(kId0), STATUS_SUCCESS);
    EXPECT_EQ(cm_list(kRefInterface), std::vector<std::wstring>({path_of(1, kRefInterface, L"x")}));
    EXPECT_EQ(cm_list(kRefInterface, nullptr, CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES).size(), 3u)
        << "registrations outlive the device";
    EXPECT_TRUE(cm_list(kRefInterface, L"ROOT\\PNPTEST\\0000").empty()) << "known, but not present";
}

TEST_F(Pnp, ABufferTooSmallAndBadArgumentsGiveTheirCodes_S_W32_23) {
    load(1);
    GUID g = kInterface;
    ULONG size = 0;
    ASSERT_EQ(CM_Get_Device_Interface_List_SizeW(&size, &g, nullptr, 0), CR_SUCCESS);
    std::wstring buf(size, L'#');
    EXPECT_EQ(CM_Get_Device_Interface_ListW(&g, nullptr, buf.data(), size - 1, 0), CR_BUFFER_SMALL);
    EXPECT_EQ(buf[0], L'\0') << "an empty list, not a truncated one";
    std::string a(size, '#');
    EXPECT_EQ(CM_Get_Device_Interface_ListA(&g, nullptr, a.data(), size - 1, 0), CR_BUFFER_SMALL);
    EXPECT_EQ(CM_Get_Device_Interface_List_SizeW(nullptr, &g, nullptr, 0), CR_INVALID_POINTER);
    EXPECT_EQ(CM_Get_Device_Interface_List_SizeW(&size, nullptr, nullptr, 0), CR_INVALID_POINTER);
    EXPECT_EQ(CM_Get_Device_Interface_ListW(&g, nullptr, nullptr, size, 0), CR_INVALID_POINTER);
    EXPECT_EQ(CM_Get_Device_Interface_ListW(&g, nullptr, buf.data(), 0, 0), CR_INVALID_POINTER);
    EXPECT_EQ(CM_Get_Device_Interface_List_SizeW(&size, &g, nullptr, 2), CR_INVALID_FLAG);
    EXPECT_EQ(CM_Get_Device_Interface_ListW(&g, nullptr, buf.data(), static_cast<ULONG>(buf.size()), 0x10),
              CR_INVALID_FLAG);
    std::wstring long_id(MAX_DEVICE_ID_LEN + 1, L'A');
    EXPECT_EQ(CM_Get_Device_Interface_List_SizeW(&size, &g, long_id.data(), 0), CR_INVALID_DEVICE_ID);
}

TEST_F(Pnp, AListThatGrewAfterTheSizeCallIsTooSmall_S_W32_23) {
    pnpdrv::Config c;
    c.reference_strings = {L"first"};
    load(1, c);
    GUID g = kRefInterface;
    ULONG size = 0;
    ASSERT_EQ(CM_Get_Device_Interface_List_SizeW(&size, &g, nullptr, 0), CR_SUCCESS);
    UNICODE_STRING ref = RTL_CONSTANT_STRING(L"second"), link{};
    ASSERT_EQ(IoRegisterDeviceInterface(device(0).pdo, &kRefInterface, &ref, &link), STATUS_SUCCESS);
    ASSERT_EQ(IoSetDeviceInterfaceState(&link, TRUE), STATUS_SUCCESS);
    std::wstring buf(size, L'#');
    EXPECT_EQ(CM_Get_Device_Interface_ListW(&g, nullptr, buf.data(), size, 0), CR_BUFFER_SMALL);
    EXPECT_EQ(cm_list(kRefInterface).size(), 2u) << "asking again gets both";
    RtlFreeUnicodeString(&link);
}

// ---- removal (S-PNP-2, S-PNP-3, S-W32-22) ------------------------------------------------------

TEST_F(Pnp, RemovalIsQueryRemoveThenRemoveAndTheLastDeviceUnloadsTheDriver_S_PNP_3) {
    load(2);
    ASSERT_EQ(sys.remove_device(kId0), STATUS_SUCCESS);
    EXPECT_EQ(pnpdrv::events(),
              ev({"AddDevice 0", "START 0", "AddDevice 1", "START 1", "QUERY_REMOVE 0", "REMOVE 0"}));
    EXPECT_EQ(sys.device_instances(), std::vector<std::string>({kId1}));
    EXPECT_EQ(cm_list(kInterface), std::vector<std::wstring>({path_of(1)}));
    EXPECT_EQ(sys.remove_device(kId0), STATUS_NO_SUCH_DEVICE);
    ASSERT_EQ(sys.remove_device(kId1), STATUS_SUCCESS);
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0", "AddDevice 1", "START 1", "QUERY_REMOVE 0", "REMOVE 0",
                                    "QUERY_REMOVE 1", "REMOVE 1", "Unload"}));
    EXPECT_TRUE(sys.device_instances().empty());
    EXPECT_FALSE(sys.unload_driver("pnptest")) << "unloaded with its last device";
    EXPECT_EQ(new_bugs(), 0u);
    EXPECT_EQ(sys.leak_report(), "");
}

TEST_F(Pnp, UnloadingTheDriverRemovesItsDevicesNewestFirst_S_PNP_3) {
    load(2);
    EXPECT_TRUE(sys.unload_driver("pnptest"));
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0", "AddDevice 1", "START 1", "QUERY_REMOVE 1", "REMOVE 1",
                                    "QUERY_REMOVE 0", "REMOVE 0", "Unload"}));
    EXPECT_EQ(sys.leak_report(), "");
}

TEST_F(Pnp, ADeviceComesBackUnderItsOldNameAndInterfaces_S_W32_21) {
    load(1);
    std::wstring first = device(0).links.at(0);
    ASSERT_EQ(sys.remove_device(kId0), STATUS_SUCCESS);  // the driver unloads with it
    load(1);
    EXPECT_EQ(sys.device_instances(), std::vector<std::string>({kId0}));
    EXPECT_EQ(device(0).links.at(0), first);
    EXPECT_EQ(cm_list(kInterface), std::vector<std::wstring>({path_of(0)}));
}

TEST_F(Pnp, OpenHandlesOrADriverVetoStopAnOrderlyRemoval_S_PNP_3) {
    pnpdrv::Config c;
    c.query_remove_status = STATUS_UNSUCCESSFUL;
    load(1, c);
    HANDLE h = open_path(path_of(0));
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    EXPECT_EQ(sys.remove_device(kId0), STATUS_PLUGPLAY_QUERY_VETOED);
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0"})) << "nothing is asked while handles are open";
    CloseHandle(h);
    EXPECT_EQ(sys.remove_device(kId0), STATUS_PLUGPLAY_QUERY_VETOED);
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0", "QUERY_REMOVE 0", "CANCEL_REMOVE 0"}));
    EXPECT_EQ(sys.device_instances(), std::vector<std::string>({kId0}));
    h = open_path(path_of(0));
    EXPECT_NE(h, INVALID_HANDLE_VALUE) << "still there after the veto";
    CloseHandle(h);
}

TEST_F(Pnp, SurpriseRemovalFailsNewOpensAndRemoveWaitsForTheLastHandle_S_PNP_2) {
    pnpdrv::Config c;
    c.disable_interfaces = false;  // the PnP manager itself must keep new opens out
    load(1, c);
    HANDLE h = open_path(path_of(0), FILE_FLAG_OVERLAPPED);
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    OVERLAPPED ov{};
    ov.hEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    char buf[8];
    EXPECT_FALSE(ReadFile(h, buf, sizeof buf, nullptr, &ov));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_IO_PENDING));

    EXPECT_EQ(sys.remove_device(kId0, true), STATUS_PENDING);
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0", "SURPRISE_REMOVAL 0"}));
    // The driver finished the queued read (S-PNP-2).
    DWORD n = 0;
    EXPECT_FALSE(GetOverlappedResult(h, &ov, &n, TRUE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));  // STATUS_NO_SUCH_DEVICE
    // Not present any more: no new opens, not listed.
    EXPECT_EQ(open_path(path_of(0)), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    EXPECT_TRUE(sys.device_instances().empty());
    EXPECT_TRUE(cm_list(kInterface).empty());
    EXPECT_EQ(sys.remove_device(kId0), STATUS_PENDING) << "REMOVE is still owed";

    CloseHandle(h);
    sys.run_until_idle();
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0", "SURPRISE_REMOVAL 0", "REMOVE 0", "Unload"}));
    // The interface the driver left enabled went with the device (S-W32-22).
    EXPECT_TRUE(cm_list(kInterface, nullptr, CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES).size() == 1u);
    UNICODE_STRING link{};
    std::wstring kernel = L"\\??\\" + path_of(0).substr(4);
    link.Buffer = kernel.data();
    link.Length = link.MaximumLength = static_cast<USHORT>(kernel.size() * sizeof(WCHAR));
    EXPECT_EQ(IoSetDeviceInterfaceState(&link, FALSE), STATUS_OBJECT_NAME_NOT_FOUND) << "already disabled";
    CloseHandle(ov.hEvent);
    EXPECT_EQ(new_bugs(), 0u);
}

TEST_F(Pnp, SurpriseRemovalWithoutHandlesRemovesAtOnce_S_PNP_2) {
    load(1);
    EXPECT_EQ(sys.remove_device(kId0, true), STATUS_SUCCESS);
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0", "SURPRISE_REMOVAL 0", "REMOVE 0", "Unload"}));
}

TEST_F(Pnp, UnloadingWithAFileStillOpenSurpriseRemovesFirstAndSaysSo_S_PNP_2) {
    load(1);
    HANDLE h = open_path(path_of(0));
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    ::testing::internal::CaptureStderr();
    EXPECT_TRUE(sys.unload_driver("pnptest"));
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("ROOT\\PNPTEST\\0000 still has 1 open file object(s)"), std::string::npos) << err;
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0", "SURPRISE_REMOVAL 0", "REMOVE 0", "Unload"}));
    EXPECT_TRUE(CloseHandle(h));
}

// ---- failures at load --------------------------------------------------------------------------

TEST_F(Pnp, AStartFailureIsReportedAndTheDeviceRemoved_S_PNP_3) {
    pnpdrv::Config c;
    c.start_status = STATUS_DEVICE_CONFIGURATION_ERROR;
    ::testing::internal::CaptureStderr();
    load(1, c);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("\\Driver\\pnptest failed IRP_MN_START_DEVICE for ROOT\\PNPTEST\\0000 with 0xC0000182"),
              std::string::npos)
        << err;
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "START 0", "REMOVE 0"}));
    EXPECT_TRUE(sys.device_instances().empty());
    EXPECT_TRUE(cm_list(kInterface).empty());
}

TEST_F(Pnp, AnAddDeviceFailureIsReported) {
    pnpdrv::Config c;
    c.add_device_status = STATUS_INSUFFICIENT_RESOURCES;
    ::testing::internal::CaptureStderr();
    load(2, c);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("AddDevice of \\Driver\\pnptest for ROOT\\PNPTEST\\0001 failed with 0xC000009A"),
              std::string::npos)
        << err;
    EXPECT_EQ(pnpdrv::events(), ev({"AddDevice 0", "AddDevice 1"}));
    EXPECT_TRUE(sys.device_instances().empty());
}

TEST_F(Pnp, InstancesForADriverWithoutAddDeviceAreRefused) {
    auto legacy = [](_DRIVER_OBJECT* d, _UNICODE_STRING*) -> int32_t {
        d->DriverUnload = [](PDRIVER_OBJECT) {};
        return STATUS_SUCCESS;
    };
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(sys.load_driver("legacy", legacy, 2), STATUS_INVALID_PARAMETER);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("2 instance(s) asked for \\Driver\\legacy, but its DriverEntry did not set "
                       "DriverObject->DriverExtension->AddDevice"),
              std::string::npos)
        << err;
    EXPECT_FALSE(sys.unload_driver("legacy")) << "not kept";
    EXPECT_EQ(sys.load_driver("legacy", legacy), STATUS_SUCCESS) << "without a count it is an ordinary driver";
    EXPECT_TRUE(sys.device_instances().empty());
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(sys.load_driver("pnptest", reinterpret_cast<ntio::System::DriverEntryFunction>(&pnpdrv::DriverEntry), 0),
              STATUS_INVALID_PARAMETER);
    err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("a PnP driver has at least 1 device instance"), std::string::npos) << err;
}

// ---- IoGetDeviceProperty (S-PROP-1..4) ------------------------------------------------------

// A property as the two-call pattern reads it: the size, then the bytes.
std::vector<unsigned char> get_property(PDEVICE_OBJECT pdo, DEVICE_REGISTRY_PROPERTY which, NTSTATUS* status) {
    ULONG size = 0;
    *status = IoGetDeviceProperty(pdo, which, 0, nullptr, &size);
    if (*status != STATUS_BUFFER_TOO_SMALL) return {};
    std::vector<unsigned char> out(size, 0xcc);
    ULONG got = 0;
    *status = IoGetDeviceProperty(pdo, which, size, out.data(), &got);
    EXPECT_EQ(got, size);
    return out;
}
std::wstring get_string(PDEVICE_OBJECT pdo, DEVICE_REGISTRY_PROPERTY which) {
    NTSTATUS s;
    std::vector<unsigned char> b = get_property(pdo, which, &s);
    EXPECT_EQ(s, STATUS_SUCCESS) << "property " << int(which);
    if (b.size() < sizeof(WCHAR)) return L"(none)";
    std::wstring text(reinterpret_cast<const wchar_t*>(b.data()), b.size() / sizeof(WCHAR));
    EXPECT_EQ(text.back(), L'\0') << "with its terminator";
    text.pop_back();
    return text;
}

// S-PROP-1: the defaults of an INF-less root-enumerated device, consistent with
// IoOpenDeviceRegistryKey (S-REG-10) and the device's PDO name.
TEST_F(Pnp, S_PROP_1_DefaultsDescribeARootEnumeratedSystemDevice) {
    load(2);
    PDEVICE_OBJECT pdo = device(1).pdo;
    EXPECT_EQ(get_string(pdo, DevicePropertyDeviceDescription), L"PNPTEST");
    EXPECT_EQ(get_string(pdo, DevicePropertyHardwareID), std::wstring(L"ROOT\\PNPTEST\0", 13)) << "a MULTI_SZ";
    EXPECT_EQ(get_string(pdo, DevicePropertyClassName), L"System");
    EXPECT_EQ(get_string(pdo, DevicePropertyClassGuid), L"{4d36e97d-e325-11ce-bfc1-08002be10318}");
    EXPECT_EQ(get_string(pdo, DevicePropertyDriverKeyName), L"{4d36e97d-e325-11ce-bfc1-08002be10318}\\0001");
    EXPECT_EQ(get_string(pdo, DevicePropertyEnumeratorName), L"ROOT");
    std::wstring pdo_name = get_string(pdo, DevicePropertyPhysicalDeviceObjectName);
    EXPECT_EQ(pdo_name.rfind(L"\\Device\\", 0), 0u) << narrow(pdo_name);
    EXPECT_EQ(pdo_name.size(), 16u) << "\\Device\\ and eight hex digits: " << narrow(pdo_name);
    NTSTATUS s;
    std::vector<unsigned char> b = get_property(pdo, DevicePropertyAddress, &s);
    ASSERT_EQ(b.size(), sizeof(ULONG));
    EXPECT_EQ(*reinterpret_cast<ULONG*>(b.data()), 0xFFFFFFFFu) << "no bus address";
    b = get_property(pdo, DevicePropertyInstallState, &s);
    ASSERT_EQ(b.size(), sizeof(DEVICE_INSTALL_STATE));
    EXPECT_EQ(*reinterpret_cast<DEVICE_INSTALL_STATE*>(b.data()), InstallStateInstalled);
    b = get_property(pdo, DevicePropertyRemovalPolicy, &s);
    ASSERT_EQ(b.size(), sizeof(DEVICE_REMOVAL_POLICY));
    EXPECT_EQ(*reinterpret_cast<DEVICE_REMOVAL_POLICY*>(b.data()), RemovalPolicyExpectNoRemoval);
    for (DEVICE_REGISTRY_PROPERTY none :
         {DevicePropertyCompatibleIDs, DevicePropertyManufacturer, DevicePropertyFriendlyName,
          DevicePropertyLocationInformation, DevicePropertyBusTypeGuid, DevicePropertyLegacyBusType,
          DevicePropertyBusNumber, DevicePropertyUINumber, DevicePropertyBootConfiguration,
          DevicePropertyBootConfigurationTranslated, DevicePropertyResourceRequirements,
          DevicePropertyAllocatedResources, DevicePropertyContainerID}) {
        ULONG size = 123;
        EXPECT_EQ(IoGetDeviceProperty(pdo, none, 0, nullptr, &size), STATUS_OBJECT_NAME_NOT_FOUND) << int(none);
        EXPECT_EQ(size, 0u);
    }
}

// S-PROP-2: what an INF would have written to the device's Enum key wins.
TEST_F(Pnp, S_PROP_2_TheEnumKeySuppliesWhatAnInfWould) {
    load(1);
    std::wstring path = L"\\Registry\\Machine\\System\\CurrentControlSet\\Enum";
    for (const wchar_t* part : {L"\\ROOT", L"\\PNPTEST", L"\\0000"}) {
        path += part;
        ASSERT_TRUE(NT_SUCCESS(RtlCreateRegistryKey(RTL_REGISTRY_ABSOLUTE, path.data()))) << narrow(path);
    }
    auto put = [&](const wchar_t* name, ULONG type, const std::wstring& data) {
        ASSERT_EQ(RtlWriteRegistryValue(RTL_REGISTRY_ABSOLUTE, path.c_str(), name, type,
                                        const_cast<wchar_t*>(data.c_str()),
                                        static_cast<ULONG>((data.size() + 1) * sizeof(WCHAR))),
                  STATUS_SUCCESS);
    };
    put(L"FriendlyName", REG_SZ, L"Test device (COM9)");
    put(L"DeviceDesc", REG_SZ, L"PnP test device");
    put(L"Mfg", REG_SZ, L"ntio");
    put(L"HardwareID", REG_MULTI_SZ, std::wstring(L"ROOT\\PNPTEST\0PNPTEST_ANY\0", 25));
    PDEVICE_OBJECT pdo = device(0).pdo;
    EXPECT_EQ(get_string(pdo, DevicePropertyFriendlyName), L"Test device (COM9)");
    EXPECT_EQ(get_string(pdo, DevicePropertyDeviceDescription), L"PnP test device");
    EXPECT_EQ(get_string(pdo, DevicePropertyManufacturer), L"ntio");
    EXPECT_EQ(get_string(pdo, DevicePropertyHardwareID), std::wstring(L"ROOT\\PNPTEST\0PNPTEST_ANY\0", 25));
}

// S-PROP-3: a buffer too small gets the size and no bytes; an unknown property is
// STATUS_INVALID_PARAMETER_2.
TEST_F(Pnp, S_PROP_3_TooSmallGivesTheSizeAndUnknownIsParameter2) {
    load(1);
    PDEVICE_OBJECT pdo = device(0).pdo;
    wchar_t small[4];
    std::fill(std::begin(small), std::end(small), L'#');
    ULONG size = 0;
    EXPECT_EQ(IoGetDeviceProperty(pdo, DevicePropertyClassName, sizeof small, small, &size), STATUS_BUFFER_TOO_SMALL);
    EXPECT_EQ(size, sizeof(L"System"));
    EXPECT_EQ(small[0], L'#') << "nothing copied";
    EXPECT_EQ(IoGetDeviceProperty(pdo, static_cast<DEVICE_REGISTRY_PROPERTY>(0x17), 0, nullptr, &size),
              STATUS_INVALID_PARAMETER_2);
    EXPECT_EQ(IoGetDeviceProperty(pdo, DevicePropertyClassName, 0, nullptr, nullptr), STATUS_INVALID_PARAMETER);
}

// S-PROP-4: the FDO is not a PDO: Windows stops with PNP_DETECTED_FATAL_ERROR.
TEST_F(Pnp, S_PROP_4_AnFdoIsADriverBug) {
    load(1);
    ULONG size = 0;
    EXPECT_EQ(IoGetDeviceProperty(device(0).fdo, DevicePropertyClassName, 0, nullptr, &size),
              STATUS_INVALID_DEVICE_REQUEST);
    EXPECT_EQ(new_bugs(), 1u);
}

// ---- ntio run --instances ------------------------------------------------------------------------

using CliRun = ntio::testing::CommandRun;
CliRun run(const std::string& command) { return ntio::testing::run_command(command + " 2>&1"); }

const std::string kCli = NTIO_TEST_CLI;
const std::string kCDriver = NTIO_TEST_PNP_C_DRIVER;
const std::string kCApp = NTIO_TEST_PNP_C_APP;
const std::string kGuid = "{3c1f7a52-9e64-4b0d-a837-215e6f90c4d1}";

size_t at(const std::string& out, const std::string& what) {
    size_t p = out.find(what);
    EXPECT_NE(p, std::string::npos) << "missing: " << what << "\n" << out;
    return p;
}

TEST(PnpRun, TwoInstancesAreListedWarnedAboutAndUnloadedInReverse_S_W32_23) {
    CliRun r = run(kCli + " run --virtual-time --driver " + kCDriver + " --instances 2 -- " + kCApp);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    at(r.output, "interface 0: \\\\?\\ROOT#PNPC#0000#" + kGuid);
    at(r.output, "interface 1: \\\\?\\ROOT#PNPC#0001#" + kGuid);
    at(r.output, "warning: 2 devices have the interface");
    at(r.output, "2 device(s) found and answered in order");
    // The driver's own lines (stderr): both devices up before main, gone in reverse at exit.
    size_t add0 = at(r.output, "PnpTest: AddDevice 0: \\??\\ROOT#PNPC#0000#" + kGuid);
    size_t start0 = at(r.output, "PnpTest: device 0 started (0x00000000)");
    size_t add1 = at(r.output, "PnpTest: AddDevice 1: \\??\\ROOT#PNPC#0001#" + kGuid);
    size_t removed1 = at(r.output, "PnpTest: device 1 removed");
    size_t removed0 = at(r.output, "PnpTest: device 0 removed");
    size_t unloaded = at(r.output, "PnpTest: unloaded after 2 device(s)");
    EXPECT_LT(add0, start0);
    EXPECT_LT(start0, add1);
    EXPECT_LT(add1, removed1);
    EXPECT_LT(removed1, removed0);
    EXPECT_LT(removed0, unloaded);
    EXPECT_EQ(r.output.find("DRIVER BUG"), std::string::npos) << r.output;
}

TEST(PnpRun, OneInstanceByDefaultAndNoWarning) {
    CliRun r = run(kCli + " run --driver " + kCDriver + " -- " + kCApp);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    at(r.output, "interface 0: \\\\?\\ROOT#PNPC#0000#" + kGuid);
    EXPECT_EQ(r.output.find("interface 1:"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("warning:"), std::string::npos) << r.output;
    at(r.output, "1 device(s) found and answered in order");
}

TEST(PnpRun, TheEnvironmentVariableCarriesTheCount) {
    CliRun r = run("NTIO_DRIVERS=" + kCDriver + "=3 " + kCApp);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    at(r.output, "3 device(s) found and answered in order");
    r = run("NTIO_DRIVERS=" + kCDriver + "=0 " + kCApp);
    EXPECT_NE(r.exit_code, 0);
    at(r.output, "the device count after '=' must be from 1 to 9999");
}

TEST(PnpRun, InstancesMisuseSaysHowToFixIt) {
    CliRun r = run(kCli + " run --instances 2 --driver " + kCDriver + " -- " + kCApp);
    EXPECT_EQ(r.exit_code, 2);
    at(r.output, "--instances 2 comes before any --driver; it applies to the --driver before it");
    r = run(kCli + " run --driver " + kCDriver + " --instances 0 -- " + kCApp);
    EXPECT_EQ(r.exit_code, 2);
    at(r.output, "a PnP driver has 1 to 9999 device instances");
    r = run(kCli + " run --driver " + kCDriver + " --instances 2 --instances 3 -- " + kCApp);
    EXPECT_EQ(r.exit_code, 2);
    at(r.output, "--instances is given twice");
    // A driver without AddDevice: known only once it has loaded, so reported then.
    r = run(kCli + " run --driver " + std::string(NTIO_TEST_PENDING_DRIVER) + " --instances 2 -- " + kCApp);
    at(r.output, "but its DriverEntry did not set DriverObject->DriverExtension->AddDevice");
}

}  // namespace
