#pragma once

// Circuit breakers by key ("tool:NAME", "peer:NODE"), shared by the threads
// that make the calls: asked before a call, told its outcome after. The
// calls are made on I/O threads and in actors alike, and a breaker must
// answer at once (asking an actor would cost every call a round trip), so
// the table is a plain object behind a mutex; the circuit_breakers actor
// serves it to the shell and the metrics.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/circuit_breaker.hpp"
#include "actors/messages.hpp"

namespace cafmcp::actors {

struct breaker_verdict {
  bool allowed = true;
  std::chrono::milliseconds retry_after{0}; // refused: when a trial call may go
  uint32_t failures = 0;                    // refused: the failures that opened it
};

struct breaker_totals {
  uint64_t opened = 0;   // closed/half_open -> open
  uint64_t closed = 0;   // half_open -> closed (recovered)
  uint64_t rejected = 0; // calls refused while open
};

/// The breaker of cluster member `name` (forwards, pushes and relays to it
/// share it); keys starting with `peer_breaker_prefix` are members'.
inline constexpr const char* peer_breaker_prefix = "peer:";
inline std::string peer_breaker(const std::string& name) {
  return peer_breaker_prefix + name;
}

class breaker_table {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// `enabled` false: every call is allowed and nothing is recorded.
  /// Transitions are logged under `log_path`.
  explicit breaker_table(breaker_config cfg, bool enabled = true,
                         std::string log_path = "/root/core_sup/circuit_breakers");

  const breaker_config& config() const { return cfg_; }

  /// Keys starting with `prefix` get `cfg` instead (e.g. peers: a member
  /// that is back must not wait a tool's open timeout). Call before use.
  void configure_prefix(const std::string& prefix, breaker_config cfg);

  breaker_verdict allow(const std::string& key, time_point now);
  /// The outcome of a call `allow` let through.
  void record(const std::string& key, bool ok, time_point now);

  std::vector<breaker_status> list(time_point now) const;
  breaker_status status(const std::string& key, time_point now) const;
  breaker_totals totals() const;
  bool enabled() const { return enabled_; }

private:
  struct entry {
    circuit_breaker breaker;
    uint64_t rejected = 0;
    uint64_t opened = 0;
  };
  entry& get(const std::string& key);
  static breaker_status status_of(const std::string& key, const entry& e, time_point now);

  const breaker_config cfg_;
  std::vector<std::pair<std::string, breaker_config>> by_prefix_;
  const bool enabled_;
  const std::string log_path_;
  mutable std::mutex mtx_;
  std::unordered_map<std::string, entry> map_;
  breaker_totals totals_;
};

} // namespace cafmcp::actors
