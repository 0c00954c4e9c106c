#pragma once
// Persistence batching: which changes go into the next WAL append, and when the whole store is due as a snapshot.

#include <chrono>
#include <vector>

#include "cluster/messages.hpp"

namespace cafmcp::cluster {

/// The replicator's side of replica_disk: changes collect here and go to
/// the WAL once per tick; every `snapshot_interval` (and on shutdown) the
/// whole store goes to a snapshot, which replaces the WAL. Time is an
/// argument, so tests need no clock.
class persistence_batch {
public:
  using time_point = std::chrono::steady_clock::time_point;

  persistence_batch() : persistence_batch(std::chrono::milliseconds{60000}, time_point{}) {}
  persistence_batch(std::chrono::milliseconds snapshot_interval, time_point start)
    : interval_(snapshot_interval), next_snapshot_(start + snapshot_interval) {}

  /// A merge that changed the store (an unchanged one is not logged).
  void changed(const record_delta& d) { wal_.push_back(d); }

  /// What was restored from disk is on disk already: changes logged since
  /// `mark()` are dropped.
  size_t mark() const { return wal_.size(); }
  void forget_since(size_t mark) {
    if (mark < wal_.size())
      wal_.resize(mark);
  }

  /// The WAL append for this tick (empty: nothing to send).
  std::vector<record_delta> take_wal() {
    auto out = std::move(wal_);
    wal_.clear();
    return out;
  }

  bool snapshot_due(time_point now) const { return now >= next_snapshot_; }

  /// A snapshot was written: it holds every change, so the WAL batch empties.
  void snapshot_taken(time_point now) {
    wal_.clear();
    next_snapshot_ = now + interval_;
  }

  size_t pending() const { return wal_.size(); }

private:
  std::chrono::milliseconds interval_;
  time_point next_snapshot_;
  std::vector<record_delta> wal_;
};

} // namespace cafmcp::cluster
