#pragma once

// When a JWKS URL is fetched: at start, every refresh interval after a
// fetch that worked, sooner after one that failed (backing off from the
// least interval up to the refresh interval), and early when a token names
// a key the set lacks (a key rotation), at most once per least interval so
// tokens with made-up key ids cannot make the node hammer its provider.
// Plain rules: the caller passes the time.

#include <chrono>

namespace cafmcp::protocol {

class jwks_schedule {
public:
  using clock = std::chrono::steady_clock;

  /// `refresh`: between fetches that work; `least`: the shortest gap before
  /// the first retry after a failure and between two early fetches.
  jwks_schedule(std::chrono::seconds refresh, std::chrono::seconds least);

  /// When the next fetch is due (at once before the first).
  clock::time_point next_fetch() const { return next_; }
  bool due(clock::time_point now) const { return now >= next_; }

  /// A fetch began at `now`; `ok` says whether it brought a key set.
  void fetched(clock::time_point now, bool ok);

  /// A token names a key the set lacks: true (and the next fetch is due at
  /// once) unless an early fetch was made within the least interval.
  bool ask_early(clock::time_point now);

private:
  std::chrono::seconds refresh_;
  std::chrono::seconds least_;
  std::chrono::seconds backoff_;
  clock::time_point next_{};
  clock::time_point last_early_{};
  bool early_made_ = false;
};

} // namespace cafmcp::protocol
