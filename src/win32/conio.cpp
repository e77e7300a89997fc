// The MSVC CRT's console input (<conio.h>; S-CON in docs/design.md). Windows reads
// keystrokes from the console whatever standard input is; a Linux program's keyboard
// is its terminal, which is standard input when there is one, so that is what these
// read. On a terminal a key counts without Enter: the terminal leaves line mode
// (ICANON) for the moment of the call, then gets its settings back. Reads go to file
// descriptor 0 itself, past stdio's buffer, as Windows's go past the CRT's.
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "conio.h"

namespace {

// A terminal this process may switch modes on: a background process that changed
// the settings of its terminal would be stopped (SIGTTOU); it only looks, then.
bool foreground_terminal() {
    return isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
}

// The terminal out of line mode and without echo while it lives; VMIN/VTIME as given.
class RawTerminal {
public:
    RawTerminal(cc_t min_chars) {
        if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
        termios raw = saved_;
        raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
        raw.c_cc[VMIN] = min_chars;
        raw.c_cc[VTIME] = 0;
        active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    ~RawTerminal() {
        if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    termios saved_{};
    bool active_ = false;
};

bool input_waiting() {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int r;
    do {
        r = poll(&p, 1, 0);
    } while (r < 0 && errno == EINTR);
    // POLLHUP: the writer of a pipe is gone, so a read returns at once (end of input).
    return r > 0 && (p.revents & (POLLIN | POLLHUP)) != 0;
}

int read_one() {
    unsigned char c;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n == 1) return c;
        if (n < 0 && errno == EINTR) continue;
        return EOF;
    }
}

}  // namespace

extern "C" {

int _kbhit(void) {
    if (foreground_terminal()) {
        RawTerminal raw(0);
        return input_waiting() ? 1 : 0;
    }
    return input_waiting() ? 1 : 0;
}

int _getch(void) {
    if (foreground_terminal()) {
        RawTerminal raw(1);
        return read_one();
    }
    return read_one();
}

int _getche(void) {
    int c = _getch();
    if (c != EOF) {
        std::fputc(c, stdout);
        std::fflush(stdout);
    }
    return c;
}

}  // extern "C"
