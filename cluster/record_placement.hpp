#pragma once
// Record placement: rendezvous placement over the members, then the record's pin (a migrated record is led by its target).

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace cafmcp::cluster {

class replica_store;

/// The members records are placed on: the reachable ones, the drained ones
/// (and where their primaries go), and the replication factor.
struct placement_view {
  std::vector<std::string> members; // sorted
  std::map<std::string, std::string> drains;
  size_t factor = 2;
};

/// The replicas of `id`, primary first: rendezvous placement, except that a
/// record pinned (migrated) to a member that takes records is led by it.
std::vector<std::string> place_record(const replica_store& store, const std::string& id, const placement_view& view);

} // namespace cafmcp::cluster
