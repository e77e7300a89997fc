// Copies of a caller's buffer that are usually small: METHOD_BUFFERED input into the
// system buffer, and the output back. A call to memcpy costs as much again as copying
// 64 bytes inline (and makes its caller save registers), so up to 64 bytes are copied
// here, with two overlapping loads and stores of the widest size that fits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ntio::rtl {

namespace detail {
// A 16-byte vector: locals of this type stay in registers (a 32-byte array would be
// spilled to the stack between the loads and the stores).
typedef unsigned char Bytes16 __attribute__((vector_size(16), aligned(1)));

template <typename T>
[[gnu::always_inline]] inline T load(const void* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <typename T>
[[gnu::always_inline]] inline void store(void* p, T v) {
    std::memcpy(p, &v, sizeof v);
}

// sizeof(T) <= n <= 2 sizeof(T): [0, N) and [n - N, n) cover every byte. Both loads
// come before either store, so overlapping source and destination behave like memmove.
template <typename T>
[[gnu::always_inline]] inline void copy_head_and_tail(void* dst, const void* src, size_t n) {
    constexpr size_t N = sizeof(T);
    T head = load<T>(src), tail = load<T>(static_cast<const unsigned char*>(src) + n - N);
    store(dst, head);
    store(static_cast<unsigned char*>(dst) + n - N, tail);
}

// 32 <= n <= 64: two 16-byte halves at each end.
[[gnu::always_inline]] inline void copy_32_to_64(void* dst, const void* src, size_t n) {
    auto* s = static_cast<const unsigned char*>(src);
    auto* d = static_cast<unsigned char*>(dst);
    Bytes16 a = load<Bytes16>(s), b = load<Bytes16>(s + 16);
    Bytes16 c = load<Bytes16>(s + n - 32), e = load<Bytes16>(s + n - 16);
    store(d, a);
    store(d + 16, b);
    store(d + n - 32, c);
    store(d + n - 16, e);
}
}  // namespace detail

// At most 64 bytes (the caller knows): no call, whatever n is.
[[gnu::always_inline]] inline void copy_at_most_64(void* dst, const void* src, size_t n) {
    if (n >= 32) {
        detail::copy_32_to_64(dst, src, n);
    } else if (n >= 16) {
        detail::copy_head_and_tail<detail::Bytes16>(dst, src, n);
    } else if (n >= 8) {
        detail::copy_head_and_tail<uint64_t>(dst, src, n);
    } else if (n >= 4) {
        detail::copy_head_and_tail<uint32_t>(dst, src, n);
    } else if (n) {
        // 1 to 3 bytes: the first, the middle and the last.
        auto* d = static_cast<unsigned char*>(dst);
        auto* s = static_cast<const unsigned char*>(src);
        unsigned char first = s[0], middle = s[n / 2], last = s[n - 1];
        d[0] = first;
        d[n / 2] = middle;
        d[n - 1] = last;
    }
}

[[gnu::always_inline]] inline void copy_bytes(void* dst, const void* src, size_t n) {
    if (n > 64) [[unlikely]]
        std::memmove(dst, src, n);
    else
        copy_at_most_64(dst, src, n);
}

}  // namespace ntio::rtl
