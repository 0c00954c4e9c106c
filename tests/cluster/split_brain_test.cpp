// The split-brain resolver as a pure function, per strategy, and a
// simulation: 32 nodes, random partitions (with bridges), every node
// deciding on its own view — never two disjoint sides up at once.

#include <random>

#include <doctest/doctest.h>

#include "cluster/split_brain.hpp"

using namespace cafmcp::cluster;

namespace {

/// The views of every node when `links[a]` is the set of nodes a hears
/// (symmetric links unless the test makes them otherwise).
std::map<std::string, sbr_view> views(const std::vector<std::string>& nodes,
                                      const std::map<std::string, std::set<std::string>>& links) {
  std::map<std::string, sbr_view> out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto& self = nodes[i];
    sbr_view v;
    v.self = self;
    for (size_t k = 0; k < nodes.size(); ++k)
      v.members[nodes[k]] = 1000 + k; // n0 is the oldest
    v.reachable = links.at(self);
    v.reachable.insert(self);
    for (auto& peer : v.reachable) {
      if (peer == self)
        continue;
      sbr_view::report r;
      r.reachable = links.at(peer);
      r.reachable.insert(peer);
      for (auto& m : nodes)
        if (!r.reachable.count(m))
          r.unreachable.insert(m);
      v.reports[peer] = r;
    }
    out[self] = v;
  }
  return out;
}

std::vector<std::string> names(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back("n" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  return out;
}

/// Links for a partition into groups (everyone reaches its own group).
std::map<std::string, std::set<std::string>> groups(const std::vector<std::vector<std::string>>& gs) {
  std::map<std::string, std::set<std::string>> links;
  for (auto& g : gs)
    for (auto& a : g)
      for (auto& b : g)
        if (a != b)
          links[a].insert(b);
  for (auto& g : gs)
    for (auto& a : g)
      links[a];
  return links;
}

std::set<std::string> survivors(const sbr_config& cfg, const std::map<std::string, sbr_view>& vs) {
  std::set<std::string> out;
  for (auto& [n, v] : vs)
    if (decide(cfg, v).keep)
      out.insert(n);
  return out;
}

} // namespace

TEST_CASE("keep_majority keeps the larger side and breaks a tie by the lowest node id") {
  auto n = names(5);
  sbr_config cfg;
  auto vs = views(n, groups({{n[0], n[1]}, {n[2], n[3], n[4]}}));
  CHECK(survivors(cfg, vs) == std::set<std::string>{n[2], n[3], n[4]});
  auto d = decide(cfg, vs[n[3]]);
  CHECK(d.partitioned);
  CHECK(d.down == std::set<std::string>{n[0], n[1]});
  auto four = names(4);
  CHECK(survivors(cfg, views(four, groups({{four[0], four[3]}, {four[1], four[2]}})))
        == std::set<std::string>{four[0], four[3]});
  // No partition: nothing to decide.
  auto whole = views(n, groups({n}));
  CHECK_FALSE(decide(cfg, whole[n[0]]).partitioned);
}

TEST_CASE("keep_oldest keeps the oldest's side - with down_if_alone a lone oldest goes instead") {
  auto n = names(5);
  sbr_config cfg;
  cfg.strategy = sbr_strategy::keep_oldest;
  CHECK(survivors(cfg, views(n, groups({{n[0], n[4]}, {n[1], n[2], n[3]}}))) == std::set<std::string>{n[0], n[4]});
  auto lone = views(n, groups({{n[0]}, {n[1], n[2], n[3], n[4]}}));
  CHECK(survivors(cfg, lone) == std::set<std::string>{n[0]});
  cfg.down_if_alone = true;
  CHECK(survivors(cfg, lone) == std::set<std::string>{n[1], n[2], n[3], n[4]});
}

TEST_CASE("static_quorum keeps a side with at least quorum_size members") {
  auto n = names(5);
  sbr_config cfg;
  cfg.strategy = sbr_strategy::static_quorum;
  cfg.quorum_size = 3;
  CHECK(survivors(cfg, views(n, groups({{n[0], n[1]}, {n[2], n[3], n[4]}}))) == std::set<std::string>{n[2], n[3], n[4]});
  CHECK(survivors(cfg, views(n, groups({{n[0], n[1]}, {n[2], n[3]}, {n[4]}}))).empty());
}

TEST_CASE("configured_master keeps the side that holds the master") {
  auto n = names(3);
  sbr_config cfg;
  cfg.strategy = sbr_strategy::configured_master;
  cfg.master = n[2];
  CHECK(survivors(cfg, views(n, groups({{n[0], n[1]}, {n[2]}}))) == std::set<std::string>{n[2]});
}

TEST_CASE("a bridge that reaches both sides is downed and the rest decide without it") {
  auto n = names(5);
  // n2 reaches everyone; {n0,n1} and {n3,n4} do not reach each other.
  auto links = groups({{n[0], n[1], n[2]}, {n[2], n[3], n[4]}});
  links[n[2]] = {n[0], n[1], n[3], n[4]};
  auto vs = views(n, links);
  sbr_config cfg;
  CHECK(decide(cfg, vs[n[2]]).bridges.count(n[2]) == 1);
  CHECK_FALSE(decide(cfg, vs[n[2]]).keep);
  CHECK(decide(cfg, vs[n[0]]).bridges == std::set<std::string>{n[2]});
  // 4 counted, 2 a side: the tie goes to the side of n0.
  CHECK(survivors(cfg, vs) == std::set<std::string>{n[0], n[1]});
}

TEST_CASE("simulation: 32 nodes, random partitions and bridges, never two disjoint sides up") {
  std::mt19937 rng{20261123};
  auto n = names(32);
  std::vector<sbr_config> cfgs(4);
  cfgs[1].strategy = sbr_strategy::keep_oldest;
  cfgs[2].strategy = sbr_strategy::static_quorum;
  cfgs[2].quorum_size = 17;
  cfgs[3].strategy = sbr_strategy::configured_master;
  cfgs[3].master = n[7];
  int decided = 0; // rounds in which keep_majority kept a side (the check is not vacuous)
  for (int round = 0; round < 200; ++round) {
    // Random groups, then a few random extra links (bridges, asymmetric views).
    auto k = std::uniform_int_distribution<int>{1, 5}(rng);
    std::vector<std::vector<std::string>> gs(static_cast<size_t>(k));
    for (auto& x : n)
      gs[static_cast<size_t>(std::uniform_int_distribution<int>{0, k - 1}(rng))].push_back(x);
    auto links = groups(gs);
    auto extra = std::uniform_int_distribution<int>{0, 3}(rng);
    for (int e = 0; e < extra; ++e) {
      auto a = n[static_cast<size_t>(std::uniform_int_distribution<int>{0, 31}(rng))];
      auto b = n[static_cast<size_t>(std::uniform_int_distribution<int>{0, 31}(rng))];
      if (a != b) {
        links[a].insert(b);
        links[b].insert(a);
      }
    }
    auto vs = views(n, links);
    for (auto& cfg : cfgs) {
      auto up = survivors(cfg, vs);
      if (cfg.strategy == sbr_strategy::keep_majority && !up.empty())
        ++decided;
      // All survivors must reach each other: one side.
      for (auto& a : up)
        for (auto& b : up)
          if (a != b && !links[a].count(b)) {
            FAIL("round " << round << " strategy " << to_string(cfg.strategy) << ": " << a << " and " << b
                          << " both stay up without reaching each other");
          }
    }
  }
  CHECK(decided > 50);
}
