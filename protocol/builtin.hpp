#pragma once

// The tools, resources and prompts every cafmcp node offers, so a new user
// sees it work: echo, add, sleep (progress; cancellable), and state that
// outlives one call: session_open -> a handle, session_set / session_get on
// it (legacy sessions have an implicit handle). Handle state lives in the
// session manager (tier 1), which is what the cluster replicates.

#include "protocol/catalog.hpp"

namespace cafmcp::protocol {

/// Registers the built-ins in `cat`.
void add_builtins(catalog& cat);

} // namespace cafmcp::protocol
