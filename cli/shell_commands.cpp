// The shell's command table, and its commands about the cluster: help, nodes, status, sessions, failover, audit.

#include "cli/shell.hpp"

#include <algorithm>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "cli/detail/shell_support.hpp"
#include "cli/status_command.hpp"
#include "cli/text_table.hpp"
#include "cluster/admin_client.hpp"
#include "cluster/client.hpp"

namespace cafmcp::cli {

namespace {

using nlohmann::json;
using detail::shell_call_timeout;
using namespace std::chrono_literals;

json session_json(const std::string& member, const actors::session_record& r) {
  return {{"node", member},         {"id", r.id},         {"created_ms", r.created_ms},
          {"last_active_ms", r.last_active_ms}, {"ttl_ms", r.ttl_ms}, {"data", r.data},
          {"replicas", r.replicas}};
}

} // namespace

const std::vector<shell_command_info>& shell::table() {
  using a = shell_arg;
  static const std::vector<shell_command_info> rows{
    {"help", "help [COMMAND]", "list the commands, or explain one", {a::command}, &shell::run_help, false},
    {"nodes", "nodes", "the cluster's members, their state and health", {}, &shell::run_nodes},
    {"status", "status", "the cluster as the attached node sees it (as `cafmcp status`)", {}, &shell::run_status},
    {"tree", "tree [NODE[:PATH]]", "a node's supervision tree: states, actor ids, restart counts, mailboxes",
     {a::node_or_path}, &shell::run_tree},
    {"which_children", "which_children [NODE:]PATH", "the children of the supervisor at PATH", {a::supervisor_path},
     &shell::run_which_children},
    {"count_children", "count_children [NODE:]PATH", "specs, active children, supervisors and workers at PATH",
     {a::supervisor_path}, &shell::run_count_children},
    {"start_child", "start_child [NODE:]PATH SPEC", "start a child of a registered actor type under PATH",
     {a::supervisor_path}, &shell::run_start_child, true,
     "SPEC is JSON: {\"id\": \"spare\", \"actor_type\": \"tool_worker\", \"restart\": "
     "\"permanent|transient|temporary\",\n  \"shutdown_ms\": 5000 (0: brutal_kill, -1: infinity), \"type\": "
     "\"worker|supervisor\"}\n  Actor types every node knows: tool_worker."},
    {"restart_child", "restart_child [NODE:]PATH ID", "start again a child that was terminated (OTP restart_child)",
     {a::supervisor_path, a::child_id}, &shell::run_restart_child},
    {"terminate_child", "terminate_child [NODE:]PATH ID", "stop a child; its spec stays (restart_child starts it)",
     {a::supervisor_path, a::child_id}, &shell::run_terminate_child},
    {"delete_child", "delete_child [NODE:]PATH ID", "forget a terminated child's spec",
     {a::supervisor_path, a::child_id}, &shell::run_delete_child},
    {"kill", "kill [NODE:]PATH", "kill the actor at PATH (untrappable): its supervisor restarts it by its restart type",
     {a::actor_path}, &shell::run_kill},
    {"sessions", "sessions [NODE]", "MCP sessions and state handles (every member's, or NODE's)", {a::member},
     &shell::run_sessions},
    {"session", "session ID", "one session or handle with its data, on whichever member holds it", {},
     &shell::run_session},
    {"migrate", "migrate ID NODE", "migrate_session: NODE becomes the primary of session (handle, task) ID", {},
     &shell::run_migrate, true,
     "NODE receives the whole record first, then leads it while it is up; the other replicas stay."},
    {"backup", "backup ID", "backup_session: every replica of session (handle, task) ID gets its whole record now", {},
     &shell::run_backup},
    {"failover", "failover FROM [TO]",
     "manual failover: drain member FROM (its primaries move, to TO if given) and wait until it handed over every record",
     {a::member, a::member}, &shell::run_failover, true,
     "Every acknowledged write reaches the new primaries first; FROM keeps forwarding requests and can be stopped "
     "once this returns. The same as `cafmcp failover --from FROM [--to TO]`."},
    {"breakers", "breakers [NODE]", "circuit breakers (tools, peers): state, failures, times opened, calls refused",
     {a::member}, &shell::run_breakers},
    {"limits", "limits [NODE] | limits set LIMIT CAPACITY/PER_SECOND|off [NODE]",
     "rate limits on MCP requests and what they refused; set one at run time (every member, or NODE)", {a::member},
     &shell::run_limits, true,
     "LIMIT is client (each client's requests: token subject, else legacy session, else address) or tool:NAME\n"
     "  (that tool's calls, all clients together). CAPACITY is the burst, PER_SECOND the refill rate.\n"
     "  A change lasts until the node restarts (then the config applies); it is audited."},
    {"chaos", "chaos list [NODE] | chaos start [NODE] SPEC | chaos stop [NODE] ID|all",
     "chaos experiments: faults injected on purpose, each ending by itself (every member, or NODE)", {}, &shell::run_chaos,
     true,
     "Off unless the node's config sets chaos.enabled. SPEC is JSON with a kind and duration_ms:\n"
     "  {\"kind\": \"kill\", \"target\": \"/root/observability_sup/*\", \"interval_ms\": 100, \"duration_ms\": 10000}\n"
     "  {\"kind\": \"drop\", \"from\": \"n1\", \"to\": \"*\", \"probability\": 0.3, \"duration_ms\": 10000}\n"
     "  {\"kind\": \"delay\", \"from\": \"*\", \"to\": \"n2\", \"delay_ms\": 200, \"duration_ms\": 10000}\n"
     "  {\"kind\": \"tool_fail\", \"tool\": \"search\", \"probability\": 0.5, \"duration_ms\": 10000}\n"
     "  {\"kind\": \"tool_stall\", \"tool\": \"*\", \"delay_ms\": 500, \"probability\": 0.1, \"duration_ms\": 10000}\n"
     "  {\"kind\": \"memory\", \"bytes\": 67108864, \"duration_ms\": 10000}\n"
     "  Starting and stopping need role admin and are audited."},
    {"routes", "routes [NODE] | routes add|replace ID RULE | routes remove ID | routes test NAME [OPTIONS]",
     "routing rules: each member's version; change them for the whole cluster; explain a call", {a::member},
     &shell::run_routes, true,
     "RULE is one rule as JSON, as under \"routes\" in the config (docs/ROUTING.md):\n"
     "  routes add canary '{\"name\": \"everything.echo\", \"headers\": {\"X-Canary\": \"1\"}, "
     "\"targets\": [{\"tool\": \"mirror.echo\"}]}'\n"
     "  A change makes the next version of the cluster's rules (audited, role admin); every member applies\n"
     "  it within cluster.routes_poll_ms, and the command waits until they do (exit 1 if one does not).\n"
     "  test OPTIONS: --tenant T, --method M, --header \"Name: value\", --down TOOL (each repeatable but\n"
     "  tenant and method), against the rules the attached node applies."},
    {"upstreams", "upstreams [NODE] | upstreams add|replace NAME ENTRY | upstreams remove NAME",
     "upstream MCP servers every member runs: each member's version; add or remove one for the whole cluster",
     {a::member}, &shell::run_upstreams, true,
     "ENTRY is one upstream as JSON, as under \"upstreams\" in the config (docs/ROUTING.md):\n"
     "  upstreams add mirror '{\"url\": \"http://10.0.0.7:8080/mcp\", \"headers\": [\"Authorization: Bearer …\"]}'\n"
     "  upstreams add everything '{\"command\": [\"npx\", \"@modelcontextprotocol/server-everything\"]}'\n"
     "  A program runs only on members whose cluster.run_time_programs lists it. A change makes the next\n"
     "  version (audited without the entry, role admin); every member starts or stops its upstream within\n"
     "  cluster.routes_poll_ms, and the command waits until they apply it (exit 1 if one does not).\n"
     "  Header and environment values are shown masked."},
    {"tenants", "tenants [NODE] | tenants add|replace NAME ENTRY | tenants remove NAME",
     "tenants every member applies: each member's version; add, change or remove one for the whole cluster",
     {a::member}, &shell::run_tenants, true,
     "ENTRY is one tenant as JSON, as under \"tenants\" in the config (docs/ROUTING.md):\n"
     "  tenants add acme '{\"tools\": [\"everything.*\"], \"deny_tools\": [\"everything.longRunning*\"], "
     "\"rate\": \"20/10\"}'\n"
     "  A change makes the next version (audited, role admin); every member applies it within\n"
     "  cluster.routes_poll_ms (its clients are told their lists changed), and the command waits until\n"
     "  they do (exit 1 if one does not). Tenants come from tokens or http.tenant_header."},
    {"audit", "audit [NODE] [N]", "the last N (default 20) changes made through the shell on NODE", {a::member},
     &shell::run_audit},
    {"watch", "watch status", "refresh `status` every second until a key is pressed", {a::status}, &shell::run_watch},
    {"quit", "quit", "leave the shell (also: exit, Ctrl-D)", {}, &shell::run_quit, false},
  };
  return rows;
}

int shell::run_quit(const shell_call&) {
  quit_ = true;
  return 0;
}

int shell::run_help(const shell_call& c) {
  if (c.args.size() > 1)
    return usage("help", c.err);
  if (c.args.empty()) {
    std::vector<std::vector<std::string>> rows{{"COMMAND", "WHAT IT DOES"}};
    for (auto& cmd : table())
      rows.push_back({cmd.usage, cmd.summary});
    c.out << render_table(rows)
          << "NODE is a member's name (default: the attached node); PATH a supervisor path such as "
             "/root/core_sup.\n";
    return 0;
  }
  auto* cmd = find_command(c.args[0]);
  if (!cmd || c.args[0] == "exit") {
    auto near = closest_command(c.args[0]);
    c.err << "no command " << c.args[0] << (near.empty() ? "" : "; did you mean " + near + "?") << '\n';
    return 2;
  }
  c.out << cmd->usage << "\n  " << cmd->summary << '\n';
  if (!cmd->details.empty())
    c.out << "  " << cmd->details << '\n';
  return 0;
}

int shell::run_nodes(const shell_call& c) {
  if (!c.args.empty())
    return usage("nodes", c.err);
  auto rows = cluster::cluster_status(sys_, node_, shell_call_timeout);
  if (!rows)
    return failed(rows.error(), c.err);
  if (json_) {
    c.out << status_json(*rows).dump(2) << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> cells{{"NODE", "STATE", "HEALTH"}};
  for (auto& r : *rows)
    cells.push_back({r.node + (r.self ? " (attached)" : ""), r.state, r.health});
  c.out << render_table(cells);
  return 0;
}

int shell::run_status(const shell_call& c) {
  if (!c.args.empty())
    return usage("status", c.err);
  auto rows = cluster::cluster_status(sys_, node_, shell_call_timeout);
  if (!rows)
    return failed(rows.error(), c.err);
  auto repl = replication_of(sys_, node_, *rows);
  auto chaos = chaos_of(sys_, node_, *rows);
  c.out << (json_ ? status_json(*rows, repl, chaos).dump(2) + "\n" : render_status(*rows, repl) + render_chaos(chaos));
  return 0;
}

int shell::run_watch(const shell_call& c) {
  if (c.args.size() != 1 || c.args[0] != "status")
    return usage("watch", c.err);
  for (int i = 0; i < 100000; ++i) { // bounded: about a day at one refresh a second
    auto rows = cluster::cluster_status(sys_, node_, shell_call_timeout);
    if (!rows)
      return failed(rows.error(), c.err);
    c.out << "\x1b[2J\x1b[H" << "status of the cluster via " << address_ << " (press a key to stop)\n"
          << render_status(*rows, replication_of(sys_, node_, *rows)) << render_chaos(chaos_of(sys_, node_, *rows))
          << std::flush;
    if (stop_watching(1s))
      break;
  }
  return 0;
}

int shell::run_migrate(const shell_call& c) {
  if (c.args.size() != 2)
    return usage("migrate", c.err);
  if (!known_member(c.args[1], c.err))
    return 1;
  auto r = cluster::migrate_session({sys_, node_, self_name(), shell_call_timeout}, c.args[0], c.args[1]);
  if (!r)
    return failed(r.error(), c.err);
  c.out << (json_ ? json{{"id", r->id}, {"replicas", r->replicas}}.dump(2)
                  : "migrated " + r->id + ": replicas " + detail::join(r->replicas, ", ") + " (primary first)")
        << '\n';
  return 0;
}

int shell::run_backup(const shell_call& c) {
  if (c.args.size() != 1)
    return usage("backup", c.err);
  auto r = cluster::backup_session({sys_, node_, self_name(), shell_call_timeout}, c.args[0]);
  if (!r)
    return failed(r.error(), c.err);
  c.out << (json_ ? json{{"id", r->id}, {"replicas", r->replicas}}.dump(2)
                  : "backed up " + r->id + ": replicas " + detail::join(r->replicas, ", ") + " (primary first)")
        << '\n';
  return 0;
}

int shell::run_failover(const shell_call& c) {
  auto& args = c.args;
  if (args.empty() || args.size() > 2)
    return usage("failover", c.err);
  for (auto& m : args)
    if (!known_member(m, c.err))
      return 1;
  auto to = args.size() == 2 ? args[1] : std::string{};
  cluster::admin_target from{sys_, node_, args[0], std::chrono::seconds(60)};
  auto r = cluster::trigger_failover(from, to);
  if (!r)
    return failed(r.error(), c.err);
  c.out << (json_ ? json{{"from", args[0]}, {"to", to}, {"records", r->records}, {"took_ms", r->took.count()}}.dump(2)
                  : "drained " + args[0] + ": " + std::to_string(r->records) + " record(s) handed over"
                      + (to.empty() ? "" : " (primaries to " + to + ")") + " in " + std::to_string(r->took.count())
                      + " ms; " + args[0] + " can be stopped now")
        << '\n';
  return 0;
}

int shell::run_sessions(const shell_call& c) {
  if (c.args.size() > 1)
    return usage("sessions", c.err);
  if (!c.args.empty()) {
    if (!known_member(c.args[0], c.err))
      return 1;
    return list_sessions(c, {c.args[0]}, false);
  }
  return list_sessions(c, member_names(), false);
}

int shell::run_session(const shell_call& c) {
  if (c.args.size() != 1)
    return usage("session", c.err);
  return list_sessions(c, member_names(), true);
}

int shell::list_sessions(const shell_call& c, const std::vector<std::string>& members, bool one) {
  auto j = json::array();
  std::vector<std::vector<std::string>> rows{{"NODE", "ID", "KEYS", "IDLE", "TTL"}};
  int rc = 0;
  auto now_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (auto& m : members) {
    std::vector<actors::session_record> found;
    cluster::admin_target at{sys_, node_, m, shell_call_timeout};
    if (!one) {
      auto list = cluster::list_sessions(at);
      if (!list) {
        c.err << m << ": " << explain(list.error()) << '\n';
        rc = 1;
        continue;
      }
      // The runtime's own records (the routing rules: `routes`) are not MCP sessions.
      for (auto& r : *list)
        if (!cluster::is_runtime_record(r.id))
          found.push_back(std::move(r));
    } else if (auto list = cluster::list_sessions(at)) {
      // Each member lists what it leads: the one that lists it is its primary.
      for (auto& r : *list)
        if (r.id == c.args[0])
          found.push_back(r);
    }
    for (auto& r : found) {
      j.push_back(session_json(m, r));
      rows.push_back({m, r.id, std::to_string(r.data.size()), std::to_string((now_ms - r.last_active_ms) / 1000) + " s",
                      std::to_string(r.ttl_ms / 1000) + " s"});
    }
  }
  if (!one) {
    c.out << (json_ ? j.dump(2) + "\n" : render_table(rows));
    return rc;
  }
  if (j.empty()) {
    c.err << "no member holds a session " << c.args[0] << '\n';
    return 1;
  }
  if (json_) {
    c.out << j[0].dump(2) << '\n';
    return 0;
  }
  auto& s = j[0];
  c.out << "session " << s["id"].get<std::string>() << " on " << s["node"].get<std::string>() << '\n'
        << "  idle " << rows[1][3] << ", ttl " << rows[1][4] << '\n';
  if (!s["replicas"].empty())
    c.out << "  replicas " << detail::join(s["replicas"].get<std::vector<std::string>>(), ", ") << " (primary first)\n";
  for (auto& [k, v] : s["data"].items())
    c.out << "  " << k << " = " << v.get<std::string>() << '\n';
  return 0;
}

int shell::run_audit(const shell_call& c) {
  if (c.args.size() > 2)
    return usage("audit", c.err);
  uint32_t n = 20;
  std::string member;
  for (auto& a : c.args) {
    if (!a.empty() && std::all_of(a.begin(), a.end(), ::isdigit) && a.size() < 7)
      n = static_cast<uint32_t>(std::stoul(a));
    else
      member = a;
  }
  if (!member.empty() && !known_member(member, c.err))
    return 1;
  if (member.empty())
    member = self_name();
  auto lines = cluster::audit_tail({sys_, node_, member, shell_call_timeout}, n);
  if (!lines)
    return failed(lines.error(), c.err);
  if (json_) {
    auto j = json::array();
    for (auto& l : *lines)
      j.push_back(json::parse(l, nullptr, false));
    c.out << j.dump(2) << '\n';
  } else {
    for (auto& l : *lines)
      c.out << l << '\n';
  }
  return 0;
}

} // namespace cafmcp::cli
