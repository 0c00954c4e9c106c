// Read repair and deletion against real faults in real 3-node clusters:
// records a node newly leads after a failover are repaired without a client
// touching them (so they expire), and a replica that was away longer than the
// tombstone TTL does not bring a deleted record back.

#include <csignal>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

cluster_node* by_name(const three_nodes& c, const std::string& name) {
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()})
    if (n->name == name)
      return n;
  return nullptr;
}

/// `node`'s replication counter `key` as `asked` reports it (-1 if unknown).
int64_t replication_of(const three_nodes& c, const cluster_node& asked, const std::string& node,
                       const std::string& key) {
  auto s = status(c.dir, asked, c.cookie);
  auto row = row_of(s.rows, node);
  if (row.is_null() || !row["replication"].is_object() || !row["replication"].contains(key))
    return -1;
  return row["replication"][key].get<int64_t>();
}


/// The members holding `id`, primary first (`cafmcp shell -c sessions --json` through `n`).
std::vector<std::string> replicas_of(const three_nodes& c, const cluster_node& n, const std::string& id) {
  std::vector<std::string> args{binary, "shell", "--node", n.address(), "-c", "sessions", "--json"};
  auto flags = client_flags(c.dir, c.cookie);
  args.insert(args.end(), flags.begin(), flags.end());
  auto j = json::parse(run(args).out, nullptr, false);
  if (j.is_array())
    for (auto& s : j)
      if (s["id"] == id)
        return s["replicas"].get<std::vector<std::string>>();
  return {};
}

} // namespace

// Before: the survivor that newly led the handle kept it awaiting repair
// until a client touched it, and the sweep skips such records: it never
// expired (nor would an orphaned task in it have been taken over).
TEST_CASE("a handle whose primary is killed expires on time at its new primary - with no client touching it") {
  three_nodes c{R"({
    "cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "remove_after_ms": 3000,
                "split_brain": {"stable_after_ms": 600}},
    "sessions": {"ttl_ms": 3000},
    "supervision": {"shutdown_grace_ms": 10000}
  })"};
  auto h = open_handle(c.n1->http_port);
  REQUIRE_FALSE(h.empty());
  auto owners = session_primaries(c.dir, *c.n1, c.cookie);
  REQUIRE(owners.count(h) == 1);
  auto* primary = by_name(c, owners[h]);
  REQUIRE(primary != nullptr);
  primary->proc->signal(SIGKILL);
  primary->proc->wait_exit(10s);
  auto killed = std::chrono::steady_clock::now();
  const cluster_node* survivor = primary == c.n1.get() ? c.n2.get() : c.n1.get();
  // Another member leads it once the kill is noticed (a second or so)…
  bool moved = false;
  for (int i = 0; i < 50 && !moved; ++i) {
    auto now = session_primaries(c.dir, *survivor, c.cookie);
    moved = now.count(h) == 1 && now[h] != primary->name;
    if (!moved)
      std::this_thread::sleep_for(200ms);
  }
  // (It may have expired already, if the failover took longer than its TTL.)
  // …and expires it 3 s after its last use, give or take a sweep.
  bool expired = false;
  while (!expired && std::chrono::steady_clock::now() - killed < 15s) {
    expired = session_primaries(c.dir, *survivor, c.cookie).count(h) == 0;
    if (!expired)
      std::this_thread::sleep_for(200ms);
  }
  MESSAGE("moved " << moved << ", expired "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed)
                        .count()
                   << " ms after kill -9 of its primary");
  CHECK(expired);
  // Nothing is left awaiting repair.
  CHECK(replication_of(c, *survivor, survivor->name, "repairing") == 0);
}

// Before: each replica forgot a deletion 60 s after it, and took any copy of
// a record it did not hold; the stopped replica, back after the others had
// forgotten the deletion, pushed its live copy (or answered the primary's
// read repair with it) and the deleted session came back.
TEST_CASE("a replica stopped past the tombstone TTL does not bring a deleted session back when it returns") {
  three_nodes c{R"({
    "cluster": {"heartbeat_ms": 200, "unhealthy_after": 3, "remove_after_ms": 3000,
                "split_brain": {"stable_after_ms": 600},
                "replication": {"factor": 3, "tombstone_ttl_ms": 1500}},
    "supervision": {"shutdown_grace_ms": 10000}
  })"};
  // A legacy session (its TTL, 30 min, far longer than the test): deleted with DELETE /mcp.
  auto init = legacy_post(c.n1->http_port, "",
                          {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                           {"params", {{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()},
                                       {"clientInfo", {{"name", "repair-test"}, {"version", "1"}}}}}});
  REQUIRE(init.status == 200);
  auto sid = init.headers["mcp-session-id"];
  REQUIRE_FALSE(sid.empty());
  auto ping = [&sid](const cluster_node& n) {
    return legacy_post(n.http_port, sid, {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}}).status;
  };
  std::string primary_name;
  for (int i = 0; i < 50 && primary_name.empty(); ++i) {
    auto owners = session_primaries(c.dir, *c.n1, c.cookie);
    if (owners.count(sid))
      primary_name = owners[sid];
    else
      std::this_thread::sleep_for(100ms);
  }
  auto* primary = by_name(c, primary_name);
  REQUIRE(primary != nullptr);
  // Stop a backup (the primary's copy decides reads; a backup's is the one
  // that could come back), not n1: the node a legacy session was opened on
  // also keeps it in memory (and serves it from there until it is deleted
  // through that node), which is not what this test is about.
  cluster_node* stopped = nullptr;
  for (auto* n : {c.n3.get(), c.n2.get()})
    if (n != primary && !stopped)
      stopped = n;
  cluster_node* other = nullptr;
  for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()})
    if (n != primary && n != stopped)
      other = n;
  MESSAGE("primary " << primary->name << ", stopped " << stopped->name);
  stopped->proc->signal(SIGSTOP);
  // Once the primary counts it out, the deletion is not sent to it at all
  // (a stopped process would still read what was sent before).
  REQUIRE(wait_status(c.dir, *primary, c.cookie, [&](const json& rows) {
    auto row = row_of(rows, stopped->name);
    return !row.is_null() && row["health"] != "healthy";
  }));
  auto del = http_request(c.n1->http_port, "DELETE", "/mcp",
                          {{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-06-18"}});
  REQUIRE(del.status == 204);
  // The others forget the deletion: its tombstone shows in their status, then goes.
  bool forgotten = false;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!forgotten && std::chrono::steady_clock::now() < deadline) {
    auto s = status(c.dir, *primary, c.cookie);
    auto count = [&](const cluster_node* n) {
      auto row = row_of(s.rows, n->name);
      return row.is_null() || !row["replication"].is_object() ? -1 : row["replication"].value("tombstones", -1);
    };
    forgotten = count(primary) == 0 && count(other) == 0;
    if (!forgotten)
      std::this_thread::sleep_for(100ms);
  }
  REQUIRE(forgotten);
  CHECK(ping(*primary) == 404);
  CHECK(ping(*other) == 404);
  stopped->proc->signal(SIGCONT);
  REQUIRE(wait_all_up(c.dir, {c.n1.get(), c.n2.get(), c.n3.get()}, c.cookie, 30s));
  // The returning replica pushes what it holds, and is asked for it; the
  // session stays deleted through every node.
  for (int i = 0; i < 8; ++i) {
    for (auto* n : {c.n1.get(), c.n2.get(), c.n3.get()}) {
      INFO("ping through " << n->name);
      CHECK(ping(*n) == 404);
    }
    std::this_thread::sleep_for(200ms);
  }
  CHECK(session_primaries(c.dir, *other, c.cookie).count(sid) == 0);
  int64_t refused = 0;
  for (auto* n : {primary, other})
    refused += std::max<int64_t>(0, replication_of(c, *primary, n->name, "refused_stale"));
  MESSAGE("copies refused as possibly deleted: " << refused);
}

// Before: a pull that timed out counted as "holds nothing", so the new
// primary served the handle without the frozen backup's copy. Had that
// backup been the only one to acknowledge the last write (consistency one,
// or majority with the other backup behind), the write was lost. Now the
// read fails with a retryable error until the backup answers (or leaves).
TEST_CASE("a new primary does not serve a record while a reachable backup does not answer its pull - it asks the client to retry") {
  // A frozen member stays reachable for 50 heartbeats (10 s); a pull gives up after 300 ms.
  three_nodes c{R"({
    "cluster": {"heartbeat_ms": 200, "unhealthy_after": 50, "remove_after_ms": 60000,
                "split_brain": {"stable_after_ms": 600},
                "replication": {"factor": 3, "write_timeout_ms": 300}},
    "supervision": {"shutdown_grace_ms": 10000}
  })"};
  auto h = open_handle(c.n1->http_port);
  REQUIRE_FALSE(h.empty());
  REQUIRE(ok(call_tool(c.n1->http_port, "session_set", {{"handle", h}, {"key", "k"}, {"value", "v"}})));
  auto replicas = replicas_of(c, *c.n1, h);
  REQUIRE(replicas.size() == 3);
  auto* primary = by_name(c, replicas[0]);
  auto* next = by_name(c, replicas[1]);   // leads it once the primary is gone
  auto* frozen = by_name(c, replicas[2]); // stopped: still a reachable member, answers nothing
  frozen->proc->signal(SIGSTOP);
  primary->proc->signal(SIGKILL); // its connection drops: unreachable at once
  primary->proc->wait_exit(10s);
  json r;
  bool refused = false;
  auto stopped_at = std::chrono::steady_clock::now();
  while (!refused && std::chrono::steady_clock::now() - stopped_at < 6s) {
    r = call_tool(next->http_port, "session_get", {{"handle", h}, {"key", "k"}});
    refused = r.dump().find("could not read " + h + " from " + frozen->name) != std::string::npos;
    INFO(r.dump());
    REQUIRE_FALSE(ok(r)); // never served without the frozen backup's copy
    if (!refused)
      std::this_thread::sleep_for(100ms);
  }
  INFO(r.dump());
  CHECK(refused);
  CHECK(r.dump().find("retry") != std::string::npos);
  // Back, it answers the pull: the handle is served, with its value.
  frozen->proc->signal(SIGCONT);
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    r = call_tool(next->http_port, "session_get", {{"handle", h}, {"key", "k"}});
    served = ok(r);
    if (!served)
      std::this_thread::sleep_for(100ms);
  }
  INFO(r.dump());
  REQUIRE(served);
  CHECK(r["result"]["structuredContent"]["value"] == "v");
}
