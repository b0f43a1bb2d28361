// The caller's terminal as resin found it. resin's CLI hands its own stdin, stdout and stderr to
// the command, so a command run from a terminal shares the caller's: whatever it changes there
// would outlive it. The state is captured before the command starts and put back when resin is done
// (the destructor), whatever the command did: termios (raw mode, echo), the file status flags it
// shares with the caller's shell (O_NONBLOCK), exclusive mode, the line discipline, stopped output.
// The filter refuses TIOCSETD, TIOCCONS and TIOCVHANGUP outright (seccomp_policy.cpp).
#pragma once

#include <termios.h>

#include <vector>

namespace resin::host {

class TerminalState {
  public:
    // Captures each of descriptors 0, 1 and 2 that is a terminal.
    TerminalState();
    ~TerminalState();
    TerminalState(const TerminalState&) = delete;
    TerminalState& operator=(const TerminalState&) = delete;

    // Once: later calls (and the destructor) do nothing.
    void restore();

  private:
    struct Saved {
        int fd;
        termios modes;
        int status_flags;
        int line_discipline;
        int exclusive;
    };
    std::vector<Saved> saved_;
};

}  // namespace resin::host
