#pragma once
// The rebalance and catch-up planner: from placements and digests, which records go to which member and which this node must pull first.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/messages.hpp"
#include "cluster/record_placement.hpp"

namespace cafmcp::cluster {

class replica_store;

/// Record ids to send, by member (each list sorted, no duplicates).
using push_plan = std::map<std::string, std::vector<std::string>>;

struct rebalance_plan {
  push_plan pushes;
  std::vector<std::string> newly_led; // this node leads them now: pull (read repair) before serving
  size_t promoted = 0;                // of those, records whose former primary is gone
};

/// Placement moved from `before` to `now`: every record goes to the members
/// that became its replicas, and a record this node no longer replicates
/// (drained, or a member joined) goes to all of its replicas.
rebalance_plan plan_rebalance(const replica_store& store, const std::string& me, const placement_view& before,
                              const placement_view& now);

/// Why this node's copies may have missed writes after a member change
/// (nothing: they cannot have). Writes went on without it when this node
/// itself was cut off and rejoined as a new incarnation, or when a member it
/// did not reach, of the same incarnation, is reachable again: while the two
/// did not reach each other, each could lead records the other leads now.
/// A member that comes back as a new incarnation was fenced or restarted and
/// acknowledged nothing meanwhile.
struct missed_writes_reason {
  bool rejoined = false; // this node is a new incarnation (it catches up as after a start)
  std::string why;
};
std::optional<missed_writes_reason> missed_writes(const std::map<std::string, member_handle>& before,
                                         const std::map<std::string, member_handle>& now, const std::string& me);

/// Whom a read repair of `id` (pulled from every member in `reachable`)
/// cannot do without: an up member cut off from this node that may hold
/// what was acknowledged ("": none, serve). This node may be the one cut
/// off, not yet fenced. A record held nowhere we reach may be held by any
/// such member; a copy `held` here is in doubt only when this node reaches
/// no majority of the `known` up members (isolated, it leads everything in
/// its view), and then because of the record's replicas among them. On the
/// majority side every acknowledged write is on a member we reach.
std::string repair_blocker(const std::string& id, bool held, const std::string& me,
                           const std::vector<std::string>& known, const placement_view& reachable);

/// On a drained node: every live record to each of its other replicas;
/// `count` is the number of live records.
struct handoff_plan {
  push_plan pushes;
  uint64_t count = 0;
};
handoff_plan plan_handoff(const replica_store& store, const std::string& me, const placement_view& now);

/// What this node holds: the newest stamp of each record (catch-up asks
/// the others for what is newer or missing).
record_digest digest_of(const replica_store& store);

/// The catch-up answer for `member`, which holds `have`: the records it
/// replicates that it lacks or holds in an older version.
std::vector<std::string> records_to_send(const replica_store& store, const std::string& member,
                                         const record_digest& have, const placement_view& now);

} // namespace cafmcp::cluster
