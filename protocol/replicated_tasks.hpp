#pragma once
// Tasks that outlive their node: their replicated record kept current, and the failover policy for a task whose node is gone.

// In a cluster every task's state is mirrored into its replicated record
// (the replicator), so tasks/get works on any node. When a task's node is
// gone, the member that leads its record takes it over: runs it again from
// the start when its tool is idempotent (idempotentHint), else fails it with
// a clear error. Never left "working" forever.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "actors/name_table.hpp"
#include "protocol/task_record.hpp"
#include "protocol/task_registry.hpp"

namespace cafmcp::protocol {

class endpoint;

/// A mirror for the task registry that writes each task's record (owner:
/// `node`, kept `ttl`) and state to the replicator registered in `names`.
task_mirror replicated_task_mirror(std::shared_ptr<actors::name_table> names, std::string node,
                                   std::chrono::milliseconds ttl);

/// The state a task gets when its node is gone and it cannot run again
/// here (`why`): `last` (its last replicated state, if any) failed at `now`.
nlohmann::json failed_task_state(std::optional<nlohmann::json> last, const std::string& id, const std::string& owner,
                                 const std::string& why, std::chrono::system_clock::time_point now);

/// The failover policy, for the replicator's on_orphaned_task: takes over
/// task record `rec` whose node is gone — runs it again through `resumer`
/// when its tool is idempotent, else writes it failed (failed_task_state)
/// to the replicator. Tasks this node runs (in `tasks`) are left alone.
std::function<void(const actors::session_record&)> take_over_orphaned_tasks(std::shared_ptr<endpoint> resumer,
                                                                             std::shared_ptr<task_registry> tasks,
                                                                             std::shared_ptr<actors::name_table> names,
                                                                             std::string node);

} // namespace cafmcp::protocol
