#pragma once

// The supervisor's runtime API as CAF messages (supervisor:which_children,
// count_children, start_child, restart_child, terminate_child, delete_child).
// Every type here is serializable, so a supervisor can be driven from
// another node.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>
#include <caf/meta/type_name.hpp>

namespace cafmcp::supervision {

using ready_atom = caf::atom_constant<caf::atom("sv_ready")>;
using info_atom = caf::atom_constant<caf::atom("sv_info")>;
using which_children_atom = caf::atom_constant<caf::atom("sv_which")>;
using count_children_atom = caf::atom_constant<caf::atom("sv_count")>;
using start_child_atom = caf::atom_constant<caf::atom("sv_start")>;
using restart_child_atom = caf::atom_constant<caf::atom("sv_restart")>;
using terminate_child_atom = caf::atom_constant<caf::atom("sv_term")>;
using delete_child_atom = caf::atom_constant<caf::atom("sv_delete")>;
/// (mailbox_atom) -> uint64_t: messages waiting in the answering actor's
/// mailbox. Supervisors and every worker_child answer it (a mailbox can
/// only be measured by its owner).
using mailbox_atom = caf::atom_constant<caf::atom("sv_mbox")>;

/// One row of which_children. `state` is "running", "restarting" or
/// "undefined" (spec kept, no child running). Under simple_one_for_one the
/// id is the child's actor id.
struct child_info {
  std::string id;
  caf::actor handle;
  std::string state;
  std::string type;    // worker | supervisor
  std::string restart; // permanent | transient | temporary
  uint64_t restarts = 0;
  bool answers_mailbox = false; // the child answers mailbox_atom
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_info& x) {
  return f(caf::meta::type_name("child_info"), x.id, x.handle, x.state, x.type, x.restart,
           x.restarts, x.answers_mailbox);
}

/// count_children's result, as OTP's [{specs}, {active}, {supervisors}, {workers}].
struct child_counts {
  uint64_t specs = 0;
  uint64_t active = 0;
  uint64_t supervisors = 0;
  uint64_t workers = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_counts& x) {
  return f(caf::meta::type_name("child_counts"), x.specs, x.active, x.supervisors, x.workers);
}

/// What a supervisor says about itself.
struct supervisor_info {
  std::string path;
  std::string strategy;
  int32_t intensity = 0;
  int64_t period_ms = 0;
  uint64_t restarts = 0; // restarts this supervisor has performed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervisor_info& x) {
  return f(caf::meta::type_name("supervisor_info"), x.path, x.strategy, x.intensity, x.period_ms,
           x.restarts);
}

/// A serializable child spec for start_child from another node: the child is
/// spawned by its registered actor type name (actor_system_config::
/// add_actor_type) with `args`. shutdown_ms: -1 infinity, 0 brutal_kill,
/// otherwise the timeout.
struct child_spec_desc {
  std::string id;
  std::string actor_type;
  caf::message args;
  std::string restart = "permanent";
  int64_t shutdown_ms = 5000;
  std::string type = "worker";
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_spec_desc& x) {
  return f(caf::meta::type_name("child_spec_desc"), x.id, x.actor_type, x.args, x.restart,
           x.shutdown_ms, x.type);
}

/// Registers the message types above and the error category with a
/// configuration. Call it on every node.
void register_types(caf::actor_system_config& cfg);

} // namespace cafmcp::supervision
