// Replicated MCP state against real faults in real 3-node clusters: MCP
// clients write unique values to state handles (majority consistency)
// through the surviving nodes while the harness kill -9s or SIGSTOPs the
// primary of some of them; every write and its answer go into the history
// checker (tests/support/history.hpp), which judges every survivor's reads
// at the end. Every acknowledged write must be there; the run prints its
// report line.

#include <csignal>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/fault_workload.hpp"
#include "tests/support/history.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::map<std::string, std::string> primaries(const three_nodes& c) {
  return session_primaries(c.dir, *c.n1, c.cookie);
}

/// Calls to the three nodes by index: 0 is n1, 1 is n2, 2 is n3.
node_call calls(const three_nodes& c, std::chrono::milliseconds timeout = 10s) {
  return loopback_call([&c](size_t i) { return (i == 0 ? c.n1 : i == 1 ? c.n2 : c.n3)->http_port; }, timeout);
}

/// One writer per entry of `nodes`: writer w writes through node nodes[w] only.
workload_options writers_through(std::vector<size_t> nodes, size_t cluster_size = 3) {
  workload_options opt;
  opt.writers = nodes.size();
  opt.nodes = cluster_size;
  opt.targets = [nodes](size_t w) { return std::vector<size_t>{nodes[w]}; };
  return opt;
}

/// How many of `handles` got an acknowledged write.
size_t handles_written(const history::checker& h, const std::vector<std::string>& handles) {
  std::set<std::string> seen;
  for (auto& [handle, key] : h.keys())
    seen.insert(handle);
  size_t n = 0;
  for (auto& handle : handles)
    n += seen.count(handle);
  return n;
}

std::vector<std::string> open_handles(uint16_t port, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    auto h = open_handle(port);
    REQUIRE_FALSE(h.empty());
    out.push_back(h);
  }
  return out;
}

} // namespace

TEST_CASE("kill -9 of the primary loses no acknowledged write - writers keep going through the other nodes") {
  three_nodes c;
  // 36 handles: the chance that n2 leads none of them is (2/3)^36, about 5e-7 (with 12 it was 0.8 %).
  auto handles = open_handles(c.n1->http_port, 36);
  auto owner = primaries(c);
  REQUIRE(owner.size() == handles.size());
  size_t on_n2 = 0;
  for (auto& [h, n] : owner)
    on_n2 += n == "n2" ? 1 : 0;
  REQUIRE(on_n2 > 0);

  history::checker h;
  {
    workload w{h, handles, calls(c), writers_through({0, 2})}; // through n1 and n3
    std::this_thread::sleep_for(1500ms);
    w.next_epoch(); // the writes around the kill get keys of their own: none after it
    c.n2->proc->signal(SIGKILL); // supersedes one acknowledged before it
    c.n2->proc->wait_exit(10s);
    w.next_epoch();
    std::this_thread::sleep_for(2500ms);
    w.finish();
  }
  h.healed(history::clock::now());
  auto r = converge(h, calls(c), {0, 2});
  MESSAGE("kill -9 of n2, the primary of " << on_n2 << " of " << handles.size() << " handles");
  judge(r, "kill-primary", 3);
  CHECK(r.error_count() == 0); // docs/CLUSTER.md: clients see a delay, not an error
  CHECK(handles_written(h, handles) == handles.size());
  // After the failover every handle is led by a survivor and served by any of them.
  auto after = primaries(c);
  CHECK(after.size() == handles.size());
  for (auto& [handle, n] : after)
    CHECK(n != "n2");
}

TEST_CASE("a SIGSTOPped primary loses no acknowledged write - and catches up when it comes back") {
  three_nodes c;
  auto handles = open_handles(c.n2->http_port, 12);
  history::checker h;
  {
    workload w{h, handles, calls(c), writers_through({0, 1})}; // through n1 and n2
    std::this_thread::sleep_for(1000ms);
    w.next_epoch();
    c.n3->proc->signal(SIGSTOP);
    w.next_epoch();
    std::this_thread::sleep_for(3000ms);
    c.n3->proc->signal(SIGCONT);
    std::this_thread::sleep_for(3000ms);
    w.finish();
  }
  h.healed(history::clock::now());
  auto r = converge(h, calls(c), {0, 1});
  if (!r.valid())
    dump_membership_log(c);
  judge(r, "pause-primary", 3);
  CHECK(r.error_count() == 0); // docs/CLUSTER.md: 0 errors
  CHECK(handles_written(h, handles) == handles.size());
  // Back in the cluster (as a new incarnation), n3 serves every write too.
  REQUIRE(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) { return all_up_healthy(rows, 3); }, 30s));
  auto on_n3 = converge(h, calls(c), {2}, 10s);
  MESSAGE("read through n3 after it came back: " << on_n3.details(5));
  CHECK(on_n3.valid());
}

TEST_CASE("a node cut off from the majority acknowledges no write - it answers with a clear error") {
  three_nodes c;
  auto handles = open_handles(c.n1->http_port, 4);
  c.n2->proc->signal(SIGKILL);
  c.n3->proc->signal(SIGKILL);
  c.n2->proc->wait_exit(10s);
  c.n3->proc->wait_exit(10s);
  // Alone, n1 is a minority: fenced (keep_majority) or short of replicas;
  // either way no write is acknowledged.
  size_t acked = 0;
  std::string why;
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& h : handles) {
      auto r = call_tool(c.n1->http_port, "session_set", {{"handle", h}, {"key", "k"}, {"value", "x"}});
      if (ok(r))
        ++acked;
      else
        why = r.contains("error") ? r["error"].value("message", "") : text_of(r);
    }
  }
  CHECK(acked == 0);
  MESSAGE("n1 alone answers: " << why);
  CHECK(!why.empty());
  bool clear = why.find("fenced") != std::string::npos || why.find("replicas") != std::string::npos;
  CHECK(clear);
}

TEST_CASE("a write at consistency local is acknowledged at once - and an unknown consistency is refused") {
  three_nodes c;
  auto h = open_handle(c.n2->http_port);
  REQUIRE_FALSE(h.empty());
  auto r = call_tool(c.n3->http_port, "session_set",
                     {{"handle", h}, {"key", "k"}, {"value", "v"}, {"consistency", "local"}});
  CHECK(ok(r));
  auto g = call_tool(c.n1->http_port, "session_get", {{"handle", h}, {"key", "k"}});
  CHECK(text_of(g) == "v");
  auto bad = call_tool(c.n1->http_port, "session_set",
                       {{"handle", h}, {"key", "k"}, {"value", "v"}, {"consistency", "quorum"}});
  CHECK_FALSE(ok(bad)); // refused by the tool's input schema, naming the field
  CHECK(text_of(bad).find("consistency: must be one of") != std::string::npos);
}

TEST_CASE("cafmcp failover drains a node under load - no client error, no acknowledged write lost, then it stops safely") {
  three_nodes c;
  auto handles = open_handles(c.n1->http_port, 24);
  auto owner = primaries(c);
  size_t on_n2 = 0;
  for (auto& [h, n] : owner)
    on_n2 += n == "n2" ? 1 : 0;
  REQUIRE(on_n2 > 0);
  history::checker h;
  workload w{h, handles, calls(c), writers_through({0, 2})}; // through n1 and n3
  std::this_thread::sleep_for(1000ms);
  w.next_epoch();
  auto r = run({binary, "failover", "--from", "n2", "--node", c.n1->address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir), "--json"}, 60s);
  REQUIRE(r.code == 0);
  auto summary = json::parse(r.out, nullptr, false);
  REQUIRE(summary.is_object());
  CHECK(summary["records"].get<uint64_t>() >= on_n2);
  // Drained: n2 leads nothing; then it can stop.
  for (auto& [h, n] : primaries(c))
    CHECK(n != "n2");
  std::this_thread::sleep_for(500ms);
  w.next_epoch();
  c.n2->proc->signal(SIGTERM);
  CHECK(c.n2->proc->wait_exit(20s).has_value());
  w.next_epoch();
  std::this_thread::sleep_for(1500ms);
  w.finish();
  h.healed(history::clock::now());
  auto report = converge(h, calls(c), {0, 2});
  MESSAGE("failover --from n2 (" << summary["records"] << " records, " << summary["took_ms"] << " ms) under load");
  judge(report, "drain", 3);
  CHECK(report.error_count() == 0);
  auto bad = run({binary, "failover", "--from", "n7", "--node", c.n1->address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir)});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("no member named n7") != std::string::npos);
}

namespace {


json legacy_tool(uint16_t port, const std::string& sid, const std::string& tool, const json& args) {
  auto r = legacy_post(port, sid, {{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/call"},
                                   {"params", {{"name", tool}, {"arguments", args}}}});
  json out = {{"status", r.status}};
  // A call may answer as JSON or as one SSE event.
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    auto events = sse_data(r.body);
    if (!events.empty())
      j = json::parse(events.back(), nullptr, false);
  }
  out["reply"] = j.is_discarded() ? json(r.body) : j;
  return out;
}

} // namespace

TEST_CASE("a legacy session keeps its Mcp-Session-Id and its data when the node serving it is killed") {
  three_nodes c;
  auto init = legacy_post(c.n1->http_port, "",
                          {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                           {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                       {"clientInfo", {{"name", "failover-test"}, {"version", "1"}}}}}});
  REQUIRE(init.status == 200);
  auto sid = init.headers["mcp-session-id"];
  REQUIRE_FALSE(sid.empty());
  CHECK(legacy_post(c.n1->http_port, sid, {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}).status == 202);
  // The session's own state (no handle argument): written through n1.
  bool stored = false;
  for (int i = 0; i < 50 && !stored; ++i) {
    auto set = legacy_tool(c.n1->http_port, sid, "session_set", {{"key", "colour"}, {"value", "teal"}});
    stored = set["reply"].contains("result") && !set["reply"]["result"].value("isError", false);
    if (!stored)
      std::this_thread::sleep_for(100ms);
  }
  REQUIRE(stored);
  c.n1->proc->signal(SIGKILL);
  c.n1->proc->wait_exit(10s);
  // The client retries on another node with the same Mcp-Session-Id.
  json got;
  for (int i = 0; i < 50; ++i) {
    got = legacy_tool(c.n2->http_port, sid, "session_get", {{"key", "colour"}});
    if (got["status"] == 200 && got["reply"].contains("result") && !got["reply"]["result"].value("isError", false))
      break;
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(got["status"] == 200);
  CHECK(got["reply"]["result"]["structuredContent"]["value"] == "teal");
  // The session's negotiated version came along: ping and a 2025-06-18 method work, an unknown id does not.
  auto ping = legacy_post(c.n3->http_port, sid, {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}});
  CHECK(ping.status == 200);
  auto unknown = legacy_post(c.n2->http_port, "0123456789abcdef0123456789abcdef",
                             {{"jsonrpc", "2.0"}, {"id", 3}, {"method", "ping"}});
  CHECK(unknown.status == 404);
  // DELETE on a survivor deletes its record: its state is gone on every member.
  auto del = http_request(c.n3->http_port, "DELETE", "/mcp",
                          {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-06-18"}});
  CHECK(del.status == 204);
  bool gone = false;
  for (int i = 0; i < 30 && !gone; ++i) {
    auto r = legacy_tool(c.n2->http_port, sid, "session_get", {{"key", "colour"}});
    gone = r["reply"].contains("result") && r["reply"]["result"].value("isError", false);
    if (!gone)
      std::this_thread::sleep_for(100ms);
  }
  CHECK(gone);
}


TEST_CASE("a whole cluster stopped and started again comes back with its handles (snapshots on shutdown)") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "restart-cookie");
  auto config = dir.write("node.json", fast_config);
  std::map<std::string, std::string> values;
  {
    cluster_node n1{dir, "n1", cookie, config};
    cluster_node n2{dir, "n2", cookie, config, n1.address()};
    cluster_node n3{dir, "n3", cookie, config, n1.address()};
    REQUIRE(wait_all_up(dir, {&n1, &n2, &n3}, cookie));
    for (int i = 0; i < 8; ++i) {
      auto h = open_handle(n2.http_port);
      REQUIRE_FALSE(h.empty());
      REQUIRE(ok(call_tool(n3.http_port, "session_set", {{"handle", h}, {"key", "k"}, {"value", "v" + std::to_string(i)}})));
      values[h] = "v" + std::to_string(i);
    }
    for (auto* n : {&n1, &n2, &n3})
      n->proc->signal(SIGTERM);
    for (auto* n : {&n1, &n2, &n3})
      REQUIRE(n->proc->wait_exit(20s).has_value());
  }
  for (auto name : {"n1", "n2", "n3"})
    CHECK(read_file(dir.path() + "/data/" + name + "/replicas.snapshot").rfind("cafmcp-replicas 1 ", 0) == 0);
  cluster_node n1{dir, "n1", cookie, config};
  cluster_node n2{dir, "n2", cookie, config, n1.address()};
  cluster_node n3{dir, "n3", cookie, config, n1.address()};
  REQUIRE(wait_all_up(dir, {&n1, &n2, &n3}, cookie));
  for (auto& [h, v] : values) {
    auto r = call_tool(n1.http_port, "session_get", {{"handle", h}, {"key", "k"}});
    CHECK(text_of(r) == v);
  }
  for (auto* n : {&n1, &n2, &n3})
    n->proc->signal(SIGTERM);
  for (auto* n : {&n1, &n2, &n3})
    n->proc->wait_exit(20s);
}

TEST_CASE("a node killed with -9 right after an acknowledgement restores the write from its WAL") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "wal-cookie");
  auto config = dir.write("node.json", fast_config);
  std::string h;
  {
    cluster_node n1{dir, "n1", cookie, config};
    h = open_handle(n1.http_port);
    REQUIRE_FALSE(h.empty());
    REQUIRE(ok(call_tool(n1.http_port, "session_set", {{"handle", h}, {"key", "k"}, {"value", "from-the-wal"}})));
    // No pause: with durability fsync the acknowledgement came after the
    // WAL's fdatasync.
    n1.proc->signal(SIGKILL);
    n1.proc->wait_exit(10s);
  }
  CHECK(read_file(dir.path() + "/data/n1/replicas.wal").find("from-the-wal") != std::string::npos);
  cluster_node n1{dir, "n1", cookie, config};
  json r;
  for (int i = 0; i < 50 && text_of(r) != "from-the-wal"; ++i) {
    r = call_tool(n1.http_port, "session_get", {{"handle", h}, {"key", "k"}});
    if (text_of(r) != "from-the-wal")
      std::this_thread::sleep_for(100ms);
  }
  CHECK(text_of(r) == "from-the-wal");
  // What was loaded is not appended to the WAL again: once a later write is
  // acknowledged (fsync: every change before it is on disk), the value is
  // still there once.
  REQUIRE(ok(call_tool(n1.http_port, "session_set", {{"handle", h}, {"key", "later"}, {"value", "x"}})));
  auto wal = read_file(dir.path() + "/data/n1/replicas.wal");
  size_t copies = 0;
  for (auto at = wal.find("from-the-wal"); at != std::string::npos; at = wal.find("from-the-wal", at + 1))
    ++copies;
  CHECK(copies == 1);
  n1.proc->signal(SIGTERM);
  n1.proc->wait_exit(20s);
}

TEST_CASE("a corrupt snapshot is kept aside, and the node serves its records only after pulling them from its peers") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "snap-cookie");
  json cfg = json::parse(fast_config);
  cfg["cluster"]["replication"]["factor"] = 3;
  auto config = dir.write("node.json", cfg.dump());
  std::map<std::string, std::string> values;
  {
    cluster_node n1{dir, "n1", cookie, config};
    cluster_node n2{dir, "n2", cookie, config, n1.address()};
    cluster_node n3{dir, "n3", cookie, config, n1.address()};
    REQUIRE(wait_all_up(dir, {&n1, &n2, &n3}, cookie));
    for (int i = 0; i < 12; ++i) {
      auto h = open_handle(n2.http_port);
      REQUIRE_FALSE(h.empty());
      auto v = "v" + std::to_string(i);
      REQUIRE(ok(call_tool(n3.http_port, "session_set", {{"handle", h}, {"key", "k"}, {"value", v}})));
      values[h] = v;
    }
    for (auto* n : {&n1, &n2, &n3})
      n->proc->signal(SIGTERM); // each writes a snapshot
    for (auto* n : {&n1, &n2, &n3})
      REQUIRE(n->proc->wait_exit(20s).has_value());
  }
  auto snap_path = dir.path() + "/data/n1/replicas.snapshot";
  auto snap = read_file(snap_path);
  auto at = snap.find("v1");
  REQUIRE(at != std::string::npos);
  snap[at] = 'V'; // one flipped byte
  std::ofstream{snap_path, std::ios::trunc} << snap;
  cluster_node n1{dir, "n1", cookie, config};
  REQUIRE(n1.proc->wait_for_stderr(
    "replicas.snapshot is corrupt (the snapshot's SHA-256 does not match its content): kept aside as " + snap_path
      + ".corrupt-",
    10s));
  cluster_node n2{dir, "n2", cookie, config, n1.address()};
  cluster_node n3{dir, "n3", cookie, config, n1.address()};
  REQUIRE(wait_all_up(dir, {&n1, &n2, &n3}, cookie));
  // Every record, the third n1 leads included, is served whole through n1.
  for (auto& [h, v] : values)
    CHECK(text_of(call_tool(n1.http_port, "session_get", {{"handle", h}, {"key", "k"}})) == v);
  // The damaged file is still there for an operator to look at.
  auto listing = run({"/bin/sh", "-c", "ls " + dir.path() + "/data/n1"});
  CHECK(listing.out.find("replicas.snapshot.corrupt-") != std::string::npos);
  for (auto* n : {&n1, &n2, &n3})
    n->proc->signal(SIGTERM);
  for (auto* n : {&n1, &n2, &n3})
    n->proc->wait_exit(20s);
}

namespace {

/// A 2026-07-28 request that declares the Tasks extension, as `tenant` (X-Tenant; "": none).
json task_request(uint16_t port, const std::string& method, const json& params, const std::string& name,
                  const std::string& tenant = "acme") {
  json p = params;
  p["_meta"] = {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                {"io.modelcontextprotocol/clientCapabilities",
                 {{"extensions", {{"io.modelcontextprotocol/tasks", json::object()}}}}}};
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                           {"Accept", "application/json, text/event-stream"},
                                                           {"MCP-Protocol-Version", "2026-07-28"},
                                                           {"Mcp-Method", method},
                                                           {"Mcp-Name", name}};
  if (!tenant.empty())
    headers.push_back({"X-Tenant", tenant});
  auto r = http_request(port, "POST", "/mcp", headers,
                        json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", p}}.dump(), 10s);
  auto j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json(r.body) : j;
}

json task_get(uint16_t port, const std::string& id, const std::string& tenant = "acme") {
  return task_request(port, "tasks/get", {{"taskId", id}}, id, tenant);
}

} // namespace

TEST_CASE("a task is visible from every node to its tenant only - and when its node is killed, another runs it again (idempotent) to completion, still its tenant's") {
  three_nodes c{tenant_header_config()};
  auto created = task_request(c.n1->http_port, "tools/call", {{"name", "sleep"}, {"arguments", {{"ms", 2500}}}}, "sleep");
  REQUIRE(created["result"]["resultType"] == "task");
  auto id = created["result"]["taskId"].get<std::string>();
  // tasks/get on another node: its replicated record.
  json seen;
  for (int i = 0; i < 50; ++i) {
    seen = task_get(c.n2->http_port, id);
    if (seen.contains("result"))
      break;
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(seen.contains("result"));
  CHECK(seen["result"]["status"] == "working");
  CHECK(seen["result"]["taskId"] == id);
  // Its replicated record names its tenant: another, or none, does not find it on any node.
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()})
    for (auto other : {"globex", ""})
      CHECK(task_get(n->http_port, id, other)["error"]["message"]
            == "Failed to retrieve task: Task not found or expired");
  // Another task on n1, cancelled through n3: the cancel goes to n1, which runs it.
  auto other = task_request(c.n1->http_port, "tools/call", {{"name", "sleep"}, {"arguments", {{"ms", 60000}}}}, "sleep");
  REQUIRE(other["result"]["resultType"] == "task");
  auto other_id = other["result"]["taskId"].get<std::string>();
  json cancelled;
  for (int i = 0; i < 50; ++i) {
    cancelled = task_request(c.n3->http_port, "tasks/cancel", {{"taskId", other_id}}, other_id);
    if (cancelled.contains("result"))
      break;
    std::this_thread::sleep_for(100ms); // its record may still be on its way
  }
  REQUIRE_MESSAGE(cancelled.contains("result"), cancelled.dump());
  bool seen_cancelled = false;
  for (int i = 0; i < 50 && !seen_cancelled; ++i) {
    seen_cancelled = task_get(c.n2->http_port, other_id)["result"]["status"] == "cancelled";
    if (!seen_cancelled)
      std::this_thread::sleep_for(100ms);
  }
  CHECK(seen_cancelled);

  c.n1->proc->signal(SIGKILL);
  c.n1->proc->wait_exit(10s);
  auto started = std::chrono::steady_clock::now();
  json done;
  while (std::chrono::steady_clock::now() - started < 20s) {
    done = task_get(c.n2->http_port, id);
    if (done.contains("result") && done["result"]["status"] != "working")
      break;
    std::this_thread::sleep_for(200ms);
  }
  REQUIRE(done.contains("result"));
  if (done["result"]["status"] != "completed")
    for (auto* n : {c.n2.get(), c.n3.get()}) {
      std::istringstream log{n->proc->err()};
      for (std::string line; std::getline(log, line);)
        if (line.find("task") != std::string::npos || line.find("placement") != std::string::npos
            || line.find("member n1") != std::string::npos)
          MESSAGE(n->name << ": " << line);
    }
  CHECK(done["result"]["status"] == "completed");
  CHECK(done["result"]["result"]["structuredContent"]["slept_ms"] == 2500);
  MESSAGE("task taken over and completed "
          << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
          << " ms after kill -9 of its node");
  // And n3 agrees; the task run again is still acme's alone.
  CHECK(task_get(c.n3->http_port, id)["result"]["status"] == "completed");
  CHECK(task_get(c.n3->http_port, id, "globex").contains("error"));
  CHECK(task_get(c.n2->http_port, id, "globex").contains("error"));
  auto unknown = task_get(c.n3->http_port, "0123456789abcdef0123456789abcdef");
  CHECK(unknown.contains("error"));
}

TEST_CASE("five nodes with factor 3 - two primaries killed one after the other lose no acknowledged write") {
  temp_dir dir;
  auto cookie = write_cookie(dir, "cookie", "five-cookie");
  json cfg = json::parse(fast_config);
  cfg["cluster"]["replication"]["factor"] = 3;
  auto config = dir.write("node.json", cfg.dump());
  std::vector<std::unique_ptr<cluster_node>> nodes;
  nodes.push_back(std::make_unique<cluster_node>(dir, "n1", cookie, config));
  for (int k = 2; k <= 5; ++k)
    nodes.push_back(std::make_unique<cluster_node>(dir, "n" + std::to_string(k), cookie, config, nodes[0]->address()));
  REQUIRE(wait_all_up(dir, {nodes[0].get(), nodes[1].get(), nodes[2].get(), nodes[3].get(), nodes[4].get()}, cookie, 30s));
  auto handles = open_handles(nodes[0]->http_port, 20);
  history::checker h;
  auto call = loopback_call([&nodes](size_t i) { return nodes[i]->http_port; }, 10s);
  {
    workload w{h, handles, call, writers_through({0, 1}, 5)}; // through n1 and n2
    std::this_thread::sleep_for(1000ms);
    w.next_epoch();
    nodes[4]->proc->signal(SIGKILL); // n5
    nodes[4]->proc->wait_exit(10s);
    w.next_epoch();
    std::this_thread::sleep_for(1500ms);
    w.next_epoch();
    nodes[3]->proc->signal(SIGKILL); // n4: with factor 3, a majority of every record's replicas is left
    nodes[3]->proc->wait_exit(10s);
    w.next_epoch();
    std::this_thread::sleep_for(2000ms);
    w.finish();
  }
  h.healed(history::clock::now());
  auto r = converge(h, call, {0, 1, 2});
  MESSAGE("5 nodes, factor 3, kill -9 of n5 then n4");
  judge(r, "kill-two-of-five", 5);
  CHECK(r.error_count() == 0); // writes through survivors: a delay, not an error
  CHECK(handles_written(h, handles) == handles.size());
  for (int k = 0; k < 3; ++k)
    nodes[k]->proc->signal(SIGTERM);
  for (int k = 0; k < 3; ++k)
    nodes[k]->proc->wait_exit(20s);
}

TEST_CASE("migrate moves a handle's primary to the named node and backup copies it to every replica - through the shell") {
  three_nodes c;
  auto h = open_handle(c.n1->http_port);
  REQUIRE_FALSE(h.empty());
  // Right after the members link up, one may replace its connection to
  // another; meanwhile the primary refuses a forward from it with "retry"
  // (nothing was written). The forwarding member serves it again itself
  // (retry_refused_forward), so the client's one call works: without that,
  // this failed 3 times in 12.
  auto set = call_tool(c.n2->http_port, "session_set", {{"handle", h}, {"key", "k"}, {"value", "kept"}});
  REQUIRE_MESSAGE(ok(set), set.dump());
  auto owner = primaries(c)[h];
  auto target = owner == "n3" ? "n1" : "n3";
  auto shell = [&](const std::string& cmd) {
    return run({binary, "shell", "--node", c.n1->address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir), "-c", cmd, "--json"});
  };
  auto moved = shell("migrate " + h + " " + target);
  REQUIRE_MESSAGE(moved.code == 0, moved.err);
  auto replicas = json::parse(moved.out)["replicas"];
  REQUIRE(replicas.is_array());
  CHECK(replicas[0] == target);
  CHECK(primaries(c)[h] == target);
  CHECK(text_of(call_tool(c.n2->http_port, "session_get", {{"handle", h}, {"key", "k"}})) == "kept");
  auto backed = shell("backup " + h);
  REQUIRE_MESSAGE(backed.code == 0, backed.err);
  CHECK(json::parse(backed.out)["replicas"].size() == 2);
  // The new primary holds it for real: kill the old one, the value stays.
  auto* old = owner == "n1" ? c.n1.get() : owner == "n2" ? c.n2.get() : c.n3.get();
  if (owner != target) {
    old->proc->signal(SIGKILL);
    old->proc->wait_exit(10s);
  }
  auto* survivor = target == std::string{"n1"} ? c.n1.get() : c.n3.get();
  json r;
  for (int i = 0; i < 30 && text_of(r) != "kept"; ++i) {
    r = call_tool(survivor->http_port, "session_get", {{"handle", h}, {"key", "k"}});
    if (text_of(r) != "kept")
      std::this_thread::sleep_for(100ms);
  }
  CHECK(text_of(r) == "kept");
  auto bad = shell("migrate " + h + " n9");
  CHECK(bad.code == 1);
  auto missing = run({binary, "shell", "--node", survivor->address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir), "-c",
                      "backup 0123456789abcdef0123456789abcdef"});
  CHECK(missing.code == 1);
}
