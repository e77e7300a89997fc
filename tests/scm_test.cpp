// The service control manager for kernel drivers and NtLoadDriver/NtUnloadDriver (S-SCM-1..6
// in docs/design.md): a program installs and starts its own driver, as Microsoft's WDM
// sample apps do. The drivers are tests/c/scm_driver.c built as scmdemo.so, scmfail.so
// (DriverEntry fails) and scmstay.so (no DriverUnload).
#include <cstring>
#include <string>

#include "ntio/gtest.hpp"
#include "test_support.hpp"
#include "c/scm_public.h"

namespace {


// The Windows path an app builds for the module: "<dir>\<name>.sys" for <dir>/<name>.so.
std::string windows_image(const char* so_path) {
    std::string p = so_path;
    size_t slash = p.find_last_of('/');
    std::string dir = p.substr(0, slash), file = p.substr(slash + 1);
    return dir + "\\" + file.substr(0, file.find('.')) + ".sys";
}

class Scm : public ntio::testing::DriverTest {
protected:
    void SetUp() override {
        manager = OpenSCManagerA(nullptr, nullptr, SC_MANAGER_ALL_ACCESS);
        ASSERT_NE(manager, nullptr);
    }
    void TearDown() override {
        CloseServiceHandle(manager);
        DriverTest::TearDown();
    }
    SC_HANDLE create(const char* name, const std::string& image) {
        return CreateServiceA(manager, name, name, SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER, SERVICE_DEMAND_START,
                              SERVICE_ERROR_NORMAL, image.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr);
    }
    static DWORD state(SC_HANDLE s) {
        SERVICE_STATUS st{};
        return QueryServiceStatus(s, &st) ? st.dwCurrentState : 0;
    }
    static HANDLE open_device() {
        return CreateFileA("\\\\.\\ScmDemo", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    }
    static DWORD dword_value(const std::string& service, const wchar_t* value) {
        std::wstring path = L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\" +
                            std::wstring(service.begin(), service.end());
        DWORD data = 0xdead;
        RTL_QUERY_REGISTRY_TABLE table[2]{};
        table[0].Flags = RTL_QUERY_REGISTRY_DIRECT | RTL_QUERY_REGISTRY_REQUIRED;
        table[0].Name = const_cast<PWSTR>(value);
        table[0].EntryContext = &data;
        NTSTATUS s = RtlQueryRegistryValues(RTL_REGISTRY_ABSOLUTE, path.c_str(), table, nullptr, nullptr);
        return NT_SUCCESS(s) ? data : 0xdead;
    }
    SC_HANDLE manager = nullptr;
};

TEST_F(Scm, S_SCM_1_CreateServiceWritesTheServiceKey) {
    SC_HANDLE s = create("scmdemo", windows_image(NTIO_TEST_SCM_DRIVER));
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(dword_value("scmdemo", L"Type"), static_cast<DWORD>(SERVICE_KERNEL_DRIVER));
    EXPECT_EQ(dword_value("scmdemo", L"Start"), static_cast<DWORD>(SERVICE_DEMAND_START));
    EXPECT_EQ(dword_value("scmdemo", L"ErrorControl"), static_cast<DWORD>(SERVICE_ERROR_NORMAL));
    SERVICE_STATUS st{};
    ASSERT_TRUE(QueryServiceStatus(s, &st));
    EXPECT_EQ(st.dwCurrentState, static_cast<DWORD>(SERVICE_STOPPED));
    EXPECT_EQ(st.dwWin32ExitCode, static_cast<DWORD>(ERROR_SERVICE_NEVER_STARTED));
    EXPECT_EQ(create("SCMDEMO", windows_image(NTIO_TEST_SCM_DRIVER)), nullptr) << "names are case-insensitive";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_EXISTS));
    EXPECT_EQ(open_device(), INVALID_HANDLE_VALUE) << "created, not started";
    EXPECT_TRUE(CloseServiceHandle(s));
}

TEST_F(Scm, S_SCM_1_BadArgumentsGetWindowsErrors) {
    std::string image = windows_image(NTIO_TEST_SCM_DRIVER);
    auto fails_with = [&](SC_HANDLE h, DWORD error) {
        DWORD got = GetLastError();
        EXPECT_EQ(h, nullptr);
        EXPECT_EQ(got, error);
    };
    fails_with(CreateServiceA(nullptr, "x", "x", SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER, SERVICE_DEMAND_START,
                              SERVICE_ERROR_NORMAL, image.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr),
               ERROR_INVALID_HANDLE);
    fails_with(CreateServiceA(manager, nullptr, "x", SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER, SERVICE_DEMAND_START,
                              SERVICE_ERROR_NORMAL, image.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr),
               ERROR_INVALID_ADDRESS);
    fails_with(CreateServiceA(manager, "", "x", SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER, SERVICE_DEMAND_START,
                              SERVICE_ERROR_NORMAL, image.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr),
               ERROR_INVALID_NAME);
    fails_with(CreateServiceA(manager, "x", "x", SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER, SERVICE_DEMAND_START,
                              SERVICE_ERROR_NORMAL, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr),
               ERROR_INVALID_PARAMETER);
    fails_with(CreateServiceA(manager, "x", "x", SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER, 7, SERVICE_ERROR_NORMAL,
                              image.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr),
               ERROR_INVALID_PARAMETER);
    SC_HANDLE connect_only = OpenSCManagerA(nullptr, nullptr, SC_MANAGER_CONNECT);
    fails_with(CreateServiceA(connect_only, "x", "x", SERVICE_ALL_ACCESS, SERVICE_KERNEL_DRIVER,
                              SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, image.c_str(), nullptr, nullptr, nullptr,
                              nullptr, nullptr),
               ERROR_ACCESS_DENIED);
    CloseServiceHandle(connect_only);
    fails_with(OpenSCManagerA(nullptr, "DoesNotExist", SC_MANAGER_CONNECT), ERROR_INVALID_NAME);
    fails_with(OpenSCManagerA(nullptr, SERVICES_FAILED_DATABASEA, SC_MANAGER_CONNECT), ERROR_DATABASE_DOES_NOT_EXIST);
    fails_with(OpenServiceA(manager, "nosuchservice", SERVICE_ALL_ACCESS), ERROR_SERVICE_DOES_NOT_EXIST);
    fails_with(OpenServiceA(nullptr, "scmdemo", SERVICE_ALL_ACCESS), ERROR_INVALID_HANDLE);
    EXPECT_FALSE(CloseServiceHandle(nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    int not_a_handle = 0;
    EXPECT_FALSE(CloseServiceHandle(reinterpret_cast<SC_HANDLE>(&not_a_handle)));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

TEST_F(Scm, S_SCM_2_StartRunsDriverEntryAndASecondStartIsAlreadyRunning) {
    SC_HANDLE s = create("scmdemo", windows_image(NTIO_TEST_SCM_DRIVER));
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(StartServiceA(s, 0, nullptr)) << GetLastError();
    EXPECT_EQ(state(s), static_cast<DWORD>(SERVICE_RUNNING));
    HANDLE h = open_device();
    ASSERT_NE(h, INVALID_HANDLE_VALUE) << "DriverEntry made the device before StartService returned";
    char out[32]{};
    DWORD n = 0;
    EXPECT_TRUE(DeviceIoControl(h, IOCTL_SCM_HELLO, nullptr, 0, out, sizeof out, &n, nullptr));
    EXPECT_STREQ(out, "scmdemo 1");
    CloseHandle(h);
    EXPECT_FALSE(StartServiceA(s, 0, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_ALREADY_RUNNING));
    // The kernel's view: the same driver object, loaded once.
    std::wstring key = L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\scmdemo";
    UNICODE_STRING us{static_cast<USHORT>(key.size() * sizeof(WCHAR)), static_cast<USHORT>(key.size() * sizeof(WCHAR)),
                      key.data()};
    EXPECT_EQ(ZwLoadDriver(&us), STATUS_IMAGE_ALREADY_LOADED);
    CloseServiceHandle(s);
}

TEST_F(Scm, S_SCM_2_AFailingDriverEntryFailsTheStartWithItsStatusMapped) {
    SC_HANDLE s = create("scmfail", windows_image(NTIO_TEST_SCM_FAIL_DRIVER));
    ASSERT_NE(s, nullptr);
    EXPECT_FALSE(StartServiceA(s, 0, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_GEN_FAILURE)) << "STATUS_UNSUCCESSFUL";
    EXPECT_EQ(state(s), static_cast<DWORD>(SERVICE_STOPPED));
    EXPECT_EQ(open_device(), INVALID_HANDLE_VALUE);
    CloseServiceHandle(s);
}

TEST_F(Scm, S_SCM_3_TheImagePathMapsToTheSharedObject) {
    // .sys -> .so first, then the path as given (a module that is named .sys).
    SC_HANDLE s = create("scmdemo", NTIO_TEST_SCM_DRIVER);
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(StartServiceA(s, 0, nullptr)) << GetLastError();
    CloseServiceHandle(s);
    SC_HANDLE missing = create("scmmissing", "C:\\nowhere\\scmmissing.sys");
    ASSERT_NE(missing, nullptr);
    EXPECT_FALSE(StartServiceA(missing, 0, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND));
    CloseServiceHandle(missing);
    SC_HANDLE not_driver = create("notadriver", NTIO_TEST_NOT_A_DRIVER);
    ASSERT_NE(not_driver, nullptr);
    EXPECT_FALSE(StartServiceA(not_driver, 0, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_BAD_EXE_FORMAT));
    CloseServiceHandle(not_driver);
}

TEST_F(Scm, S_SCM_4_StopUnloadsDeleteRemovesAndTheNameCanBeCreatedAgain) {
    std::string image = windows_image(NTIO_TEST_SCM_DRIVER);
    SC_HANDLE s = create("scmdemo", image);
    ASSERT_NE(s, nullptr);
    SERVICE_STATUS st{};
    EXPECT_FALSE(ControlService(s, SERVICE_CONTROL_STOP, &st));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_NOT_ACTIVE));
    ASSERT_TRUE(StartServiceA(s, 0, nullptr));
    EXPECT_FALSE(ControlService(s, SERVICE_CONTROL_PAUSE, &st));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_SERVICE_CONTROL));
    ASSERT_TRUE(ControlService(s, SERVICE_CONTROL_STOP, &st));
    EXPECT_EQ(st.dwCurrentState, static_cast<DWORD>(SERVICE_STOPPED));
    EXPECT_EQ(open_device(), INVALID_HANDLE_VALUE) << "DriverUnload deleted the device";
    ASSERT_TRUE(StartServiceA(s, 0, nullptr)) << "a stopped service starts again";
    ASSERT_TRUE(ControlService(s, SERVICE_CONTROL_STOP, &st));
    ASSERT_TRUE(DeleteService(s));
    EXPECT_FALSE(DeleteService(s));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_MARKED_FOR_DELETE));
    EXPECT_FALSE(StartServiceA(s, 0, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_MARKED_FOR_DELETE));
    EXPECT_EQ(create("scmdemo", image), nullptr) << "the name is taken until the last handle closes";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_MARKED_FOR_DELETE));
    ASSERT_TRUE(CloseServiceHandle(s));
    EXPECT_EQ(dword_value("scmdemo", L"Type"), 0xdeadu) << "the key is gone";
    EXPECT_EQ(OpenServiceA(manager, "scmdemo", SERVICE_ALL_ACCESS), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_DOES_NOT_EXIST));
    SC_HANDLE again = create("scmdemo", image);
    ASSERT_NE(again, nullptr) << "re-created";
    EXPECT_TRUE(StartServiceA(again, 0, nullptr));
    CloseServiceHandle(again);
}

TEST_F(Scm, S_SCM_4_ADeletedServiceWhoseStopWaitedGoesAfterTheLastClose) {
    std::string image = windows_image(NTIO_TEST_SCM_DRIVER);
    SC_HANDLE s = create("scmdemo", image);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(StartServiceA(s, 0, nullptr));
    HANDLE h = open_device();
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    SERVICE_STATUS st{};
    ASSERT_TRUE(ControlService(s, SERVICE_CONTROL_STOP, &st));
    ASSERT_TRUE(DeleteService(s));
    ASSERT_TRUE(CloseServiceHandle(s));
    SC_HANDLE still = OpenServiceA(manager, "scmdemo", SERVICE_QUERY_STATUS);
    ASSERT_NE(still, nullptr) << "stop pending: the service is still there";
    EXPECT_EQ(state(still), static_cast<DWORD>(SERVICE_STOP_PENDING));
    CloseServiceHandle(still);
    CloseHandle(h);
    sys.run_until_idle();
    EXPECT_EQ(OpenServiceA(manager, "scmdemo", SERVICE_ALL_ACCESS), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_DOES_NOT_EXIST));
    SC_HANDLE again = create("scmdemo", image);
    EXPECT_NE(again, nullptr);
    CloseServiceHandle(again);
}

TEST_F(Scm, S_SCM_5_TheStopRunsTheVerifiersUnloadChecks) {
    SC_HANDLE s = create("timerleft", windows_image(NTIO_TEST_TIMER_LEFT_DRIVER));
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(StartServiceA(s, 0, nullptr)) << GetLastError();
    Sleep(350);  // virtual: the driver's periodic timer runs
    auto left = verifier.expect("TimerLeftAtUnload");
    SERVICE_STATUS st{};
    ASSERT_TRUE(ControlService(s, SERVICE_CONTROL_STOP, &st));
    ASSERT_EQ(left.reports().size(), 1u);
    EXPECT_EQ(left.reports()[0].driver, "\\Driver\\timerleft");
    CloseServiceHandle(s);
}

TEST_F(Scm, S_SCM_5_ADriverWithoutUnloadCannotBeStopped) {
    SC_HANDLE s = create("scmstay", windows_image(NTIO_TEST_SCM_STAY_DRIVER));
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(StartServiceA(s, 0, nullptr));
    SERVICE_STATUS st{};
    ASSERT_TRUE(QueryServiceStatus(s, &st));
    EXPECT_EQ(st.dwControlsAccepted, 0u);
    EXPECT_FALSE(ControlService(s, SERVICE_CONTROL_STOP, &st));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_SERVICE_CONTROL));
    EXPECT_EQ(st.dwCurrentState, static_cast<DWORD>(SERVICE_RUNNING));
    std::wstring key = L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\scmstay";
    UNICODE_STRING us{static_cast<USHORT>(key.size() * sizeof(WCHAR)), static_cast<USHORT>(key.size() * sizeof(WCHAR)),
                      key.data()};
    EXPECT_EQ(NtUnloadDriver(&us), STATUS_INVALID_DEVICE_REQUEST);
    CloseServiceHandle(s);
}

TEST_F(Scm, S_SCM_5_AStopWithAnOpenHandleUnloadsAtTheLastClose) {
    SC_HANDLE s = create("scmdemo", windows_image(NTIO_TEST_SCM_DRIVER));
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(StartServiceA(s, 0, nullptr));
    HANDLE h = open_device();
    ASSERT_NE(h, INVALID_HANDLE_VALUE);
    SERVICE_STATUS st{};
    ASSERT_TRUE(ControlService(s, SERVICE_CONTROL_STOP, &st));
    EXPECT_EQ(st.dwCurrentState, static_cast<DWORD>(SERVICE_STOP_PENDING));
    EXPECT_EQ(st.dwControlsAccepted, 0u);
    EXPECT_EQ(open_device(), INVALID_HANDLE_VALUE) << "no new opens while the unload waits";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_FILE_NOT_FOUND)) << "STATUS_NO_SUCH_DEVICE";
    char out[32]{};
    DWORD n = 0;
    EXPECT_TRUE(DeviceIoControl(h, IOCTL_SCM_HELLO, nullptr, 0, out, sizeof out, &n, nullptr))
        << "the open handle still works";
    EXPECT_FALSE(ControlService(s, SERVICE_CONTROL_STOP, &st));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_CANNOT_ACCEPT_CTRL));
    CloseHandle(h);
    sys.run_until_idle();  // the unload is posted to a runtime thread after CloseHandle
    EXPECT_EQ(state(s), static_cast<DWORD>(SERVICE_STOPPED));
    EXPECT_TRUE(StartServiceA(s, 0, nullptr)) << "and it starts again";
    CloseServiceHandle(s);
}

TEST_F(Scm, S_SCM_6_ADriverLoadedByPathIsAServiceOfItsModuleName) {
    ASSERT_EQ(sys.load_driver(NTIO_TEST_SCM_DRIVER), 0);
    SC_HANDLE s = OpenServiceA(manager, "scmdemo", SERVICE_ALL_ACCESS);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(state(s), static_cast<DWORD>(SERVICE_RUNNING));
    EXPECT_EQ(create("scmdemo", windows_image(NTIO_TEST_SCM_DRIVER)), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_EXISTS));
    EXPECT_FALSE(StartServiceA(s, 0, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_SERVICE_ALREADY_RUNNING));
    SERVICE_STATUS st{};
    EXPECT_TRUE(ControlService(s, SERVICE_CONTROL_STOP, &st));
    EXPECT_EQ(st.dwCurrentState, static_cast<DWORD>(SERVICE_STOPPED));
    CloseServiceHandle(s);
}

}  // namespace
