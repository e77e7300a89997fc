/* Shared by scm_driver.c and its clients: the device the driver makes and its one IOCTL. */
#ifndef SCM_PUBLIC_H
#define SCM_PUBLIC_H
#define SCM_DEVICE_TYPE 0x8123
/* Answers "scmdemo <n>", n counting the requests since DriverEntry. */
#define IOCTL_SCM_HELLO CTL_CODE(SCM_DEVICE_TYPE, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
#endif
