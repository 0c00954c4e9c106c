// The observability tier's endpoint on a real node: /metrics in the
// Prometheus format (checked by promtool, scraped by a real Prometheus),
// /health and /ready, and the tier's isolation from MCP clients.

#include <csignal>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <fstream>

#include <sys/stat.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"
#include "tests/support/net.hpp"
#include "tests/support/node_ready.hpp"
#include "tests/support/process.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string binary = CAFMCP_BINARY;

/// A node with MCP and the observability endpoint on free ports.
struct observed_node {
  temp_dir dir;
  std::unique_ptr<process> proc;
  uint16_t mcp = 0, web = 0;

  /// `prefix` runs the node through another command first, which must exec it.
  explicit observed_node(std::vector<std::string> extra = {}, const std::vector<std::string>& prefix = {}) {
    std::vector<std::string> args{binary, "node", "--http-port", "0", "--metrics-port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.begin(), prefix.begin(), prefix.end());
    proc = std::make_unique<process>(args, dir.path());
    auto ready = wait_ready(*proc);
    REQUIRE(ready);
    REQUIRE(ready->mcp_port != 0);
    REQUIRE(ready->web_port != 0);
    mcp = ready->mcp_port;
    web = ready->web_port;
  }

  ~observed_node() {
    proc->signal(SIGTERM);
    proc->wait_exit(20s);
  }

  http_reply get(const std::string& path) { return http_request(web, "GET", path, {}); }
};

/// A child of this test's own memory cgroup (v2 or v1) with a memory limit,
/// removed on destruction; empty `dir` when this system does not let the
/// test make one.
struct limited_cgroup {
  std::string dir, procs;

  explicit limited_cgroup(uint64_t bytes) {
    std::ifstream in{"/proc/self/cgroup"};
    std::string parent, limit_file;
    for (std::string line; std::getline(in, line);) {
      auto a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos)
        continue;
      auto controllers = "," + line.substr(a + 1, b - a - 1) + ",";
      auto path = line.substr(b + 1);
      if (controllers.find(",memory,") != std::string::npos) {
        parent = "/sys/fs/cgroup/memory" + path;
        limit_file = "memory.limit_in_bytes";
      } else if (line.rfind("0::", 0) == 0 && parent.empty()
                 && ::access("/sys/fs/cgroup/cgroup.controllers", R_OK) == 0) {
        parent = "/sys/fs/cgroup" + path;
        limit_file = "memory.max";
      }
    }
    if (parent.empty())
      return;
    auto child = parent + (parent.back() == '/' ? "" : "/") + "cafmcp-test-" + std::to_string(::getpid());
    if (::mkdir(child.c_str(), 0755) != 0)
      return;
    std::ofstream limit{child + "/" + limit_file};
    limit << bytes << std::flush;
    if (!limit) {
      ::rmdir(child.c_str());
      return;
    }
    dir = child;
    procs = child + "/cgroup.procs";
  }

  ~limited_cgroup() {
    if (!dir.empty())
      ::rmdir(dir.c_str()); // empty once the node it held has exited
  }
};

bool have(const char* tool) {
  return ::access((std::string{"/usr/bin/"} + tool).c_str(), X_OK) == 0;
}

} // namespace

TEST_CASE("GET /metrics serves the Prometheus text format with requests, durations, the tree and the process - promtool accepts it") {
  observed_node n;
  for (int i = 0; i < 3; ++i)
    CHECK(mcp_tool_call(n.mcp, "echo", {{"text", "hi"}}).status == 200);
  mcp_tool_call(n.mcp, "no_such_tool", json::object());
  auto r = n.get("/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.headers["content-type"].find("text/plain; version=0.0.4") == 0);
  auto& text = r.body;
  CHECK(text.find("cafmcp_requests_total{method=\"tools/call\",outcome=\"ok\"} 3") != std::string::npos);
  CHECK(text.find("cafmcp_requests_total{method=\"tools/call\",outcome=\"error\"} 1") != std::string::npos);
  CHECK(text.find("cafmcp_request_duration_seconds_count{method=\"tools/call\"} 4") != std::string::npos);
  CHECK(text.find("cafmcp_child_restarts{path=\"/root/core_sup/session_manager\"} 0") != std::string::npos);
  CHECK(text.find("cafmcp_queue_depth{path=\"/root/core_sup/registry\"}") != std::string::npos);
  CHECK(text.find("cafmcp_process_health 1") != std::string::npos);
  CHECK(text.find("cafmcp_process_resident_memory_bytes ") != std::string::npos);
  if (!have("promtool")) {
    MESSAGE("promtool not installed (bash deploy/install-deps.sh): format check skipped");
    return;
  }
  auto file = n.dir.write("metrics.txt", text);
  auto check = run({"/bin/sh", "-c", "promtool check metrics < " + file});
  CHECK_MESSAGE(check.code == 0, check.out << check.err);
}

TEST_CASE("GET /health answers 200 with every check, /ready and /live 200 - other paths 404 and other methods 405") {
  observed_node n;
  auto h = n.get("/health");
  REQUIRE(h.status == 200);
  auto j = json::parse(h.body);
  CHECK(j["status"] == "healthy");
  std::set<std::string> names;
  for (auto& c : j["checks"]) {
    names.insert(c["name"].get<std::string>());
    CHECK(c["ok"] == true);
  }
  for (auto want : {"core:actor:session_manager", "memory", "queue_depth", "error_rate"})
    CHECK(names.count(want) == 1);
  // The memory check says which limit it compares against.
  for (auto& c : j["checks"])
    if (c["name"] == "memory") {
      auto detail = c["detail"].get<std::string>();
      CAPTURE(detail);
      CHECK((detail.find("the cgroup's memory limit (") != std::string::npos
             || detail.find("the machine's memory (") != std::string::npos));
    }
  CHECK(j["alerts"].empty());
  CHECK(n.get("/ready").status == 200);
  CHECK(n.get("/live").status == 200);
  CHECK(n.get("/nothing-here").status == 404);
  CHECK(http_request(n.web, "POST", "/metrics", {}, "x").status == 405);
}

TEST_CASE("a node whose error rate passes the limit raises the alert in the log, /health and /metrics - and clears it") {
  temp_dir cfg_dir;
  auto cfg = cfg_dir.write("node.json", R"({"observability": {"alert_window_ms": 2000}})");
  observed_node n{{"--config", cfg}};
  for (int i = 0; i < 30; ++i)
    mcp_tool_call(n.mcp, "no_such_tool", json::object());
  REQUIRE(n.proc->wait_for_stderr("alert raised: error_rate", 10s));
  auto h = n.get("/health");
  CHECK(h.status == 503);
  auto j = json::parse(h.body);
  CHECK(j["status"] == "degraded");
  REQUIRE(j["alerts"].size() >= 1);
  CHECK(j["alerts"][0]["name"] == "error_rate");
  CHECK(n.get("/metrics").body.find("cafmcp_alert_active{alert=\"error_rate\"} 1") != std::string::npos);
  // Liveness is not health: the process serves, so a liveness probe must not restart it.
  auto live = n.get("/live");
  CHECK(live.status == 200);
  CHECK(live.body == "live\n");
  // The window passes without errors: cleared.
  for (int i = 0; i < 30; ++i)
    mcp_tool_call(n.mcp, "echo", {{"text", "fine"}});
  CHECK(n.proc->wait_for_stderr("alert cleared: error_rate", 10s));
  CHECK(n.get("/health").status == 200);
}

TEST_CASE("the memory check compares against the cgroup's memory limit, not the machine's RAM") {
  limited_cgroup cg{256ull * 1024 * 1024};
  if (cg.dir.empty()) {
    MESSAGE("cannot make a memory cgroup here (not root, or no writable memory controller): skipped");
    return;
  }
  {
    // 256 MiB, of which the node uses more than 1 %: the check must fail at a 1 % ratio.
    temp_dir cfg_dir;
    auto cfg = cfg_dir.write("node.json", R"({"observability": {"memory_alert_ratio": 0.01}})");
    observed_node n{{"--config", cfg}, {"/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", cg.procs}};
    auto j = json::parse(n.get("/health").body);
    json memory;
    for (auto& c : j["checks"])
      if (c["name"] == "memory")
        memory = c;
    REQUIRE(memory.is_object());
    auto detail = memory["detail"].get<std::string>();
    CAPTURE(detail);
    CHECK(detail.find("of the cgroup's memory limit (256 MiB)") != std::string::npos);
    CHECK(memory["ok"] == false);
    CHECK(n.get("/metrics").body.find("\ncafmcp_process_memory_limit_bytes 268435456\n") != std::string::npos);
    // Degraded, yet live.
    CHECK(n.get("/live").status == 200);
  }
}

TEST_CASE("a real Prometheus scrapes a node - the target is up and a cafmcp metric comes back through its query API") {
  if (!have("prometheus")) {
    MESSAGE("prometheus not installed (bash deploy/install-deps.sh): skipped");
    return;
  }
  observed_node n;
  mcp_tool_call(n.mcp, "echo", {{"text", "scraped"}});
  temp_dir prom_dir;
  auto port = free_port();
  auto config = prom_dir.write("prometheus.yml", "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                                 "scrape_configs:\n  - job_name: cafmcp\n    static_configs:\n"
                                                 "      - targets: ['127.0.0.1:"
                                                   + std::to_string(n.web) + "']\n");
  process prom{{"/usr/bin/prometheus", "--config.file=" + config, "--storage.tsdb.path=" + prom_dir.path() + "/data",
                "--web.listen-address=127.0.0.1:" + std::to_string(port)},
               prom_dir.path()};
  auto query = [&](const std::string& q) {
    auto r = http_request(port, "GET", "/api/v1/query?query=" + q, {});
    auto j = json::parse(r.body, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
  };
  bool up = false, found = false;
  auto deadline = std::chrono::steady_clock::now() + 40s;
  while (std::chrono::steady_clock::now() < deadline && !(up && found)) {
    auto u = query("up");
    up = u.is_object() && !u["data"]["result"].empty() && u["data"]["result"][0]["value"][1] == "1";
    auto m = query("cafmcp_process_health");
    found = m.is_object() && !m["data"]["result"].empty() && m["data"]["result"][0]["value"][1] == "1";
    if (!(up && found))
      std::this_thread::sleep_for(500ms);
  }
  CHECK(up);
  CHECK(found);
  auto calls = query("cafmcp_requests_total");
  CHECK(calls.dump().find("tools/call") != std::string::npos);
  prom.signal(SIGTERM);
  prom.wait_exit(20s);
}

TEST_CASE("X-Correlation-ID is taken from the request or generated (UUIDv4), returned, and carried by the request's log lines") {
  observed_node n{{"--log-format", "json", "--log-level", "debug"}};
  std::vector<std::pair<std::string, std::string>> h{{"Content-Type", "application/json"},
                                                     {"Accept", "application/json, text/event-stream"},
                                                     {"X-Correlation-ID", "order-4711.retry:2"}};
  json init{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
            {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                        {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}};
  auto r = http_request(n.mcp, "POST", "/mcp", h, init.dump());
  REQUIRE(r.status == 200);
  CHECK(r.headers["x-correlation-id"] == "order-4711.retry:2");
  REQUIRE(n.proc->wait_for_stderr("\"correlation_id\":\"order-4711.retry:2\"", 10s));
  // A log line about this request (the session it started) carries it.
  bool found = false;
  std::istringstream lines{n.proc->err()};
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("correlation_id", "") == "order-4711.retry:2"
        && j.value("msg", "").find("legacy session") != std::string::npos)
      found = true;
  }
  CHECK(found);
  // None, or one that is no sane token: a fresh UUIDv4 comes back.
  static const std::regex uuid4{"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"};
  for (std::string given : std::vector<std::string>{"", "has spaces in it", std::string(200, 'x')}) {
    auto hh = h;
    hh.pop_back();
    if (!given.empty())
      hh.emplace_back("X-Correlation-ID", given);
    auto rr = http_request(n.mcp, "POST", "/mcp", hh, init.dump());
    CHECK(std::regex_match(rr.headers["x-correlation-id"], uuid4));
  }
}

TEST_CASE("with observability.token_file, /metrics and the dashboard need the bearer token - the probes stay open") {
  temp_dir config_dir;
  auto token_file = config_dir.write("web.token", "s3cret-token\n");
  auto config = config_dir.write("node.json", R"({"observability": {"token_file": ")" + token_file
                                                + R"(", "request_timeout_ms": 300, "idle_timeout_ms": 300}})");
  observed_node node{{"--config", config}};
  auto bare = node.get("/metrics");
  CHECK(bare.status == 401);
  CHECK(bare.headers["www-authenticate"].rfind("Bearer", 0) == 0);
  CHECK(http_request(node.web, "GET", "/metrics", {{"Authorization", "Bearer s3cret-token"}}).status == 200);
  CHECK(http_request(node.web, "GET", "/metrics", {{"Authorization", "Bearer s3cret-tokeN"}}).status == 401);
  CHECK(node.get("/dashboard").status == 401);
  CHECK(node.get("/dashboard?token=s3cret-token").status == 200);
  CHECK(node.get("/live").status == 200);
  CHECK(node.get("/ready").status == 200);
  CHECK(node.get("/health").status != 401);
  // A client that sends nothing, or half a request, is closed, not waited for.
  http_stream idle{node.web, ""};
  http_stream half{node.web, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"};
  CHECK(idle.wait_closed(5s));
  CHECK(half.wait_closed(5s));
  CHECK(half.raw().empty());
}

TEST_CASE("the observability port closes connections past its per-client limit at once and serves again after") {
  temp_dir config_dir;
  auto config = config_dir.write("node.json", R"({"observability": {"max_connections_per_client": 2}})");
  observed_node node{{"--config", config}};
  std::vector<std::unique_ptr<http_stream>> held;
  for (int i = 0; i < 2; ++i)
    held.push_back(std::make_unique<http_stream>(node.web, ""));
  // The third is closed without an answer; it may take a moment for the two to be accepted first.
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) { // bounded
    http_stream extra{node.web, "GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"};
    refused = extra.wait_closed(2s) && extra.raw().empty();
  }
  CHECK(refused);
  held.clear();
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) { // bounded: the held ones end asynchronously
    status = node.get("/live").status;
    if (status != 200)
      std::this_thread::sleep_for(20ms);
  }
  CHECK(status == 200);
}

TEST_CASE("an unreadable observability.token_file stops the start with exit code 2 naming the key") {
  temp_dir dir;
  auto config = dir.write("node.json", R"({"observability": {"token_file": "/nonexistent/web.token"}})");
  auto r = run({binary, "node", "--http-port", "0", "--metrics-port", "0", "--config", config});
  CHECK(r.code == 2);
  CHECK(r.err.find("observability.token_file") != std::string::npos);
  CHECK(r.err.find("/nonexistent/web.token") != std::string::npos);
}
