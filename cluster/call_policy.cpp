// Which calls from outside a node its gateway lets through, by target actor, operation and the caller's role.
#include "cluster/call_policy.hpp"

#include <map>
#include <utility>

#include "actors/messages.hpp"
#include "cluster/messages.hpp"
#include "supervision/admin.hpp"

namespace cafmcp::cluster {

namespace {

enum class need { viewer, admin, node };

struct rule {
  const char* op;
  need role;
  bool audited = false;
  bool by_target = false;
  bool operators_only = false; // members never do it on their own account, only relaying an operator's call
  bool secret_arguments = false; // see call_decision
};

using table = std::map<std::pair<std::string, caf::atom_value>, rule>;

const table& rules() {
  using namespace supervision;
  static const table t{
    // The admin actor: reading the tree is for viewers; changes are for
    // admins, and the admin actor audits them itself.
    {{"admin", admin_tree_atom::value}, {"tree", need::viewer}},
    {{"admin", admin_which_atom::value}, {"which_children", need::viewer}},
    {{"admin", admin_count_atom::value}, {"count_children", need::viewer}},
    {{"admin", admin_audit_atom::value}, {"audit", need::admin}},
    {{"admin", admin_start_atom::value}, {"start_child", need::admin, true, true, true}},
    {{"admin", admin_restart_atom::value}, {"restart_child", need::admin, true, true, true}},
    {{"admin", admin_terminate_atom::value}, {"terminate_child", need::admin, true, true, true}},
    {{"admin", admin_delete_atom::value}, {"delete_child", need::admin, true, true, true}},
    {{"admin", admin_kill_atom::value}, {"kill", need::admin, true, true, true}},
    // The replicator: status and sessions for viewers; failover, migrate
    // and backup for admins (audited here); the rest is between members.
    {{"replicator", repl_status_atom::value}, {"replication_status", need::viewer}},
    {{"replicator", actors::session_list_atom::value}, {"sessions", need::viewer}},
    {{"replicator", actors::session_get_atom::value}, {"session", need::viewer}},
    {{"replicator", repl_drain_atom::value}, {"failover", need::admin, true}},
    {{"replicator", repl_handoff_atom::value}, {"failover_handoff", need::admin, true}},
    {{"replicator", repl_migrate_atom::value}, {"migrate", need::admin, true}},
    {{"replicator", repl_backup_atom::value}, {"backup", need::admin, true}},
    // Backups read every record (admin); the cut's start and a restore's
    // start are audited, the pages and batches that follow are not.
    {{"replicator", repl_clock_atom::value}, {"backup_clock", need::viewer}},
    {{"replicator", repl_cut_atom::value}, {"backup_cut", need::admin, true}},
    {{"replicator", repl_cut_list_atom::value}, {"backup_list", need::admin}},
    {{"replicator", repl_cut_page_atom::value}, {"backup_read", need::admin}},
    {{"replicator", repl_cut_end_atom::value}, {"backup_end", need::admin}},
    {{"replicator", repl_restore_atom::value}, {"restore", need::admin, true}},
    {{"replicator", repl_restore_batch_atom::value}, {"restore_records", need::admin}},
    {{"replicator", repl_route_atom::value}, {"route", need::node}},
    {{"replicator", repl_apply_atom::value}, {"apply", need::node}},
    {{"replicator", repl_pull_atom::value}, {"pull", need::node}},
    {{"replicator", repl_sync_atom::value}, {"sync", need::node}},
    // Breakers and rate limits: reading is for viewers; changing a limit
    // is for admins, audited here.
    {{"circuit_breakers", actors::breaker_list_atom::value}, {"breakers", need::viewer}},
    {{"rate_limiter", actors::rate_limits_atom::value}, {"limits", need::viewer}},
    {{"rate_limiter", actors::rate_set_atom::value}, {"set_limit", need::admin, true}},
    // Chaos experiments: listing is for viewers; starting and stopping
    // them is for admins, audited here (who started what).
    {{"chaos", actors::chaos_list_atom::value}, {"chaos_list", need::viewer}},
    {{"chaos", actors::chaos_start_atom::value}, {"chaos_start", need::admin, true}},
    {{"chaos", actors::chaos_stop_atom::value}, {"chaos_stop", need::admin, true}},
    // Routing rules: reading is for viewers; a change is for admins,
    // audited here (it goes to every member).
    {{"routing", routes_get_atom::value}, {"routes", need::viewer}},
    {{"routing", routes_look_atom::value}, {"routes_look", need::viewer}},
    {{"routing", routes_add_atom::value}, {"routes_add", need::admin, true}},
    {{"routing", routes_remove_atom::value}, {"routes_remove", need::admin, true}},
    {{"routing", upstreams_add_atom::value}, {"upstreams_add", need::admin, true, false, false, true}},
    {{"routing", upstreams_remove_atom::value}, {"upstreams_remove", need::admin, true}},
    {{"routing", tenants_add_atom::value}, {"tenants_add", need::admin, true}},
    {{"routing", tenants_remove_atom::value}, {"tenants_remove", need::admin, true}},
  };
  return t;
}

/// Whether the table has rules for `target` (then only they apply).
bool rules_of(const std::string& target) {
  return target == "admin" || target == "replicator" || target == "task_agent" || target == "member_tools"
         || target == "circuit_breakers"
         || target == "rate_limiter" || target == "chaos" || target == "routing";
}

const char* name_of(need n) {
  switch (n) {
    case need::viewer: return "viewer";
    case need::admin: return "admin";
    case need::node: return "node";
  }
  return "?";
}

bool satisfies(const std::string& role, const rule& r) {
  auto n = r.role;
  if (role == "node")
    return !r.operators_only; // members are trusted with each other's state
  if (n == need::node)
    return false;
  if (role == "admin")
    return true;
  return role == "viewer" && n == need::viewer;
}

} // namespace

call_decision decide_call(const std::string& target, caf::atom_value op, const std::string& role, bool callable) {
  call_decision out;
  if (callable && !rules_of(target)) {
    out.op = target;
    out.audited = role != "node"; // an operator's call; members' calls are the application's own traffic
    out.allowed = role == "node" || role == "admin";
    if (!out.allowed)
      out.why = "calling " + target + " needs role admin; the caller's role is " + role;
    return out;
  }
  // Between members only: task owners answer each other about tasks
  // (cli/replicated_tasks), and members run each other's routed tool calls
  // (cli/member_calls).
  if (target == "task_agent" || target == "member_tools") {
    out.op = target;
    out.allowed = role == "node";
    if (!out.allowed)
      out.why = target + " is for members only";
    return out;
  }
  auto i = rules().find({target, op});
  if (i == rules().end()) {
    out.op = target;
    out.why = "\"" + target + "\" does not take that call from outside its node";
    return out;
  }
  auto& r = i->second;
  out.op = r.op;
  out.audited = r.audited;
  out.audited_by_target = r.by_target;
  out.secret_arguments = r.secret_arguments;
  out.allowed = satisfies(role, r);
  if (!out.allowed)
    out.why = role == "node" ? std::string{r.op} + " is for operators (role admin), not for members"
                             : std::string{r.op} + " needs role " + name_of(r.role) + "; the caller's role is " + role;
  return out;
}

} // namespace cafmcp::cluster
