// Acquisitions of a lock its owner already held, which the verifier reports and lets
// through (SPIN_LOCK_ALREADY_OWNED, FastMutexMisuse). Windows deadlocks there; a
// program that is only being told about its bugs (the check set to report) goes on
// instead: the next release of that lock by the same thread ends the inner acquisition
// and leaves the lock held for the outer one, so a balanced acquire/release pair in the
// driver keeps its meaning. Each thread keeps a small stack per kind of lock; beyond
// kMax nested acquisitions the thread waits, as on Windows.
#pragma once

namespace ntio::ke {

template <typename Lock>
struct Reentered {
    static constexpr int kMax = 8;
    Lock* locks[kMax]{};
    int count = 0;

    // Records an inner acquisition of `lock`; false when the stack is full.
    bool push(Lock* lock) {
        if (count == kMax) return false;
        locks[count++] = lock;
        return true;
    }
    // True (and forgotten) when `lock` has an inner acquisition let through. Callers
    // test `count` first: the common case is an empty stack.
    [[gnu::noinline, gnu::cold]] bool end(Lock* lock) {
        for (int i = count - 1; i >= 0; --i) {
            if (locks[i] != lock) continue;
            for (int j = i + 1; j < count; ++j) locks[j - 1] = locks[j];
            --count;
            return true;
        }
        return false;
    }
};

}  // namespace ntio::ke
