/* ntio compat: the part of <ndis.h> a driver that is not a network driver still uses.
 * Drivers written from the NDIS samples (an IOCTL device beside a filter, as in
 * article 000) copy buffers with NdisMoveMemory and complete with
 * NDIS_STATUS_SUCCESS. Only the memory macros and the NDIS_STATUS codes that equal
 * NTSTATUS values are here: ntio has no NDIS (no miniport, protocol or filter
 * registration, no NET_BUFFERs), so none of NDIS's functions is declared and a driver
 * that calls one fails to build. */
#ifndef NTIO_COMPAT_NDIS_H
#define NTIO_COMPAT_NDIS_H

#include "ntddk.h"

typedef int NDIS_STATUS, *PNDIS_STATUS;

#define NDIS_STATUS_SUCCESS ((NDIS_STATUS)STATUS_SUCCESS)
#define NDIS_STATUS_PENDING ((NDIS_STATUS)STATUS_PENDING)
#define NDIS_STATUS_FAILURE ((NDIS_STATUS)STATUS_UNSUCCESSFUL)
#define NDIS_STATUS_RESOURCES ((NDIS_STATUS)STATUS_INSUFFICIENT_RESOURCES)
#define NDIS_STATUS_NOT_SUPPORTED ((NDIS_STATUS)STATUS_NOT_SUPPORTED)
#define NDIS_STATUS_INVALID_PARAMETER ((NDIS_STATUS)STATUS_INVALID_PARAMETER)
#define NDIS_STATUS_BUFFER_TOO_SHORT ((NDIS_STATUS)STATUS_BUFFER_TOO_SMALL)
#define NDIS_STATUS_INVALID_LENGTH ((NDIS_STATUS)STATUS_INVALID_BUFFER_SIZE)
#define NDIS_STATUS_REQUEST_ABORTED ((NDIS_STATUS)STATUS_REQUEST_ABORTED)

#define NdisMoveMemory(Destination, Source, Length) RtlCopyMemory(Destination, Source, Length)
#define NdisZeroMemory(Destination, Length) RtlZeroMemory(Destination, Length)
#define NdisFillMemory(Destination, Length, Fill) RtlFillMemory(Destination, Length, Fill)
#define NdisEqualMemory(Source1, Source2, Length) RtlEqualMemory(Source1, Source2, Length)
#define NdisRetrieveUlong(DestinationAddress, SourceAddress) \
    RtlCopyMemory((DestinationAddress), (SourceAddress), sizeof(ULONG))
#define NdisStoreUlong(DestinationAddress, Value) \
    do {                                          \
        ULONG ntio_ndis_value_ = (Value);         \
        RtlCopyMemory((DestinationAddress), &ntio_ndis_value_, sizeof(ULONG)); \
    } while (0)

#endif
