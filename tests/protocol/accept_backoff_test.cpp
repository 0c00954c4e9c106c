// Accepting again after accept() errors (out of file descriptors): the wait, and what is logged.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/system/error_code.hpp>
#include <doctest/doctest.h>

#include "protocol/tcp_listen.hpp"

using namespace cafmcp::protocol;
using namespace std::chrono_literals;

namespace {

/// Stands in for an Asio steady_timer: keeps the wait, fires it on demand.
struct fake_timer {
  std::chrono::milliseconds delay{};
  std::function<void(const boost::system::error_code&)> pending;
  void expires_after(std::chrono::milliseconds d) { delay = d; }
  template <class F>
  void async_wait(F f) { pending = f; }
  void fire(boost::system::error_code ec = {}) {
    auto f = std::move(pending);
    pending = nullptr;
    f(ec);
  }
};

} // namespace

TEST_CASE("accept errors pause accepting for 10 ms doubling to 1 s, and accepting resumes after each wait") {
  accept_backoff backoff;
  fake_timer timer;
  int retries = 0;
  std::vector<long> delays;
  std::string warn;
  for (int i = 0; i < 9; ++i) {
    backoff.failed("Too many open files", timer, [&] { ++retries; }, warn);
    delays.push_back(static_cast<long>(timer.delay.count()));
    timer.fire();
  }
  CHECK(delays == std::vector<long>{10, 20, 40, 80, 160, 320, 640, 1000, 1000});
  CHECK(retries == 9);
}

TEST_CASE("a run of accept errors is logged at its first and every 100th failure, and its end once") {
  accept_backoff backoff;
  fake_timer timer;
  std::string warn;
  backoff.failed("Too many open files", timer, [] {}, warn);
  CHECK(warn == "cannot accept connections: Too many open files (1 in a row); retrying in 10 ms");
  int lines = 1;
  for (int i = 2; i <= 100; ++i) {
    backoff.failed("Too many open files", timer, [] {}, warn);
    lines += warn.empty() ? 0 : 1;
  }
  CHECK(lines == 2);
  CHECK(warn == "cannot accept connections: Too many open files (100 in a row); retrying in 1000 ms");
  CHECK(backoff.succeeded() == "accepting connections again after 100 failures");
  CHECK(backoff.succeeded().empty());
  backoff.failed("Too many open files", timer, [] {}, warn);
  CHECK(timer.delay == 10ms); // a new run starts short again
}

TEST_CASE("a stopped server's cancelled accept wait does not accept again") {
  accept_backoff backoff;
  fake_timer timer;
  std::string warn;
  int retries = 0;
  backoff.failed("Too many open files", timer, [&] { ++retries; }, warn);
  timer.fire(boost::system::errc::make_error_code(boost::system::errc::operation_canceled));
  CHECK(retries == 0);
}
