// An external program spoken to in lines over its pipes, from an I/O thread of its own.
#include "base/port_program.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace cafmcp {

namespace {

void close_fd(int& fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended (status " + std::to_string(status) + ")";
}

/// Splits a stream into lines of at most `max` bytes; longer ones are
/// dropped as they arrive and reported once, with their length.
struct line_splitter {
  size_t max;
  std::string buf;
  size_t dropping = 0; // > 0: inside a line being dropped (bytes so far)

  template <class Line, class Overlong>
  void feed(const char* p, size_t n, Line&& line, Overlong&& overlong) {
    while (n > 0) {
      auto nl = static_cast<const char*>(std::memchr(p, '\n', n));
      size_t take = nl ? static_cast<size_t>(nl - p) : n;
      if (dropping > 0) {
        dropping += take;
      } else if (buf.size() + take > max) {
        dropping = buf.size() + take;
        buf.clear();
      } else {
        buf.append(p, take);
      }
      if (!nl)
        return;
      if (dropping > 0) {
        overlong(dropping);
        dropping = 0;
      } else {
        if (!buf.empty() && buf.back() == '\r')
          buf.pop_back();
        line(std::move(buf));
        buf.clear();
      }
      p = nl + 1;
      n -= take + 1;
    }
  }
};

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  for (char** e = environ; e && *e; ++e) {
    std::string kv{*e};
    bool replaced = false;
    for (auto& x : extra)
      replaced = replaced || key_of(x) == key_of(kv);
    if (!replaced)
      out.push_back(std::move(kv));
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

} // namespace

std::string find_program(const std::string& name) {
  if (name.empty())
    return "";
  if (name.find('/') != std::string::npos)
    return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(start, end - start);
    auto full = (dir.empty() ? std::string{"."} : dir) + "/" + name;
    if (::access(full.c_str(), X_OK) == 0)
      return full;
    start = end + 1;
  }
  return "";
}

struct port_program::state {
  port_options opts;
  port_callbacks cbs;
  std::mutex mtx;
  std::string pending; // bytes for stdin not yet written
  bool input_open = true;
  std::atomic<bool> stopping{false};
  std::atomic<pid_t> pid{0};
  int wake = -1; // eventfd: new input, or stop
  std::thread io;

  void notify() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake, &one, sizeof one);
  }

  void run(std::promise<void>& started);
};

void port_program::state::run(std::promise<void>& started) {
  // A write to a program that closed its stdin is EPIPE here, not a signal.
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);

  auto path = find_program(opts.argv.at(0));
  if (path.empty()) {
    started.set_exception(std::make_exception_ptr(
      std::runtime_error{"cannot start " + opts.argv[0] + ": not found in PATH or not executable"}));
    return;
  }
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> argv;
  for (auto& a : opts.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto env_strings = merged_environment(opts.env);
  std::vector<char*> envp;
  for (auto& e : env_strings)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int in[2], out[2], err[2], report[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0
      || ::pipe2(report, O_CLOEXEC) != 0) {
    started.set_exception(std::make_exception_ptr(
      std::runtime_error{"cannot start " + opts.argv[0] + ": pipe: " + std::strerror(errno)}));
    return;
  }
  auto parent = ::getpid();
  auto child = ::fork();
  if (child == 0) {
    // Dies with the thread that forked it (which lives as long as the port).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(127);
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr); // the node blocks its stop signals
    struct sigaction dfl{};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    // Nothing else of the node's goes along: its sockets (listeners, peers,
    // clients) are not all close-on-exec, and a program it runs must not
    // hold them (nor keep a port bound after the node died). Only the
    // report pipe stays, as fd 3, closed by the exec itself.
    int report_fd = report[1];
    if (report_fd != 3 && ::dup3(report_fd, 3, O_CLOEXEC) == 3)
      report_fd = 3;
    ::syscall(SYS_close_range, static_cast<unsigned>(report_fd) + 1, ~0U, 0U);
    if (report_fd > 3)
      ::syscall(SYS_close_range, 3U, static_cast<unsigned>(report_fd) - 1, 0U);
    if (!opts.cwd.empty() && ::chdir(opts.cwd.c_str()) != 0) {
      int e = errno;
      [[maybe_unused]] auto n = ::write(report_fd, &e, sizeof e);
      ::_exit(127);
    }
    ::execve(path.c_str(), argv.data(), envp.data());
    int e = errno;
    [[maybe_unused]] auto n = ::write(report_fd, &e, sizeof e);
    ::_exit(127);
  }
  int in_w = in[1], out_r = out[0], err_r = err[0];
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  ::close(report[1]);
  if (child < 0) {
    auto why = std::string{std::strerror(errno)};
    for (int fd : {in_w, out_r, err_r, report[0]})
      ::close(fd);
    started.set_exception(
      std::make_exception_ptr(std::runtime_error{"cannot start " + opts.argv[0] + ": fork: " + why}));
    return;
  }
  int exec_errno = 0;
  ssize_t got;
  do
    got = ::read(report[0], &exec_errno, sizeof exec_errno);
  while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got > 0) {
    int status = 0;
    ::waitpid(child, &status, 0);
    for (int fd : {in_w, out_r, err_r})
      ::close(fd);
    auto where = opts.cwd.empty() ? std::string{} : " (in " + opts.cwd + ")";
    started.set_exception(std::make_exception_ptr(
      std::runtime_error{"cannot start " + path + where + ": " + std::strerror(exec_errno)}));
    return;
  }
  pid = child;
  ::fcntl(in_w, F_SETFL, ::fcntl(in_w, F_GETFL) | O_NONBLOCK);
  // The program's own exit, seen even while programs it started hold its
  // pipes open (npx runs the server as a grandchild): -1 on kernels
  // without pidfds, where the end of its output stands for its exit.
  int exit_fd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  started.set_value();
  bool reaped = false;
  int exit_status = 0;
  std::chrono::steady_clock::time_point reaped_at{};

  line_splitter out_lines{opts.max_line, {}, 0};
  line_splitter err_lines{opts.max_line, {}, 0};
  std::string writing; // taken from `pending`, partly written
  bool killed = false;
  char chunk[65536];
  for (;;) {
    if (stopping && !killed) {
      if (!reaped) { // once reaped its pid may be another process's
        ::kill(-child, SIGKILL);
        ::kill(child, SIGKILL);
      }
      killed = true;
    }
    if (killed) {
      int status = 0;
      while (!reaped && ::waitpid(child, &status, 0) < 0 && errno == EINTR) {
      }
      break; // the owner is gone: no more callbacks
    }
    if (writing.empty()) {
      std::lock_guard<std::mutex> guard{mtx};
      writing.swap(pending);
    }
    pollfd fds[5];
    nfds_t n = 0;
    fds[n++] = {wake, POLLIN, 0};
    int i_out = -1, i_err = -1, i_in = -1, i_exit = -1;
    if (exit_fd >= 0 && !reaped) {
      i_exit = static_cast<int>(n);
      fds[n++] = {exit_fd, POLLIN, 0};
    }
    if (out_r >= 0) {
      i_out = static_cast<int>(n);
      fds[n++] = {out_r, POLLIN, 0};
    }
    if (err_r >= 0) {
      i_err = static_cast<int>(n);
      fds[n++] = {err_r, POLLIN, 0};
    }
    if (in_w >= 0 && !writing.empty()) {
      i_in = static_cast<int>(n);
      fds[n++] = {in_w, POLLOUT, 0};
    }
    // With both outputs closed only the exit is left to see: poll for it;
    // after the exit, what the program wrote last is read for a moment.
    int timeout = (out_r < 0 && err_r < 0) || reaped ? 20 : -1;
    if (::poll(fds, n, timeout) < 0 && errno != EINTR)
      break;
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] auto r = ::read(wake, &v, sizeof v);
    }
    if (stopping)
      continue;
    if (i_exit >= 0 && (fds[i_exit].revents & POLLIN)
        && ::waitpid(child, &exit_status, WNOHANG) == child) {
      reaped = true;
      reaped_at = std::chrono::steady_clock::now();
      ::kill(-child, SIGKILL); // what it started goes with it, and lets go of the pipes
    }
    auto drain = [&](int& fd, int idx, line_splitter& lines, bool is_out) {
      if (idx < 0 || fds[idx].revents == 0)
        return;
      auto r = ::read(fd, chunk, sizeof chunk);
      if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
      if (r <= 0) {
        if (!lines.buf.empty()) { // a last line without its newline
          auto last = std::move(lines.buf);
          lines.buf.clear();
          if (is_out && cbs.on_line)
            cbs.on_line(std::move(last));
          else if (!is_out && cbs.on_stderr)
            cbs.on_stderr(std::move(last));
        }
        close_fd(fd);
        return;
      }
      if (is_out)
        lines.feed(chunk, static_cast<size_t>(r), [&](std::string l) { if (cbs.on_line) cbs.on_line(std::move(l)); },
                   [&](size_t bytes) { if (cbs.on_overlong) cbs.on_overlong(bytes); });
      else
        lines.feed(chunk, static_cast<size_t>(r), [&](std::string l) { if (cbs.on_stderr) cbs.on_stderr(std::move(l)); },
                   [&](size_t bytes) {
                     if (cbs.on_stderr)
                       cbs.on_stderr("(a line of " + std::to_string(bytes) + " bytes, not shown)");
                   });
    };
    drain(out_r, i_out, out_lines, true);
    drain(err_r, i_err, err_lines, false);
    if (i_in >= 0 && fds[i_in].revents != 0) {
      auto w = ::write(in_w, writing.data(), writing.size());
      if (w > 0) {
        writing.erase(0, static_cast<size_t>(w));
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        close_fd(in_w); // the program closed its stdin (EPIPE): input is dropped
        writing.clear();
        std::lock_guard<std::mutex> guard{mtx};
        input_open = false;
        pending.clear();
      }
    }
    if ((out_r < 0 && err_r < 0) || (reaped && std::chrono::steady_clock::now() - reaped_at > std::chrono::seconds(1))) {
      int status = exit_status;
      auto r = reaped ? child : ::waitpid(child, &status, WNOHANG);
      if (r == child) {
        if (exit_fd >= 0)
          ::close(exit_fd);
        close_fd(out_r);
        close_fd(err_r);
        {
          std::lock_guard<std::mutex> guard{mtx};
          input_open = false;
          pending.clear();
        }
        close_fd(in_w);
        if (cbs.on_exit)
          cbs.on_exit(describe_status(status));
        return;
      }
    }
  }
  close_fd(in_w);
  close_fd(out_r);
  close_fd(err_r);
  if (exit_fd >= 0)
    ::close(exit_fd);
}

port_program::port_program(port_options opts, port_callbacks cbs) : st_(std::make_shared<state>()) {
  if (opts.argv.empty() || opts.argv[0].empty())
    throw std::invalid_argument("a port program needs a command");
  st_->opts = std::move(opts);
  st_->cbs = std::move(cbs);
  st_->wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (st_->wake < 0)
    throw std::runtime_error{std::string{"eventfd: "} + std::strerror(errno)};
  std::promise<void> started;
  auto ready = started.get_future();
  st_->io = std::thread([st = st_.get(), &started] { st->run(started); });
  try {
    ready.get();
  } catch (...) {
    st_->io.join();
    ::close(st_->wake);
    throw;
  }
}

port_program::~port_program() {
  st_->stopping = true;
  st_->notify();
  if (st_->io.joinable())
    st_->io.join();
  ::close(st_->wake);
}

void port_program::send(std::string line) {
  {
    std::lock_guard<std::mutex> guard{st_->mtx};
    if (!st_->input_open)
      return;
    st_->pending += line;
    st_->pending += '\n';
  }
  st_->notify();
}

pid_t port_program::pid() const {
  return st_->pid.load();
}

} // namespace cafmcp
