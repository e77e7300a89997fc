// DbgPrint / KdPrint / OutputDebugString (issue 2, point 7): DebugView-style lines
// (sequence, seconds on the runtime clock, text), Windows format rules, a log file.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "test_support.hpp"
#include <ntstrsafe.h>

namespace {

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TEST(DebugPrint, LinesCarrySequenceAndVirtualTimeAndGoToTheLogFile) {
    std::string path = ::testing::TempDir() + "ntio_dbgprint_test.log";
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time, .debug_log = path});
        DbgPrint("first %d\n", 1);
        Sleep(1500);
        KdPrint(("second %s\n", "line"));
        OutputDebugStringA("from the app");
    }
    EXPECT_EQ(read_file(path),
              "00000001\t0.000000\tfirst 1\n"
              "00000002\t1.500000\tsecond line\n"
              "00000003\t1.500000\tfrom the app\n");
}

TEST(DebugPrint, WindowsFormatRules) {
    std::string path = ::testing::TempDir() + "ntio_dbgprint_format.log";
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time, .debug_log = path});
        LONG negative = -5;
        ULONG big = 0xFFFFFFFFu;
        ULONGLONG wide = 0x123456789ULL;
        UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\Echo");
        ANSI_STRING ansi = RTL_CONSTANT_STRING("ansi");
        DbgPrint("%ld %lu %lx %I64x %llu %wZ %Z %ws %S %hs %C %5d|%-4s|%%", negative, big, big, wide, wide, &name,
                 &ansi, L"wide", L"Wide", "narrow", L'W', 42, "ab");
    }
    std::string line = read_file(path);
    EXPECT_NE(line.find("-5 4294967295 ffffffff 123456789 4886718345 \\Device\\Echo ansi wide Wide narrow W    42|ab  |%"),
              std::string::npos)
        << line;
}

// Wide text keeps its non-ASCII characters (UTF-8 in the log, whatever the program's
// locale), and %hC is a narrow character, as %hS is a narrow string.
TEST(DebugPrint, WideTextIsUtf8AndHNarrowsC) {
    std::string path = ::testing::TempDir() + "ntio_dbgprint_utf8.log";
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time, .debug_log = path});
        UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\Caf\u00e9");
        DbgPrint("%ws|%wZ|%C|%hC|%hS\n", L"na\u00efve", &name, L'\u00e9', 'x', "narrow");
    }
    EXPECT_NE(read_file(path).find("na\xc3\xafve|\\Device\\Caf\xc3\xa9|\xc3\xa9|x|narrow"), std::string::npos)
        << read_file(path);
}

// %p as Windows prints a pointer: 16 upper-case hex digits, no 0x.
TEST(DebugPrint, PointersPrintAsWindowsPrintsThem) {
    std::string path = ::testing::TempDir() + "ntio_dbgprint_pointer.log";
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time, .debug_log = path});
        DbgPrint("[%p] [%p]\n", reinterpret_cast<PVOID>(0x1234), reinterpret_cast<PVOID>(0xabcdef0123ull));
    }
    EXPECT_NE(read_file(path).find("[0000000000001234] [000000ABCDEF0123]"), std::string::npos) << read_file(path);
}

// "%.*s" on a buffer without a terminating NUL (the StartIo sample prints its request
// buffer this way): the precision bounds the read, as in the CRT.
TEST(DebugPrint, PrecisionBoundsTheStringRead) {
    std::string path = ::testing::TempDir() + "ntio_dbgprint_precision.log";
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time, .debug_log = path});
        char* unterminated = static_cast<char*>(std::malloc(5));
        std::memcpy(unterminated, "hello", 5);
        const wchar_t wide[3] = {L'a', L'b', L'c'};
        DbgPrint("[%.*s] [%.3s] [%.2ws]\n", 5, unterminated, unterminated, wide);
        std::free(unterminated);
    }
    EXPECT_NE(read_file(path).find("[hello] [hel] [ab]"), std::string::npos) << read_file(path);
}

// One call transmits at most 512 bytes, as Windows's does; a cut never splits a character.
TEST(DebugPrint, OneCallSendsAtMost512Bytes) {
    std::string path = ::testing::TempDir() + "ntio_dbgprint_512.log";
    std::string long_text(600, 'x');
    std::wstring wide(300, L'\u00e9');  // 600 bytes of UTF-8
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time, .debug_log = path});
        DbgPrint("%s|end\n", long_text.c_str());
        DbgPrint("a%ws\n", wide.c_str());
    }
    std::string log = read_file(path);
    std::string first = log.substr(0, log.find('\n'));
    std::string second = log.substr(log.find('\n') + 1);
    second = second.substr(0, second.find('\n'));
    std::string text1 = first.substr(first.rfind('\t') + 1);
    std::string text2 = second.substr(second.rfind('\t') + 1);
    EXPECT_EQ(text1, std::string(512, 'x')) << "cut at 512 bytes, the rest dropped";
    EXPECT_EQ(text2.size(), 511u) << "'a' and 255 two-byte characters: the 256th would split at byte 512";
    EXPECT_EQ(text2.substr(0, 3), "a\xc3\xa9");
}

TEST(DebugPrint, QuietDropsOutput) {
    std::string path = ::testing::TempDir() + "ntio_dbgprint_quiet.log";
    {
        ntio::System sys({.clock = ntio::Clock::virtual_time, .debug_log = path, .debug_quiet = true});
        DbgPrint("hidden\n");
    }
    EXPECT_EQ(read_file(path), "");
}

}  // namespace

// %wZ's width and precision count characters, as %ws's do (not the UTF-8 bytes), and a
// wide %c (%C, %lc, %wc) of 0 writes the NUL as the narrow %c does.
TEST(DebugPrint, CountedWideStringsPadByCharactersAndWideNulIsWritten) {
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"Caf\u00e9");
    char buf[64];
    ASSERT_EQ(RtlStringCbPrintfA(buf, sizeof buf, "[%6wZ][%-6wZ][%.3wZ]", &name, &name, &name), STATUS_SUCCESS);
    EXPECT_STREQ(buf, "[  Caf\xc3\xa9][Caf\xc3\xa9  ][Caf]");
    std::memset(buf, '#', sizeof buf);
    int n = snprintf(buf, sizeof buf, "a%Cb", 0);  // <windows.h>'s printf family: the Windows rules
    EXPECT_EQ(n, 3);
    EXPECT_EQ(std::string(buf, 4), std::string("a\0b\0", 4));
}
