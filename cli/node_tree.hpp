#pragma once

// The node's three-tier supervision tree (docs/ARCHITECTURE.md):
//
//   root (one_for_one)
//   ├── core_sup           tier 1, one_for_all: registry, session_manager,
//   │                      circuit_breakers, rate_limiter
//   ├── protocol_sup       tier 2: server_sup, transport_sup (simple_one_for_one),
//   │                      tool_sup (one_for_one: tool workers)
//   ├── cluster_sup        rest_for_one: node (membership), replica_disk,
//   │                      replicator (MCP state on several members), admin
//   │                      (the remote supervision API)
//   └── observability_sup  tier 3, one_for_one, isolated: health

#include <memory>
#include <vector>

#include "actors/name_table.hpp"
#include "cli/node_config.hpp"
#include "cli/replicated_tasks.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::cli {

/// The root's children, in start order.
/// `view` is what the cluster layer shares with the rest of the node
/// (fenced or not); cluster_sup runs the node actor when cfg.cluster.enabled.
/// `tasks`: where the task agent finds the node's task registry once it exists.
/// `metrics`: what the web endpoint renders (none: a registry of its own).
std::vector<supervision::child_spec> node_tree(const node_config& cfg,
                                               std::shared_ptr<actors::name_table> names,
                                               std::shared_ptr<cluster::cluster_view> view = nullptr,
                                               registry_slot tasks = nullptr,
                                               std::shared_ptr<metrics::metrics_registry> metrics = nullptr);

/// Fills a CAF config for a node: message types of every part, scheduler.
void configure_actor_system(caf::actor_system_config& sys_cfg, const node_config& cfg);

} // namespace cafmcp::cli
