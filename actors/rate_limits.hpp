#pragma once

// Rate limits on MCP requests: a token bucket per client key (every
// request) and per tool (tools/call, all clients together). Checked on the
// transports' I/O threads before a request is served, so the table is a
// plain object behind a mutex rather than an actor round trip per request;
// the rate_limiter actor serves it to the shell (read, change at run time)
// and the metrics, and prunes idle keys.
//
// Memory is bounded: a client key whose bucket has refilled completely is
// idle and dropped; past `max_keys` keys new clients share one overflow
// bucket until idle keys are gone.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/messages.hpp"
#include "actors/token_bucket.hpp"

namespace cafmcp::actors {

struct rate_limit_config {
  std::optional<bucket_config> client;          // per client key; none: no limit
  std::map<std::string, bucket_config> tools;   // per tool; a tool not here: no limit
  size_t max_keys = 10000;
};

/// Why `b` is not a usable bucket ("": it is): capacity >= 1 and
/// refill_per_second >= 0.001, both finite.
std::string check(const bucket_config& b);

class rate_limits {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit rate_limits(rate_limit_config cfg);

  /// Whether requests are limited per client (callers skip working out the
  /// client's key when not).
  bool client_limited() const { return client_on_.load(std::memory_order_relaxed); }

  /// One request from client `key` (allowed when there is no client limit).
  rate_decision take_client(const std::string& key, time_point now, double n = 1);
  /// One call of `tool` (allowed when the tool has no limit).
  rate_decision take_tool(const std::string& tool, time_point now);

  /// Every limit: "client" first, then "tool:NAME" by name.
  std::vector<rate_limit> limits() const;
  /// Sets (or, `on` false, removes) one limit; buckets of that scope start
  /// full. "" when done, else why not (an unknown scope, a bad number).
  std::string set(const rate_limit& limit);

  /// Drops idle client buckets; returns how many are left.
  size_t prune(time_point now);
  rate_stats stats() const;

private:
  rate_decision take(token_bucket& bucket, time_point now, double n);
  void drop_idle(time_point now); // client buckets that have refilled (mutex held)

  rate_limit_config cfg_;
  // Read without the lock first: with no limit of a kind (the default) a
  // request costs no lock.
  std::atomic<bool> client_on_{false};
  std::atomic<bool> tools_on_{false};
  mutable std::mutex mtx_;
  std::unordered_map<std::string, token_bucket> clients_;
  std::optional<token_bucket> overflow_;
  std::map<std::string, token_bucket> tools_;
  time_point last_full_prune_{};
  rate_stats stats_;                         // allowed, rejected, overflowed (the rest derived)
  std::map<std::string, uint64_t> refused_; // by scope ("client", "tool:NAME")
};

} // namespace cafmcp::actors
