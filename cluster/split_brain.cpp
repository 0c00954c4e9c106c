// The split-brain resolver: which side of a partition stays up.
#include "cluster/split_brain.hpp"

#include <algorithm>

namespace cafmcp::cluster {

std::optional<sbr_strategy> parse_strategy(const std::string& s) {
  if (s == "keep_majority") return sbr_strategy::keep_majority;
  if (s == "keep_oldest") return sbr_strategy::keep_oldest;
  if (s == "static_quorum") return sbr_strategy::static_quorum;
  if (s == "configured_master") return sbr_strategy::configured_master;
  return std::nullopt;
}

const char* to_string(sbr_strategy s) {
  switch (s) {
    case sbr_strategy::keep_majority: return "keep_majority";
    case sbr_strategy::keep_oldest: return "keep_oldest";
    case sbr_strategy::static_quorum: return "static_quorum";
    case sbr_strategy::configured_master: return "configured_master";
  }
  return "?";
}

namespace {

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (auto& x : s)
    out += (out.empty() ? "" : ",") + x;
  return "{" + out + "}";
}

/// Whom `who` reaches, as far as this node knows (itself always).
std::set<std::string> reach_of(const sbr_view& v, const std::string& who) {
  if (who == v.self)
    return v.reachable;
  auto i = v.reports.find(who);
  auto out = i == v.reports.end() ? std::set<std::string>{} : i->second.reachable;
  out.insert(who);
  return out;
}

} // namespace

sbr_decision decide(const sbr_config& cfg, const sbr_view& v) {
  sbr_decision d;
  // Bridges: a reachable member (or this node) that reaches two members
  // of which one has found the other unreachable. Only explicit
  // unreachability counts: members still connecting are no evidence.
  std::set<std::string> lost_by_self;
  for (auto& [m, age] : v.members)
    if (!v.reachable.count(m))
      lost_by_self.insert(m);
  for (auto& y : v.reachable) {
    if (!v.members.count(y))
      continue;
    auto ry = reach_of(v, y);
    bool bridge = false;
    for (auto& a : ry) {
      if (a == y || !v.members.count(a))
        continue;
      const std::set<std::string>* lost_by_a = &lost_by_self;
      if (a != v.self) {
        auto i = v.reports.find(a);
        if (i == v.reports.end())
          continue;
        lost_by_a = &i->second.unreachable;
      }
      for (auto& b : *lost_by_a)
        if (b != y && ry.count(b) && v.members.count(b)) {
          bridge = true;
          break;
        }
      if (bridge)
        break;
    }
    if (bridge)
      d.bridges.insert(y);
  }
  std::set<std::string> counted; // members minus bridges
  for (auto& [m, age] : v.members)
    if (!d.bridges.count(m))
      counted.insert(m);
  for (auto& y : v.reachable)
    if (counted.count(y))
      d.side.insert(y);
  d.partitioned = !d.bridges.empty() || d.side.size() < counted.size();
  if (!d.partitioned) {
    d.reason = "no partition";
    return d;
  }
  if (d.bridges.count(v.self)) {
    d.keep = false;
    d.reason = "this node is a bridge between sides that do not reach each other " + join(d.bridges);
    return d;
  }
  auto n = counted.size(), s = d.side.size();
  switch (cfg.strategy) {
    case sbr_strategy::keep_majority: {
      auto lowest = counted.empty() ? std::string{} : *counted.begin();
      if (2 * s > n) {
        d.keep = true;
        d.reason = "keep_majority: " + std::to_string(s) + " of " + std::to_string(n) + " is a majority";
      } else if (2 * s == n) {
        d.keep = d.side.count(lowest) > 0;
        d.reason = "keep_majority: a tie (" + std::to_string(s) + " of " + std::to_string(n)
                   + "); the side with the lowest node id (" + lowest + ") stays";
      } else {
        d.keep = false;
        d.reason = "keep_majority: " + std::to_string(s) + " of " + std::to_string(n) + " is a minority";
      }
      break;
    }
    case sbr_strategy::keep_oldest: {
      std::string oldest;
      uint64_t best = 0;
      for (auto& m : counted) {
        auto age = v.members.at(m);
        if (oldest.empty() || age < best || (age == best && m < oldest)) {
          oldest = m;
          best = age;
        }
      }
      bool has_oldest = d.side.count(oldest) > 0;
      if (cfg.down_if_alone && has_oldest && s == 1 && n > 1) {
        d.keep = false;
        d.reason = "keep_oldest: the oldest (" + oldest + ") is alone and down_if_alone is set";
      } else if (cfg.down_if_alone && !has_oldest && s == n - 1) {
        d.keep = true;
        d.reason = "keep_oldest: the oldest (" + oldest + ") is alone on the other side (down_if_alone)";
      } else {
        d.keep = has_oldest;
        d.reason = std::string{"keep_oldest: the oldest ("} + oldest + ") is " + (has_oldest ? "" : "not ")
                   + "on this side";
      }
      break;
    }
    case sbr_strategy::static_quorum:
      d.keep = s >= cfg.quorum_size;
      d.reason = "static_quorum: " + std::to_string(s) + (d.keep ? " ≥ " : " < ") + "quorum "
                 + std::to_string(cfg.quorum_size);
      break;
    case sbr_strategy::configured_master:
      d.keep = d.side.count(cfg.master) > 0;
      d.reason = "configured_master: " + cfg.master + " is " + (d.keep ? "" : "not ") + "on this side";
      break;
  }
  if (d.keep)
    for (auto& m : v.members)
      if (!d.side.count(m.first))
        d.down.insert(m.first);
  d.reason += "; side " + join(d.side) + " of " + join(counted)
              + (d.bridges.empty() ? "" : ", bridges " + join(d.bridges));
  return d;
}

} // namespace cafmcp::cluster
