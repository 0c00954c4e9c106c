#pragma once

// The admin actor: the supervision tree of a node, operable by path. It is
// what `cafmcp shell` talks to (through the cluster's node actor, behind the
// cookie), and what an operator's script can call with the same messages.
//
// Paths are the supervisors' own: /root, /root/core_sup,
// /root/protocol_sup/tool_sup … An unknown path is answered with an error
// that lists the children that do exist.
//
// Changes are audited before they are made (audit_log.hpp): a change first
// appends an intent record {who, op, target, result: "requested"} and waits
// until it is on disk; if it cannot be written, the change is refused with
// errc::audit_failed ("the audit log … cannot be written: …; refusing
// kill") and not made. Otherwise it is made, and an outcome record ("ok" or
// the error) is appended before the answer goes out (the action is done by
// then: an outcome that cannot be written is logged, the answer stays the
// action's result).
//
//   (admin_tree_atom, path)                    -> tree_node  (the subtree, mailboxes measured)
//   (admin_which_atom, path)                   -> vector<tree_node>  (one level)
//   (admin_count_atom, path)                   -> child_counts
//   (admin_start_atom, who, path, child_spec_desc) -> uint64_t (the new child's actor id)
//   (admin_restart_atom, who, path, id)        -> uint64_t (actor id)
//   (admin_terminate_atom, who, path, id)      -> void
//   (admin_delete_atom, who, path, id)         -> void
//   (admin_kill_atom, who, path)               -> uint64_t (the killed actor's id)
//   (admin_record_atom, audit_record)          -> void  (appended durably; else errc::audit_failed:
//                                                 for a caller that audits its own change first)
//   (admin_audit_atom, uint32_t n)             -> vector<string> (the last n records)
//
// Errors are supervision errors (errc::not_found with the valid children,
// errc::bad_spec for a path that is not a supervisor, errc::audit_failed,
// and the supervisor API's own results).

#include <chrono>
#include <functional>
#include <string>

#include <caf/atom.hpp>

#include "supervision/child_spec.hpp"

namespace cafmcp::supervision {

using admin_tree_atom = caf::atom_constant<caf::atom("adm_tree")>;
using admin_which_atom = caf::atom_constant<caf::atom("adm_which")>;
using admin_count_atom = caf::atom_constant<caf::atom("adm_count")>;
using admin_start_atom = caf::atom_constant<caf::atom("adm_start")>;
using admin_restart_atom = caf::atom_constant<caf::atom("adm_restrt")>;
using admin_terminate_atom = caf::atom_constant<caf::atom("adm_term")>;
using admin_delete_atom = caf::atom_constant<caf::atom("adm_delete")>;
using admin_kill_atom = caf::atom_constant<caf::atom("adm_kill")>;
using admin_audit_atom = caf::atom_constant<caf::atom("adm_audit")>;
using admin_record_atom = caf::atom_constant<caf::atom("adm_record")>;

struct admin_config {
  std::function<caf::actor()> root; // the tree's top supervisor (found at each request)
  std::string root_path = "/root";
  std::string audit_log;            // file the audit records are appended to
  std::string audit_key;            // the bytes keying its chain (audit_key.hpp), loaded at the node's start
  std::chrono::milliseconds timeout{3000}; // per request to a supervisor
};

/// The admin actor's child spec ("admin"). Its start opens the audit log: a
/// log that cannot be written (or no key) is a failed start, not silent loss.
child_spec admin_child(admin_config cfg);

} // namespace cafmcp::supervision
