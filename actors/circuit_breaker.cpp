// A circuit breaker's state machine (closed, open, half_open), driven by the time passed in.
#include "actors/circuit_breaker.hpp"

namespace cafmcp::actors {

std::string_view to_string(breaker_state x) {
  switch (x) {
    case breaker_state::closed: return "closed";
    case breaker_state::open: return "open";
    case breaker_state::half_open: return "half_open";
  }
  return "?";
}

breaker_state circuit_breaker::state(time_point now) const {
  if (state_ == breaker_state::open && now >= opened_at_ + cfg_.open_timeout)
    return breaker_state::half_open;
  return state_;
}

bool circuit_breaker::allow(time_point now) {
  if (state_ == breaker_state::open) {
    if (now < opened_at_ + cfg_.open_timeout)
      return false;
    state_ = breaker_state::half_open;
    trials_ = 0;
  }
  if (state_ == breaker_state::half_open) {
    // A trial that never reports (its caller went away) must not keep the
    // circuit half open for ever: after open_timeout another may go.
    if (trials_ >= cfg_.half_open_max_calls && now < trial_at_ + cfg_.open_timeout)
      return false;
    if (trials_ >= cfg_.half_open_max_calls)
      trials_ = 0;
    ++trials_;
    trial_at_ = now;
  }
  return true;
}

std::chrono::milliseconds circuit_breaker::retry_after(time_point now) const {
  using std::chrono::milliseconds;
  auto until = [now](time_point t) {
    return t > now ? std::chrono::ceil<milliseconds>(t - now) : milliseconds{0};
  };
  if (state_ == breaker_state::open)
    return until(opened_at_ + cfg_.open_timeout);
  if (state_ == breaker_state::half_open && trials_ >= cfg_.half_open_max_calls)
    return until(trial_at_ + cfg_.open_timeout);
  return milliseconds{0};
}

void circuit_breaker::record_success(time_point) {
  state_ = breaker_state::closed;
  failures_ = 0;
  trials_ = 0;
}

void circuit_breaker::record_failure(time_point now) {
  ++failures_;
  if (state_ == breaker_state::half_open || failures_ >= cfg_.failure_threshold)
    open(now);
}

void circuit_breaker::open(time_point now) {
  state_ = breaker_state::open;
  opened_at_ = now;
  trials_ = 0;
}

} // namespace cafmcp::actors
