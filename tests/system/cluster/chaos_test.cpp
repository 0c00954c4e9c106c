// Chaos experiments on a real 3-node cluster, started with `cafmcp chaos`
// as an operator does: actors killed by path, inter-node messages dropped,
// tool calls failed - each ending by itself, audited, and the guarantees
// holding meanwhile (MCP served, no acknowledged write lost).

#include <atomic>
#include <fstream>
#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/fault_workload.hpp"
#include "tests/support/history.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* chaos_config = R"({
  "cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "remove_after_ms": 3000,
              "split_brain": {"stable_after_ms": 600}},
  "chaos": {"enabled": true},
  "supervision": {"shutdown_grace_ms": 10000}
})";

/// `cafmcp chaos ARGS… --json` through node `via`.
run_result chaos(const three_nodes& c, const cluster_node& via, std::vector<std::string> args) {
  std::vector<std::string> argv{binary, "chaos"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto flags = client_flags(c.dir, c.cookie);
  argv.insert(argv.end(), {"--node", via.address()});
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("--json");
  return run(argv, 30s);
}

json chaos_json(const three_nodes& c, const cluster_node& via, std::vector<std::string> args) {
  auto r = chaos(c, via, args);
  INFO("cafmcp chaos → " << r.code << ": " << r.err);
  REQUIRE(r.code == 0);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_array());
  return j;
}

std::string ended_line(const std::string& node, const std::string& id) {
  return R"(\S+ warning +)" + node + " /root/chaos: chaos: " + id + R"( ended after \d+ ms: \d+ fault\(s\) injected)";
}

} // namespace

TEST_CASE("chaos kills tier-3 actors every 100 ms for 10 s under load - no MCP request fails, and it ends by itself") {
  three_nodes c{chaos_config};
  auto started = chaos_json(c, *c.n1, {"start", "--member", "n2",
                                       R"({"kind": "kill", "target": "/root/observability_sup/*", "interval_ms": 100,
                                           "duration_ms": 10000})"});
  REQUIRE(started.size() == 1);
  CHECK(started[0]["node"] == "n2");
  CHECK(started[0]["state"] == "active");
  auto id = started[0]["id"].get<std::string>();
  // Load on n2 while its tier 3 is killed again and again.
  size_t calls = 0, failed = 0;
  auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until && calls < 100000) {
    auto r = mcp_tool_call(c.n2->http_port, "echo", {{"text", "x"}}, 5s);
    ++calls;
    if (r.status != 200 || !ok(r.body))
      ++failed;
  }
  MESSAGE("kill tier 3 every 100 ms for 10 s: " << calls << " MCP calls, " << failed << " failed");
  CHECK(calls > 100);
  CHECK(failed == 0);
  REQUIRE(c.n2->proc->wait_for_stderr_line(std::regex{ended_line("n2", id)}, 20s));
  auto list = chaos_json(c, *c.n1, {"list", "--member", "n2"});
  REQUIRE(list.size() == 1);
  CHECK(list[0]["state"] == "ended");
  CHECK(list[0]["injected"].get<int>() >= 10); // up to 100 kills, fewer while tier 3 is restarting or parked
  // Tier 1 and 2 were never touched.
  auto tree = run({binary, "shell", "--node", c.n1->address(), "-c", "tree n2:/root/core_sup", "--json",
                   "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir)});
  auto t = json::parse(tree.out, nullptr, false);
  REQUIRE(t.is_object());
  CHECK(t["restarts"] == 0);
  // Who started it is on n2's audit log, before it took effect.
  bool audited = false;
  std::ifstream log{c.dir.path() + "/n2.audit.jsonl"};
  for (std::string line; std::getline(log, line);) {
    auto rec = json::parse(line, nullptr, false);
    audited = audited || (rec["op"] == "chaos_start" && rec["who"] == "CN=admin,OU=admin" && rec["result"] == "requested");
  }
  CHECK(audited);
}

TEST_CASE("chaos drops 30% of inter-node messages for 10 s during replicated writes - no acknowledged write is lost") {
  three_nodes c{chaos_config};
  std::vector<std::string> handles;
  for (int i = 0; i < 12; ++i) {
    auto h = open_handle(c.n1->http_port);
    REQUIRE_FALSE(h.empty());
    handles.push_back(h);
  }
  auto call = loopback_call([&c](size_t i) { return (i == 0 ? c.n1 : i == 1 ? c.n2 : c.n3)->http_port; }, 10s);
  history::checker h;
  json started;
  {
    workload_options opt;
    opt.writers = 3;
    workload w{h, handles, call, opt};
    std::this_thread::sleep_for(1000ms);
    w.next_epoch();
    started = chaos_json(c, *c.n1, {"start", R"({"kind": "drop", "probability": 0.3, "duration_ms": 10000})"});
    w.next_epoch();
    REQUIRE(started.size() == 3); // on every member
    for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()})
      CHECK(n->proc->wait_for_stderr_line(
        std::regex{ended_line(n->name, started[0]["id"].get<std::string>())}, 20s));
    w.next_epoch();
    std::this_thread::sleep_for(2000ms);
    w.finish();
  }
  h.healed(history::clock::now());
  auto r = converge(h, call, {0, 1, 2});
  if (!r.valid())
    dump_membership_log(c);
  judge(r, "chaos-drop-30%", 3);
  uint64_t dropped = 0;
  for (auto& x : chaos_json(c, *c.n1, {"list"}))
    dropped += x["injected"].get<uint64_t>();
  MESSAGE("messages dropped on purpose: " << dropped);
  CHECK(dropped > 0);
}

TEST_CASE("chaos fails a tool's calls until the experiment is stopped - and refuses a malformed experiment") {
  three_nodes c{chaos_config};
  auto started = chaos_json(c, *c.n1, {"start", "--member", "n3",
                                       R"({"kind": "tool_fail", "tool": "ech?", "probability": 1, "duration_ms": 60000})"});
  auto id = started.at(0)["id"].get<std::string>();
  auto failed = mcp_tool_call(c.n3->http_port, "echo", {{"text", "x"}});
  CHECK(failed.body["error"]["code"] == -32603);
  CHECK(failed.body["error"]["message"] == "tool echo failed: a fault injected by chaos experiment " + id);
  CHECK(ok(mcp_tool_call(c.n3->http_port, "add", {{"a", 1}, {"b", 2}}).body)); // other tools are not matched
  CHECK(ok(mcp_tool_call(c.n1->http_port, "echo", {{"text", "x"}}).body));      // other members are not affected
  // /metrics follows it (refreshed every second while it runs).
  CHECK(metric(c.n3->web_port, "cafmcp_chaos_experiments_active") == 1);
  bool counted = false;
  for (int i = 0; i < 50 && !counted; ++i) { // bounded: 5 s
    counted = metric(c.n3->web_port, R"(cafmcp_chaos_faults_injected_total\{kind="tool_fail"\})") == 1;
    if (!counted)
      std::this_thread::sleep_for(100ms);
  }
  CHECK(counted);
  // `cafmcp status` shows what runs where.
  auto st = status(c.dir, *c.n1, c.cookie);
  REQUIRE(st.code == 0);
  auto n3 = row_of(st.rows, "n3");
  REQUIRE(n3["chaos"].size() == 1);
  CHECK(n3["chaos"][0]["id"] == id);
  CHECK(n3["chaos"][0]["what"] == "fail 100% of the calls of tool ech?");
  CHECK(row_of(st.rows, "n1")["chaos"].empty());
  auto text = run({binary, "status", "--node", c.n1->address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir)});
  CHECK(text.out.find("chaos on n3: " + id + " (fail 100% of the calls of tool ech?), ") != std::string::npos);
  auto stopped = chaos_json(c, *c.n1, {"stop", "--member", "n3", id});
  REQUIRE(stopped.size() == 1);
  CHECK(stopped[0]["state"] == "stopped");
  CHECK(stopped[0]["injected"] == 1);
  CHECK(ok(mcp_tool_call(c.n3->http_port, "echo", {{"text", "x"}}).body));
  CHECK(metric(c.n3->web_port, "cafmcp_chaos_experiments_active") == 0);

  auto bad = chaos(c, *c.n1, {"start", "--member", "n3", R"({"kind": "drop", "probability": 2, "duration_ms": 1000})"});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("\"probability\" must be a number above 0 and at most 1") != std::string::npos);
  auto typo = chaos(c, *c.n1, {"start", "--member", "n3", R"({"kind": "drop", "probabilty": 0.5, "duration_ms": 1000})"});
  CHECK(typo.code == 1);
  CHECK(typo.err.find("\"probability\" is required") != std::string::npos);
  auto missing = chaos(c, *c.n1, {"stop", "--member", "n3", "drop-99"});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("no experiment drop-99 is active on n3") != std::string::npos);
}

TEST_CASE("chaos is refused on a node whose config does not enable it") {
  three_nodes c;
  auto r = chaos(c, *c.n1, {"start", R"({"kind": "memory", "bytes": 1048576, "duration_ms": 1000})"});
  CHECK(r.code == 1);
  CHECK(r.err.find("chaos experiments are off on n2: set chaos.enabled to true in its config to allow them")
        != std::string::npos);
}
