#pragma once

// Faults a chaos experiment injects where the runtime does its work: into
// messages between members (the receiving node actor asks) and into tool
// calls (the tool worker asks). Each fault carries its own deadline, so it
// ends when its experiment does even if the chaos actor that added it is
// gone. Thread-safe; with no fault active a check costs one atomic load.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace cafmcp::actors {

/// Messages sent by member `from` and received by member `to` ("*": any).
struct network_fault {
  std::string from = "*";
  std::string to = "*";
  double drop = 0;                      // probability of dropping a message
  std::chrono::milliseconds delay{0};   // added to every message not dropped
};

/// Calls of `tool` (a glob: * and ?).
struct tool_fault {
  std::string tool = "*";
  double fail = 0;                      // probability of failing the call (the handler does not run)
  double stall = 0;                     // probability of holding the call for `stall_for` first
  std::chrono::milliseconds stall_for{0};
};

/// What to do with one message or call.
struct fault_verdict {
  bool drop = false;                    // messages: drop it; tools: fail the call
  std::chrono::milliseconds delay{0};   // hold it this long first
  std::string experiment;               // which experiment decided (for the error and the counters)
};

class fault_injection {
public:
  using time_point = std::chrono::steady_clock::time_point;

  void add(const std::string& experiment, network_fault f, time_point until);
  void add(const std::string& experiment, tool_fault f, time_point until);
  void remove(const std::string& experiment);

  /// A message from member `from` to member `to` (this node) at `now`.
  fault_verdict on_message(const std::string& from, const std::string& to, time_point now);
  /// A call of `tool` at `now`.
  fault_verdict on_tool_call(const std::string& tool, time_point now);
  /// Whether a tool experiment may still fail or stall calls (one atomic
  /// load; true until an expired one is noticed by the next decision).
  bool tools_active() const { return any_tool_.load(std::memory_order_relaxed); }

  /// Faults injected (dropped or failed, delayed or stalled) per experiment.
  std::map<std::string, uint64_t> injected() const;

private:
  template <class F>
  struct entry {
    std::string experiment;
    F fault;
    time_point until;
  };
  void refresh(time_point now); // drops expired entries (mutex held)
  /// The first matching entry that drops decides; else every matching one
  /// that holds adds its delay. `odds(f)`: (drop, hold, hold_for).
  template <class F, class Matches, class Odds>
  fault_verdict decide(std::vector<entry<F>>& entries, time_point now, Matches matches, Odds odds);

  std::atomic<bool> any_{false};
  std::atomic<bool> any_tool_{false};
  mutable std::mutex mtx_;
  std::vector<entry<network_fault>> network_;
  std::vector<entry<tool_fault>> tools_;
  std::map<std::string, uint64_t> injected_;
  std::mt19937_64 rng_{std::random_device{}()};
};

/// Whether `text` matches `glob` (* any run of characters, ? one).
bool glob_match(const std::string& glob, const std::string& text);

} // namespace cafmcp::actors
