#pragma once

// One real node process on free ports for black-box tests of the MCP port:
// started with a config, stopped with SIGTERM at the end (must exit 0),
// its /metrics read series by series.

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"
#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"

namespace cafmcp::test {

/// A node (through `prefix`, e.g. a shell setting ulimit) with `config`,
/// on free ports; stopped with SIGTERM at the end. `program`: cafmcp, or
/// an example server built on it.
struct guarded_node {
  temp_dir dir;
  std::unique_ptr<process> proc;
  uint16_t port = 0;
  uint16_t web = 0;

  explicit guarded_node(const std::string& config, std::vector<std::string> prefix = {},
                        const std::string& program = CAFMCP_BINARY) {
    auto args = prefix;
    for (auto a : {program, std::string{"node"}, std::string{"--http-port"}, std::string{"0"},
                   std::string{"--metrics-port"}, std::string{"0"}, std::string{"--config"},
                   dir.write("node.json", config)})
      args.push_back(a);
    proc = std::make_unique<process>(args, dir.path());
    auto ready = wait_ready(*proc);
    REQUIRE(ready);
    port = ready->mcp_port;
    web = ready->web_port;
  }

  ~guarded_node() {
    proc->signal(SIGTERM);
    CHECK(proc->wait_exit(std::chrono::seconds(20)) == 0);
  }

  /// A modern echo call on a fresh connection: its HTTP status (0: none).
  int echo() { return mcp_tool_call(port, "echo", {{"text", "hi"}}, std::chrono::seconds(5)).status; }

  /// The value of series `series` (name and labels, exactly as exposed) on
  /// /metrics; -1 when absent.
  double metric(const std::string& series) {
    auto body = http_request(web, "GET", "/metrics", {}).body;
    auto at = body.find("\n" + series + " ");
    if (at == std::string::npos)
      return -1;
    return std::stod(body.substr(at + series.size() + 2));
  }

  /// Waits (bounded) until `series` reaches `value`.
  bool wait_metric(const std::string& series, double value, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (metric(series) < value) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
};

} // namespace cafmcp::test
