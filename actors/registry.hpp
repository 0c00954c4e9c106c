#pragma once

// The registry actor: the message front of the node's name_table, so names
// can be registered, looked up and listed over CAF (also from other nodes).
// In-process code may read the name_table directly.

#include <memory>

#include "actors/name_table.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::actors {

/// Child spec for the registry actor (id "registry"). The table outlives
/// restarts of the actor: names are owned by their actors, not by it.
supervision::child_spec registry_spec(std::shared_ptr<name_table> table);

} // namespace cafmcp::actors
