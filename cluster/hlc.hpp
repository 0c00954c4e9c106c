#pragma once

// A hybrid logical clock (Kulkarni et al.): stamps that follow wall time
// but never go backwards and always exceed every stamp this node has seen,
// so a write made after reading another node's write is ordered after it
// even when that node's clock runs ahead. Replicas merge last-write-wins by
// these stamps. Not thread-safe: one per replicator actor.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "cluster/messages.hpp"

namespace cafmcp::cluster {

class hlc_clock {
public:
  /// `offset_ms` skews this node's wall clock (fault tests: clock skew).
  explicit hlc_clock(std::string node, int64_t offset_ms = 0) : node_(std::move(node)), offset_ms_(offset_ms) {}

  /// A stamp for a local event, greater than any stamp before it.
  hlc_stamp now() {
    auto wall = physical();
    if (wall > last_.wall_ms) {
      last_.wall_ms = wall;
      last_.logical = 0;
    } else {
      ++last_.logical;
    }
    last_.node = node_;
    return last_;
  }

  /// Takes in a stamp from another node: later local stamps exceed it.
  void observe(const hlc_stamp& remote) {
    auto wall = physical();
    auto top = std::max({wall, last_.wall_ms, remote.wall_ms});
    if (top == last_.wall_ms && top == remote.wall_ms)
      last_.logical = std::max(last_.logical, remote.logical) + 1;
    else if (top == last_.wall_ms)
      ++last_.logical;
    else if (top == remote.wall_ms)
      last_.logical = remote.logical + 1;
    else
      last_.logical = 0;
    last_.wall_ms = top;
  }

  /// Whether `remote` is stamped more than `max_drift_ms` ahead of our
  /// clock: such a write would win last-write-wins over everything written
  /// until the clock catches up, so replicas refuse it.
  bool too_far_ahead(const hlc_stamp& remote, int64_t max_drift_ms) const {
    return remote.wall_ms > physical() + static_cast<uint64_t>(std::max<int64_t>(max_drift_ms, 0));
  }

  const std::string& node() const { return node_; }

  /// The wall time (ms) of the next stamp at the least: once it exceeds a
  /// stamp's, no stamp at or before that one is made here any more.
  uint64_t wall_now() const { return std::max(physical(), last_.wall_ms); }

  /// The next stamp's lower bound without making one (for backups' cuts).
  hlc_stamp peek() const {
    auto wall = physical();
    if (wall > last_.wall_ms)
      return hlc_stamp{wall, 0, node_};
    return hlc_stamp{last_.wall_ms, last_.logical, node_};
  }

private:
  uint64_t physical() const {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
    return static_cast<uint64_t>(ms + offset_ms_);
  }

  std::string node_;
  int64_t offset_ms_;
  hlc_stamp last_;
};

} // namespace cafmcp::cluster
