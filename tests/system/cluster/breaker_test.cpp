// A primary that stops answering but stays in the view (SIGSTOP, with a
// failure detector slower than the write timeout): its peer breaker on the
// forwarding node opens after a few timeouts, and calls fail at once
// instead of each waiting a full timeout; after SIGCONT a trial forward
// closes it again. The run prints its figures.

#include <csignal>
#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Detection takes 50 heartbeats (10 s); a forward waits 500 + 500 ms, and
// an open peer circuit lets a trial go after as long.
constexpr const char* slow_detector_config = R"({
  "cluster": {"heartbeat_ms": 200, "unhealthy_after": 50, "remove_after_ms": 3000,
              "split_brain": {"stable_after_ms": 600},
              "replication": {"write_timeout_ms": 500}},
  "circuit_breaker": {"failure_threshold": 3, "open_timeout_ms": 2000},
  "supervision": {"shutdown_grace_ms": 10000}
})";

struct timed_call {
  mcp_reply reply;
  std::chrono::milliseconds took;
};

timed_call set_value(uint16_t port, const std::string& handle, int i) {
  auto start = std::chrono::steady_clock::now();
  auto r = mcp_tool_call(port, "session_set", {{"handle", handle}, {"key", "k"}, {"value", std::to_string(i)}}, 15s);
  return {r, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
}

} // namespace

TEST_CASE("a paused primary's breaker opens after three timeouts - calls then fail at once - and closes after SIGCONT") {
  three_nodes c{slow_detector_config};
  // A handle n2 leads (36 handles: n2 leads none with probability (2/3)^36).
  std::vector<std::string> handles;
  for (int i = 0; i < 36; ++i)
    handles.push_back(open_handle(c.n1->http_port));
  std::string handle, backed_up; // led by n2; led by n1 with n2 as its backup
  for (auto& [id, node] : session_primaries(c.dir, *c.n1, c.cookie)) {
    if (std::find(handles.begin(), handles.end(), id) == handles.end())
      continue;
    if (node == "n2")
      handle = id;
    if (node == "n1" && backed_up.empty()) {
      auto r = run({binary, "shell", "--node", c.n1->address(), "-c", "session " + id, "--json", "--cookie-file",
                    c.cookie, "--certs-dir", certs_of(c.dir)});
      auto j = json::parse(r.out, nullptr, false);
      if (j.is_object() && j["replicas"].size() == 2 && j["replicas"][1] == "n2")
        backed_up = id;
    }
  }
  REQUIRE_FALSE(handle.empty());
  REQUIRE(ok(set_value(c.n1->http_port, handle, 0).reply.body));

  c.n2->proc->signal(SIGSTOP);
  std::vector<timed_call> before, after;
  // Until the breaker opens every call waits for its forward to time out.
  bool opened = false;
  for (int i = 1; i <= 6 && !opened; ++i) {
    before.push_back(set_value(c.n1->http_port, handle, i));
    CHECK_FALSE(ok(before.back().reply.body));
    opened = c.n1->proc->wait_for_stderr_line(
                 std::regex{R"(\S+ warning +n1 /root/core_sup/circuit_breakers: circuit peer:n2 opened after 3 )"
                            R"(consecutive failure\(s\); calls are refused for 1\.0 s, then one trial call goes.*)"},
                 10ms)
               .has_value();
  }
  REQUIRE(opened);
  CHECK(before.size() == 3);
  // Open: refused without being sent.
  for (int i = 0; i < 5; ++i) {
    after.push_back(set_value(c.n1->http_port, handle, 100 + i));
    INFO(text_of(after.back().reply.body));
    CHECK(text_of(after.back().reply.body).find("not forwarded to n2, the primary of " + handle) != std::string::npos);
    CHECK(text_of(after.back().reply.body).find("the operation did not take effect") != std::string::npos);
  }
  // A write n1 leads with n2 as its backup: the push to n2 goes through the
  // same breaker, so it is not sent (the write fails for want of its quorum).
  if (!backed_up.empty()) {
    auto refused = metric(c.n1->web_port, R"(cafmcp_circuit_breaker_rejections_total\{key="peer:n2"\})");
    CHECK_FALSE(ok(set_value(c.n1->http_port, backed_up, 1).reply.body));
    CHECK(metric(c.n1->web_port, R"(cafmcp_circuit_breaker_rejections_total\{key="peer:n2"\})") == refused + 1);
  }
  auto slowest = [](const std::vector<timed_call>& calls) {
    std::chrono::milliseconds out{0};
    for (auto& k : calls)
      out = std::max(out, k.took);
    return out;
  };
  MESSAGE("paused primary: " << before.size() + after.size() << " calls, " << after.size()
                             << " failed fast; slowest call before the breaker opened "
                             << slowest(before).count() << " ms, after " << slowest(after).count() << " ms");

  c.n2->proc->signal(SIGCONT);
  // After open_timeout_ms a trial forward goes; n2 answers it and the circuit closes.
  bool served = false;
  for (int i = 0; i < 40 && !served; ++i) { // bounded: about 12 s
    served = ok(set_value(c.n1->http_port, handle, 200 + i).reply.body);
    if (!served)
      std::this_thread::sleep_for(300ms);
  }
  CHECK(served);
  CHECK(c.n1->proc->wait_for_stderr_line(
    std::regex{R"(\S+ info +n1 /root/core_sup/circuit_breakers: circuit peer:n2 closed again: a trial call succeeded.*)"},
    5s));
  CHECK(metric(c.n1->web_port, R"(cafmcp_circuit_breaker_state\{key="peer:n2"\})") == 0);
  CHECK(metric(c.n1->web_port, R"(cafmcp_circuit_breaker_opened_total\{key="peer:n2"\})") == 1);
  CHECK(metric(c.n1->web_port, R"(cafmcp_circuit_breaker_rejections_total\{key="peer:n2"\})") >= 5);
}

TEST_CASE("an operator's call to a member whose circuit is open is refused at once, not held for the relay's limit") {
  // Forwards wait 3.5 s, and an open peer circuit as long: room for a shell to start meanwhile.
  three_nodes c{R"({
    "cluster": {"heartbeat_ms": 200, "unhealthy_after": 100, "remove_after_ms": 3000,
                "split_brain": {"stable_after_ms": 600}, "replication": {"write_timeout_ms": 3000}},
    "circuit_breaker": {"failure_threshold": 3},
    "supervision": {"shutdown_grace_ms": 10000}
  })"};
  std::vector<std::string> handles;
  for (int i = 0; i < 36; ++i)
    handles.push_back(open_handle(c.n1->http_port));
  std::string handle;
  for (auto& [id, node] : session_primaries(c.dir, *c.n1, c.cookie))
    if (node == "n2" && std::find(handles.begin(), handles.end(), id) != handles.end())
      handle = id;
  REQUIRE_FALSE(handle.empty());
  c.n2->proc->signal(SIGSTOP);
  // Three forwards at once: all three time out together and open the circuit.
  std::vector<std::thread> callers;
  for (int i = 0; i < 3; ++i)
    callers.emplace_back([&c, &handle, i] { set_value(c.n1->http_port, handle, i); });
  for (auto& t : callers)
    t.join();
  REQUIRE(c.n1->proc->wait_for_stderr_line(
    std::regex{R"(\S+ warning +n1 /root/core_sup/circuit_breakers: circuit peer:n2 opened after 3 .*)"}, 5s));
  auto r = run({binary, "shell", "--node", c.n1->address(), "-c", "which_children n2:/root/core_sup", "--cookie-file",
                c.cookie, "--certs-dir", certs_of(c.dir)},
               30s);
  c.n2->proc->signal(SIGCONT);
  CHECK(r.code == 1);
  INFO(r.err);
  CHECK(r.err.find("not relayed to n2: its circuit opened after 3 calls in a row got no answer") != std::string::npos);
}
