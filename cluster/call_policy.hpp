#pragma once
// Which calls from outside a node its gateway lets through, by target actor, operation and the caller's role.
//
// Pure: the node actor asks before it delivers or relays a call. Default
// deny: an actor or an operation not listed here is internal to the node
// (root, the supervisors, the session manager …) and cannot be named from
// another node or by an operator's tool.

#include <string>

#include <caf/atom.hpp>

namespace cafmcp::cluster {

struct call_decision {
  bool allowed = false;
  bool audited = false; // changes state: written to the audit log (with the caller) before it is done
  bool audited_by_target = false; // the target (the admin actor) audits it itself; the gateway fills in `who`
  /// Its arguments after the first may hold secrets (an upstream's headers
  /// and environment): the audit log names the call and its first argument only.
  bool secret_arguments = false;
  std::string op;       // its name in the audit log and in errors (e.g. "failover")
  std::string why;      // refused: why, for the caller
};

/// May a caller with `role` (node, admin or viewer) send `op` to the actor
/// named `target`? `callable`: the application made that actor callable by
/// name (cluster.callable_actors): members and admins may send it anything.
call_decision decide_call(const std::string& target, caf::atom_value op, const std::string& role,
                          bool callable = false);

} // namespace cafmcp::cluster
