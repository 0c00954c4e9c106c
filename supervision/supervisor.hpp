#pragma once

// An Erlang/OTP supervisor on CAF.
//
// A supervisor starts its children in order, links to them and traps their
// exits. It restarts them by strategy (one_for_one, one_for_all,
// rest_for_one, simple_one_for_one) and restart type, limits restarts to
// `intensity` within `period` and, when that is exceeded, stops its children
// in reverse order and exits with reason user_shutdown (OTP's `shutdown`),
// which its own supervisor sees as a child exit. An exit request from anyone
// but a child (its parent, an operator) stops it the same way.
//
// The runtime API is in messages.hpp. Locally, start_child also accepts a
// full child_spec (start function included).

#include <chrono>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "supervision/child_spec.hpp"

namespace cafmcp::supervision {

/// Spawns a top-level supervisor at `path` (e.g. "/root"). Its children start
/// asynchronously; use await_started to wait for them.
caf::actor spawn_supervisor(caf::actor_system& sys, std::string path, supervisor_flags flags,
                            std::vector<child_spec> children);

/// A child spec that starts a nested supervisor. Its start completes only
/// once all its own children have started.
child_spec supervisor_child(std::string id, supervisor_flags flags,
                            std::vector<child_spec> children,
                            restart_type restart = restart_type::permanent);

/// A simple_one_for_one template whose children are started by the
/// start_function passed as start_child's argument (local use only: a
/// function does not cross the wire). For children that differ in kind,
/// such as the listeners and connections under transport_sup.
child_spec function_child_template(std::string id, restart_type restart = restart_type::permanent);

/// A child spec from its serializable description: the child is spawned by
/// its registered actor type name.
caf::expected<child_spec> from_desc(const struct child_spec_desc& desc);

/// Blocks the calling thread (never call it from an actor) until `sup` has
/// started all its children, or reports why it could not.
caf::error await_started(caf::actor_system& sys, const caf::actor& sup,
                         std::chrono::milliseconds timeout);

} // namespace cafmcp::supervision

// Local start_child requests carry a full spec, start function included.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::supervision::child_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(cafmcp::supervision::start_function)
