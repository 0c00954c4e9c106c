#include "supervision/restart_backoff.hpp"

#include <algorithm>
#include <cmath>

namespace cafmcp::supervision {

std::chrono::milliseconds restart_backoff::next(const backoff_policy& p, time_point started_at, time_point now,
                                                double unit) {
  auto stable = p.reset_after.count() > 0 ? p.reset_after : p.max;
  if (now - started_at >= stable)
    streak_ = 0;
  double base = static_cast<double>(p.initial.count()) * std::pow(std::max(1.0, p.multiplier), std::min(streak_, 60));
  base = std::min(base, static_cast<double>(p.max.count()));
  ++streak_;
  auto jitter = std::clamp(p.jitter, 0.0, 1.0);
  auto delay = base * (1 - jitter + 2 * jitter * std::clamp(unit, 0.0, 1.0));
  return std::chrono::milliseconds{static_cast<int64_t>(std::min(delay, static_cast<double>(p.max.count())))};
}

} // namespace cafmcp::supervision
