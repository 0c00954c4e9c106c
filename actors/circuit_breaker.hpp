#pragma once

// A circuit breaker (closed -> open -> half_open -> closed) as a plain state
// machine with the time passed in, so it is exact to test. The
// circuit_breakers actor holds one per key.

#include <chrono>
#include <cstdint>
#include <string_view>

namespace cafmcp::actors {

struct breaker_config {
  uint32_t failure_threshold = 5;                 // consecutive failures that open it
  std::chrono::milliseconds open_timeout{30000};  // open -> half_open after this
  uint32_t half_open_max_calls = 1;               // trial calls let through when half open
};

enum class breaker_state { closed, open, half_open };
std::string_view to_string(breaker_state x);

class circuit_breaker {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit circuit_breaker(breaker_config cfg = {}) : cfg_(cfg) {}

  /// May a call go through at `now`? Counts half-open trial calls.
  bool allow(time_point now);
  void record_success(time_point now);
  void record_failure(time_point now);

  breaker_state state(time_point now) const;
  uint32_t failures() const { return failures_; }
  /// When a refused call may be tried again (0: it may now).
  std::chrono::milliseconds retry_after(time_point now) const;

private:
  void open(time_point now);

  breaker_config cfg_;
  breaker_state state_ = breaker_state::closed;
  uint32_t failures_ = 0;
  uint32_t trials_ = 0;
  time_point opened_at_{};
  time_point trial_at_{}; // the last half-open trial let through
};

} // namespace cafmcp::actors
