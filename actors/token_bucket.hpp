#pragma once

// A token bucket with the time passed in: `capacity` tokens, refilled at
// `refill_per_second`. The rate_limiter actor holds one per key.

#include <algorithm>
#include <chrono>
#include <cmath>

namespace cafmcp::actors {

struct bucket_config {
  double capacity = 100;
  double refill_per_second = 50;
};

class token_bucket {
public:
  using time_point = std::chrono::steady_clock::time_point;

  token_bucket(bucket_config cfg, time_point now) : cfg_(cfg), tokens_(cfg.capacity), last_(now) {}

  /// Takes `n` tokens if there are that many at `now`.
  bool try_take(time_point now, double n = 1) {
    refill(now);
    if (tokens_ + 1e-9 < n)
      return false;
    tokens_ -= n;
    return true;
  }

  /// How long until `n` tokens are there (0 if they are).
  std::chrono::milliseconds retry_after(time_point now, double n = 1) {
    refill(now);
    if (tokens_ >= n)
      return std::chrono::milliseconds{0};
    auto secs = (n - tokens_) / cfg_.refill_per_second;
    return std::chrono::milliseconds{static_cast<int64_t>(std::ceil(secs * 1000))};
  }

  double tokens(time_point now) {
    refill(now);
    return tokens_;
  }

  bool full(time_point now) { return tokens(now) >= cfg_.capacity; }

private:
  void refill(time_point now) {
    if (now <= last_)
      return;
    std::chrono::duration<double> dt = now - last_;
    tokens_ = std::min(cfg_.capacity, tokens_ + dt.count() * cfg_.refill_per_second);
    last_ = now;
  }

  bucket_config cfg_;
  double tokens_;
  time_point last_;
};

} // namespace cafmcp::actors
