#pragma once

// A child process for black-box tests: started with posix_spawn, its stdout
// and stderr in files, every wait bounded, killed by PID if still running
// when the test ends.

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <sys/types.h>

namespace cafmcp::test {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
/// destruction.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  /// Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

private:
  std::string path_;
};

class process {
public:
  /// Starts argv[0] with argv; output goes to files in `dir`. With
  /// `pipe_stdin`, the test writes the child's stdin (write_stdin).
  process(std::vector<std::string> argv, const std::string& dir, bool pipe_stdin = false);
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);

  /// Waits for the exit code (-signal if killed by one); nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  /// Waits until stderr contains `needle`.
  bool wait_for_stderr(const std::string& needle, std::chrono::milliseconds timeout);
  /// Waits for a complete stderr line (without its '\n') that `line`
  /// matches as a whole (std::regex_match); returns that line.
  std::optional<std::string> wait_for_stderr_line(const std::regex& line, std::chrono::milliseconds timeout);
  /// Waits until stdout has at least `count` complete lines.
  bool wait_for_stdout_lines(size_t count, std::chrono::milliseconds timeout);

  void write_stdin(const std::string& data);
  void close_stdin();

  std::string out() const;
  std::string err() const;

private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_;
  std::string err_path_;
};

/// Runs a command to completion (bounded) and returns {exit code, stdout, stderr}.
struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};
/// The whole content of a file ("" when it cannot be read).
std::string read_file(const std::string& path);

run_result run(std::vector<std::string> argv, std::chrono::milliseconds timeout = std::chrono::seconds(30));

} // namespace cafmcp::test
