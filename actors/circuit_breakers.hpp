#pragma once

// The circuit_breakers actor: one circuit_breaker per key (a client, a tool
// or a downstream), asked before a call and told its outcome after.

#include "actors/circuit_breaker.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::actors {

/// Child spec for the breakers actor (id "circuit_breakers").
supervision::child_spec circuit_breakers_spec(breaker_config cfg);

} // namespace cafmcp::actors
