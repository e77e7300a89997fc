// Push locks (S-PL-1..4, docs/design.md): the pointer-sized reader/writer lock of wdm.h.
// On Windows a push lock and an SRW lock are the same lock, so ntio's is the SRW lock's
// word (ke/rw_word.hpp): waiters block in the dispatcher and count as blocked for the
// virtual clock. What the word cannot hold is an owner, so recursion is not detected
// (Windows hangs, and so does ntio); what it can tell is reported as PushLockMisuse.
#include <fmt/format.h>

#include "ke/rw_word.hpp"
#include "verifier/report.hpp"
#include "wdm.h"

namespace {

namespace rw = ntio::ke::rw_word;

uintptr_t* word(PEX_PUSH_LOCK l) { return reinterpret_cast<uintptr_t*>(l); }

void misuse(std::string text) {
    ntio::verifier::report(ntio::verifier::Check::PushLockMisuse, std::move(text));
}

void check_flags(ULONG flags, const char* api) {
    if (flags != EX_DEFAULT_PUSH_LOCK_FLAGS)
        misuse(fmt::format("{} with Flags {:#x}: the only flags a driver may pass are EX_DEFAULT_PUSH_LOCK_FLAGS "
                           "(0); the call goes on as with 0",
                           api, flags));
}

// The WDK's rule for every acquisition: normal kernel APCs off (KeEnterCriticalRegion,
// a guarded region or APC_LEVEL), at IRQL <= APC_LEVEL, as for an ERESOURCE.
void check_acquire(ULONG flags, const char* api) {
    check_flags(flags, api);
    ntio::verifier::check_irql_at_most(APC_LEVEL, api);
    if (!KeAreApcsDisabled())
        misuse(fmt::format("{} outside a critical region: call KeEnterCriticalRegion first (or acquire at "
                           "APC_LEVEL), or a suspended owner can deadlock the system",
                           api));
}

}  // namespace

extern "C" {

VOID ExInitializePushLock(PEX_PUSH_LOCK PushLock) { *PushLock = 0; }

VOID ExAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags) {
    check_acquire(Flags, "ExAcquirePushLockExclusiveEx");
    rw::acquire_exclusive(word(PushLock));
}

VOID ExAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags) {
    check_acquire(Flags, "ExAcquirePushLockSharedEx");
    rw::acquire_shared(word(PushLock));
}

BOOLEAN ExTryAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags) {
    check_acquire(Flags, "ExTryAcquirePushLockExclusiveEx");
    return rw::try_acquire_exclusive(word(PushLock));
}

BOOLEAN ExTryAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags) {
    check_acquire(Flags, "ExTryAcquirePushLockSharedEx");
    return rw::try_acquire_shared(word(PushLock));
}

// A release in a mode the lock is not held in would corrupt the word (Windows corrupts
// the lock and hangs or lets two owners in later); ntio reports it and changes nothing.
VOID ExReleasePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags) {
    check_flags(Flags, "ExReleasePushLockExclusiveEx");
    if (!(rw::load(word(PushLock)) & rw::kWriter)) {
        misuse(fmt::format("ExReleasePushLockExclusiveEx({}) of a push lock that is not held exclusive; nothing "
                           "changed",
                           static_cast<void*>(PushLock)));
        return;
    }
    rw::release_exclusive(word(PushLock));
}

VOID ExReleasePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags) {
    check_flags(Flags, "ExReleasePushLockSharedEx");
    uintptr_t s = rw::load(word(PushLock));
    if ((s & rw::kWriter) || s < rw::kReader) {
        misuse(fmt::format("ExReleasePushLockSharedEx({}) of a push lock that is not held shared; nothing changed",
                           static_cast<void*>(PushLock)));
        return;
    }
    rw::release_shared(word(PushLock));
}

}  // extern "C"
