#pragma once

// The chaos engine (off unless chaos.enabled): experiments that kill actors
// by tree path glob at a rate, drop or delay messages between members,
// fail or stall tool calls with a probability, or hold memory. Each has a
// duration and ends by itself; faults carry their own deadline
// (actors/fault_injection), so they end on time even if this actor is gone.
// An optional child of the root, beside tier 3 (a kill experiment on tier
// 3 never takes the engine with it); started and stopped through the
// gateway, which checks the role and audits who did it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "actors/fault_injection.hpp"
#include "actors/name_table.hpp"
#include "base/config_schema.hpp"
#include "base/metrics.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::observability {

struct chaos_config {
  bool enabled = false;
  size_t max_experiments = 8;                      // active at once
  std::chrono::milliseconds max_duration{600000};  // per experiment
  uint64_t max_memory_bytes = 256ull << 20;        // held by memory experiments together
  std::chrono::milliseconds min_interval{10};      // kill experiments: at most this often
  std::string node_name;
};

/// The "chaos" section's keys.
config::field chaos_config_field();
chaos_config chaos_config_from(const nlohmann::json& validated);

/// One experiment as asked for, checked.
struct experiment_plan {
  std::string kind; // kill, drop, delay, tool_fail, tool_stall, memory
  std::chrono::milliseconds duration{0};
  std::string target;                   // kill: tree path glob
  std::chrono::milliseconds interval{0}; // kill
  actors::network_fault network;        // drop, delay
  actors::tool_fault tool;              // tool_fail, tool_stall
  uint64_t bytes = 0;                   // memory
  std::string what;                     // in words
};

/// Reads an experiment spec (JSON text) against the limits; the plan, or
/// why not.
std::variant<experiment_plan, std::string> plan_experiment(const std::string& spec, const chaos_config& cfg);

/// The chaos actor's child spec (id "chaos", detached: a kill experiment
/// reads the supervision tree with blocking requests).
supervision::child_spec chaos_spec(chaos_config cfg, std::shared_ptr<actors::fault_injection> faults,
                                   std::shared_ptr<actors::name_table> names,
                                   std::shared_ptr<metrics::metrics_registry> metrics);

} // namespace cafmcp::observability
