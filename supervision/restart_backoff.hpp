#pragma once

// The restart delays of one child under a backoff_policy: plain rules, the
// time and the randomness passed in.

#include <chrono>

#include "supervision/child_spec.hpp"

namespace cafmcp::supervision {

class restart_backoff {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// The delay before restarting a child that started at `started_at` and
  /// died at `now`; `unit` (uniform in [0, 1)) picks the jitter.
  std::chrono::milliseconds next(const backoff_policy& p, time_point started_at, time_point now, double unit);

  /// Consecutive restarts so far (0 after a stable run).
  int streak() const { return streak_; }

private:
  int streak_ = 0;
};

} // namespace cafmcp::supervision
