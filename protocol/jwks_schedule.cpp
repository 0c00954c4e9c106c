#include "protocol/jwks_schedule.hpp"

#include <algorithm>

namespace cafmcp::protocol {

jwks_schedule::jwks_schedule(std::chrono::seconds refresh, std::chrono::seconds least)
  : refresh_(refresh), least_(std::min(least, refresh)), backoff_(least_) {
}

void jwks_schedule::fetched(clock::time_point now, bool ok) {
  if (ok) {
    backoff_ = least_;
    next_ = now + refresh_;
    return;
  }
  next_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, refresh_);
}

bool jwks_schedule::ask_early(clock::time_point now) {
  if (early_made_ && now < last_early_ + least_)
    return false;
  early_made_ = true;
  last_early_ = now;
  next_ = std::min(next_, now);
  return true;
}

} // namespace cafmcp::protocol
