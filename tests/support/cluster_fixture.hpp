#pragma once

// Real `cafmcp` node processes forming a cluster on 127.0.0.1 (free ports,
// 200 ms heartbeats so that every wait stays short), and `cafmcp status`
// against them. Every wait is bounded; every node is stopped by its PID.
// They speak mutual TLS, as by default: a test directory's certificates are
// in DIR/certs (a CA, clients admin and viewer, and each node's, made with
// `cafmcp cert` as the node starts).

#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/net.hpp"
#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"

namespace cafmcp::test {

using nlohmann::json;
using namespace std::chrono_literals;

inline const std::string binary = CAFMCP_BINARY;

inline constexpr const char* fast_config = R"({
  "cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "remove_after_ms": 3000,
              "split_brain": {"stable_after_ms": 600}},
  "supervision": {"shutdown_grace_ms": 10000}
})";

inline std::string write_cookie(const temp_dir& dir, const std::string& name, const std::string& value) {
  auto path = dir.write(name, value + "\n");
  ::chmod(path.c_str(), 0600);
  return path;
}

/// Where a test directory's certificates are.
inline std::string certs_of(const temp_dir& dir) {
  return dir.path() + "/certs";
}

/// `cafmcp cert ARGS --certs-dir DIR/certs`, which must succeed.
inline void cert(const temp_dir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {binary, "cert"});
  args.insert(args.end(), {"--certs-dir", certs_of(dir)});
  auto r = run(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
}

/// The CA and the clients admin (role admin) and viewer (role viewer), once per directory.
inline void ensure_ca(const temp_dir& dir) {
  if (::access((certs_of(dir) + "/ca.crt").c_str(), F_OK) == 0)
    return;
  cert(dir, {"create-ca"});
  cert(dir, {"create-client", "admin", "--role", "admin"});
  cert(dir, {"create-client", "viewer", "--role", "viewer"});
}

/// A node certificate for `name` (once), for the loopback address and `hosts`.
inline void ensure_node_cert(const temp_dir& dir, const std::string& name, const std::vector<std::string>& hosts = {}) {
  ensure_ca(dir);
  if (::access((certs_of(dir) + "/node." + name + ".crt").c_str(), F_OK) == 0)
    return;
  std::vector<std::string> args{"create-node", name, "--host", "127.0.0.1"};
  for (auto& h : hosts)
    args.insert(args.end(), {"--host", h});
  cert(dir, args);
}

/// How a command-line tool reaches the nodes of `dir`: the cookie and the admin's certificate.
inline std::vector<std::string> client_flags(const temp_dir& dir, const std::string& cookie,
                                             const std::string& user = "admin") {
  return {"--cookie-file", cookie, "--certs-dir", certs_of(dir), "--user", user};
}

/// One node: its cluster port, its MCP HTTP port and its observability port
/// (from its ready line).
struct cluster_node {
  std::string name;
  uint16_t cluster_port = 0;
  uint16_t http_port = 0;
  uint16_t web_port = 0; // /metrics, /health, /ready
  std::unique_ptr<process> proc;

  /// `prefix` runs the node through another command first (e.g. unshare),
  /// which must exec it (the node keeps the command's PID).
  cluster_node(const temp_dir& dir, std::string n, const std::string& cookie, const std::string& config,
               const std::string& seed = {}, const std::vector<std::string>& prefix = {})
    : name(std::move(n)), cluster_port(free_port()) {
    ensure_node_cert(dir, name);
    std::vector<std::string> args{binary, "node", "--name", name, "--cluster-port", std::to_string(cluster_port),
                                  "--http-port", "0", "--metrics-port", "0", "--cookie-file", cookie, "--config", config,
                                  "--certs-dir", certs_of(dir),
                                  "--audit-log", dir.path() + "/" + name + ".audit.jsonl",
                                  "--data-dir", dir.path() + "/data/" + name};
    if (!seed.empty())
      args.insert(args.end(), {"--seeds", seed});
    args.insert(args.begin(), prefix.begin(), prefix.end());
    proc = std::make_unique<process>(args, dir.path());
    auto ready = wait_ready(*proc, name);
    REQUIRE(ready);
    REQUIRE(ready->cluster == address());
    REQUIRE(ready->mcp_port != 0);
    REQUIRE(ready->web_port != 0);
    http_port = ready->mcp_port;
    web_port = ready->web_port;
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(cluster_port); }
};

/// A counter's or gauge's value in a node's /metrics (-1: not there).
inline double metric(uint16_t web_port, const std::string& name) {
  auto m = http_request(web_port, "GET", "/metrics", {});
  std::smatch match;
  if (std::regex_search(m.body, match, std::regex{"\n" + name + " ([0-9.e+]+)"}))
    return std::stod(match[1]);
  return -1;
}

struct status_result {
  int code = -1;
  std::string out, err;
  json rows; // --json output (null if not JSON)
};

/// `cafmcp status --json` against `n`, with `extra` arguments (e.g. --config).
inline status_result status(const temp_dir& dir, const cluster_node& n, const std::string& cookie,
                     const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{binary, "status", "--node", n.address(), "--json"};
  auto flags = client_flags(dir, cookie);
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), extra.begin(), extra.end());
  process p{args, dir.path()};
  status_result r;
  r.code = p.wait_exit(20s).value_or(-1);
  r.out = p.out();
  r.err = p.err();
  r.rows = json::parse(r.out, nullptr, false);
  if (r.rows.is_discarded())
    r.rows = nullptr;
  return r;
}

inline json row_of(const json& rows, const std::string& node) {
  if (rows.is_array())
    for (auto& r : rows)
      if (r["node"] == node)
        return r;
  return nullptr;
}

/// Polls `n`'s status until `pred(rows)` holds (bounded).
inline bool wait_status(const temp_dir& dir, const cluster_node& n, const std::string& cookie,
                 const std::function<bool(const json&)>& pred, std::chrono::seconds limit = 20s,
                 const std::vector<std::string>& extra = {}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = status(dir, n, cookie, extra);
    if (s.code == 0 && pred(s.rows))
      return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

inline bool all_up_healthy(const json& rows, size_t n) {
  if (!rows.is_array() || rows.size() != n)
    return false;
  for (auto& r : rows)
    if (r["state"] != "up" || r["health"] != "healthy")
      return false;
  return true;
}

/// Waits until every node in `nodes` sees all of them up and healthy. Asking only
/// one node is not enough: members that joined through it may not have linked to
/// each other yet, and then they disagree about which member leads a record.
inline bool wait_all_up(const temp_dir& dir, const std::vector<const cluster_node*>& nodes,
                        const std::string& cookie, std::chrono::seconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (auto* n : nodes) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 ||
        !wait_status(dir, *n, cookie, [&](const json& rows) { return all_up_healthy(rows, nodes.size()); }, left))
      return false;
  }
  return true;
}

/// fast_config with tenants named by the X-Tenant header (docs/ROUTING.md).
inline std::string tenant_header_config() {
  auto cfg = nlohmann::json::parse(fast_config);
  cfg["http"]["tenant_header"] = "X-Tenant";
  return cfg.dump();
}

struct three_nodes {
  temp_dir dir;
  std::string cookie = write_cookie(dir, "cookie", "test-cookie-0123456789");
  std::string config;
  std::unique_ptr<cluster_node> n1, n2, n3;

  /// Three nodes sharing `node_json` (default: fast heartbeats).
  explicit three_nodes(const std::string& node_json = fast_config) : config(dir.write("node.json", node_json)) {
    n1 = std::make_unique<cluster_node>(dir, "n1", cookie, config);
    n2 = std::make_unique<cluster_node>(dir, "n2", cookie, config, n1->address());
    n3 = std::make_unique<cluster_node>(dir, "n3", cookie, config, n1->address());
    REQUIRE(wait_all_up(dir, {n1.get(), n2.get(), n3.get()}, cookie));
  }

  ~three_nodes() {
    for (auto* n : {n1.get(), n2.get(), n3.get()}) {
      n->proc->signal(SIGCONT);
      n->proc->signal(SIGTERM);
    }
    for (auto* n : {n1.get(), n2.get(), n3.get()})
      n->proc->wait_exit(20s);
  }
};

/// Which member leads each session or handle, as `n` sees it
/// (`cafmcp shell -c sessions --json`).
inline std::map<std::string, std::string> session_primaries(const temp_dir& dir, const cluster_node& n,
                                                             const std::string& cookie) {
  std::vector<std::string> args{binary, "shell", "--node", n.address(), "-c", "sessions", "--json"};
  auto flags = client_flags(dir, cookie);
  args.insert(args.end(), flags.begin(), flags.end());
  auto r = run(args);
  std::map<std::string, std::string> out;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_array())
    for (auto& s : j)
      out[s["id"]] = s["node"];
  return out;
}

/// Prints each node's membership decisions (for a failing test's report).
inline void dump_membership_log(const three_nodes& c) {
  static const std::regex interesting{"split brain|fenced|rejoin|member |incarnation|leader|connected|downed"};
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()}) {
    std::istringstream lines{n->proc->err()};
    std::string out, line;
    while (std::getline(lines, line))
      if (std::regex_search(line, interesting))
        out += line + "\n";
    MESSAGE(n->name << "'s membership log:\n" << out);
  }
}

} // namespace cafmcp::test
