// Jepsen-style fault tests on real `cafmcp` clusters on 127.0.0.1: writer
// threads write unique values through the nodes (tests/support/fault_workload.hpp)
// while a nemesis kills, restarts, freezes or skews nodes; after the faults
// heal, every node reads everything back and the history checker
// (tests/support/history.hpp) judges it. Each test prints one line
// "FAULT-REPORT nemesis=… nodes=…" that bench/fault_suite.sh collects.
//
// CAFMCP_FAULT_SECONDS (how long each nemesis runs) and CAFMCP_FAULT_NODES
// (3 or 5) scale them; the defaults are the short CI values.

#include <atomic>
#include <csignal>
#include <iostream>
#include <random>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/backup_seed.hpp"
#include "tests/support/cluster_fixture.hpp"
#include "tests/support/fault_cluster.hpp"
#include "tests/support/fault_workload.hpp"
#include "tests/support/history.hpp"
#include "tests/support/http_client.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// A legacy (2025-06-18) session opened through node i, a value stored in it
/// (key "w0", writer 100) and the session deleted (DELETE /mcp): the write and
/// the deletion go into the checker, whose final reads must find it gone.
/// Stops at the first step that fails.
void open_write_delete(fault_cluster& c, history::checker& h, size_t i, long seq) {
  auto port = c.ports[i].load();
  if (port == 0)
    return;
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                           {"Accept", "application/json, text/event-stream"}};
  auto init = http_request(port, "POST", "/mcp", headers,
                           json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                                {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                            {"clientInfo", {{"name", "fault-test"}, {"version", "1"}}}}}}.dump(),
                           5s);
  auto sid = init.headers["mcp-session-id"];
  if (init.status != 200 || sid.empty())
    return;
  headers.emplace_back("Mcp-Session-Id", sid);
  headers.emplace_back("MCP-Protocol-Version", "2025-06-18");
  if (http_request(port, "POST", "/mcp", headers, json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}.dump(), 5s).status != 202)
    return;
  auto value = history::value_of(sid, "w0", 100, seq);
  auto invoked = history::clock::now();
  auto set = http_request(port, "POST", "/mcp", headers,
                          json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
                               {"params", {{"name", "session_set"}, {"arguments", {{"key", "w0"}, {"value", value}}}}}}.dump(),
                          5s);
  auto reply = json::parse(set.body, nullptr, false);
  if (reply.is_discarded()) { // or one SSE event
    auto events = sse_data(set.body);
    reply = events.empty() ? json(nullptr) : json::parse(events.back(), nullptr, false);
  }
  bool ok = tool_ok(reply);
  h.write(sid, "w0", 100, seq, value, invoked, history::clock::now(), ok, ok ? std::string{} : tool_error(reply));
  if (!ok)
    return;
  invoked = history::clock::now();
  auto del = http_request(port, "DELETE", "/mcp", headers, {}, 5s);
  h.remove(sid, invoked, history::clock::now(), del.status == 204,
           del.status == 204 ? std::string{} : "DELETE answered " + std::to_string(del.status));
}


} // namespace

TEST_CASE("kill -9 of every node at once loses no acknowledged write and resurrects no deleted session - 8 writers through random nodes, restarted on the same data dirs, 3 rounds") {
  auto n = nodes_wanted();
  auto writing = seconds_wanted(6) / 3; // per round
  fault_cluster c{n};
  auto handles = c.open_handles(16);
  history::checker h;
  {
    workload_options opt;
    opt.writers = 8;
    opt.nodes = n;
    opt.pause_after_error = 100ms; // while every node is down
    workload w{h, handles, c.call(), opt};
    long deletions = 0;
    for (int round = 0; round < 3; ++round) {
      CAPTURE(round);
      // Meanwhile sessions are opened, written and deleted through each node in turn.
      auto until = history::clock::now() + writing;
      for (int k = 0; k < 1000 && history::clock::now() < until; ++k)
        open_write_delete(c, h, static_cast<size_t>(k) % n, ++deletions);
      // All at once: no node gets to write anything more to disk than the others.
      for (auto& node : c.nodes)
        node->proc->signal(SIGKILL);
      for (size_t i = 0; i < n; ++i) {
        c.ports[i] = 0;
        REQUIRE(c.nodes[i]->proc->wait_exit(10s).has_value());
      }
      w.next_epoch(); // nothing written from here on supersedes a write acknowledged before the kill
      for (size_t i = 0; i < n; ++i)
        c.start(i);
      REQUIRE(c.wait_up());
    }
    std::this_thread::sleep_for(500ms); // writers are served again
    w.finish();
  }
  h.healed(history::clock::now());
  auto r = converge(h, c.call(), c.all(), 10s);
  MESSAGE("legacy sessions deleted (acknowledged): " << h.deleted().size());
  judge(r, "kill-all", n);
}

TEST_CASE("kill -9 of every node while snapshots of 20,000 records are written in slices loses no acknowledged write") {
  // A snapshot goes to the disk 8192 records at a time, with writes served
  // (and appended to the WAL) between the slices; only the WAL the snapshot
  // covers may be dropped when it is written. Snapshots every 200 ms here,
  // so kills land in every phase of one.
  auto n = nodes_wanted();
  fault_cluster c{n, [](size_t) {
                    auto cfg = json::parse(fast_config);
                    cfg["cluster"]["replication"]["snapshot_interval_ms"] = 200;
                    return cfg;
                  }};
  auto key = c.dir.path() + "/backup.key";
  REQUIRE(run({binary, "backup", "keygen", "--out", key}).code == 0);
  auto seed = c.dir.path() + "/seed.bak";
  write_seed(seed, key, 20000);
  std::vector<std::string> restore{binary, "backup", "restore", seed, "--key-file", key, "--node",
                                   c.nodes[0]->address()};
  for (auto& f : client_flags(c.dir, c.cookie))
    restore.push_back(f);
  auto restored = run(restore, 120s);
  INFO(restored.err);
  REQUIRE(restored.code == 0);
  auto handles = c.open_handles(16);
  history::checker h;
  {
    workload_options opt;
    opt.writers = 8;
    opt.nodes = n;
    opt.pause_after_error = 100ms;
    workload w{h, handles, c.call(), opt};
    for (int round = 0; round < 3; ++round) {
      CAPTURE(round);
      std::this_thread::sleep_for(seconds_wanted(6) / 3);
      for (auto& node : c.nodes)
        node->proc->signal(SIGKILL);
      for (size_t i = 0; i < n; ++i) {
        c.ports[i] = 0;
        REQUIRE(c.nodes[i]->proc->wait_exit(10s).has_value());
      }
      w.next_epoch();
      for (size_t i = 0; i < n; ++i)
        c.start(i);
      REQUIRE(c.wait_up());
    }
    std::this_thread::sleep_for(500ms);
    w.finish();
  }
  h.healed(history::clock::now());
  auto r = converge(h, c.call(), c.all(), 10s);
  judge(r, "kill-all-snapshots", n);
}

TEST_CASE("kill -9 of one node and a restart on its data dir, again and again, loses no acknowledged write") {
  auto n = nodes_wanted();
  auto limit = seconds_wanted(8);
  fault_cluster c{n};
  auto handles = c.open_handles(12);
  history::checker h;
  std::mt19937 rng{4242};
  {
    workload_options opt;
    opt.writers = 4;
    opt.nodes = n;
    workload w{h, handles, c.call(), opt};
    auto deadline = history::clock::now() + limit;
    for (int round = 0; round < 50 && history::clock::now() < deadline; ++round) {
      std::this_thread::sleep_for(1s);
      auto victim = std::uniform_int_distribution<size_t>{0, n - 1}(rng);
      // The writes around the kill get keys of their own: none acknowledged
      // before it is superseded by one after it.
      w.next_epoch();
      c.kill(victim);
      w.next_epoch();
      std::this_thread::sleep_for(500ms); // the others fail over while it is gone
      c.start(victim);
      REQUIRE(c.wait_up());
    }
    std::this_thread::sleep_for(500ms);
    w.finish();
  }
  h.healed(history::clock::now());
  auto r = converge(h, c.call(), c.all());
  judge(r, "kill-one", n);
}

TEST_CASE("SIGSTOP and SIGCONT of one node at a time lose no acknowledged write - the frozen node catches up") {
  auto n = nodes_wanted();
  auto limit = seconds_wanted(6);
  fault_cluster c{n};
  auto handles = c.open_handles(12);
  history::checker h;
  std::mt19937 rng{777};
  {
    workload_options opt;
    opt.writers = 4;
    opt.nodes = n;
    workload w{h, handles, c.call(), opt};
    auto deadline = history::clock::now() + limit;
    for (int round = 0; round < 50 && history::clock::now() < deadline; ++round) {
      std::this_thread::sleep_for(1s);
      auto victim = std::uniform_int_distribution<size_t>{0, n - 1}(rng);
      w.next_epoch();
      c.nodes[victim]->proc->signal(SIGSTOP);
      w.next_epoch();
      std::this_thread::sleep_for(1500ms); // long enough to be found and failed over (200 ms heartbeats)
      c.nodes[victim]->proc->signal(SIGCONT);
      REQUIRE(c.wait_up());
    }
    std::this_thread::sleep_for(500ms);
    w.finish();
  }
  h.healed(history::clock::now());
  auto r = converge(h, c.call(), c.all());
  judge(r, "pause", n);
}

TEST_CASE("nodes whose clocks are skewed within max_clock_drift_ms lose no acknowledged write and refuse none") {
  auto n = nodes_wanted();
  auto limit = seconds_wanted(4);
  // The last node's hybrid logical clock runs 2 s ahead, the one before it 2 s
  // behind: 4 s apart, within the default max_clock_drift_ms (5 s).
  fault_cluster c{n, [n](size_t i) {
                    auto cfg = json::parse(fast_config);
                    if (i == n - 1)
                      cfg["cluster"]["replication"]["clock_offset_ms"] = 2000;
                    if (i == n - 2)
                      cfg["cluster"]["replication"]["clock_offset_ms"] = -2000;
                    return cfg;
                  }};
  auto handles = c.open_handles(12);
  history::checker h;
  {
    workload_options opt;
    opt.writers = 4;
    opt.nodes = n;
    opt.own_read_every = 1; // every acknowledged write is read back at once (read your writes)
    workload w{h, handles, c.call(), opt};
    std::this_thread::sleep_for(limit);
    w.finish();
  }
  h.healed(history::clock::now());
  auto r = converge(h, c.call(), c.all());
  judge(r, "clock-skew", n);
  // Nothing failed: the docs promise refusals only beyond max_clock_drift_ms.
  CHECK(r.error_count() == 0);
}
