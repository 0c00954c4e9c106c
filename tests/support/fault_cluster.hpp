#pragma once

// A cluster of real nodes on 127.0.0.1 for the fault tests: nodes are
// killed, restarted on their data dirs, frozen; calls reach node i through
// its current MCP port. The fault suite's size and duration knobs
// (bench/fault_suite.sh) are read here too.

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/fault_workload.hpp"

namespace cafmcp::test {

/// N real nodes n1…nN whose data dirs (DIR/data/nK) outlive them: a node
/// restarted under its name comes back with what it had on disk.
struct fault_cluster {
  temp_dir dir;
  std::string cookie = write_cookie(dir, "cookie", "fault-cookie-0123456789");
  std::vector<std::string> configs;
  std::vector<std::unique_ptr<cluster_node>> nodes;
  std::vector<std::atomic<uint16_t>> ports; // MCP port of each node, 0 while it is down
  /// The command node i, with its data dir, runs through (cluster_node's prefix), e.g. unshare.
  using prefix_fn = std::function<std::vector<std::string>(size_t i, const std::string& data_dir)>;
  prefix_fn prefix_of;

  /// `config_of(i)`: node i's configuration (default: fast heartbeats).
  explicit fault_cluster(size_t n, const std::function<nlohmann::json(size_t)>& config_of = {},
                         prefix_fn prefix = {})
    : nodes(n), ports(n), prefix_of(std::move(prefix)) {
    for (size_t i = 0; i < n; ++i) {
      auto cfg = config_of ? config_of(i) : nlohmann::json::parse(fast_config);
      configs.push_back(dir.write("node" + std::to_string(i + 1) + ".json", cfg.dump()));
    }
    for (size_t i = 0; i < n; ++i)
      start(i);
    REQUIRE(wait_up());
  }

  fault_cluster(const fault_cluster&) = delete;
  fault_cluster& operator=(const fault_cluster&) = delete;

  ~fault_cluster() {
    for (auto& n : nodes)
      if (n && n->proc->running()) {
        n->proc->signal(SIGCONT);
        n->proc->signal(SIGTERM);
      }
    for (auto& n : nodes)
      if (n)
        n->proc->wait_exit(std::chrono::seconds(20)); // and the process's destructor kills what is left, by PID
  }

  size_t size() const { return nodes.size(); }
  std::vector<size_t> all() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < size(); ++i)
      out.push_back(i);
    return out;
  }

  /// Starts node i (again) with its name and data dir, through a running node if there is one.
  void start(size_t i) {
    std::string seed;
    for (size_t j = 0; j < size() && seed.empty(); ++j)
      if (j != i && ports[j] != 0)
        seed = nodes[j]->address();
    auto name = "n" + std::to_string(i + 1);
    auto prefix = prefix_of ? prefix_of(i, data_dir(i)) : std::vector<std::string>{};
    nodes[i] = std::make_unique<cluster_node>(dir, name, cookie, configs[i], seed, prefix);
    ports[i] = nodes[i]->http_port;
  }

  /// Node i's data dir (cluster_node's --data-dir).
  std::string data_dir(size_t i) const { return dir.path() + "/data/n" + std::to_string(i + 1); }

  void kill(size_t i) {
    ports[i] = 0;
    nodes[i]->proc->signal(SIGKILL);
    REQUIRE(nodes[i]->proc->wait_exit(std::chrono::seconds(10)).has_value());
  }

  /// Every node sees every node up and healthy.
  bool wait_up(std::chrono::seconds limit = std::chrono::seconds(30)) {
    std::vector<const cluster_node*> up;
    for (auto& n : nodes)
      up.push_back(n.get());
    return wait_all_up(dir, up, cookie, limit);
  }

  node_call call() {
    return loopback_call([this](size_t i) { return ports[i].load(); });
  }

  std::vector<std::string> open_handles(size_t n) {
    std::vector<std::string> out;
    auto c = call();
    for (size_t k = 0; k < n; ++k) {
      nlohmann::json r;
      for (int attempt = 0; attempt < 50 && !tool_ok(r); ++attempt) {
        r = c(k % size(), "session_open", nlohmann::json::object());
        if (!tool_ok(r))
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      REQUIRE_MESSAGE(tool_ok(r), tool_error(r));
      out.push_back(r["result"]["structuredContent"]["handle"]);
    }
    return out;
  }
};

inline size_t nodes_wanted() {
  return static_cast<size_t>(fault_env("CAFMCP_FAULT_NODES", 3));
}

inline std::chrono::milliseconds seconds_wanted(int fallback) {
  return std::chrono::seconds(fault_env("CAFMCP_FAULT_SECONDS", fallback));
}

} // namespace cafmcp::test
