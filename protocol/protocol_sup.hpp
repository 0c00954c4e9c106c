#pragma once

// Tier 2: protocol_sup (one_for_one) with
//   server_sup     simple_one_for_one: one actor per legacy MCP session (temporary)
//   transport_sup  simple_one_for_one: listeners (start_child with their start function)
//   tool_sup       one_for_one: a pool of tool workers (tools/call)
//   jwks_fetcher   the identity provider's signing keys, with mcp.auth.jwt.jwks_url
// transport_sup and the tool workers are registered in the name table.

#include <memory>
#include <vector>

#include "actors/name_table.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::protocol {

/// `extra`: children after the tool pool (the jwks_fetcher).
/// `listener_backoff`: restart delays of the transports (a listener that
/// crashes is bound again after a pause, not in a loop that escalates).
supervision::child_spec protocol_supervisor(supervision::supervisor_flags flags, size_t tool_workers,
                                            std::shared_ptr<actors::name_table> names,
                                            std::vector<supervision::child_spec> extra = {},
                                            supervision::backoff_policy listener_backoff = {});

} // namespace cafmcp::protocol
