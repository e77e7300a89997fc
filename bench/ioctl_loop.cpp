// N synchronous 64-byte METHOD_BUFFERED IOCTLs through the benchmark driver, for
// counting instructions per request with callgrind (bench/report.py runs it twice
// with different N and divides the difference). `ntio_ioctl_loop N overlapped`: the
// same IOCTL on an overlapped handle with an OVERLAPPED (the driver completes it in
// dispatch, so each call returns TRUE).
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench_driver.hpp"

int main(int argc, char** argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 1000;
    bool overlapped = argc > 2 && std::strcmp(argv[2], "overlapped") == 0;
    ntio::System sys;
    bench::load(sys);
    HANDLE h = CreateFileA("\\\\.\\BenchEcho", GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                           overlapped ? FILE_FLAG_OVERLAPPED : 0, nullptr);
    OVERLAPPED ov{};
    unsigned char in[64], out[64];
    std::memset(in, 7, sizeof in);
    DWORD got = 0;
    for (long i = 0; i < n; ++i) DeviceIoControl(h, bench::IOCTL_BENCH_COPY, in, sizeof in, out, sizeof out, &got, overlapped ? &ov : nullptr);
    CloseHandle(h);
    return got == 64 ? 0 : 1;
}
