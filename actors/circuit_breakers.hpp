#pragma once

// The circuit_breakers actor: serves the node's breaker_table (tool calls
// and forwards use it directly) to the shell, the metrics and other actors.

#include <memory>

#include "actors/breaker_table.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::actors {

/// Child spec for the breakers actor (id "circuit_breakers"); its
/// incarnations share `table`.
supervision::child_spec circuit_breakers_spec(std::shared_ptr<breaker_table> table);

} // namespace cafmcp::actors
