// Console input (<conio.h>; S-CON-1..2 in docs/design.md): _kbhit and _getch on
// standard input, a pipe or a terminal, as the event sample's `while (!_kbhit())` loop
// and "press any key" programs use them. Each test owns its process (ctest runs one
// per process), so moving file descriptor 0 is the test's own business.
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>

#include "conio.h"
#include "test_support.hpp"

namespace {

TEST(ConsoleInput, S_CON_1_PipeInputIsSeenWithoutBeingTaken) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
    close(p[0]);
    EXPECT_EQ(_kbhit(), 0) << "nothing typed yet";
    ASSERT_EQ(write(p[1], "ab", 2), 2);
    EXPECT_NE(_kbhit(), 0);
    EXPECT_NE(_kbhit(), 0) << "_kbhit only looks";
    EXPECT_EQ(_getch(), 'a');
    EXPECT_NE(_kbhit(), 0);
    EXPECT_EQ(_getch(), 'b');
    EXPECT_EQ(_kbhit(), 0);
    close(p[1]);
    EXPECT_NE(_kbhit(), 0) << "at the end of input a read would not wait";
    EXPECT_EQ(_getch(), EOF);
}

// A key typed on the terminal counts before Enter, and the terminal keeps its settings.
// The child makes a pseudo-terminal its controlling terminal (a session of its own), so
// it is the foreground process that may switch the terminal's mode.
TEST(ConsoleInput, S_CON_2_TerminalKeyCountsWithoutEnter) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT_GE(master, 0);
    ASSERT_EQ(grantpt(master), 0);
    ASSERT_EQ(unlockpt(master), 0);
    const char* slave_name = ptsname(master);
    ASSERT_NE(slave_name, nullptr);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // Exit codes name the check that failed.
        if (setsid() < 0) _exit(10);
        int slave = open(slave_name, O_RDWR);  // the session's controlling terminal
        if (slave < 0 || dup2(slave, STDIN_FILENO) != STDIN_FILENO) _exit(11);
        termios before{};
        if (tcgetattr(STDIN_FILENO, &before) != 0 || !(before.c_lflag & ICANON)) _exit(12);
        if (_kbhit() != 0) _exit(13);
        if (write(master, "x", 1) != 1) _exit(14);  // typed, no Enter
        // The line discipline takes the key asynchronously: allow it a moment.
        bool seen = false;
        for (int i = 0; i < 2000 && !seen; ++i) {
            seen = _kbhit() != 0;
            if (!seen) usleep(1000);
        }
        if (!seen) _exit(15);  // in line mode the key would wait for Enter
        termios after{};
        if (tcgetattr(STDIN_FILENO, &after) != 0) _exit(16);
        if ((after.c_lflag & (ICANON | ECHO)) != (before.c_lflag & (ICANON | ECHO))) _exit(17);
        if (_getch() != 'x') _exit(18);
        if (tcgetattr(STDIN_FILENO, &after) != 0) _exit(16);
        if ((after.c_lflag & (ICANON | ECHO)) != (before.c_lflag & (ICANON | ECHO))) _exit(19);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    close(master);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setsid, 11 terminal, 12 settings, 13 key before typing, 15 key not "
                                         "seen without Enter, 17/19 settings not restored, 18 wrong key";
}

}  // namespace
