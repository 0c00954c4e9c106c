#pragma once

// Clusters in network namespaces for the netns tests: one namespace per
// node on a bridge in a namespace of its own, real faults (a link set
// down, iptables DROP inside a namespace). Needs root: without it a test
// exits 77 (ctest: skipped). The lab deletes its namespaces on destruction.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/mcp_call.hpp"
#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"

namespace cafmcp::test {

inline void require_root() {
  if (::geteuid() != 0 || std::system("ip netns list > /dev/null 2>&1") != 0) {
    std::fprintf(stderr, "netns tests need root and iproute2: skipped\n");
    std::exit(77);
  }
}

/// iproute2's `ip` (posix_spawn does not search PATH).
inline const std::string& ip_binary() {
  static const std::string path = [] {
    for (auto p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
      if (::access(p, X_OK) == 0)
        return std::string{p};
    return std::string{"ip"};
  }();
  return path;
}

inline bool sh(const std::string& cmd) {
  return std::system((cmd + " > /dev/null 2>&1").c_str()) == 0;
}

/// N namespaces on a bridge, 10.77.<lab>.k/24; removed on destruction.
class netns_lab {
public:
  explicit netns_lab(int n) : n_(n) {
    static int counter = 0;
    tag_ = "cm" + std::to_string(::getpid() % 10000) + "x" + std::to_string(++counter);
    subnet_ = "10.77." + std::to_string((::getpid() + counter) % 250 + 1);
    REQUIRE(sh("ip netns add " + sw()));
    REQUIRE(sh("ip -n " + sw() + " link add br0 type bridge"));
    REQUIRE(sh("ip -n " + sw() + " link set br0 up"));
    for (int k = 1; k <= n; ++k) {
      auto ns = node_ns(k), veth = tag_ + "v" + std::to_string(k);
      REQUIRE(sh("ip netns add " + ns));
      REQUIRE(sh("ip link add " + veth + " type veth peer name eth0 netns " + ns));
      REQUIRE(sh("ip link set " + veth + " netns " + sw()));
      REQUIRE(sh("ip -n " + sw() + " link set " + veth + " master br0"));
      REQUIRE(sh("ip -n " + sw() + " link set " + veth + " up"));
      REQUIRE(sh("ip -n " + ns + " addr add " + ip(k) + "/24 dev eth0"));
      REQUIRE(sh("ip -n " + ns + " link set eth0 up"));
      REQUIRE(sh("ip -n " + ns + " link set lo up"));
    }
  }

  ~netns_lab() {
    for (int k = 1; k <= n_; ++k)
      sh("ip netns del " + node_ns(k));
    sh("ip netns del " + sw());
  }

  std::string sw() const { return tag_ + "sw"; }
  std::string node_ns(int k) const { return tag_ + "n" + std::to_string(k); }
  std::string ip(int k) const { return subnet_ + "." + std::to_string(k); }
  std::string exec(int k) const { return "ip netns exec " + node_ns(k) + " "; }

  /// Cuts node k off the bridge (link down), or back.
  void isolate(int k, bool cut) {
    REQUIRE(sh("ip -n " + sw() + " link set " + tag_ + "v" + std::to_string(k) + (cut ? " down" : " up")));
  }

  /// DROP between every node of `a` and every node of `b` (both directions).
  void partition(const std::vector<int>& a, const std::vector<int>& b) {
    for (int x : a)
      for (int y : b) {
        for (auto [from, to] : {std::pair{x, y}, std::pair{y, x}}) {
          REQUIRE(sh(exec(from) + "iptables -A INPUT -s " + ip(to) + " -j DROP"));
          REQUIRE(sh(exec(from) + "iptables -A OUTPUT -d " + ip(to) + " -j DROP"));
        }
      }
  }

  void heal() {
    for (int k = 1; k <= n_; ++k)
      REQUIRE(sh(exec(k) + "iptables -F"));
  }

private:
  int n_;
  std::string tag_, subnet_;
};

inline constexpr const char* netns_config_template = R"({
  "cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "remove_after_ms": 60000,
              "split_brain": {"stable_after_ms": 800, "strategy": "STRATEGY", "quorum_size": QUORUM,
                              "master": "n1"}},
  "http": {"enabled": false}
})";

/// A cluster of n nodes, one per namespace, n1 first (so the oldest).
struct ns_cluster {
  temp_dir dir;
  netns_lab lab;
  std::string cookie;
  std::vector<std::unique_ptr<process>> nodes;

  /// `http`: each node also serves MCP on its address, port 8080.
  ns_cluster(int n, const std::string& strategy, int quorum = 2, bool http = false) : lab(n) {
    cookie = dir.write("cookie", "netns-cookie\n");
    ::chmod(cookie.c_str(), 0600);
    std::string cfg = netns_config_template;
    cfg.replace(cfg.find("STRATEGY"), 8, strategy);
    cfg.replace(cfg.find("QUORUM"), 6, std::to_string(quorum));
    for (int k = 1; k <= n; ++k) {
      // Each node binds and announces its own namespace's address.
      auto node_cfg = json::parse(cfg);
      node_cfg["cluster"]["host"] = lab.ip(k);
      node_cfg["admin"]["audit_log"] = dir.path() + "/n" + std::to_string(k) + ".audit.jsonl";
      node_cfg["data_dir"] = dir.path() + "/data/n" + std::to_string(k);
      if (http)
        node_cfg["http"] = {{"enabled", true}, {"host", lab.ip(k)}, {"port", 8080}};
      auto path = dir.write("node" + std::to_string(k) + ".json", node_cfg.dump());
      ensure_node_cert(dir, "n" + std::to_string(k), {lab.ip(k)});
      nodes.push_back(std::make_unique<process>(
        std::vector<std::string>{ip_binary(), "netns", "exec", lab.node_ns(k), binary, "node", "--name", "n" + std::to_string(k),
                                 "--cookie-file", cookie, "--certs-dir", certs_of(dir), "--config", path,
                                 "--cluster-port", "4370", "--seeds",
                                 lab.ip(1) + ":4370"},
        dir.path()));
      REQUIRE(wait_ready(*nodes.back(), "n" + std::to_string(k)));
      if (k == 1)
        std::this_thread::sleep_for(300ms); // n1 is the oldest
    }
    REQUIRE(wait_all(n, [&](int, const json& rows) { return count(rows, "up") == static_cast<size_t>(n); }, 30s));
  }

  ~ns_cluster() {
    for (auto& p : nodes)
      p->signal(SIGKILL); // the namespaces go next; a graceful leave would only wait
    for (auto& p : nodes)
      p->wait_exit(10s);
  }

  /// The nodes as the fault workload counts them (0 is n1).
  std::vector<size_t> all_nodes() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < nodes.size(); ++i)
      out.push_back(i);
    return out;
  }

  /// Node k's status rows (null when it does not answer).
  json status(int k) {
    process p{{ip_binary(), "netns", "exec", lab.node_ns(k), binary, "status", "--node", lab.ip(k) + ":4370",
               "--cookie-file", cookie, "--certs-dir", certs_of(dir), "--json"},
              dir.path()};
    if (p.wait_exit(15s) != 0)
      return nullptr;
    auto j = json::parse(p.out(), nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
  }

  static size_t count(const json& rows, const std::string& state) {
    size_t c = 0;
    if (rows.is_array())
      for (auto& r : rows)
        c += r["state"] == state && r["health"] == "healthy" ? 1 : 0;
    return c;
  }

  static json self_row(const json& rows) {
    if (rows.is_array())
      for (auto& r : rows)
        if (r["self"] == true)
          return r;
    return nullptr;
  }

  /// True when node k serves: up, not fenced.
  bool serving(int k) {
    auto me = self_row(status(k));
    return me.is_object() && me["state"] == "up" && me["side"] != "fenced";
  }

  bool fenced(int k) {
    auto me = self_row(status(k));
    return me.is_object() && (me["side"] == "fenced" || me["state"] == "down");
  }

  /// Polls every node until pred(k, rows) holds for all (bounded).
  bool wait_all(int n, const std::function<bool(int, const json&)>& pred, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (int k = 1; k <= n && all; ++k)
        all = pred(k, status(k));
      if (all)
        return true;
      std::this_thread::sleep_for(300ms);
    }
    return false;
  }

  /// What every node says of itself and the others (for a failure message).
  std::string describe(int n) {
    std::string out;
    for (int k = 1; k <= n; ++k) {
      out += "n" + std::to_string(k) + " sees:";
      auto rows = status(k);
      if (rows.is_array())
        for (auto& r : rows)
          out += " " + r["node"].get<std::string>() + "=" + r["state"].get<std::string>() + "/"
                 + r["health"].get<std::string>() + "/" + r["side"].get<std::string>();
      else
        out += " (no answer)";
      out += "\n";
    }
    return out;
  }

  /// Waits until exactly `winners` serve and every other node is fenced.
  bool wait_outcome(int n, const std::set<int>& winners, std::chrono::seconds limit) {
    auto ok = wait_all(n, [&](int k, const json& rows) {
      auto me = self_row(rows);
      if (!me.is_object())
        return false;
      bool serves = me["state"] == "up" && me["side"] != "fenced";
      return winners.count(k) ? serves : !serves;
    }, limit);
    if (!ok)
      MESSAGE(describe(n));
    return ok;
  }
};


/// A 2026-07-28 tools/call to node `to`, sent by curl from node `from`'s
/// namespace (the test itself has no route into the lab). The JSON-RPC
/// reply, or null when none came.
inline nlohmann::json lab_call(ns_cluster& c, int from, int to, const std::string& tool, const json& args) {
  auto body = mcp_tool_call_body(tool, args);
  auto r = run({ip_binary(), "netns", "exec", c.lab.node_ns(from), "curl", "-s", "-m", "5",
                "http://" + c.lab.ip(to) + ":8080/mcp", "-H", "Content-Type: application/json", "-H",
                "Accept: application/json, text/event-stream", "-H", "MCP-Protocol-Version: 2026-07-28", "-H",
                "Mcp-Method: tools/call", "-H", "Mcp-Name: " + tool, "-d", body.dump()},
               10s);
  auto j = json::parse(r.out, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

inline bool lab_ok(const json& r) {
  return r.is_object() && r.contains("result") && !r["result"].value("isError", false);
}

} // namespace cafmcp::test
