/* Shared by the PnP test driver (pnp_driver.c) and its client (pnp_app.c): the
 * device interface class and the one IOCTL. Include <initguid.h> first in the one
 * file of each program that defines the GUID. */
#ifndef NTIO_TEST_PNP_PUBLIC_H
#define NTIO_TEST_PNP_PUBLIC_H

/* {3c1f7a52-9e64-4b0d-a837-215e6f90c4d1} */
DEFINE_GUID(GUID_DEVINTERFACE_NTIO_PNPTEST, 0x3c1f7a52, 0x9e64, 0x4b0d, 0xa8, 0x37, 0x21, 0x5e, 0x6f, 0x90, 0xc4, 0xd1);

/* Output: the ULONG number of the device that answered (0 for the first AddDevice). */
#define IOCTL_PNPTEST_WHO_ARE_YOU CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)

#endif
