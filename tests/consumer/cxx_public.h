/* Shared by tests/consumer/cxx_driver.cpp and cxx_app.c: a vendor device type (bit 31 of
 * the code set) and the platform macros a shared header tests. */
#ifndef CXX_PUBLIC_H
#define CXX_PUBLIC_H
#ifndef _WIN64
#error "a 64-bit layout is expected"
#endif
#define FILE_DEVICE_CXX 0x8123
#define IOCTL_CXX_DOUBLE CTL_CODE(FILE_DEVICE_CXX, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
#endif
