// base/port_program: a real /bin/sh child, its lines, its exit, its death with its owner.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "base/port_program.hpp"

using namespace cafmcp;
using namespace std::chrono_literals;

namespace {

/// What a port told its owner, waited for with a bound.
struct heard {
  std::mutex mtx;
  std::condition_variable cv;
  std::vector<std::string> lines;
  std::vector<std::string> errors;
  std::vector<size_t> overlong;
  std::string exit;

  port_callbacks callbacks() {
    port_callbacks cbs;
    cbs.on_line = [this](std::string l) { add([&] { lines.push_back(std::move(l)); }); };
    cbs.on_stderr = [this](std::string l) { add([&] { errors.push_back(std::move(l)); }); };
    cbs.on_overlong = [this](size_t n) { add([&] { overlong.push_back(n); }); };
    cbs.on_exit = [this](std::string how) { add([&] { exit = std::move(how); }); };
    return cbs;
  }
  template <class F>
  void add(F f) {
    std::lock_guard<std::mutex> guard{mtx};
    f();
    cv.notify_all();
  }
  template <class Pred>
  bool wait(Pred p) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, 10s, p);
  }
};

port_options sh(const std::string& script) {
  return port_options{{"sh", "-c", script}, {}, "", 64};
}

bool running(pid_t pid) {
  // A zombie still answers kill(0): look at its state instead.
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f)
    return false;
  char buf[512] = {0};
  auto n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string stat{buf, n};
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

} // namespace

TEST_CASE("a port program's stdout lines, stderr lines and exit status reach its owner in order") {
  heard h;
  port_program p{sh("echo one; echo oops >&2; printf 'two\\r\\nthree'; exit 3"), h.callbacks()};
  REQUIRE(h.wait([&] { return !h.exit.empty(); }));
  CHECK(h.lines == std::vector<std::string>{"one", "two", "three"});
  CHECK(h.errors == std::vector<std::string>{"oops"});
  CHECK(h.exit == "exited with status 3");
}

TEST_CASE("a port program reads what its owner sends, line by line") {
  heard h;
  port_program p{sh("while read l; do echo \"got $l\"; done"), h.callbacks()};
  p.send("a");
  p.send("b");
  REQUIRE(h.wait([&] { return h.lines.size() == 2; }));
  CHECK(h.lines == std::vector<std::string>{"got a", "got b"});
}

TEST_CASE("a stdout line longer than max_line is dropped and reported, the next line still arrives") {
  heard h;
  // 200 bytes against a limit of 64, then a short line.
  port_program p{sh("head -c 200 /dev/zero | tr '\\0' x; echo; echo short"), h.callbacks()};
  REQUIRE(h.wait([&] { return !h.exit.empty(); }));
  CHECK(h.lines == std::vector<std::string>{"short"});
  REQUIRE(h.overlong.size() == 1);
  CHECK(h.overlong[0] == 200);
}

TEST_CASE("a port program killed from outside reports the signal") {
  heard h;
  port_program p{sh("echo up; exec sleep 30"), h.callbacks()};
  REQUIRE(h.wait([&] { return h.lines.size() == 1; }));
  ::kill(p.pid(), SIGKILL);
  REQUIRE(h.wait([&] { return !h.exit.empty(); }));
  CHECK(h.exit == "killed by signal 9");
}

TEST_CASE("a port program and its children die with their owner") {
  heard h;
  pid_t pid = 0;
  {
    // The shell starts a child of its own: the whole group goes.
    port_program p{sh("sleep 30 & echo $!; wait"), h.callbacks()};
    REQUIRE(h.wait([&] { return h.lines.size() == 1; }));
    pid = static_cast<pid_t>(std::stol(h.lines[0]));
    CHECK(running(pid));
    CHECK(running(p.pid()));
  }
  // The grandchild is re-parented and reaped by init: give it a bounded moment.
  for (int i = 0; i < 200 && running(pid); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK_FALSE(running(pid));
}

TEST_CASE("a program that cannot be started is refused with the reason") {
  heard h;
  CHECK_THROWS_WITH_AS(port_program(port_options{{"no-such-program-cafmcp"}, {}, "", 64}, h.callbacks()),
                       doctest::Contains("not found in PATH"), std::runtime_error);
  CHECK_THROWS_WITH_AS(port_program(port_options{{"sh"}, {}, "/no/such/dir", 64}, h.callbacks()),
                       doctest::Contains("No such file or directory"), std::runtime_error);
}

TEST_CASE("a port program gets the extra environment and working directory") {
  heard h;
  port_program p{port_options{{"sh", "-c", "echo \"$CAFMCP_T $(pwd)\""}, {"CAFMCP_T=yes"}, "/tmp", 64}, h.callbacks()};
  REQUIRE(h.wait([&] { return !h.exit.empty(); }));
  CHECK(h.lines == std::vector<std::string>{"yes /tmp"});
}

TEST_CASE("a port program that exits while a program it started holds its pipes is seen to exit, and that program goes too") {
  // As npx does: the server runs as a grandchild with the same pipes.
  heard h;
  port_program p{sh("sleep 30 & echo $!; exit 4"), h.callbacks()};
  REQUIRE(h.wait([&] { return !h.exit.empty(); }));
  CHECK(h.exit == "exited with status 4");
  REQUIRE(h.lines.size() == 1);
  auto pid = static_cast<pid_t>(std::stol(h.lines[0]));
  for (int i = 0; i < 200 && running(pid); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK_FALSE(running(pid));
}

TEST_CASE("a port program inherits none of its owner's descriptors but its three pipes") {
  // As a node's sockets: open, and not close-on-exec.
  int leaked = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaked > 2);
  heard h;
  port_program p{sh("for f in /proc/$$/fd/*; do echo ${f##*/}; done"), h.callbacks()};
  REQUIRE(h.wait([&] { return !h.exit.empty(); }));
  ::close(leaked);
  CHECK(h.exit == "exited with status 0");
  // 0, 1, 2, and the lowest free one, 3, which the listing itself opens
  // (a leaked descriptor would take 3 and push the listing's to 4).
  CHECK(h.lines.size() == 4);
  for (auto& fd : h.lines)
    CHECK_MESSAGE((fd == "0" || fd == "1" || fd == "2" || fd == "3"), ("the program holds descriptor " + fd));
}
