#pragma once
// Persistence batching: which changes go into the next WAL append, which writes that append makes durable, and when the whole store is due as a snapshot.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "cluster/messages.hpp"

namespace cafmcp::cluster {

/// The replicator's side of replica_disk. Every change gets a sequence
/// number; a write that must be durable waits until the disk has confirmed
/// an append up to its number. One append is on its way at a time: changes
/// that arrive meanwhile go into the next one, so one fdatasync covers every
/// write of that window (group commit). A failed append is put back in front
/// of the newer changes and tried again. Every `snapshot_interval` (and on
/// shutdown) the whole store goes to a snapshot. Time is an argument, so
/// tests need no clock.
class persistence_batch {
public:
  using time_point = std::chrono::steady_clock::time_point;

  struct append {
    std::vector<record_delta> records;
    uint64_t upto = 0; // sequence number of the last change in it
  };

  persistence_batch() : persistence_batch(std::chrono::milliseconds{60000}, time_point{}) {}
  persistence_batch(std::chrono::milliseconds snapshot_interval, time_point start)
    : interval_(snapshot_interval), next_snapshot_(start + snapshot_interval) {}

  /// A merge that changed the store (an unchanged one is not logged);
  /// returns the change's sequence number.
  uint64_t changed(const record_delta& d) {
    pending_.push_back(d);
    return ++last_;
  }

  /// The newest change's number: a write whose merge changed nothing is
  /// durable once everything before it is (it may repeat a change still
  /// on its way to the disk).
  uint64_t last() const { return last_; }
  /// Every change up to this number is on disk.
  uint64_t durable() const { return durable_; }
  bool is_durable(uint64_t seq) const { return seq <= durable_; }

  /// The next append, unless one is on its way or nothing changed.
  std::optional<append> take() {
    if (in_flight_ || pending_.empty())
      return std::nullopt;
    in_flight_ = true;
    append out{std::move(pending_), last_};
    pending_.clear();
    return out;
  }
  bool in_flight() const { return in_flight_; }

  /// The disk holds `a`: writes up to a.upto are durable.
  void written(const append& a) {
    in_flight_ = false;
    if (a.upto > durable_)
      durable_ = a.upto;
  }

  /// The disk refused `a`: its changes go in front of the newer ones, so
  /// the next append writes them in their order.
  void failed(append a) {
    in_flight_ = false;
    a.records.insert(a.records.end(), std::make_move_iterator(pending_.begin()),
                     std::make_move_iterator(pending_.end()));
    pending_ = std::move(a.records);
  }

  bool snapshot_due(time_point now) const { return now >= next_snapshot_; }
  void snapshot_taken(time_point now) { next_snapshot_ = now + interval_; }
  /// A snapshot the disk refused is tried again within a second (until
  /// then the WAL still holds every change).
  void snapshot_failed(time_point now) { next_snapshot_ = now + std::min<std::chrono::milliseconds>(interval_, std::chrono::seconds{1}); }
  /// A snapshot holding every change up to `upto` is on disk. (Changes
  /// still pending go to the WAL all the same: merging twice is harmless.)
  void covered(uint64_t upto) {
    if (upto > durable_)
      durable_ = upto;
  }

  size_t pending() const { return pending_.size(); }

private:
  std::chrono::milliseconds interval_;
  time_point next_snapshot_;
  std::vector<record_delta> pending_;
  uint64_t last_ = 0;
  uint64_t durable_ = 0;
  bool in_flight_ = false;
};

} // namespace cafmcp::cluster
