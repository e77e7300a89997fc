// Calendar time (S-DRT-4): RtlTimeToTimeFields / RtlTimeFieldsToTime, and the local
// time conversions of Ex, which apply the host zone's current offset as Windows applies
// the system's current bias. A system time counts 100 ns since 1601-01-01 00:00 UTC.
#include <ctime>

#include "wdm.h"

namespace {

constexpr long long kTicksPerMs = 10'000;
constexpr long long kTicksPerSecond = 10'000'000;
constexpr long long kTicksPerDay = 86'400 * kTicksPerSecond;
constexpr long long kDaysFrom1601To1970 = 134'774;

// Days since 1970-01-01 of a proleptic Gregorian date, and back: the era arithmetic
// (400-year eras of 146097 days, the year starting in March so February's length
// comes last).
long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned year_of_era = static_cast<unsigned>(y - era * 400);
    unsigned day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + static_cast<long long>(day_of_era) - 719468;
}

void civil_from_days(long long z, long long* y, unsigned* m, unsigned* d) {
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned day_of_era = static_cast<unsigned>(z - era * 146097);
    unsigned year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    unsigned mp = (5 * day_of_year + 2) / 153;
    *d = day_of_year - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = static_cast<long long>(year_of_era) + era * 400 + (*m <= 2);
}

bool leap(long long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(long long y, unsigned m) {
    static const unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// The host zone's offset from UTC now, in ticks. Windows's conversions apply the current
// bias whatever the time converted (Microsoft's LocalFileTimeToFileTime page: the current
// time zone and daylight saving settings, even for a time in standard time).
long long current_local_offset() {
    time_t seconds = time(nullptr);
    struct tm local {};
    if (!localtime_r(&seconds, &local)) return 0;
    return static_cast<long long>(local.tm_gmtoff) * kTicksPerSecond;
}

}  // namespace

extern "C" {

VOID RtlTimeToTimeFields(PLARGE_INTEGER Time, PTIME_FIELDS TimeFields) {
    long long t = Time->QuadPart;
    long long days = t / kTicksPerDay, rest = t % kTicksPerDay;
    if (rest < 0) rest += kTicksPerDay, --days;
    long long year;
    unsigned month, day;
    civil_from_days(days - kDaysFrom1601To1970, &year, &month, &day);
    TimeFields->Year = static_cast<CSHORT>(year);
    TimeFields->Month = static_cast<CSHORT>(month);
    TimeFields->Day = static_cast<CSHORT>(day);
    TimeFields->Hour = static_cast<CSHORT>(rest / (3600 * kTicksPerSecond));
    TimeFields->Minute = static_cast<CSHORT>(rest / (60 * kTicksPerSecond) % 60);
    TimeFields->Second = static_cast<CSHORT>(rest / kTicksPerSecond % 60);
    TimeFields->Milliseconds = static_cast<CSHORT>(rest / kTicksPerMs % 1000);
    TimeFields->Weekday = static_cast<CSHORT>((days % 7 + 7 + 1) % 7);  // 1601-01-01 was a Monday
}

BOOLEAN RtlTimeFieldsToTime(PTIME_FIELDS TimeFields, PLARGE_INTEGER Time) {
    const TIME_FIELDS& f = *TimeFields;
    if (f.Year < 1601 || f.Year > 30827 || f.Month < 1 || f.Month > 12 || f.Day < 1 ||
        static_cast<unsigned>(f.Day) > days_in_month(f.Year, static_cast<unsigned>(f.Month)) || f.Hour < 0 ||
        f.Hour > 23 || f.Minute < 0 || f.Minute > 59 || f.Second < 0 || f.Second > 59 || f.Milliseconds < 0 ||
        f.Milliseconds > 999)
        return FALSE;
    long long days =
        days_from_civil(f.Year, static_cast<unsigned>(f.Month), static_cast<unsigned>(f.Day)) + kDaysFrom1601To1970;
    Time->QuadPart = days * kTicksPerDay + ((f.Hour * 60LL + f.Minute) * 60 + f.Second) * kTicksPerSecond +
                     f.Milliseconds * kTicksPerMs;
    return TRUE;
}

VOID ExSystemTimeToLocalTime(PLARGE_INTEGER SystemTime, PLARGE_INTEGER LocalTime) {
    LocalTime->QuadPart = SystemTime->QuadPart + current_local_offset();
}

VOID ExLocalTimeToSystemTime(PLARGE_INTEGER LocalTime, PLARGE_INTEGER SystemTime) {
    SystemTime->QuadPart = LocalTime->QuadPart - current_local_offset();
}

// S-DRT-5: Windows 10 version 2004, the NTDDI_VERSION the headers present.
NTSTATUS RtlGetVersion(PRTL_OSVERSIONINFOW lpVersionInformation) {
    ULONG size = lpVersionInformation->dwOSVersionInfoSize;
    if (size != sizeof(RTL_OSVERSIONINFOW) && size != sizeof(RTL_OSVERSIONINFOEXW)) return STATUS_INVALID_PARAMETER;
    lpVersionInformation->dwMajorVersion = 10;
    lpVersionInformation->dwMinorVersion = 0;
    lpVersionInformation->dwBuildNumber = 19041;
    lpVersionInformation->dwPlatformId = VER_PLATFORM_WIN32_NT;
    lpVersionInformation->szCSDVersion[0] = L'\0';
    if (size == sizeof(RTL_OSVERSIONINFOEXW)) {
        auto* ex = reinterpret_cast<PRTL_OSVERSIONINFOEXW>(lpVersionInformation);
        ex->wServicePackMajor = 0;
        ex->wServicePackMinor = 0;
        ex->wSuiteMask = 0;
        ex->wProductType = VER_NT_WORKSTATION;
        ex->wReserved = 0;
    }
    return STATUS_SUCCESS;
}

// S-KAPI-7: the version RtlGetVersion reports, as an NTDDI value. An NTDDI value holds the
// OS (major, minor) in its high word and the service pack, or for Windows 10 the
// release, in its low word, so the values order as the systems do.
static constexpr ULONG kNtDdiVersion = NTDDI_WIN10_VB;

BOOLEAN RtlIsNtDdiVersionAvailable(ULONG Version) { return Version <= kNtDdiVersion; }

BOOLEAN RtlIsServicePackVersionInstalled(ULONG Version) {
    // The same OS at that service pack (release) or a later one: another OS's service pack
    // is not installed here, older or newer.
    return (Version >> 16) == (kNtDdiVersion >> 16) && (Version & 0xFFFF) <= (kNtDdiVersion & 0xFFFF);
}

}  // extern "C"
