#pragma once

// Tier 2: protocol_sup (one_for_one) with
//   server_sup     simple_one_for_one: one actor per legacy MCP session (temporary)
//   transport_sup  simple_one_for_one: listeners (start_child with their start function)
//   tool_sup       one_for_one: a pool of tool workers (tools/call)
// transport_sup and the tool workers are registered in the name table.

#include <memory>

#include "actors/name_table.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::protocol {

supervision::child_spec protocol_supervisor(supervision::supervisor_flags flags, size_t tool_workers,
                                            std::shared_ptr<actors::name_table> names);

} // namespace cafmcp::protocol
