// Callback objects (S-CB-1..5): ExCreateCallback, ExRegisterCallback, ExNotifyCallback,
// ExUnregisterCallback, and the object's life in the \Callback directory.
#include <atomic>
#include <string>
#include <vector>

#include "ntio/gtest.hpp"
#include "test_support.hpp"

namespace {

using namespace ntio::testing;

struct Call {
    int who;
    PVOID a1, a2;
    KIRQL irql;
};
std::mutex g_lock;
std::vector<Call> g_calls;

struct Context {
    int who;
    PVOID unregister_me = nullptr;  // set: the routine unregisters this registration
    KEVENT* inside = nullptr;       // set: the routine signals it, then waits for `go`
    KEVENT* go = nullptr;
};

void routine(PVOID context, PVOID a1, PVOID a2) {
    auto* c = static_cast<Context*>(context);
    {
        std::lock_guard g(g_lock);
        g_calls.push_back({c->who, a1, a2, KeGetCurrentIrql()});
    }
    if (c->inside) {
        KeSetEvent(c->inside, IO_NO_INCREMENT, FALSE);
        KeWaitForSingleObject(c->go, Executive, KernelMode, FALSE, nullptr);
    }
    if (c->unregister_me) {
        PVOID r = c->unregister_me;
        c->unregister_me = nullptr;
        ExUnregisterCallback(r);
    }
}

class Callback : public VirtualTimeTest {
protected:
    void SetUp() override {
        std::lock_guard g(g_lock);
        g_calls.clear();
    }
    NTSTATUS create(const wchar_t* name, BOOLEAN create, BOOLEAN multiple, PCALLBACK_OBJECT* out) {
        UNICODE_STRING u;
        OBJECT_ATTRIBUTES oa;
        if (name) RtlInitUnicodeString(&u, name);
        InitializeObjectAttributes(&oa, name ? &u : nullptr, OBJ_CASE_INSENSITIVE, nullptr, nullptr);
        return ExCreateCallback(out, &oa, create, multiple);
    }
    std::vector<int> who_was_called() {
        std::lock_guard g(g_lock);
        std::vector<int> w;
        for (const Call& c : g_calls) w.push_back(c.who);
        g_calls.clear();
        return w;
    }
};

TEST_F(Callback, CreateMakesANamedObjectAndOpeningFindsIt_S_CB_1) {
    PCALLBACK_OBJECT a = nullptr, b = nullptr, c = nullptr;
    EXPECT_EQ(create(L"\\Callback\\NtioTest", FALSE, TRUE, &a), STATUS_OBJECT_NAME_NOT_FOUND);
    EXPECT_EQ(a, nullptr);
    ASSERT_EQ(create(L"\\Callback\\NtioTest", TRUE, TRUE, &a), STATUS_SUCCESS);
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(create(L"\\Callback\\ntiotest", FALSE, FALSE, &b), STATUS_SUCCESS) << "case-insensitive";
    EXPECT_EQ(b, a);
    ASSERT_EQ(create(L"\\Callback\\NtioTest", TRUE, FALSE, &c), STATUS_SUCCESS) << "Create opens one that exists";
    EXPECT_EQ(c, a);
    ObDereferenceObject(b);
    ObDereferenceObject(c);
    PCALLBACK_OBJECT x = nullptr;
    EXPECT_EQ(create(L"\\NoSuchDirectory\\X", TRUE, TRUE, &x), STATUS_OBJECT_PATH_NOT_FOUND);
    EXPECT_EQ(create(L"\\NoSuchDirectory\\X", FALSE, TRUE, &x), STATUS_OBJECT_PATH_NOT_FOUND);
    EXPECT_EQ(create(nullptr, FALSE, TRUE, &x), STATUS_UNSUCCESSFUL);
    // A name another kind of object holds.
    HANDLE ev = nullptr;
    UNICODE_STRING en = RTL_CONSTANT_STRING(L"\\Callback\\NtioEvent");
    OBJECT_ATTRIBUTES eoa;
    InitializeObjectAttributes(&eoa, &en, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(ZwCreateEvent(&ev, EVENT_ALL_ACCESS, &eoa, NotificationEvent, FALSE), STATUS_SUCCESS);
    EXPECT_EQ(create(L"\\Callback\\NtioEvent", TRUE, TRUE, &x), STATUS_OBJECT_TYPE_MISMATCH);
    ZwClose(ev);
    // Unnamed, with Create: an object nobody else can open.
    ASSERT_EQ(create(nullptr, TRUE, TRUE, &x), STATUS_SUCCESS);
    EXPECT_NE(x, a);
    ObDereferenceObject(x);
    ObDereferenceObject(a);
    // The last reference took the name with it.
    EXPECT_EQ(create(L"\\Callback\\NtioTest", FALSE, TRUE, &a), STATUS_OBJECT_NAME_NOT_FOUND);
}

TEST_F(Callback, NotifyCallsEveryRoutineInRegistrationOrderAtTheCallersIrql_S_CB_2) {
    PCALLBACK_OBJECT o = nullptr;
    ASSERT_EQ(create(L"\\Callback\\NtioOrder", TRUE, TRUE, &o), STATUS_SUCCESS);
    Context c1{1}, c2{2}, c3{3};
    PVOID r1 = ExRegisterCallback(o, routine, &c1);
    PVOID r2 = ExRegisterCallback(o, routine, &c2);
    PVOID r3 = ExRegisterCallback(o, routine, &c3);
    ASSERT_TRUE(r1 && r2 && r3);
    int x = 0, y = 0;
    ExNotifyCallback(o, &x, &y);
    {
        std::lock_guard g(g_lock);
        ASSERT_EQ(g_calls.size(), 3u);
        for (const Call& c : g_calls) {
            EXPECT_EQ(c.a1, &x);
            EXPECT_EQ(c.a2, &y);
            EXPECT_EQ(c.irql, PASSIVE_LEVEL);
        }
    }
    EXPECT_EQ(who_was_called(), std::vector<int>({1, 2, 3}));
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExNotifyCallback(o, nullptr, nullptr);
    KeLowerIrql(old);
    {
        std::lock_guard g(g_lock);
        ASSERT_EQ(g_calls.size(), 3u);
        for (const Call& c : g_calls) EXPECT_EQ(c.irql, DISPATCH_LEVEL);
    }
    who_was_called();
    ExUnregisterCallback(r2);
    ExNotifyCallback(o, nullptr, nullptr);
    EXPECT_EQ(who_was_called(), std::vector<int>({1, 3}));
    ExUnregisterCallback(r1);
    ExUnregisterCallback(r3);
    ExNotifyCallback(o, nullptr, nullptr);
    EXPECT_TRUE(who_was_called().empty());
    ObDereferenceObject(o);
}

TEST_F(Callback, ASingleCallbackObjectRefusesASecondRegistration_S_CB_3) {
    PCALLBACK_OBJECT o = nullptr;
    ASSERT_EQ(create(L"\\Callback\\NtioSingle", TRUE, FALSE, &o), STATUS_SUCCESS);
    Context c1{1}, c2{2};
    PVOID r1 = ExRegisterCallback(o, routine, &c1);
    ASSERT_NE(r1, nullptr);
    EXPECT_EQ(ExRegisterCallback(o, routine, &c2), nullptr);
    // AllowMultipleCallbacks is the creator's choice: an opener's TRUE changes nothing.
    PCALLBACK_OBJECT again = nullptr;
    ASSERT_EQ(create(L"\\Callback\\NtioSingle", TRUE, TRUE, &again), STATUS_SUCCESS);
    EXPECT_EQ(ExRegisterCallback(again, routine, &c2), nullptr);
    ObDereferenceObject(again);
    ExUnregisterCallback(r1);
    PVOID r2 = ExRegisterCallback(o, routine, &c2);
    ASSERT_NE(r2, nullptr);
    ExNotifyCallback(o, nullptr, nullptr);
    EXPECT_EQ(who_was_called(), std::vector<int>({2}));
    ExUnregisterCallback(r2);
    ObDereferenceObject(o);
}

TEST_F(Callback, ARegistrationKeepsTheObjectAndItsName_S_CB_4) {
    PCALLBACK_OBJECT o = nullptr;
    ASSERT_EQ(create(L"\\Callback\\NtioKept", TRUE, TRUE, &o), STATUS_SUCCESS);
    Context c1{1};
    PVOID r1 = ExRegisterCallback(o, routine, &c1);
    ASSERT_NE(r1, nullptr);
    ObDereferenceObject(o);  // the creator lets go; the registration holds it
    PCALLBACK_OBJECT opened = nullptr;
    ASSERT_EQ(create(L"\\Callback\\NtioKept", FALSE, FALSE, &opened), STATUS_SUCCESS);
    EXPECT_EQ(opened, o);
    ExNotifyCallback(opened, nullptr, nullptr);
    EXPECT_EQ(who_was_called(), std::vector<int>({1}));
    ObDereferenceObject(opened);
    ExUnregisterCallback(r1);  // the last reference
    EXPECT_EQ(create(L"\\Callback\\NtioKept", FALSE, FALSE, &opened), STATUS_OBJECT_NAME_NOT_FOUND);
    EXPECT_EQ(sys.leak_report(), "");
}

TEST_F(Callback, UnregisterWaitsForACallInProgressUnlessTheRoutineUnregistersItself_S_CB_5) {
    PCALLBACK_OBJECT o = nullptr;
    ASSERT_EQ(create(L"\\Callback\\NtioBusy", TRUE, TRUE, &o), STATUS_SUCCESS);
    KEVENT inside, go;
    KeInitializeEvent(&inside, NotificationEvent, FALSE);
    KeInitializeEvent(&go, NotificationEvent, FALSE);
    Context c1{1};
    c1.inside = &inside;
    c1.go = &go;
    PVOID r1 = ExRegisterCallback(o, routine, &c1);
    ASSERT_NE(r1, nullptr);
    HANDLE notifier = spawn([&] { ExNotifyCallback(o, nullptr, nullptr); });
    LARGE_INTEGER timeout = relative_ms(5000);
    ASSERT_EQ(KeWaitForSingleObject(&inside, Executive, KernelMode, FALSE, &timeout), STATUS_SUCCESS);
    std::atomic<bool> returned{false};
    HANDLE unregisterer = spawn([&] {
        ExUnregisterCallback(r1);
        returned = true;
    });
    LARGE_INTEGER pause = relative_ms(500);
    KeDelayExecutionThread(KernelMode, FALSE, &pause);
    EXPECT_FALSE(returned.load()) << "the routine is still running";
    KeSetEvent(&go, IO_NO_INCREMENT, FALSE);
    ASSERT_EQ(WaitForSingleObject(unregisterer, 5000), WAIT_OBJECT_0);
    ASSERT_EQ(WaitForSingleObject(notifier, 5000), WAIT_OBJECT_0);
    CloseHandle(unregisterer);
    CloseHandle(notifier);
    EXPECT_TRUE(returned.load());
    who_was_called();

    // A routine that unregisters itself returns; the routines after it still run once.
    Context c2{2}, c3{3};
    PVOID r2 = ExRegisterCallback(o, routine, &c2);
    PVOID r3 = ExRegisterCallback(o, routine, &c3);
    c2.unregister_me = r2;
    ExNotifyCallback(o, nullptr, nullptr);
    EXPECT_EQ(who_was_called(), std::vector<int>({2, 3}));
    ExNotifyCallback(o, nullptr, nullptr);
    EXPECT_EQ(who_was_called(), std::vector<int>({3}));
    ExUnregisterCallback(r3);
    ObDereferenceObject(o);
}

// S-VER-EX-5: a registration is freed by whichever unregistering takes it off the runtime's
// list first; unregistering it again is reported and does nothing (it would read freed
// memory), and the object keeps working for the registrations left.
TEST_F(Callback, UnregisteringTwiceIsReportedAndDoesNothing_S_VER_EX_5) {
    ntio::testing::VerifierGuard verifier;
    PCALLBACK_OBJECT o = nullptr;
    ASSERT_EQ(create(L"\\Callback\\Twice", TRUE, TRUE, &o), STATUS_SUCCESS);
    Context c1{1}, c2{2};
    PVOID r1 = ExRegisterCallback(o, routine, &c1);
    PVOID r2 = ExRegisterCallback(o, routine, &c2);
    ASSERT_TRUE(r1 && r2);
    ExUnregisterCallback(r1);
    EXPECT_DRIVER_BUG("InvalidParameter", ExUnregisterCallback(r1));
    ExNotifyCallback(o, nullptr, nullptr);
    EXPECT_EQ(who_was_called(), std::vector<int>{2});
    ExUnregisterCallback(r2);
    ObDereferenceObject(o);
}

}  // namespace
