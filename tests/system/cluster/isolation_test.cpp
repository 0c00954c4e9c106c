// The tier-3 promise, with real processes: MCP clients keep calling tools
// while every observability actor is killed over and over (through the
// admin shell) and /metrics is hammered; no MCP request fails and no
// tier-1 or tier-2 actor restarts.

#include <atomic>
#include <functional>
#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"
#include "tests/support/otlp_receiver.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// Restart counts of every node under `path` of member n1 (shell --json).
std::map<std::string, uint64_t> restarts(const three_nodes& c, const std::string& path) {
  auto r = run({binary, "shell", "--node", c.n1->address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir), "-c", "tree n1:" + path, "--json"});
  std::map<std::string, uint64_t> out;
  auto j = json::parse(r.out, nullptr, false);
  std::function<void(const json&)> walk = [&](const json& n) {
    if (n.contains("path"))
      out[n["path"].get<std::string>()] = n.value("restarts", uint64_t{0});
    if (n.contains("children"))
      for (auto& k : n["children"])
        walk(k);
  };
  if (j.is_object())
    walk(j);
  return out;
}

/// Fast heartbeats, and every request traced to `rx`.
std::string traced(const otlp_receiver& rx) {
  auto cfg = json::parse(fast_config);
  cfg["observability"]["tracing"] = rx.tracing_config(1.0);
  return cfg.dump();
}

} // namespace

TEST_CASE("killing every observability actor over and over while /metrics is hammered fails no MCP request and restarts nothing in tiers 1 and 2") {
  otlp_receiver rx;
  three_nodes c{traced(rx)};
  auto core_before = restarts(c, "/root/core_sup");
  auto protocol_before = restarts(c, "/root/protocol_sup");
  REQUIRE_FALSE(core_before.empty());
  REQUIRE_FALSE(protocol_before.empty());
  std::atomic<bool> stop{false};
  std::atomic<size_t> calls{0}, failed{0}, scrapes{0};
  std::thread client([&] {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!stop && std::chrono::steady_clock::now() < deadline) {
      auto r = mcp_tool_call(c.n1->http_port, "echo", {{"text", "still here"}});
      ++calls;
      if (r.status != 200 || !r.body.is_object() || !r.body.contains("result"))
        ++failed;
    }
  });
  std::thread scraper([&] {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!stop && std::chrono::steady_clock::now() < deadline) {
      http_request(c.n1->web_port, "GET", "/metrics", {}, {}, 2s); // may fail while it restarts
      ++scrapes;
    }
  });
  // The children over and over (past observability_sup's own restart
  // intensity), then the supervisor itself; a kill finds nothing while
  // tier 3 is backing off, which is fine.
  int kills = 0;
  auto kill = [&](const std::string& path) {
    auto r = run({binary, "shell", "--node", c.n1->address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir), "-c", "kill n1:" + path});
    kills += r.code == 0 ? 1 : 0;
  };
  for (int round = 0; round < 10; ++round) {
    kill("/root/observability_sup/web");
    kill("/root/observability_sup/health");
    kill("/root/observability_sup/otlp_exporter");
    std::this_thread::sleep_for(200ms);
  }
  kill("/root/observability_sup");
  std::this_thread::sleep_for(1000ms);
  stop = true;
  client.join();
  scraper.join();
  MESSAGE("observability actors killed " << kills << " times; MCP calls " << calls.load() << ", failed "
                                         << failed.load() << "; scrapes " << scrapes.load());
  CHECK(kills >= 15);
  CHECK(calls > 0);
  CHECK(failed == 0);
  CHECK(restarts(c, "/root/core_sup") == core_before);
  CHECK(restarts(c, "/root/protocol_sup") == protocol_before);
  // And tier 3 comes back: /health answers again on the port its last
  // incarnation took (port 0: any free one), within its supervisor's backoff.
  bool back = false;
  for (int i = 0; i < 120 && !back; ++i) {
    auto log = c.n1->proc->err();
    static const std::regex announced{R"(readiness on http://127\.0\.0\.1:(\d+)/metrics)"};
    uint16_t port = 0;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), announced); it != std::sregex_iterator(); ++it)
      port = static_cast<uint16_t>(std::stoi((*it)[1]));
    back = port != 0 && http_request(port, "GET", "/health", {}, {}, 2s).status == 200;
    if (!back)
      std::this_thread::sleep_for(500ms);
  }
  CHECK(back);
  // The exporter is back too: a call made now reaches the receiver.
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto r = mcp_tool_call(c.n1->http_port, "echo", {{"text", "traced"}}, 10s,
                         {{"traceparent", "00-" + trace_id + "-00f067aa0ba902b7-01"}});
  CHECK(r.status == 200);
  auto spans = rx.wait_trace(trace_id, [](const std::vector<received_span>& s) { return !s.empty(); }, 30s);
  CHECK_FALSE(spans.empty());
}
