#pragma once
// Replicated tasks wired into a node: mirror, takeover and remote cancel.

// Wiring of replicated tasks into a node: the mirror and the failover
// policy (protocol/replicated_tasks.hpp) plugged into the endpoint
// environment and the replicator, and tasks/cancel routed over the cluster
// to the node running a task (its task_agent).

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "actors/name_table.hpp"
#include "supervision/child_spec.hpp"
#include <caf/atom.hpp>
#include "protocol/endpoint.hpp"

namespace cafmcp::cli {

/// (task_cancel_atom, id) -> "cancelled" | "already_ended" | "not_found"
/// (protocol::cancel_outcome's wire names), to a node's task_agent (through
/// the node actors, call_atom).
using task_cancel_atom = caf::atom_constant<caf::atom("tk_cancel")>;

/// Where the replicator's on_orphaned_task goes; filled once the endpoint
/// environment exists (the replicator starts before it).
using orphan_slot = std::shared_ptr<std::function<void(const actors::session_record&)>>;

/// Where the task_agent finds this node's task registry (filled with the slot).
using registry_slot = std::shared_ptr<std::shared_ptr<protocol::task_registry>>;

/// Mirrors env.tasks into the replicator, takes over orphaned tasks, and
/// routes tasks/cancel to a task's node; fills both slots.
void replicate_tasks(protocol::endpoint_env& env, std::shared_ptr<actors::name_table> names, std::string node,
                     std::chrono::milliseconds task_ttl, const orphan_slot& slot, const registry_slot& registry);

/// The task agent (id "task_agent", under cluster_sup): cancels tasks of
/// this node for other members.
supervision::child_spec task_agent_spec(registry_slot registry, std::shared_ptr<actors::name_table> names);

} // namespace cafmcp::cli
