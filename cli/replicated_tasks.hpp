#pragma once

// Tasks (MCP Tasks extension) that outlive their node: in a cluster, every
// task's state is mirrored into its replicated record (the replicator), so
// tasks/get works on any node; when a task's node is gone, the member that
// leads its record takes it over — runs it again from the start when its
// tool is idempotent (idempotentHint), else fails it with a clear error.
// Never left "working" forever.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "actors/name_table.hpp"
#include "protocol/endpoint.hpp"

namespace cafmcp::cli {

/// Where the replicator's on_orphaned_task goes; filled once the endpoint
/// environment exists (the replicator starts before it).
using orphan_slot = std::shared_ptr<std::function<void(const actors::session_record&)>>;

void replicate_tasks(protocol::endpoint_env& env, std::shared_ptr<actors::name_table> names, std::string node,
                     std::chrono::milliseconds task_ttl, const orphan_slot& slot);

} // namespace cafmcp::cli
