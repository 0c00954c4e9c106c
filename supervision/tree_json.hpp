#pragma once
// The supervision tree as JSON: one shape for the shell's --json and the dashboard.

#include <nlohmann/json.hpp>

namespace cafmcp::supervision {

struct tree_node;

/// One node and everything below it:
///   {"id", "path", "type": "worker|supervisor", "state", "restarts", "actor_id",
///    "strategy" (supervisors), "restart" (children, not the top),
///    "mailbox" (null: not measured), "children" (supervisors: an array)}
nlohmann::json tree_json(const tree_node& n);

} // namespace cafmcp::supervision
