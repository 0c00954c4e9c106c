#pragma once

// The cluster's routing rules, one version on every member. Each version is
// a record of its own in the replicator ("cafmcp.routes.N"), created once
// and never changed: creating it is refused when it exists, so two changes
// made at once on two members get two versions (the later one retries on
// top of the earlier), and no change is lost. A head record names the
// newest version; members look for newer versions every `poll` and swap
// their whole table (live_routes) when one appears, so a decision never
// mixes two versions. Version 1 is the config's rules; the newest versions
// are kept, older ones deleted. A version also names the upstream servers
// every member runs: a member starts and stops its own to match; and the
// tenants every member applies.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/name_table.hpp"
#include "protocol/live_routes.hpp"
#include "protocol/tenant_policy.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::cluster {

struct route_sync_config {
  std::shared_ptr<protocol::live_routes> live; // where the node's tool calls find the rules
  nlohmann::json config_routes = nlohmann::json::object(); // version 1
  /// The config's upstreams (complete entries): what the node runs until a
  /// version names others.
  nlohmann::json config_upstreams = nlohmann::json::object();
  /// Programs a stdio upstream added at run time may run (cluster.run_time_programs).
  std::vector<std::string> run_time_programs;
  /// Called (on the actor's thread, without waiting) when a version names
  /// other upstreams than the node runs: every upstream the node should run.
  std::function<void(const nlohmann::json&)> run_upstreams;
  /// The config's tenants (complete entries): what the node applies until a version names others.
  nlohmann::json config_tenants = nlohmann::json::object();
  /// Where requests find the tenants (replaced when a version names others; null: not kept).
  std::shared_ptr<protocol::tenant_policy> tenants;
  std::chrono::milliseconds poll{1000};
  std::chrono::milliseconds timeout{5000}; // each replicator request
};

/// The actor "routing" under cluster_sup, after the replicator (which it
/// finds by name in `names`); registered as "routing".
supervision::child_spec route_sync_spec(route_sync_config cfg, std::shared_ptr<actors::name_table> names);

} // namespace cafmcp::cluster
