#pragma once

// The replicator: MCP state that outlives a node. In a cluster it serves the
// session manager's API (actors/messages.hpp: create, get, touch, put,
// delete, list) for legacy sessions, state handles and tasks, but keeps each
// record on `factor` members chosen by rendezvous hashing (placement.hpp):
// a primary, which serves every operation on the record, and backups.
//
// - Any node takes any operation: where it is not the primary it forwards the
//   operation to the primary's replicator (through the node actors) and
//   relays the answer.
// - Writes carry hybrid logical clock stamps (hlc.hpp); replicas merge
//   last-write-wins per field (replica_store.hpp). A write is acknowledged
//   once `consistency` replicas hold it (local, one, majority, all, of
//   min(factor, up members)); too few in time is an error, never a silent
//   success. A fenced node acknowledges nothing.
// - When members come or go (or one is drained), every replica pushes its
//   records to their new replicas, restoring the factor; a member that became
//   a record's primary first pulls it from every reachable member (read
//   repair) and only then serves it, so it holds every acknowledged write.
// - The primary expires records after their TTL; expiry and deletion are
//   writes too, so they replicate. Deletions are forgotten after
//   tombstone_ttl; older copies of records a node lacks are refused.
// - With a replica_disk actor running (replica_disk.hpp), every change goes
//   to the WAL, the whole store to a snapshot at an interval and on
//   shutdown, and a (re)started replicator loads them first. With durability
//   fsync (the default) a replica counts as holding a write (the primary for
//   its own acknowledgement, a backup before it acks) only once the WAL's
//   fdatasync returned; appends are grouped (one on its way at a time). A
//   disk that fails makes the node refuse writes until it works again.
// - Manual failover (`cafmcp failover`): a drained member holds no placement;
//   it hands its records over and keeps forwarding until it is stopped.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "actors/breaker_table.hpp"
#include "actors/messages.hpp"
#include "actors/name_table.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/messages.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::cluster {

struct replication_config {
  size_t factor = 2;                                    // replicas per record, primary included
  consistency level = consistency::majority;            // for writes that name none
  std::chrono::milliseconds write_timeout{2000};        // acks (and forwards) wait this long
  std::chrono::milliseconds tick{100};                  // membership is read this often
  std::chrono::milliseconds ttl{30 * 60 * 1000};        // default record TTL (sessions.ttl_ms)
  std::chrono::milliseconds sweep_interval{1000};       // the primary expires records this often
  bool sweep = true;                                    // false: nothing expires or is taken over by itself
  int64_t clock_offset_ms = 0;                          // skews the HLC's wall clock (fault tests)
  int64_t max_clock_drift_ms = 5000;                    // copies stamped further ahead of our clock are refused
  std::chrono::milliseconds snapshot_interval{60000};   // replica_disk (if running) snapshots this often
  durability durable = durability::fsync;               // a replica holds a write once it is on disk (fsync)
  std::chrono::milliseconds group_commit{0};            // fsync: an append waits this long for more writes
  /// A deletion (tombstone) is forgotten this long after it; a copy of a
  /// record this node lacks, not written for this long, is refused then
  /// (it may be a deleted record whose tombstone is forgotten: ttl_sweep.hpp).
  std::chrono::milliseconds tombstone_ttl{24 * 60 * 60 * 1000};
  /// Called (in the replicator) for a task record this node leads whose
  /// status is "working" while its owner is gone (or is this node, which
  /// may have restarted): once per task. The node resumes or fails it.
  std::function<void(const actors::session_record&)> on_orphaned_task;
  /// Forwards and replication pushes to a member go through its breaker
  /// ("peer:NAME"): one that answers nothing within the timeout again and
  /// again is not sent to while its circuit is open (null: no breakers).
  std::shared_ptr<actors::breaker_table> breakers;
};

/// The replicator's child spec (id "replicator", under cluster_sup after
/// the node actor); registered in `names` under "replicator".
supervision::child_spec replicator_spec(replication_config cfg, std::string node_name,
                                        std::shared_ptr<cluster_view> view,
                                        std::shared_ptr<actors::name_table> names);

} // namespace cafmcp::cluster
