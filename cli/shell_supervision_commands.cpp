// The shell's commands on a node's supervision tree: tree, which/count_children, start/restart/terminate/delete_child, kill.

#include "cli/shell.hpp"

#include <stdexcept>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "cli/detail/shell_support.hpp"
#include "cli/text_table.hpp"
#include "cluster/admin_client.hpp"
#include "supervision/tree_json.hpp"

namespace cafmcp::cli {

namespace {

using nlohmann::json;
using detail::shell_call_timeout;

std::string mailbox_text(int64_t m) {
  return m < 0 ? "-" : std::to_string(m);
}

} // namespace

int shell::run_tree(const shell_call& c) {
  if (c.args.size() > 1)
    return usage("tree", c.err);
  auto t = locate(c.args.empty() ? "" : c.args[0], "/root", c.err);
  if (!t)
    return 1;
  auto tree = cluster::supervision_tree({sys_, node_, t->member, shell_call_timeout}, t->path);
  if (!tree)
    return failed(tree.error(), c.err);
  if (json_) {
    auto j = supervision::tree_json(*tree);
    j["node"] = t->member;
    c.out << j.dump(2) << '\n';
  } else {
    c.out << t->member << ":" << tree->path << '\n' << supervision::draw_tree(*tree);
  }
  return 0;
}

int shell::run_which_children(const shell_call& c) {
  if (c.args.size() != 1)
    return usage("which_children", c.err);
  auto t = locate(c.args[0], "/root", c.err);
  if (!t)
    return 1;
  auto kids = cluster::which_children({sys_, node_, t->member, shell_call_timeout}, t->path);
  if (!kids)
    return failed(kids.error(), c.err);
  if (json_) {
    auto j = json::array();
    for (auto& k : *kids)
      j.push_back(supervision::tree_json(k));
    c.out << j.dump(2) << '\n';
    return 0;
  }
  std::vector<std::vector<std::string>> rows{{"ID", "TYPE", "RESTART", "STATE", "ACTOR", "RESTARTS", "MAILBOX"}};
  for (auto& k : *kids)
    rows.push_back({k.id, k.type + (k.strategy.empty() ? "" : " (" + k.strategy + ")"), k.restart, k.state,
                    k.actor_id ? std::to_string(k.actor_id) : "-", std::to_string(k.restarts),
                    mailbox_text(k.mailbox)});
  c.out << render_table(rows);
  return 0;
}

int shell::run_count_children(const shell_call& c) {
  if (c.args.size() != 1)
    return usage("count_children", c.err);
  auto t = locate(c.args[0], "/root", c.err);
  if (!t)
    return 1;
  auto n = cluster::count_children({sys_, node_, t->member, shell_call_timeout}, t->path);
  if (!n)
    return failed(n.error(), c.err);
  if (json_)
    c.out << json{{"specs", n->specs}, {"active", n->active}, {"supervisors", n->supervisors}, {"workers", n->workers}}
               .dump(2)
          << '\n';
  else
    c.out << "specs " << n->specs << ", active " << n->active << ", supervisors " << n->supervisors << ", workers "
          << n->workers << '\n';
  return 0;
}

int shell::run_restart_child(const shell_call& c) {
  if (c.args.size() != 2)
    return usage("restart_child", c.err);
  auto t = locate(c.args[0], "/root", c.err);
  if (!t)
    return 1;
  auto aid = cluster::restart_child({sys_, node_, t->member, shell_call_timeout}, who_, t->path, c.args[1]);
  if (!aid)
    return failed(aid.error(), c.err);
  c.out << (json_ ? json{{"node", t->member}, {"path", t->path}, {"id", c.args[1]}, {"actor_id", *aid}}.dump(2)
                  : "restarted " + c.args[1] + " under " + t->member + ":" + t->path + " (actor "
                      + std::to_string(*aid) + ")")
        << '\n';
  return 0;
}

int shell::run_terminate_child(const shell_call& c) {
  if (c.args.size() != 2)
    return usage("terminate_child", c.err);
  auto t = locate(c.args[0], "/root", c.err);
  if (!t)
    return 1;
  if (auto e = cluster::terminate_child({sys_, node_, t->member, shell_call_timeout}, who_, t->path, c.args[1]))
    return failed(e, c.err);
  c.out << (json_ ? json{{"node", t->member}, {"path", t->path}, {"id", c.args[1]}, {"ok", true}}.dump(2)
                  : "terminated " + c.args[1] + " under " + t->member + ":" + t->path)
        << '\n';
  return 0;
}

int shell::run_delete_child(const shell_call& c) {
  if (c.args.size() != 2)
    return usage("delete_child", c.err);
  auto t = locate(c.args[0], "/root", c.err);
  if (!t)
    return 1;
  if (auto e = cluster::delete_child({sys_, node_, t->member, shell_call_timeout}, who_, t->path, c.args[1]))
    return failed(e, c.err);
  c.out << (json_ ? json{{"node", t->member}, {"path", t->path}, {"id", c.args[1]}, {"ok", true}}.dump(2)
                  : "deleted " + c.args[1] + " under " + t->member + ":" + t->path)
        << '\n';
  return 0;
}

int shell::run_start_child(const shell_call& c) {
  if (c.args.size() != 2)
    return usage("start_child", c.err);
  auto t = locate(c.args[0], "/root", c.err);
  if (!t)
    return 1;
  supervision::child_spec_desc spec;
  try {
    auto j = json::parse(c.args[1]);
    if (!j.is_object())
      throw std::invalid_argument("SPEC must be a JSON object");
    for (auto& [key, value] : j.items())
      if (key != "id" && key != "actor_type" && key != "restart" && key != "shutdown_ms" && key != "type")
        throw std::invalid_argument("unknown key \"" + key + "\" in SPEC (id, actor_type, restart, shutdown_ms, type)");
    spec.id = j.value("id", "");
    spec.actor_type = j.value("actor_type", "");
    spec.restart = j.value("restart", spec.restart);
    spec.shutdown_ms = j.value("shutdown_ms", spec.shutdown_ms);
    spec.type = j.value("type", spec.type);
  } catch (const std::exception& e) {
    c.err << "bad SPEC: " << e.what() << '\n';
    return 2;
  }
  auto aid = cluster::start_child({sys_, node_, t->member, shell_call_timeout}, who_, t->path, spec);
  if (!aid)
    return failed(aid.error(), c.err);
  c.out << (json_ ? json{{"node", t->member}, {"path", t->path}, {"id", spec.id}, {"actor_id", *aid}}.dump(2)
                  : "started " + spec.id + " under " + t->member + ":" + t->path + " (actor " + std::to_string(*aid)
                      + ")")
        << '\n';
  return 0;
}

int shell::run_kill(const shell_call& c) {
  if (c.args.size() != 1)
    return usage("kill", c.err);
  auto t = locate(c.args[0], "", c.err);
  if (!t)
    return 1;
  if (t->path.empty())
    return usage("kill", c.err);
  auto aid = cluster::kill_actor({sys_, node_, t->member, shell_call_timeout}, who_, t->path);
  if (!aid)
    return failed(aid.error(), c.err);
  c.out << (json_ ? json{{"node", t->member}, {"path", t->path}, {"killed_actor_id", *aid}}.dump(2)
                  : "killed " + t->member + ":" + t->path + " (actor " + std::to_string(*aid)
                      + "); its supervisor restarts it by its restart type")
        << '\n';
  return 0;
}

} // namespace cafmcp::cli
