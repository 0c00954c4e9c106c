// Replicated MCP state against real faults in real 3-node clusters: MCP
// clients write increasing values to state handles (majority consistency)
// through the surviving nodes while the harness kill -9s or SIGSTOPs the
// primary of some of them; a checker then reads every handle back. Every
// acknowledged write must be there; the run prints its figures.

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/http_client.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// One MCP 2026-07-28 tools/call; the JSON-RPC reply (null on no answer).
json call_tool(uint16_t port, const std::string& tool, const json& args) {
  json body{{"jsonrpc", "2.0"},
            {"id", 1},
            {"method", "tools/call"},
            {"params",
             {{"name", tool},
              {"arguments", args},
              {"_meta",
               {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                {"io.modelcontextprotocol/clientCapabilities", json::object()}}}}}};
  auto r = http_request(port, "POST", "/mcp",
                        {{"Content-Type", "application/json"},
                         {"Accept", "application/json, text/event-stream"},
                         {"MCP-Protocol-Version", "2026-07-28"},
                         {"Mcp-Method", "tools/call"},
                         {"Mcp-Name", tool}},
                        body.dump(), 10s);
  auto j = json::parse(r.body, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

bool ok(const json& reply) {
  return reply.is_object() && reply.contains("result") && !reply["result"].value("isError", false);
}

std::string text_of(const json& reply) {
  if (reply.is_object() && reply.contains("result") && reply["result"]["content"].is_array())
    return reply["result"]["content"][0].value("text", "");
  return reply.dump();
}

/// Opens a handle through `port` (retried while the cluster settles).
std::string open_handle(uint16_t port) {
  for (int i = 0; i < 50; ++i) {
    auto r = call_tool(port, "session_open", json::object());
    if (ok(r))
      return r["result"]["structuredContent"]["handle"];
    std::this_thread::sleep_for(100ms);
  }
  return {};
}

/// Which member is primary for each handle (`cafmcp shell -c sessions --json`).
std::map<std::string, std::string> primaries(const three_nodes& c) {
  auto r = run({binary, "shell", "--node", c.n1->address(), "--cookie-file", c.cookie, "-c", "sessions", "--json"});
  std::map<std::string, std::string> out;
  auto j = json::parse(r.out, nullptr, false);
  if (j.is_array())
    for (auto& s : j)
      out[s["id"]] = s["node"];
  return out;
}

/// Writers: one thread per port, each writing 1, 2, 3 … to key "k" of
/// every handle in turn until stopped; remembers the last acknowledged
/// value per handle and the longest a write took.
struct writers {
  std::vector<std::string> handles;
  std::atomic<bool> stop{false};
  std::mutex mtx;
  std::map<std::string, long> acked; // handle → last acknowledged value
  std::vector<std::string> errors;
  long attempted = 0;
  std::chrono::milliseconds worst{0};
  std::vector<std::thread> threads;

  writers(std::vector<std::string> hs, std::vector<uint16_t> ports) : handles(std::move(hs)) {
    // Each handle has one writer (values must increase per handle).
    for (size_t t = 0; t < ports.size(); ++t)
      threads.emplace_back([this, t, port = ports[t], n = ports.size()] {
        long value = 0;
        auto deadline = std::chrono::steady_clock::now() + 60s; // bounded even if never stopped
        while (!stop && std::chrono::steady_clock::now() < deadline) {
          ++value;
          for (size_t i = t; i < handles.size(); i += n) {
            auto started = std::chrono::steady_clock::now();
            auto r = call_tool(port, "session_set",
                               {{"handle", handles[i]}, {"key", "k"}, {"value", std::to_string(value)}});
            auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
            std::lock_guard<std::mutex> guard{mtx};
            ++attempted;
            worst = std::max(worst, took);
            if (ok(r))
              acked[handles[i]] = value;
            else
              errors.push_back(text_of(r));
          }
        }
      });
  }

  void finish() {
    stop = true;
    for (auto& t : threads)
      t.join();
    threads.clear();
  }

  ~writers() { finish(); }

  /// Reads every handle through `port`: how many acknowledged values are missing.
  size_t lost(uint16_t port) {
    size_t missing = 0;
    for (auto& [h, v] : acked) {
      auto r = call_tool(port, "session_get", {{"handle", h}, {"key", "k"}});
      long got = ok(r) ? std::stol(r["result"]["structuredContent"]["value"].get<std::string>()) : -1;
      if (got < v) {
        ++missing;
        MESSAGE("lost: handle " << h << " acked " << v << ", read " << text_of(r));
      }
    }
    return missing;
  }
};

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
  auto handles = open_handles(c.n1->http_port, 12);
  auto owner = primaries(c);
  REQUIRE(owner.size() == handles.size());
  size_t on_n2 = 0;
  for (auto& [h, n] : owner)
    on_n2 += n == "n2" ? 1 : 0;
  REQUIRE(on_n2 > 0); // 12 handles over 3 nodes: n2 leads some

  writers w{handles, {c.n1->http_port, c.n3->http_port}};
  std::this_thread::sleep_for(1500ms);
  auto killed_at = std::chrono::steady_clock::now();
  c.n2->proc->signal(SIGKILL);
  c.n2->proc->wait_exit(10s);
  std::this_thread::sleep_for(2500ms);
  w.finish();
  (void) killed_at;

  auto lost = w.lost(c.n3->http_port);
  MESSAGE("kill -9 of n2 (primary of " << on_n2 << " of " << handles.size() << " handles): writes attempted "
                                       << w.attempted << ", acknowledged handles " << w.acked.size() << ", errors "
                                       << w.errors.size() << ", lost " << lost << ", slowest write "
                                       << w.worst.count() << " ms");
  for (size_t i = 0; i < std::min<size_t>(3, w.errors.size()); ++i)
    MESSAGE("error: " << w.errors[i]);
  CHECK(lost == 0);
  CHECK(w.acked.size() == handles.size());
  // After the failover every handle is led by a survivor and served by any of them.
  auto after = primaries(c);
  CHECK(after.size() == handles.size());
  for (auto& [h, n] : after)
    CHECK(n != "n2");
  CHECK(w.lost(c.n1->http_port) == 0);
}

TEST_CASE("a SIGSTOPped primary loses no acknowledged write - and catches up when it comes back") {
  three_nodes c;
  auto handles = open_handles(c.n2->http_port, 12);
  writers w{handles, {c.n1->http_port, c.n2->http_port}};
  std::this_thread::sleep_for(1000ms);
  c.n3->proc->signal(SIGSTOP);
  std::this_thread::sleep_for(3000ms);
  c.n3->proc->signal(SIGCONT);
  std::this_thread::sleep_for(3000ms);
  w.finish();
  auto lost = w.lost(c.n1->http_port);
  MESSAGE("SIGSTOP of n3 for 3 s: writes attempted " << w.attempted << ", errors " << w.errors.size() << ", lost "
                                                      << lost << ", slowest write " << w.worst.count() << " ms");
  for (size_t i = 0; i < std::min<size_t>(3, w.errors.size()); ++i)
    MESSAGE("error: " << w.errors[i]);
  CHECK(lost == 0);
  CHECK(w.acked.size() == handles.size());
  // Back in the cluster (as a new incarnation), n3 serves every handle too.
  REQUIRE(wait_status(c.dir, *c.n1, c.cookie, [](const json& rows) { return all_up_healthy(rows, 3); }, 30s));
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    served = w.lost(c.n3->http_port) == 0;
    if (!served)
      std::this_thread::sleep_for(200ms);
  }
  CHECK(served);
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
  writers w{handles, {c.n1->http_port, c.n3->http_port}};
  std::this_thread::sleep_for(1000ms);
  auto r = run({binary, "failover", "--from", "n2", "--node", c.n1->address(), "--cookie-file", c.cookie, "--json"}, 60s);
  REQUIRE(r.code == 0);
  auto summary = json::parse(r.out, nullptr, false);
  REQUIRE(summary.is_object());
  CHECK(summary["records"].get<uint64_t>() >= on_n2);
  // Drained: n2 leads nothing; then it can stop.
  for (auto& [h, n] : primaries(c))
    CHECK(n != "n2");
  std::this_thread::sleep_for(500ms);
  c.n2->proc->signal(SIGTERM);
  CHECK(c.n2->proc->wait_exit(20s).has_value());
  std::this_thread::sleep_for(1500ms);
  w.finish();
  auto lost = w.lost(c.n3->http_port);
  MESSAGE("failover --from n2 (" << summary["records"] << " records, " << summary["took_ms"] << " ms) under load: writes "
                                 << w.attempted << ", errors " << w.errors.size() << ", lost " << lost
                                 << ", slowest write " << w.worst.count() << " ms");
  for (size_t i = 0; i < std::min<size_t>(3, w.errors.size()); ++i)
    MESSAGE("error: " << w.errors[i]);
  CHECK(w.errors.empty());
  CHECK(lost == 0);
  auto bad = run({binary, "failover", "--from", "n7", "--node", c.n1->address(), "--cookie-file", c.cookie});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("no member named n7") != std::string::npos);
}
