// System threads and object references: S-KE-7 (one event, two views),
// S-KE-21..24.
#include <sys/syscall.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "test_support.hpp"

namespace {

using ntio::testing::relative_ms;
using ntio::testing::VirtualTimeTest;
class PsOb : public VirtualTimeTest {};

struct ThreadArgs {
    KEVENT stop;
    LONG ticks = 0;
};

VOID Ticker(PVOID ctx) {
    auto* a = static_cast<ThreadArgs*>(ctx);
    LARGE_INTEGER second = relative_ms(1000);
    while (KeWaitForSingleObject(&a->stop, Executive, KernelMode, FALSE, &second) == STATUS_TIMEOUT) ++a->ticks;
    PsTerminateSystemThread(STATUS_SUCCESS);
}

TEST_F(PsOb, S_KE_21_SystemThreadJoinedThroughItsObject) {
    ThreadArgs args;
    KeInitializeEvent(&args.stop, NotificationEvent, FALSE);
    HANDLE h;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, nullptr, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, nullptr, nullptr, Ticker, &args), STATUS_SUCCESS);
    PVOID thread;
    ASSERT_EQ(ObReferenceObjectByHandle(h, SYNCHRONIZE, *PsThreadType, KernelMode, &thread, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(ZwClose(h), STATUS_SUCCESS);  // the reference keeps the thread object alive
    LARGE_INTEGER d = relative_ms(5500);
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    KeSetEvent(&args.stop, IO_NO_INCREMENT, FALSE);
    EXPECT_EQ(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, nullptr), STATUS_SUCCESS);
    ObDereferenceObject(thread);
    EXPECT_EQ(args.ticks, 5);
    EXPECT_EQ(sys.open_handles(), 0u);
}

TEST_F(PsOb, S_KE_22_TerminateFromANonSystemThreadFails) {
    EXPECT_EQ(PsTerminateSystemThread(STATUS_SUCCESS), STATUS_INVALID_PARAMETER);
}

TEST_F(PsOb, S_KE_22_ReturningFromTheStartRoutineEndsTheThread) {
    HANDLE h;
    ASSERT_EQ(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, nullptr, [](PVOID) {}, nullptr),
              STATUS_SUCCESS);
    EXPECT_EQ(ZwWaitForSingleObject(h, FALSE, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(ZwClose(h), STATUS_SUCCESS);
}

TEST_F(PsOb, S_KE_23_ReferenceByHandleChecksTypeAccessAndMode) {
    HANDLE ev = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    PVOID obj = nullptr;
    // Wrong type.
    EXPECT_EQ(ObReferenceObjectByHandle(ev, SYNCHRONIZE, *PsThreadType, KernelMode, &obj, nullptr),
              STATUS_OBJECT_TYPE_MISMATCH);
    // NULL type accepts any object.
    ASSERT_EQ(ObReferenceObjectByHandle(ev, SYNCHRONIZE, nullptr, KernelMode, &obj, nullptr), STATUS_SUCCESS);
    ObDereferenceObject(obj);
    // Invalid and closed handles.
    EXPECT_EQ(ObReferenceObjectByHandle(reinterpret_cast<HANDLE>(0x7770), 0, nullptr, KernelMode, &obj, nullptr),
              STATUS_INVALID_HANDLE);
    HANDLE dup;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), ev, GetCurrentProcess(), &dup, SYNCHRONIZE, FALSE, 0));
    // UserMode checks the handle's granted access; KernelMode does not.
    EXPECT_EQ(ObReferenceObjectByHandle(dup, EVENT_MODIFY_STATE, *ExEventObjectType, UserMode, &obj, nullptr),
              STATUS_ACCESS_DENIED);
    ASSERT_EQ(ObReferenceObjectByHandle(dup, EVENT_MODIFY_STATE, *ExEventObjectType, KernelMode, &obj, nullptr),
              STATUS_SUCCESS);
    ObDereferenceObject(obj);
    CloseHandle(dup);
    EXPECT_EQ(ObReferenceObjectByHandle(dup, 0, nullptr, KernelMode, &obj, nullptr), STATUS_INVALID_HANDLE);
    CloseHandle(ev);
}

TEST_F(PsOb, S_KE_23_UserModeRejectsKernelHandles) {
    HANDLE h;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, nullptr, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    PVOID obj;
    EXPECT_EQ(ObReferenceObjectByHandle(h, SYNCHRONIZE, nullptr, UserMode, &obj, nullptr), STATUS_INVALID_HANDLE);
    EXPECT_FALSE(CloseHandle(h)) << "an application cannot close a kernel handle";
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_EQ(ZwClose(h), STATUS_SUCCESS);
}

TEST_F(PsOb, S_KE_7_KernelEventAndItsHandleAreOneObject) {
    HANDLE h;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, nullptr, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, SynchronizationEvent, FALSE), STATUS_SUCCESS);
    PVOID obj;
    ASSERT_EQ(ObReferenceObjectByHandle(h, SYNCHRONIZE, *ExEventObjectType, KernelMode, &obj, nullptr),
              STATUS_SUCCESS);
    LONG previous = -1;
    EXPECT_EQ(ZwSetEvent(h, &previous), STATUS_SUCCESS);
    EXPECT_EQ(previous, 0);
    EXPECT_EQ(KeReadStateEvent(static_cast<PKEVENT>(obj)), 1);
    LARGE_INTEGER z;
    z.QuadPart = 0;
    EXPECT_EQ(KeWaitForSingleObject(obj, Executive, KernelMode, FALSE, &z), STATUS_SUCCESS);
    EXPECT_EQ(ZwWaitForSingleObject(h, FALSE, &z), STATUS_TIMEOUT) << "the auto-reset is consumed once";
    ObDereferenceObject(obj);
    ZwClose(h);
}

// S-KE-7: IoCreateSynchronizationEvent/IoCreateNotificationEvent create a named event,
// signaled, or open the one that exists as it is; an application's OpenEvent by the
// Win32 name reaches the same object.
TEST_F(PsOb, S_KE_7_IoCreateEventsAreNamedStartSignaledAndShared) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\BaseNamedObjects\\NtioSKE7");
    HANDLE h = nullptr, again = nullptr;
    PKEVENT e = IoCreateSynchronizationEvent(&name, &h);
    ASSERT_NE(e, nullptr);
    LARGE_INTEGER z;
    z.QuadPart = 0;
    EXPECT_EQ(KeWaitForSingleObject(e, Executive, KernelMode, FALSE, &z), STATUS_SUCCESS) << "created signaled";
    EXPECT_EQ(KeWaitForSingleObject(e, Executive, KernelMode, FALSE, &z), STATUS_TIMEOUT) << "auto-reset";
    EXPECT_EQ(IoCreateSynchronizationEvent(&name, &again), e) << "the existing event, opened";
    EXPECT_NE(again, h);
    EXPECT_EQ(KeReadStateEvent(e), 0) << "opening leaves its state alone";
    HANDLE app = OpenEventW(SYNCHRONIZE | EVENT_MODIFY_STATE, FALSE, L"NtioSKE7");
    ASSERT_NE(app, nullptr);
    EXPECT_TRUE(SetEvent(app));
    EXPECT_EQ(KeReadStateEvent(e), 1) << "one object behind both names";
    CloseHandle(app);
    ZwClose(again);
    ZwClose(h);
    UNICODE_STRING other = RTL_CONSTANT_STRING(L"\\BaseNamedObjects\\NtioSKE7n");
    PKEVENT n = IoCreateNotificationEvent(&other, &h);
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(KeReadStateEvent(n), 1);
    EXPECT_EQ(KeWaitForSingleObject(n, Executive, KernelMode, FALSE, &z), STATUS_SUCCESS);
    EXPECT_EQ(KeReadStateEvent(n), 1) << "a notification event stays signaled";
    ZwClose(h);
    EXPECT_EQ(IoCreateNotificationEvent(nullptr, &h), nullptr);
}

TEST_F(PsOb, S_KE_24_ObjectLivesWhileReferencedAfterZwClose) {
    HANDLE h;
    ASSERT_EQ(ZwCreateEvent(&h, EVENT_ALL_ACCESS, nullptr, NotificationEvent, FALSE), STATUS_SUCCESS);
    PVOID obj;
    ASSERT_EQ(ObReferenceObjectByHandle(h, 0, nullptr, KernelMode, &obj, nullptr), STATUS_SUCCESS);
    EXPECT_EQ(ZwClose(h), STATUS_SUCCESS);
    EXPECT_EQ(ZwClose(h), STATUS_INVALID_HANDLE);
    KeSetEvent(static_cast<PKEVENT>(obj), IO_NO_INCREMENT, FALSE);  // still a valid object
    EXPECT_EQ(KeReadStateEvent(static_cast<PKEVENT>(obj)), 1);
    ObDereferenceObject(obj);
}

TEST_F(PsOb, CurrentThreadAndProcessIdentity) {
    EXPECT_EQ(HandleToULong(PsGetCurrentThreadId()), GetCurrentThreadId());
    EXPECT_EQ(PsGetThreadId(PsGetCurrentThread()), PsGetCurrentThreadId());
    EXPECT_FALSE(PsIsSystemThread(PsGetCurrentThread()));
    EXPECT_EQ(KeGetCurrentThread(), reinterpret_cast<PKTHREAD>(PsGetCurrentThread()));
    EXPECT_EQ(HandleToULong(PsGetCurrentProcessId()), GetCurrentProcessId());
}

// What code sees of its process and thread in one context.
struct Identity {
    HANDLE pid = nullptr;
    HANDLE tid = nullptr;
    PEPROCESS process = nullptr;
    PEPROCESS io_process = nullptr;
    HANDLE thread_pid = nullptr;  // PsGetThreadProcessId(PsGetCurrentThread())
    PEPROCESS by_handle = nullptr;  // ObReferenceObjectByHandle(NtCurrentProcess())
    KEVENT done;
    Identity() { KeInitializeEvent(&done, NotificationEvent, FALSE); }
    void take() {
        pid = PsGetCurrentProcessId();
        tid = PsGetCurrentThreadId();
        process = PsGetCurrentProcess();
        io_process = IoGetCurrentProcess();
        thread_pid = PsGetThreadProcessId(PsGetCurrentThread());
        PVOID p = nullptr;
        if (NT_SUCCESS(ObReferenceObjectByHandle(NtCurrentProcess(), 0, *PsProcessType, KernelMode, &p, nullptr))) {
            by_handle = static_cast<PEPROCESS>(p);
            ObDereferenceObject(p);
        }
        KeSetEvent(&done, IO_NO_INCREMENT, FALSE);
    }
    void expect_system(const char* where) const {
        EXPECT_EQ(HandleToULong(pid), 4u) << where;
        EXPECT_EQ(process, PsInitialSystemProcess) << where;
        EXPECT_EQ(io_process, PsInitialSystemProcess) << where;
        EXPECT_EQ(HandleToULong(thread_pid), 4u) << where;
        EXPECT_EQ(by_handle, PsInitialSystemProcess) << where;
        EXPECT_EQ(HandleToULong(tid) % 4, 0u) << where;
        EXPECT_NE(HandleToULong(tid), 4u) << where;
    }
};

VOID IdentityInSystemThread(PVOID ctx) { static_cast<Identity*>(ctx)->take(); }
VOID IdentityInDpc(PKDPC, PVOID ctx, PVOID, PVOID) { static_cast<Identity*>(ctx)->take(); }
VOID IdentityInWorkItem(PVOID ctx) { static_cast<Identity*>(ctx)->take(); }

// S-PS-1: system threads, DPCs and work items run in the System process (id 4,
// PsInitialSystemProcess); the program's own threads in the program's process, the
// Linux process.
TEST_F(PsOb, S_PS_1_SystemContextIsTheSystemProcess) {
    ASSERT_NE(PsInitialSystemProcess, nullptr);
    EXPECT_EQ(HandleToULong(PsGetProcessId(PsInitialSystemProcess)), 4u);

    Identity thread;
    HANDLE h;
    CLIENT_ID cid{};
    ASSERT_EQ(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, nullptr, nullptr, &cid, IdentityInSystemThread, &thread),
              STATUS_SUCCESS);
    KeWaitForSingleObject(&thread.done, Executive, KernelMode, FALSE, nullptr);
    ZwClose(h);
    thread.expect_system("system thread");
    EXPECT_EQ(HandleToULong(cid.UniqueProcess), 4u) << "CLIENT_ID of a system thread";
    EXPECT_EQ(cid.UniqueThread, thread.tid);

    Identity dpc_seen;
    KDPC dpc;
    KeInitializeDpc(&dpc, IdentityInDpc, &dpc_seen);
    KeInsertQueueDpc(&dpc, nullptr, nullptr);
    KeFlushQueuedDpcs();
    dpc_seen.expect_system("DPC");

    Identity work;
    WORK_QUEUE_ITEM item;
    ExInitializeWorkItem(&item, IdentityInWorkItem, &work);
    ExQueueWorkItem(&item, DelayedWorkQueue);
    KeWaitForSingleObject(&work.done, Executive, KernelMode, FALSE, nullptr);
    work.expect_system("work item");

    Identity program;
    program.take();
    EXPECT_EQ(HandleToULong(program.pid), static_cast<ULONG>(getpid()));
    EXPECT_EQ(HandleToULong(program.pid), GetCurrentProcessId());
    EXPECT_NE(program.process, PsInitialSystemProcess);
    EXPECT_EQ(program.io_process, program.process);
    EXPECT_EQ(program.by_handle, program.process);
    EXPECT_EQ(PsGetProcessId(program.process), program.pid);
    EXPECT_EQ(program.thread_pid, program.pid);
    Identity other;
    std::thread([&] { other.take(); }).join();
    EXPECT_EQ(other.pid, program.pid) << "another thread of the program";
    EXPECT_EQ(other.process, program.process);
}

// S-PS-2: thread ids are multiples of 4 and never a process id, the main thread's
// included (its Linux tid is the process id); every way to learn or use one agrees.
TEST_F(PsOb, S_PS_2_ThreadIdsAreNeverProcessIds) {
    DWORD me = GetCurrentThreadId();
    EXPECT_EQ(me % 4, 0u);
    EXPECT_NE(me, GetCurrentProcessId());
    EXPECT_NE(me, 4u);
    EXPECT_EQ(HandleToULong(PsGetCurrentThreadId()), me);
    EXPECT_EQ(HandleToULong(PsGetThreadId(PsGetCurrentThread())), me);
    EXPECT_EQ(GetCurrentThreadId(), me) << "stable";
    if (getpid() == static_cast<pid_t>(syscall(SYS_gettid))) {
        EXPECT_NE(me, static_cast<DWORD>(getpid())) << "the main thread";
    }

    std::set<DWORD> ids{me, GetCurrentProcessId(), 4u};
    auto routine = [](LPVOID p) -> DWORD {
        *static_cast<DWORD*>(p) = GetCurrentThreadId();
        return 0;
    };
    DWORD seen = 0, created = 0;
    HANDLE t = CreateThread(nullptr, 0, routine, &seen, 0, &created);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(GetThreadId(t), created) << "known before the thread runs";
    HANDLE opened = OpenThread(THREAD_QUERY_LIMITED_INFORMATION | SYNCHRONIZE, FALSE, created);
    ASSERT_NE(opened, nullptr) << GetLastError();
    EXPECT_EQ(WaitForSingleObject(t, 5000), WAIT_OBJECT_0);
    EXPECT_EQ(seen, created);
    EXPECT_EQ(GetThreadId(opened), created);
    EXPECT_EQ(created % 4, 0u);
    EXPECT_TRUE(ids.insert(created).second) << "a new id";
    CloseHandle(opened);
    CloseHandle(t);

    DWORD adopted = 0;
    std::thread([&] { adopted = GetCurrentThreadId(); }).join();
    EXPECT_EQ(adopted % 4, 0u);
    EXPECT_TRUE(ids.insert(adopted).second) << "a new id for a thread the runtime adopted";
}

}  // namespace
