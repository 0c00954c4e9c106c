#pragma once

// Where a record lives: rendezvous (highest-random-weight) hashing over the
// placement members. Every node computes the same order from the same
// member set; when a member leaves, the others keep their relative order,
// so its records' first backup becomes their primary and nothing else
// moves; a member that joins takes about 1/n of the records. A drained
// member (manual failover) is skipped; `drains` may name where its records'
// primaries go instead.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cafmcp::cluster {

/// The replicas of `id`, primary first: at most `factor` of `members`
/// (which need not be sorted). `drains` maps a drained member to the member
/// its primaries move to ("" for: the next in order).
std::vector<std::string> place(const std::string& id, const std::vector<std::string>& members, size_t factor,
                               const std::map<std::string, std::string>& drains = {});

/// Replicas that must hold a write at `level` (including the primary), for
/// `factor` configured replicas: local 1, one 2, majority ⌊factor/2⌋+1, all
/// factor (never more than factor).
size_t replicas_needed(uint8_t level, size_t factor);

} // namespace cafmcp::cluster
