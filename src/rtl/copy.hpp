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
template <size_t N>
[[gnu::always_inline]] inline void copy_head_and_tail(void* dst, const void* src, size_t n) {
    // N <= n <= 2N: [0, N) and [n - N, n) cover every byte. Both loads come before
    // either store, so overlapping source and destination behave like memmove.
    unsigned char head[N], tail[N];
    std::memcpy(head, src, N);
    std::memcpy(tail, static_cast<const unsigned char*>(src) + n - N, N);
    std::memcpy(dst, head, N);
    std::memcpy(static_cast<unsigned char*>(dst) + n - N, tail, N);
}
}  // namespace detail

[[gnu::always_inline]] inline void copy_bytes(void* dst, const void* src, size_t n) {
    if (n > 64) [[unlikely]] {
        std::memmove(dst, src, n);
    } else if (n >= 32) {
        detail::copy_head_and_tail<32>(dst, src, n);
    } else if (n >= 16) {
        detail::copy_head_and_tail<16>(dst, src, n);
    } else if (n >= 8) {
        detail::copy_head_and_tail<8>(dst, src, n);
    } else if (n >= 4) {
        detail::copy_head_and_tail<4>(dst, src, n);
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

}  // namespace ntio::rtl
