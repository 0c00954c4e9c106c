#pragma once
// Tool calls routed to other cluster members (a rule's target "members").

// The calling node relays each such call through its node actor to the
// member's member_tools agent (members only, through the gateway); the
// agent runs it there in an endpoint of its own, never routed again, as
// the caller's subject and tenant. Progress and log messages come back as
// they happen, a cancellation goes there, and the answer comes back last.
// A member that dies, leaves the caller's view or does not answer within
// cluster.member_call_timeout_ms fails the call with -32603 naming it.

#include <chrono>
#include <memory>
#include <string>

#include <caf/atom.hpp>

#include "actors/name_table.hpp"
#include "cluster/cluster_view.hpp"
#include "protocol/endpoint.hpp"
#include "supervision/child_spec.hpp"

namespace cafmcp::cli {

/// To a member's member_tools (call_atom): (member_call_atom, envelope
/// JSON {"subject", "tenant", "from", "request"}, caller's relay) -> the
/// actor running the call there. Then, from the member to the relay:
/// (member_note_atom, notification JSON) while it runs and
/// (member_done_atom, response JSON) last; from the relay to the runner:
/// (member_cancel_atom) when the client cancels.
using member_call_atom = caf::atom_constant<caf::atom("mc_call")>;
using member_note_atom = caf::atom_constant<caf::atom("mc_note")>;
using member_done_atom = caf::atom_constant<caf::atom("mc_done")>;
using member_cancel_atom = caf::atom_constant<caf::atom("mc_cancel")>;

/// Where member_tools finds this node's endpoint environment (filled once
/// it exists; the agent starts before it and refuses calls until then).
using endpoint_slot = std::shared_ptr<std::shared_ptr<const protocol::endpoint_env>>;

/// The member tools agent (id "member_tools", under cluster_sup).
supervision::child_spec member_tools_spec(endpoint_slot env, std::shared_ptr<cluster::cluster_view> view,
                                          std::shared_ptr<actors::name_table> names);

/// Lets env's endpoints send routed calls to other members (env.members),
/// and fills `slot` with env for calls other members send here.
void serve_member_calls(protocol::endpoint_env& env, std::shared_ptr<actors::name_table> names,
                        std::shared_ptr<cluster::cluster_view> view, std::string me,
                        std::chrono::milliseconds timeout, const endpoint_slot& slot);

} // namespace cafmcp::cli
