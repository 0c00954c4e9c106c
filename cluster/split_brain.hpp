#pragma once

// The split-brain resolver: given one node's view of who reaches whom,
// decides whether that node's side of a partition stays up. Every node
// runs the same pure function on its own view; on a stable partition the
// views of one side agree, so its nodes decide alike, and the rules are
// chosen so that no two disjoint sides both stay up (docs/CLUSTER.md).
//
// A node that reaches members who cannot reach each other is a bridge
// ("indirectly connected", as Akka calls it): bridges are downed and the
// rest decide without them.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace cafmcp::cluster {

enum class sbr_strategy { keep_majority, keep_oldest, static_quorum, configured_master };

std::optional<sbr_strategy> parse_strategy(const std::string& s);
const char* to_string(sbr_strategy s);

struct sbr_config {
  sbr_strategy strategy = sbr_strategy::keep_majority;
  std::chrono::milliseconds stable_after{2000}; // the view must not change for this long
  bool down_if_alone = false;                  // keep_oldest: an oldest node alone goes down instead
  size_t quorum_size = 2;                      // static_quorum
  std::string master;                          // configured_master
};

struct sbr_view {
  std::string self;
  /// Every member that counts (up, or joining), with its age rank: lower
  /// is older (the incarnation's start time).
  std::map<std::string, uint64_t> members;
  /// Members this node reaches, itself included.
  std::set<std::string> reachable;
  /// What each reachable peer reports (from its heartbeats): whom it
  /// reaches and whom it has found unreachable. A member it has not yet
  /// connected to is in neither set.
  struct report {
    std::set<std::string> reachable;
    std::set<std::string> unreachable;
  };
  std::map<std::string, report> reports;
};

struct sbr_decision {
  bool partitioned = false;      // someone is unreachable or a bridge: a decision was needed
  bool keep = true;              // this node's side stays up
  std::set<std::string> side;    // this node's side, bridges excluded
  std::set<std::string> bridges; // indirectly connected members (downed)
  std::set<std::string> down;    // members this node marks down (if it keeps)
  std::string reason;            // for the log
};

sbr_decision decide(const sbr_config& cfg, const sbr_view& view);

} // namespace cafmcp::cluster
