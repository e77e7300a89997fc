/* ntio compat: GUID, DEFINE_GUID and comparisons.
 * DEFINE_GUID declares an extern const GUID; including <initguid.h> first in one
 * translation unit turns the next DEFINE_GUIDs into definitions. Definitions are
 * emitted weak so a header shared by several files links even when more than one
 * of them includes <initguid.h> (a common sample-code habit). */
#ifndef NTIO_COMPAT_GUIDDEF_H
#define NTIO_COMPAT_GUIDDEF_H
#include <string.h>

#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
    unsigned int Data1;
    unsigned short Data2;
    unsigned short Data3;
    unsigned char Data4[8];
} GUID;
#endif
typedef GUID *LPGUID, *PGUID, IID, *LPIID, CLSID, *LPCLSID;
typedef const GUID *LPCGUID, *PCGUID;
#ifdef __cplusplus
#define REFGUID const GUID &
#define REFIID const IID &
#else
#define REFGUID const GUID *
#define REFIID const IID *
#endif

#endif /* NTIO_COMPAT_GUIDDEF_H */

/* DEFINE_GUID is re-evaluated on every inclusion so that <initguid.h> can switch it. */
#undef DEFINE_GUID
#ifdef __cplusplus
#define NTIO_GUID_EXTERN extern "C"
#else
#define NTIO_GUID_EXTERN extern
#endif
#ifdef INITGUID
#ifdef __cplusplus
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
    extern "C" const GUID name __attribute__((weak)) = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) \
    const GUID name __attribute__((weak)) = {l, w1, w2, {b1, b2, b3, b4, b5, b6, b7, b8}}
#endif
#else
#define DEFINE_GUID(name, l, w1, w2, b1, b2, b3, b4, b5, b6, b7, b8) NTIO_GUID_EXTERN const GUID name
#endif

#ifndef NTIO_COMPAT_GUIDDEF_INLINES
#define NTIO_COMPAT_GUIDDEF_INLINES
#ifdef __cplusplus
extern "C++" { /* references and operators: C++ linkage even inside a caller's extern "C" */
static inline __attribute__((unused)) bool IsEqualGUID(const GUID &a, const GUID &b) { return memcmp(&a, &b, sizeof(GUID)) == 0; }
static inline __attribute__((unused)) bool InlineIsEqualGUID(const GUID &a, const GUID &b) { return IsEqualGUID(a, b); }
static inline __attribute__((unused)) bool operator==(const GUID &a, const GUID &b) { return IsEqualGUID(a, b); }
static inline __attribute__((unused)) bool operator!=(const GUID &a, const GUID &b) { return !IsEqualGUID(a, b); }
}
#else
#define IsEqualGUID(a, b) (memcmp((a), (b), sizeof(GUID)) == 0)
#define InlineIsEqualGUID(a, b) IsEqualGUID(a, b)
#endif
#define IsEqualIID(a, b) IsEqualGUID(a, b)
#define IsEqualCLSID(a, b) IsEqualGUID(a, b)
#endif
