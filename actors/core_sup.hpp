#pragma once

// Tier 1: core_sup (one_for_all) with the registry, session manager,
// circuit breakers and rate limiter. Each core actor is registered in the
// name table under its id, so other parts find the current incarnation.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "actors/breaker_table.hpp"
#include "actors/name_table.hpp"
#include "actors/session_manager.hpp"
#include "actors/rate_limits.hpp"
#include "supervision/child_spec.hpp"
#include "base/config_schema.hpp"

namespace cafmcp::actors {

struct core_config {
  session_config sessions;
  /// Shared by the request path (tool calls, forwards) and the core
  /// actors that serve them to the shell and metrics.
  std::shared_ptr<breaker_table> breakers = std::make_shared<breaker_table>(breaker_config{});
  std::shared_ptr<rate_limits> limits = std::make_shared<rate_limits>(rate_limit_config{});
  supervision::supervisor_flags flags{supervision::strategy::one_for_all, 5,
                                      std::chrono::milliseconds{60000}};
};

/// The config keys this tier owns: "sessions", "circuit_breaker", "rate_limiter".
std::vector<config::field> core_config_schema();

/// Reads those keys from a validated config (defaults filled in); throws
/// config::config_error naming the key of a malformed entry.
core_config core_config_from(const nlohmann::json& validated);

/// A rate, "CAPACITY/PER_SECOND" (e.g. "20/5": bursts of 20, 5 a second);
/// throws std::invalid_argument.
bucket_config parse_rate(const std::string& text);

/// A per-tool rate limit, "NAME=CAPACITY/PER_SECOND" (e.g. "search=20/5":
/// bursts of 20, 5 calls a second); throws std::invalid_argument.
std::pair<std::string, bucket_config> parse_tool_rate(const std::string& entry);

/// Names of the core actors, as registered in the name table.
const std::vector<std::string>& core_actor_names();

/// Wraps a spec so that each started incarnation takes over the spec's id
/// as its name in `names` (how other parts find the current incarnation).
supervision::child_spec registered(supervision::child_spec spec, std::shared_ptr<name_table> names);

/// Child spec for core_sup.
supervision::child_spec core_supervisor(const core_config& cfg, std::shared_ptr<name_table> names);

} // namespace cafmcp::actors
