// Partition nemeses under the history checker: clusters in network
// namespaces (tests/support/netns_lab.hpp), one writer per node writing from
// that node's namespace to it, while iptables DROP rules cut the cluster in
// halves, isolate one node, leave one node bridging two halves, or leave a
// ring in which every node sees a majority but no two the same one. Each
// partition holds long enough to be detected and resolved, then heals; after
// the last heal every node reads everything back and the checker judges it
// ("FAULT-REPORT nemesis=partition-… nodes=…", collected by
// bench/fault_suite.sh). Needs root; CAFMCP_FAULT_SECONDS and
// CAFMCP_FAULT_NODES scale it like the other fault tests.

#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/fault_cluster.hpp"
#include "tests/support/fault_workload.hpp"
#include "tests/support/history.hpp"
#include "tests/support/netns_lab.hpp"

using namespace cafmcp::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// Pairs of node groups to cut from each other (nodes numbered 1…n).
using cuts = std::vector<std::pair<std::vector<int>, std::vector<int>>>;

/// Node `k` of 1…n counted from `first` (so that each round cuts elsewhere).
int rotated(int k, int first, int n) {
  return (k - 1 + first) % n + 1;
}

/// The smaller half {1…n/2} against the rest.
cuts halves(int n, int round) {
  std::vector<int> a, b;
  for (int k = 1; k <= n; ++k)
    (k <= n / 2 ? a : b).push_back(rotated(k, round, n));
  return {{a, b}};
}

/// One node against all others.
cuts isolate_one(int n, int round) {
  std::vector<int> others;
  for (int k = 2; k <= n; ++k)
    others.push_back(rotated(k, round, n));
  return {{{rotated(1, round, n)}, others}};
}

/// Two halves that do not reach each other and one node that reaches both.
cuts bridge(int n, int round) {
  std::vector<int> a, b;
  int side = (n - 1) / 2;
  for (int k = 1; k <= side; ++k)
    a.push_back(rotated(k, round, n));
  for (int k = n - side + 1; k <= n; ++k)
    b.push_back(rotated(k, round, n));
  return {{a, b}};
}

/// Nodes on a ring, each reaching only its neighbours (with itself a
/// majority of 5; on 3 nodes that is one cut link, the same as a bridge).
cuts ring(int n, int round) {
  cuts out;
  if (n < 5)
    return bridge(n, round);
  for (int i = 1; i <= n; ++i)
    for (int j = i + 1; j <= n; ++j) {
      int d = std::min(j - i, n - (j - i));
      if (d > 1)
        out.push_back({{rotated(i, round, n)}, {rotated(j, round, n)}});
    }
  return out;
}

/// Runs `shape`, round after round (hold, heal, wait until all are up
/// again), for CAFMCP_FAULT_SECONDS with one writer per node, then judges.
/// `bridged`: a node reaches both sides, so until the split-brain resolver
/// decides, each side may lead a record (read-your-writes not promised).
void partition_nemesis(const std::string& nemesis, const std::function<cuts(int, int)>& shape, bool bridged = false) {
  require_root();
  auto n = static_cast<int>(nodes_wanted());
  auto limit = seconds_wanted(6);
  ns_cluster c{n, "keep_majority", n / 2 + 1, true};
  node_call call = [&c](size_t node, const std::string& tool, const json& args) {
    auto k = static_cast<int>(node) + 1;
    return lab_call(c, k, k, tool, args);
  };
  std::vector<std::string> handles;
  for (int i = 0; i < 3 * n; ++i) {
    json r;
    for (int attempt = 0; attempt < 20 && !tool_ok(r); ++attempt) {
      r = call(static_cast<size_t>(i % n), "session_open", json::object());
      if (!tool_ok(r))
        std::this_thread::sleep_for(200ms);
    }
    REQUIRE_MESSAGE(tool_ok(r), tool_error(r));
    handles.push_back(r["result"]["structuredContent"]["handle"]);
  }
  auto all_up = [&c, n] {
    return c.wait_all(n, [n](int, const json& rows) { return ns_cluster::count(rows, "up") == static_cast<size_t>(n); },
                      90s);
  };
  history::checker h;
  int rounds = 0;
  {
    workload_options opt;
    opt.writers = static_cast<size_t>(n);
    opt.nodes = static_cast<size_t>(n);
    opt.targets = [](size_t w) { return std::vector<size_t>{w}; }; // writer w: node w+1, from its namespace
    opt.limit = std::chrono::duration_cast<std::chrono::seconds>(limit) + 300s;
    workload w{h, handles, call, opt};
    auto deadline = history::clock::now() + limit;
    do {
      std::this_thread::sleep_for(1s);
      w.next_epoch(); // no write after a fault supersedes one acknowledged before it
      for (auto& [a, b] : shape(n, rounds))
        c.lab.partition(a, b);
      w.next_epoch();
      std::this_thread::sleep_for(4s); // found (200 ms heartbeats), resolved (stable after 800 ms), failed over
      c.lab.heal();
      w.next_epoch();
      bool up = all_up();
      if (!up)
        MESSAGE(c.describe(n));
      REQUIRE(up);
      ++rounds;
    } while (rounds < 50 && history::clock::now() < deadline);
    std::this_thread::sleep_for(1s); // served again everywhere
    w.finish();
  }
  h.healed(history::clock::now());
  MESSAGE(nemesis << ": " << rounds << " rounds");
  auto r = converge(h, call, c.all_nodes(), 30s);
  judge(r, nemesis, static_cast<size_t>(n), !bridged);
}

} // namespace

TEST_CASE("a partition into halves loses no acknowledged write - the minority fences, the majority serves, all converge") {
  partition_nemesis("partition-halves", halves);
}

TEST_CASE("a partition that isolates one node loses no acknowledged write") {
  partition_nemesis("partition-isolate", isolate_one);
}

TEST_CASE("a bridge node that reaches two halves that do not reach each other loses no acknowledged write") {
  partition_nemesis("partition-bridge", bridge, true);
}

TEST_CASE("a ring partition in which each node sees a different majority loses no acknowledged write") {
  partition_nemesis("partition-ring", ring, true);
}
