// Per-handle attributes (S-OBH): HANDLE_FLAG_INHERIT and HANDLE_FLAG_PROTECT_FROM_CLOSE,
// what closes and duplicates do with them, their NT and kernel forms
// (NtQueryObject/NtSetInformationObject(ObjectHandleFlagInformation), ObSetHandleAttributes,
// OBJECT_HANDLE_INFORMATION.HandleAttributes), and the process's exit closing protected
// handles too.
#include <optional>

#include "drivers/test_driver.hpp"
#include "ntio/gtest.hpp"
#include "test_support.hpp"

namespace {

class HandleFlags : public ntio::testing::DriverTest {};

DWORD flags_of(HANDLE h) {
    DWORD flags = 0xdead;
    EXPECT_TRUE(GetHandleInformation(h, &flags)) << "error " << GetLastError();
    return flags;
}

HANDLE new_event(BOOL inherit = FALSE) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, nullptr, inherit};
    return CreateEventW(&sa, TRUE, FALSE, nullptr);
}

TEST_F(HandleFlags, S_OBH_1_NewHandlesCarryTheInheritFlagTheyWereAskedFor) {
    HANDLE plain = new_event(FALSE), inheritable = new_event(TRUE);
    EXPECT_EQ(flags_of(plain), 0u);
    EXPECT_EQ(flags_of(inheritable), static_cast<DWORD>(HANDLE_FLAG_INHERIT));
    HANDLE opened = nullptr;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, nullptr, OBJ_INHERIT, nullptr, nullptr);
    ASSERT_EQ(NtCreateEvent(&opened, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    EXPECT_EQ(flags_of(opened), static_cast<DWORD>(HANDLE_FLAG_INHERIT)) << "OBJ_INHERIT is the NT form";
    HANDLE named = CreateEventW(nullptr, TRUE, FALSE, L"NtioObh1");
    HANDLE reopened = OpenEventW(SYNCHRONIZE, TRUE, L"NtioObh1");
    ASSERT_NE(reopened, nullptr);
    EXPECT_EQ(flags_of(named), 0u);
    EXPECT_EQ(flags_of(reopened), static_cast<DWORD>(HANDLE_FLAG_INHERIT)) << "a flag of the handle, not the object";
    for (HANDLE h : {plain, inheritable, opened, named, reopened}) EXPECT_TRUE(CloseHandle(h));
}

TEST_F(HandleFlags, S_OBH_1_SetChangesOnlyTheMaskedFlags) {
    HANDLE h = new_event();
    ASSERT_TRUE(SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE));
    EXPECT_EQ(flags_of(h), static_cast<DWORD>(HANDLE_FLAG_INHERIT)) << "protect was not in the mask";
    ASSERT_TRUE(SetHandleInformation(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));
    EXPECT_EQ(flags_of(h), static_cast<DWORD>(HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE));
    ASSERT_TRUE(SetHandleInformation(h, 0xFFFFFFFF, 0)) << "bits beyond the two flags are ignored";
    EXPECT_EQ(flags_of(h), 0u);
    ASSERT_TRUE(SetHandleInformation(h, 0, HANDLE_FLAG_INHERIT)) << "an empty mask changes nothing";
    EXPECT_EQ(flags_of(h), 0u);
    EXPECT_TRUE(CloseHandle(h));
}

TEST_F(HandleFlags, S_OBH_2_AProtectedHandleDoesNotCloseAndStaysUsable) {
    HANDLE h = new_event();
    ASSERT_TRUE(SetHandleInformation(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));
    SetLastError(0);
    EXPECT_FALSE(CloseHandle(h));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_EQ(NtClose(h), STATUS_HANDLE_NOT_CLOSABLE);
    EXPECT_TRUE(SetEvent(h)) << "the handle is still open";
    EXPECT_EQ(WaitForSingleObject(h, 0), WAIT_OBJECT_0);
    EXPECT_EQ(sys.open_handles(), 1u);
    ASSERT_TRUE(SetHandleInformation(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, 0));
    EXPECT_TRUE(CloseHandle(h)) << "unprotected, it closes";
    EXPECT_EQ(sys.open_handles(), 0u);
    EXPECT_FALSE(SetEvent(h));
}

TEST_F(HandleFlags, S_OBH_4_ADuplicateTakesItsFlagsFromTheCallNotFromTheSource) {
    HANDLE src = new_event(TRUE);
    ASSERT_TRUE(SetHandleInformation(src, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));
    HANDLE plain = nullptr, inheritable = nullptr, same = nullptr, protect = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), src, GetCurrentProcess(), &plain, 0, FALSE, DUPLICATE_SAME_ACCESS));
    EXPECT_EQ(flags_of(plain), 0u) << "neither the source's inherit nor its protection";
    ASSERT_TRUE(
        DuplicateHandle(GetCurrentProcess(), src, GetCurrentProcess(), &inheritable, 0, TRUE, DUPLICATE_SAME_ACCESS));
    EXPECT_EQ(flags_of(inheritable), static_cast<DWORD>(HANDLE_FLAG_INHERIT));
    // DUPLICATE_SAME_ATTRIBUTES: the source's flags, whatever the call asks.
    ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), src, NtCurrentProcess(), &same, 0, 0,
                                DUPLICATE_SAME_ACCESS | DUPLICATE_SAME_ATTRIBUTES),
              STATUS_SUCCESS);
    EXPECT_EQ(flags_of(same), static_cast<DWORD>(HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE));
    HANDLE again = nullptr;
    ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), plain, NtCurrentProcess(), &again, 0, OBJ_INHERIT,
                                DUPLICATE_SAME_ACCESS | DUPLICATE_SAME_ATTRIBUTES),
              STATUS_SUCCESS);
    EXPECT_EQ(flags_of(again), 0u) << "the source's (none), not OBJ_INHERIT";
    // OBJ_PROTECT_CLOSE in NtDuplicateObject's attributes protects the new handle.
    ASSERT_EQ(NtDuplicateObject(NtCurrentProcess(), plain, NtCurrentProcess(), &protect, 0, OBJ_PROTECT_CLOSE,
                                DUPLICATE_SAME_ACCESS),
              STATUS_SUCCESS);
    EXPECT_EQ(flags_of(protect), static_cast<DWORD>(HANDLE_FLAG_PROTECT_FROM_CLOSE));
    EXPECT_EQ(NtClose(protect), STATUS_HANDLE_NOT_CLOSABLE);
    for (HANDLE h : {src, same, protect}) ASSERT_TRUE(SetHandleInformation(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, 0));
    for (HANDLE h : {src, plain, inheritable, same, again, protect}) EXPECT_TRUE(CloseHandle(h));
    EXPECT_EQ(sys.open_handles(), 0u);
}

TEST_F(HandleFlags, S_OBH_4_CloseSourceLeavesAProtectedSourceOpenAndStillDuplicates) {
    HANDLE src = new_event();
    ASSERT_TRUE(SetHandleInformation(src, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));
    HANDLE dup = nullptr;
    SetLastError(0);
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), src, GetCurrentProcess(), &dup, 0, FALSE,
                                DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE))
        << "the source's close failing is not the call's error";
    EXPECT_NE(dup, src);
    EXPECT_TRUE(SetEvent(src)) << "the protected source is still open";
    EXPECT_EQ(flags_of(dup), 0u);
    EXPECT_EQ(sys.open_handles(), 2u);
    // An unprotected source is closed, also when the duplicate itself fails.
    HANDLE other = new_event();
    HANDLE dup2 = nullptr;
    ASSERT_TRUE(DuplicateHandle(GetCurrentProcess(), other, GetCurrentProcess(), &dup2, 0, FALSE,
                                DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    EXPECT_FALSE(SetEvent(other)) << "closed";
    HANDLE third = new_event();
    EXPECT_FALSE(DuplicateHandle(GetCurrentProcess(), third, reinterpret_cast<HANDLE>(0x1234), &dup, 0, FALSE,
                                 DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE)) << "no such target process";
    EXPECT_FALSE(SetEvent(third)) << "closed although the duplicate failed, as DuplicateHandle documents";
    // No target at all: the call only closes the source, which a protected one survives.
    HANDLE fourth = new_event();
    EXPECT_TRUE(DuplicateHandle(GetCurrentProcess(), fourth, nullptr, nullptr, 0, FALSE, DUPLICATE_CLOSE_SOURCE));
    EXPECT_FALSE(SetEvent(fourth)) << "closed";
    EXPECT_TRUE(DuplicateHandle(GetCurrentProcess(), src, nullptr, nullptr, 0, FALSE, DUPLICATE_CLOSE_SOURCE));
    EXPECT_TRUE(SetEvent(src)) << "protected: still open";
    EXPECT_FALSE(DuplicateHandle(GetCurrentProcess(), src, nullptr, nullptr, 0, FALSE, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    ASSERT_TRUE(SetHandleInformation(src, HANDLE_FLAG_PROTECT_FROM_CLOSE, 0));
    for (HANDLE h : {src, dup, dup2}) EXPECT_TRUE(CloseHandle(h));
    EXPECT_EQ(sys.open_handles(), 0u);
}

TEST_F(HandleFlags, S_OBH_5_PseudoAndInvalidHandles) {
    DWORD flags = 0xdead;
    EXPECT_TRUE(GetHandleInformation(GetCurrentProcess(), &flags)) << "a pseudo handle has no flags";
    EXPECT_EQ(flags, 0u);
    EXPECT_TRUE(GetHandleInformation(GetCurrentThread(), &flags));
    EXPECT_FALSE(SetHandleInformation(GetCurrentProcess(), HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED)) << "and cannot be given any";
    EXPECT_FALSE(SetHandleInformation(GetCurrentThread(), HANDLE_FLAG_PROTECT_FROM_CLOSE, 0));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_ACCESS_DENIED));
    for (HANDLE bad : {static_cast<HANDLE>(nullptr), reinterpret_cast<HANDLE>(0x7770), INVALID_HANDLE_VALUE}) {
        if (bad == INVALID_HANDLE_VALUE) continue;  // that is GetCurrentProcess()
        EXPECT_FALSE(GetHandleInformation(bad, &flags));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
        EXPECT_FALSE(SetHandleInformation(bad, HANDLE_FLAG_INHERIT, 0));
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    }
}

TEST_F(HandleFlags, S_OBH_5_NtQueryAndSetInformationObject) {
    HANDLE h = new_event(TRUE);
    OBJECT_HANDLE_FLAG_INFORMATION info = {FALSE, FALSE};
    ULONG returned = 0;
    ASSERT_EQ(NtQueryObject(h, ObjectHandleFlagInformation, &info, sizeof info, &returned), STATUS_SUCCESS);
    EXPECT_TRUE(info.Inherit);
    EXPECT_FALSE(info.ProtectFromClose);
    EXPECT_EQ(returned, sizeof info);
    EXPECT_EQ(NtQueryObject(h, ObjectHandleFlagInformation, &info, 1, &returned), STATUS_INFO_LENGTH_MISMATCH);
    OBJECT_HANDLE_FLAG_INFORMATION set = {FALSE, TRUE};
    EXPECT_EQ(NtSetInformationObject(h, ObjectHandleFlagInformation, &set, 1), STATUS_INFO_LENGTH_MISMATCH);
    EXPECT_EQ(NtSetInformationObject(h, ObjectHandleFlagInformation, &set, 4), STATUS_INFO_LENGTH_MISMATCH);
    ASSERT_EQ(NtSetInformationObject(h, ObjectHandleFlagInformation, &set, sizeof set), STATUS_SUCCESS);
    EXPECT_EQ(flags_of(h), static_cast<DWORD>(HANDLE_FLAG_PROTECT_FROM_CLOSE));
    EXPECT_EQ(NtSetInformationObject(NtCurrentProcess(), ObjectHandleFlagInformation, &set, sizeof set),
              STATUS_ACCESS_DENIED);
    EXPECT_EQ(NtSetInformationObject(h, ObjectBasicInformation, &set, sizeof set), STATUS_INVALID_INFO_CLASS);
    EXPECT_EQ(NtQueryObject(h, static_cast<OBJECT_INFORMATION_CLASS>(77), &info, sizeof info, nullptr),
              STATUS_INVALID_INFO_CLASS);
    set.ProtectFromClose = FALSE;
    ASSERT_EQ(ZwSetInformationObject(h, ObjectHandleFlagInformation, &set, sizeof set), STATUS_SUCCESS);
    EXPECT_EQ(ZwClose(h), STATUS_SUCCESS);
}

// The kernel's form: ObSetHandleAttributes with the caller's mode, and the attributes
// ObReferenceObjectByHandle reports.
TEST_F(HandleFlags, S_OBH_7_KernelHandlesAndObReferenceObjectByHandleAttributes) {
    HANDLE k = nullptr;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, nullptr, OBJ_KERNEL_HANDLE, nullptr, nullptr);
    ASSERT_EQ(ZwCreateEvent(&k, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    OBJECT_HANDLE_FLAG_INFORMATION info = {TRUE, TRUE};
    EXPECT_EQ(ObSetHandleAttributes(k, &info, UserMode), STATUS_INVALID_HANDLE) << "user mode has no kernel handles";
    ASSERT_EQ(ObSetHandleAttributes(k, &info, KernelMode), STATUS_SUCCESS);
    PVOID obj = nullptr;
    OBJECT_HANDLE_INFORMATION hi = {0xdead, 0};
    ASSERT_EQ(ObReferenceObjectByHandle(k, 0, nullptr, KernelMode, &obj, &hi), STATUS_SUCCESS);
    EXPECT_EQ(hi.HandleAttributes, static_cast<ULONG>(OBJ_INHERIT | OBJ_PROTECT_CLOSE));
    ObDereferenceObject(obj);
    info = {FALSE, FALSE};
    ASSERT_EQ(ObSetHandleAttributes(k, &info, KernelMode), STATUS_SUCCESS);
    ASSERT_EQ(ObReferenceObjectByHandle(k, 0, nullptr, KernelMode, &obj, &hi), STATUS_SUCCESS);
    EXPECT_EQ(hi.HandleAttributes, 0u);
    ObDereferenceObject(obj);
    EXPECT_EQ(ZwClose(k), STATUS_SUCCESS);
}

// S-OBH-6: a protected handle does not outlive the process: the exit closes every handle,
// protected or not, so the driver sees its cleanup and close and nothing leaks.
TEST(HandleFlagsAtExit, S_OBH_6_TheExitClosesProtectedHandlesToo) {
    testdrv::reset();
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time});
        ASSERT_EQ(sys.load_driver("ntiotest",
                                  reinterpret_cast<ntio::System::DriverEntryFunction>(&testdrv::DriverEntry)),
                  STATUS_SUCCESS);
        HANDLE f = CreateFileW(L"\\\\.\\TestBuffered", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
        ASSERT_NE(f, INVALID_HANDLE_VALUE);
        ASSERT_TRUE(SetHandleInformation(f, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));
        HANDLE e = new_event();
        ASSERT_TRUE(SetHandleInformation(e, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE));
        EXPECT_FALSE(CloseHandle(f));
        EXPECT_EQ(testdrv::state().cleanups, 0);
        EXPECT_EQ(sys.open_handles(), 2u);
    }  // the runtime ends as the process would
    EXPECT_EQ(testdrv::state().cleanups, 1);
    EXPECT_EQ(testdrv::state().closes, 1);
    EXPECT_TRUE(testdrv::state().unloaded);
}

}  // namespace
