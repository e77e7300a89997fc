/* The wdm_extras driver's interface, shared by its C driver and C app. */
#ifndef WDM_EXTRAS_PUBLIC_H
#define WDM_EXTRAS_PUBLIC_H

#define WDM_EXTRAS_WIN32_NAME "\\\\.\\WdmExtras"
/* Fills the output buffer page by page through partial MDLs: byte i of page k is 'A'+k. */
#define IOCTL_EXTRAS_FILL CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_OUT_DIRECT, FILE_ANY_ACCESS)
/* Sends the device a SET_POWER D3 IRP with PoCallDriver; returns two ULONGs: the state
 * PoSetPowerState replaced in the power routine, then the one it replaced setting D0. */
#define IOCTL_EXTRAS_POWER CTL_CODE(FILE_DEVICE_UNKNOWN, 0x902, METHOD_BUFFERED, FILE_ANY_ACCESS)

#endif
