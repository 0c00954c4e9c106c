#pragma once
// The relay: a call forwarded to another member, sent as this node, its answer handed back to the node actor.

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace cafmcp::cluster {

/// (relayed_atom, number, answer): what came back for relayed call `number`
/// (any message, or an error), from the relay to the node actor.
using relayed_atom = caf::atom_constant<caf::atom("cl_relayed")>;

/// A relayed call is answered within this, or with an error.
constexpr std::chrono::milliseconds relay_limit{60000};

/// Spawned per call forwarded to another member: sends `call` to the
/// member's node actor as this node (the member authenticates members, not
/// our clients) and hands whatever comes back to `parent`, which answers
/// the caller. (Not the caller's promise from here: a promise is delivered
/// by its owner.) `what` names the call in errors.
caf::behavior relay(caf::event_based_actor* self, caf::actor parent, uint64_t number, caf::actor member,
                    caf::message call, std::string what);

} // namespace cafmcp::cluster
