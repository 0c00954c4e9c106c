#pragma once

// A connection's deadline for the read under way, the same for every HTTP
// server of a node (MCP, observability).

#include <chrono>
#include <cstdint>
#include <utility>

#include <boost/asio/steady_timer.hpp>

namespace cafmcp::protocol {

/// arm() sets the deadline of the read under way (replacing an earlier
/// one), disarm() ends it. The timer's wait may complete after either,
/// already queued: a generation tells a stale expiry from the current one.
class read_deadline {
public:
  template <class Executor>
  explicit read_deadline(const Executor& ex) : timer_{ex} {}

  /// Calls `on_expiry` if `limit` passes before the next arm() or disarm().
  /// `on_expiry` keeps the connection (and so this) alive until then.
  template <class F>
  void arm(std::chrono::milliseconds limit, F on_expiry) {
    auto generation = ++generation_;
    timer_.expires_after(limit);
    timer_.async_wait([this, generation, f = std::move(on_expiry)](const boost::system::error_code& ec) mutable {
      if (!ec && generation == generation_)
        f();
    });
  }

  void disarm() {
    ++generation_;
    timer_.cancel();
  }

private:
  boost::asio::steady_timer timer_;
  uint64_t generation_ = 0;
};

} // namespace cafmcp::protocol
