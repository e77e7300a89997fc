// PnP notifications (S-PNPN-1..6): IoRegisterPlugPlayNotification for device interface
// changes, IoUnregisterPlugPlayNotification(Ex), and the verifier's report of a
// registration left at unload. A legacy "listener" driver registers (its DriverObject is
// the one the registration references); the PnP test driver's devices enable kInterface
// at START, and the tests enable and disable it with IoSetDeviceInterfaceState.
#include <string>
#include <vector>

#include <wdmguid.h>

#include "drivers/pnp_driver.hpp"
#include "test_support.hpp"

namespace {

using namespace ntio::testing;
using pnpdrv::kInterface;

// {5b0d4e2c-1a3f-4c6d-8e9f-0a1b2c3d4e5f}: a class no device registers
constexpr GUID kOtherClass = {0x5b0d4e2c, 0x1a3f, 0x4c6d, {0x8e, 0x9f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f}};

struct Seen {
    GUID event;
    GUID cls;
    std::wstring link;
    USHORT version, size;
    KIRQL irql;
    bool system_thread;
    PETHREAD thread;
};

struct Listener {
    std::mutex lock;
    std::vector<Seen> seen;
    KSEMAPHORE arrived;  // one count per notification
    // Set to make the callback wait (S-PNPN-4): it signals `inside`, then waits for `go`.
    bool block = false;
    KEVENT inside, go;
    // Set to make the callback unregister its own registration (S-PNPN-4).
    PVOID self_entry = nullptr;
    bool unregister_self = false;
    PDRIVER_OBJECT driver = nullptr;
    bool unregister_at_unload = true;
    PVOID entry = nullptr;  // what DriverUnload unregisters
};
Listener* g_listener = nullptr;

NTSTATUS on_change(PVOID structure, PVOID context) {
    auto* l = static_cast<Listener*>(context);
    auto* n = static_cast<PDEVICE_INTERFACE_CHANGE_NOTIFICATION>(structure);
    {
        std::lock_guard g(l->lock);
        l->seen.push_back({n->Event, n->InterfaceClassGuid,
                           std::wstring(n->SymbolicLinkName->Buffer, n->SymbolicLinkName->Length / sizeof(WCHAR)),
                           n->Version, n->Size, KeGetCurrentIrql(), IoIsSystemThread(PsGetCurrentThread()) != FALSE,
                           PsGetCurrentThread()});
    }
    if (l->block) {
        KeSetEvent(&l->inside, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(&l->go, Executive, KernelMode, FALSE, nullptr);
    }
    if (l->unregister_self) {
        EXPECT_EQ(IoUnregisterPlugPlayNotificationEx(l->self_entry), STATUS_SUCCESS);
    }
    KeReleaseSemaphore(&l->arrived, IO_NO_INCREMENT, 1, FALSE);
    return STATUS_SUCCESS;
}

void listener_unload(PDRIVER_OBJECT) {
    if (g_listener->unregister_at_unload && g_listener->entry)
        IoUnregisterPlugPlayNotificationEx(g_listener->entry);
}

NTSTATUS listener_entry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING) {
    g_listener->driver = DriverObject;
    DriverObject->DriverUnload = listener_unload;
    return STATUS_SUCCESS;
}

class PnpNotify : public VirtualTimeTest {
protected:
    void SetUp() override {
        g_listener = &l;
        KeInitializeSemaphore(&l.arrived, 0, 1000);
        KeInitializeEvent(&l.inside, NotificationEvent, FALSE);
        KeInitializeEvent(&l.go, NotificationEvent, FALSE);
        ASSERT_EQ(sys.load_driver("listener", listener_entry), STATUS_SUCCESS);
        bugs0 = ntio::driver_bug_count();
    }
    void TearDown() override {
        sys.unload_driver("pnptest");
        sys.unload_driver("listener");
        EXPECT_EQ(sys.leak_report(), "");
        g_listener = nullptr;
    }
    // Waits for `count` notifications; false if they do not all come within 5 virtual seconds.
    bool wait_for(int count) {
        for (int i = 0; i < count; ++i) {
            LARGE_INTEGER timeout = relative_ms(5000);
            if (KeWaitForSingleObject(&l.arrived, Executive, KernelMode, FALSE, &timeout) != STATUS_SUCCESS)
                return false;
        }
        return true;
    }
    // No notification within a virtual second (the worker has run by then: time moves only
    // when every thread is blocked).
    bool quiet() {
        LARGE_INTEGER timeout = relative_ms(1000);
        return KeWaitForSingleObject(&l.arrived, Executive, KernelMode, FALSE, &timeout) == STATUS_TIMEOUT;
    }
    NTSTATUS register_for(const GUID& cls, ULONG flags, PVOID* entry) {
        GUID c = cls;
        NTSTATUS s = IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, flags, &c, l.driver,
                                                    on_change, &l, entry);
        l.entry = *entry;
        return s;
    }
    std::vector<Seen> seen() {
        std::lock_guard g(l.lock);
        return l.seen;
    }
    static UNICODE_STRING us(std::wstring& s) {
        return {static_cast<USHORT>(s.size() * sizeof(WCHAR)), static_cast<USHORT>(s.size() * sizeof(WCHAR)),
                s.data()};
    }
    uint64_t new_bugs() const { return ntio::driver_bug_count() - bugs0; }
    Listener l;
    uint64_t bugs0 = 0;
};

TEST_F(PnpNotify, EnablingAndDisablingReachTheCallbackAtPassiveLevelOnASystemThread_S_PNPN_1) {
    ASSERT_EQ(pnpdrv::load(sys, 1), STATUS_SUCCESS);  // START enabled the interface
    PVOID entry = nullptr;
    ASSERT_EQ(register_for(kInterface, 0, &entry), STATUS_SUCCESS);
    ASSERT_NE(entry, nullptr);
    EXPECT_TRUE(quiet()) << "without the flag, interfaces already enabled are not reported";

    std::wstring link = pnpdrv::device(0).links.at(0);
    UNICODE_STRING u = us(link);
    ASSERT_EQ(IoSetDeviceInterfaceState(&u, FALSE), STATUS_SUCCESS);
    ASSERT_EQ(IoSetDeviceInterfaceState(&u, TRUE), STATUS_SUCCESS);
    ASSERT_TRUE(wait_for(2));
    std::vector<Seen> s = seen();
    ASSERT_EQ(s.size(), 2u);
    EXPECT_TRUE(IsEqualGUID(s[0].event, GUID_DEVICE_INTERFACE_REMOVAL));
    EXPECT_TRUE(IsEqualGUID(s[1].event, GUID_DEVICE_INTERFACE_ARRIVAL));
    for (const Seen& x : s) {
        EXPECT_TRUE(IsEqualGUID(x.cls, kInterface));
        EXPECT_EQ(x.link, link);
        EXPECT_EQ(x.link.rfind(L"\\??\\ROOT#PNPTEST#0000#{", 0), 0u) << "the kernel name";
        EXPECT_EQ(x.version, 1);
        EXPECT_EQ(x.size, sizeof(DEVICE_INTERFACE_CHANGE_NOTIFICATION));
        EXPECT_EQ(x.irql, PASSIVE_LEVEL);
        EXPECT_TRUE(x.system_thread);
        EXPECT_NE(x.thread, PsGetCurrentThread());
    }
    // A repeated state is no change: nothing is reported.
    EXPECT_EQ(IoSetDeviceInterfaceState(&u, TRUE), STATUS_OBJECT_NAME_EXISTS);
    EXPECT_TRUE(quiet());

    // The device's removal disables its interface: a removal.
    ASSERT_TRUE(sys.unload_driver("pnptest"));
    ASSERT_TRUE(wait_for(1));
    s = seen();
    ASSERT_EQ(s.size(), 3u);
    EXPECT_TRUE(IsEqualGUID(s[2].event, GUID_DEVICE_INTERFACE_REMOVAL));
    EXPECT_EQ(IoUnregisterPlugPlayNotificationEx(entry), STATUS_SUCCESS);
    EXPECT_EQ(new_bugs(), 0u);
}

TEST_F(PnpNotify, ExistingInterfacesComeAsArrivalsBeforeRegistrationReturns_S_PNPN_2) {
    ASSERT_EQ(pnpdrv::load(sys, 2), STATUS_SUCCESS);
    // Disabled interfaces are not existing ones.
    std::wstring second = pnpdrv::device(1).links.at(0);
    UNICODE_STRING u = us(second);
    ASSERT_EQ(IoSetDeviceInterfaceState(&u, FALSE), STATUS_SUCCESS);
    PVOID entry = nullptr;
    ASSERT_EQ(register_for(kInterface, PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES, &entry),
              STATUS_SUCCESS);
    std::vector<Seen> s = seen();  // no wait: they came during the call
    ASSERT_EQ(s.size(), 1u);
    EXPECT_TRUE(IsEqualGUID(s[0].event, GUID_DEVICE_INTERFACE_ARRIVAL));
    EXPECT_EQ(s[0].link, pnpdrv::device(0).links.at(0));
    EXPECT_EQ(s[0].thread, PsGetCurrentThread()) << "on the registering thread";
    ASSERT_TRUE(wait_for(1));
    // Later changes come as usual.
    ASSERT_EQ(IoSetDeviceInterfaceState(&u, TRUE), STATUS_SUCCESS);
    ASSERT_TRUE(wait_for(1));
    s = seen();
    ASSERT_EQ(s.size(), 2u);
    EXPECT_TRUE(IsEqualGUID(s[1].event, GUID_DEVICE_INTERFACE_ARRIVAL));
    EXPECT_EQ(s[1].link, second);
    EXPECT_EQ(IoUnregisterPlugPlayNotificationEx(entry), STATUS_SUCCESS);
}

TEST_F(PnpNotify, EventsComeInOrderAndOnlyForTheRegisteredClass_S_PNPN_3) {
    ASSERT_EQ(pnpdrv::load(sys, 1), STATUS_SUCCESS);
    PVOID entry = nullptr, other = nullptr;
    ASSERT_EQ(register_for(kInterface, 0, &entry), STATUS_SUCCESS);
    GUID c = kOtherClass;
    ASSERT_EQ(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange,
                                             PNPNOTIFY_DEVICE_INTERFACE_INCLUDE_EXISTING_INTERFACES, &c, l.driver,
                                             on_change, &l, &other),
              STATUS_SUCCESS);
    EXPECT_TRUE(seen().empty()) << "no interface of that class exists";
    std::wstring link = pnpdrv::device(0).links.at(0);
    UNICODE_STRING u = us(link);
    for (int i = 0; i < 5; ++i) {
        ASSERT_EQ(IoSetDeviceInterfaceState(&u, FALSE), STATUS_SUCCESS);
        ASSERT_EQ(IoSetDeviceInterfaceState(&u, TRUE), STATUS_SUCCESS);
    }
    ASSERT_TRUE(wait_for(10));
    EXPECT_TRUE(quiet());
    std::vector<Seen> s = seen();
    ASSERT_EQ(s.size(), 10u);
    for (size_t i = 0; i < s.size(); ++i) {
        EXPECT_TRUE(IsEqualGUID(s[i].event, i % 2 ? GUID_DEVICE_INTERFACE_ARRIVAL : GUID_DEVICE_INTERFACE_REMOVAL))
            << i;
        EXPECT_TRUE(IsEqualGUID(s[i].cls, kInterface));
    }
    EXPECT_EQ(IoUnregisterPlugPlayNotification(other), STATUS_SUCCESS);
    EXPECT_EQ(IoUnregisterPlugPlayNotificationEx(entry), STATUS_SUCCESS);
}

TEST_F(PnpNotify, UnregisteringStopsTheCallsAndReleasesTheDriver_S_PNPN_4) {
    ASSERT_EQ(pnpdrv::load(sys, 1), STATUS_SUCCESS);
    LONG_PTR before = ObfReferenceObject(l.driver);
    ObfDereferenceObject(l.driver);
    PVOID entry = nullptr;
    ASSERT_EQ(register_for(kInterface, 0, &entry), STATUS_SUCCESS);
    LONG_PTR during = ObfReferenceObject(l.driver);
    ObfDereferenceObject(l.driver);
    EXPECT_EQ(during, before + 1) << "the registration references the driver object";
    EXPECT_EQ(IoUnregisterPlugPlayNotificationEx(entry), STATUS_SUCCESS);
    LONG_PTR after = ObfReferenceObject(l.driver);
    ObfDereferenceObject(l.driver);
    EXPECT_EQ(after, before);
    EXPECT_EQ(IoUnregisterPlugPlayNotificationEx(entry), STATUS_INVALID_PARAMETER) << "not a registration any more";
    EXPECT_EQ(IoUnregisterPlugPlayNotification(nullptr), STATUS_INVALID_PARAMETER);
    l.entry = nullptr;

    std::wstring link = pnpdrv::device(0).links.at(0);
    UNICODE_STRING u = us(link);
    ASSERT_EQ(IoSetDeviceInterfaceState(&u, FALSE), STATUS_SUCCESS);
    EXPECT_TRUE(quiet());
    EXPECT_TRUE(seen().empty());
}

TEST_F(PnpNotify, UnregisterExWaitsForACallInProgressAndMayBeCalledFromTheCallback_S_PNPN_4) {
    ASSERT_EQ(pnpdrv::load(sys, 1), STATUS_SUCCESS);
    PVOID entry = nullptr;
    ASSERT_EQ(register_for(kInterface, 0, &entry), STATUS_SUCCESS);
    l.block = true;
    std::wstring link = pnpdrv::device(0).links.at(0);
    UNICODE_STRING u = us(link);
    ASSERT_EQ(IoSetDeviceInterfaceState(&u, FALSE), STATUS_SUCCESS);
    LARGE_INTEGER timeout = relative_ms(5000);
    ASSERT_EQ(KeWaitForSingleObject(&l.inside, Executive, KernelMode, FALSE, &timeout), STATUS_SUCCESS);
    std::atomic<bool> returned{false};
    HANDLE t = spawn([&] {
        EXPECT_EQ(IoUnregisterPlugPlayNotificationEx(entry), STATUS_SUCCESS);
        returned = true;
    });
    LARGE_INTEGER pause = relative_ms(500);
    KeDelayExecutionThread(KernelMode, FALSE, &pause);
    EXPECT_FALSE(returned.load()) << "the callback is still running";
    KeSetEvent(&l.go, IO_NO_INCREMENT, FALSE);
    ASSERT_EQ(WaitForSingleObject(t, 5000), WAIT_OBJECT_0);
    CloseHandle(t);
    EXPECT_TRUE(returned.load());
    l.block = false;
    ASSERT_TRUE(wait_for(1));

    // From inside the callback: no wait for itself, and no further call.
    ASSERT_EQ(register_for(kInterface, 0, &entry), STATUS_SUCCESS);
    l.self_entry = entry;
    l.unregister_self = true;
    l.entry = nullptr;
    ASSERT_EQ(IoSetDeviceInterfaceState(&u, TRUE), STATUS_SUCCESS);
    ASSERT_TRUE(wait_for(1));
    ASSERT_EQ(IoSetDeviceInterfaceState(&u, FALSE), STATUS_SUCCESS);
    EXPECT_TRUE(quiet());
    EXPECT_EQ(seen().size(), 2u);
    EXPECT_EQ(IoUnregisterPlugPlayNotificationEx(entry), STATUS_INVALID_PARAMETER);
}

TEST_F(PnpNotify, BadArgumentsAndOtherCategoriesFail_S_PNPN_6) {
    GUID c = kInterface;
    PVOID entry = nullptr;
    EXPECT_EQ(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, nullptr, l.driver, on_change, &l,
                                             &entry),
              STATUS_INVALID_PARAMETER);
    EXPECT_EQ(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, &c, nullptr, on_change, &l,
                                             &entry),
              STATUS_INVALID_PARAMETER);
    EXPECT_EQ(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 0, &c, l.driver, nullptr, &l,
                                             &entry),
              STATUS_INVALID_PARAMETER);
    EXPECT_EQ(IoRegisterPlugPlayNotification(EventCategoryDeviceInterfaceChange, 2, &c, l.driver, on_change, &l,
                                             &entry),
              STATUS_INVALID_PARAMETER);
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(IoRegisterPlugPlayNotification(EventCategoryTargetDeviceChange, 0, &c, l.driver, on_change, &l,
                                             &entry),
              STATUS_NOT_SUPPORTED);
    EXPECT_EQ(IoRegisterPlugPlayNotification(EventCategoryHardwareProfileChange, 0, nullptr, l.driver, on_change, &l,
                                             &entry),
              STATUS_NOT_SUPPORTED);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("only EventCategoryDeviceInterfaceChange is implemented"), std::string::npos) << err;
    EXPECT_EQ(entry, nullptr);
}

TEST_F(PnpNotify, PnpNotificationLeftAtUnload_IsReportedAndTheRegistrationEnded_S_PNPN_5) {
    ASSERT_EQ(pnpdrv::load(sys, 1), STATUS_SUCCESS);
    PVOID entry = nullptr;
    ASSERT_EQ(register_for(kInterface, 0, &entry), STATUS_SUCCESS);
    l.unregister_at_unload = false;
    ::testing::internal::CaptureStderr();
    ASSERT_TRUE(sys.unload_driver("listener"));
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(new_bugs(), 1u);
    EXPECT_NE(err.find("PnpNotificationLeftAtUnload"), std::string::npos) << err;
    EXPECT_NE(err.find("\\Driver\\listener"), std::string::npos) << err;
    EXPECT_NE(err.find("EventCategoryDeviceInterfaceChange"), std::string::npos) << err;
    // Ended: the next change calls nobody.
    std::wstring link = pnpdrv::device(0).links.at(0);
    UNICODE_STRING u = us(link);
    ASSERT_EQ(IoSetDeviceInterfaceState(&u, FALSE), STATUS_SUCCESS);
    EXPECT_TRUE(quiet());
    EXPECT_TRUE(seen().empty());
    EXPECT_EQ(IoUnregisterPlugPlayNotificationEx(entry), STATUS_INVALID_PARAMETER);
}

}  // namespace
