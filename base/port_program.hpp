#pragma once

// An external program spoken to in lines over its stdin and stdout, as an
// Erlang port opened with {line, N}: the owner hears each stdout line, each
// stderr line and, last, how the program ended. One I/O thread per program
// reads and writes its pipes, so the owner (an actor) never blocks on them.
// The program runs in a process group of its own and dies with its owner:
// the destructor kills the group (SIGKILL) and reaps it, and the kernel
// kills it if this process dies first (PR_SET_PDEATHSIG).

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

namespace cafmcp {

struct port_options {
  /// The program and its arguments; argv[0] without a slash is looked up
  /// in PATH.
  std::vector<std::string> argv;
  /// Added to (or replacing in) the inherited environment, "NAME=value".
  std::vector<std::string> env;
  /// The working directory ("": ours).
  std::string cwd;
  /// A stdout line longer than this is dropped as it arrives, never
  /// buffered whole (on_overlong tells its length).
  size_t max_line = 4 * 1024 * 1024;
};

struct port_callbacks {
  std::function<void(std::string line)> on_line;   // stdout, without the newline
  std::function<void(std::string line)> on_stderr; // stderr, without the newline (cut at max_line)
  std::function<void(size_t bytes)> on_overlong;   // a stdout line of at least `bytes` was dropped
  /// Once, after the last line: "exited with status 1", "killed by signal 9".
  std::function<void(std::string how)> on_exit;
};

class port_program {
public:
  /// Starts the program. Throws std::runtime_error naming the cause when it
  /// cannot (no such program, not executable, bad directory).
  port_program(port_options opts, port_callbacks cbs);

  /// Kills the program's process group if it still runs and waits for it
  /// (SIGKILL cannot be ignored: this takes milliseconds).
  ~port_program();

  port_program(const port_program&) = delete;
  port_program& operator=(const port_program&) = delete;

  /// Queues `line` plus a newline for the program's stdin (any thread;
  /// never blocks). Dropped once the program has ended.
  void send(std::string line);

  pid_t pid() const;

  struct state;

private:
  std::shared_ptr<state> st_;
};

/// `name` resolved against PATH as execvp would ("" when not found or not
/// executable); names with a slash are returned as they are.
std::string find_program(const std::string& name);

} // namespace cafmcp
