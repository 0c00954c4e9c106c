#include "tests/support/process.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cafmcp::test {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

namespace {

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path);
}

} // namespace

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string{base ? base : "/tmp"} + "/cafmcp-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data()))
    throw std::runtime_error(std::string{"mkdtemp: "} + std::strerror(errno));
  path_ = buf.data();
}

temp_dir::~temp_dir() {
  if (std::getenv("CAFMCP_KEEP_TEST_DIRS")) // to read the logs of a failed run
    return;
  nftw(path_.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

std::string temp_dir::write(const std::string& name, const std::string& content) const {
  auto full = path_ + "/" + name;
  std::ofstream out{full};
  out << content;
  return full;
}

process::process(std::vector<std::string> argv, const std::string& dir, bool pipe_stdin) {
  static int counter = 0;
  auto tag = std::to_string(getpid()) + "-" + std::to_string(++counter);
  out_path_ = dir + "/stdout-" + tag + ".log";
  err_path_ = dir + "/stderr-" + tag + ".log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int in_pipe[2] = {-1, -1};
  if (pipe_stdin) {
    if (pipe2(in_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string{"pipe: "} + std::strerror(errno));
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  auto rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (pipe_stdin) {
    ::close(in_pipe[0]);
    stdin_fd_ = in_pipe[1];
  }
  if (rc != 0)
    throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
}

process::~process() {
  close_stdin();
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(10));
  }
}

bool process::running() {
  if (exit_code_)
    return false;
  return !wait_exit(std::chrono::milliseconds(0));
}

void process::signal(int sig) {
  if (!exit_code_)
    ::kill(pid_, sig);
}

std::optional<int> process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_)
    return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    auto r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool process::wait_for_stderr(const std::string& needle, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (err().find(needle) != std::string::npos)
      return true;
    if (!running())
      return err().find(needle) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

namespace {

/// The first complete line of `text` that `pattern` matches as a whole.
std::optional<std::string> whole_line(const std::string& text, const std::regex& pattern) {
  size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; start = end + 1, end = text.find('\n', start)) {
    auto line = text.substr(start, end - start);
    if (std::regex_match(line, pattern))
      return line;
  }
  return std::nullopt; // a last line without '\n' is not complete yet
}

} // namespace

std::optional<std::string> process::wait_for_stderr_line(const std::regex& line,
                                                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool alive = running(); // read before the text: a line written before exit is seen
    if (auto found = whole_line(err(), line))
      return found;
    if (!alive || std::chrono::steady_clock::now() >= deadline)
      return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool process::wait_for_stdout_lines(size_t count, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto text = out();
    if (static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) >= count)
      return true;
    if (std::chrono::steady_clock::now() >= deadline || !running())
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void process::write_stdin(const std::string& data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0 && stdin_fd_ >= 0) {
    auto n = ::write(stdin_fd_, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void process::close_stdin() {
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
    stdin_fd_ = -1;
  }
}

std::string process::out() const {
  return read_file(out_path_);
}

std::string process::err() const {
  return read_file(err_path_);
}

run_result run(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  temp_dir dir;
  process p{std::move(argv), dir.path()};
  run_result r;
  auto code = p.wait_exit(timeout);
  r.code = code ? *code : -1000;
  r.out = p.out();
  r.err = p.err();
  return r;
}

} // namespace cafmcp::test
