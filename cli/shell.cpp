#include "cli/shell.hpp"

#include <algorithm>
#include <stdexcept>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "cli/status_command.hpp"
#include "cli/text_table.hpp"
#include "cluster/admin_client.hpp"
#include "cluster/client.hpp"
#include "cluster/errors.hpp"

namespace cafmcp::cli {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto call_timeout = std::chrono::milliseconds{10000};
constexpr auto cache_for = std::chrono::seconds{3};

const std::vector<shell_command_info> command_table{
  {"help", "help [COMMAND]", "list the commands, or explain one"},
  {"nodes", "nodes", "the cluster's members, their state and health"},
  {"status", "status", "the cluster as the attached node sees it (as `cafmcp status`)"},
  {"tree", "tree [NODE[:PATH]]", "a node's supervision tree: states, actor ids, restart counts, mailboxes"},
  {"which_children", "which_children [NODE:]PATH", "the children of the supervisor at PATH"},
  {"count_children", "count_children [NODE:]PATH", "specs, active children, supervisors and workers at PATH"},
  {"start_child", "start_child [NODE:]PATH SPEC", "start a child of a registered actor type under PATH",
   "SPEC is JSON: {\"id\": \"spare\", \"actor_type\": \"tool_worker\", \"restart\": "
   "\"permanent|transient|temporary\",\n  \"shutdown_ms\": 5000 (0: brutal_kill, -1: infinity), \"type\": "
   "\"worker|supervisor\"}\n  Actor types every node knows: tool_worker."},
  {"restart_child", "restart_child [NODE:]PATH ID", "start again a child that was terminated (OTP restart_child)"},
  {"terminate_child", "terminate_child [NODE:]PATH ID", "stop a child; its spec stays (restart_child starts it)"},
  {"delete_child", "delete_child [NODE:]PATH ID", "forget a terminated child's spec"},
  {"kill", "kill [NODE:]PATH", "kill the actor at PATH (untrappable): its supervisor restarts it by its restart type"},
  {"sessions", "sessions [NODE]", "MCP sessions and state handles (every member's, or NODE's)"},
  {"session", "session ID", "one session or handle with its data, on whichever member holds it"},
  {"migrate", "migrate ID NODE", "migrate_session: NODE becomes the primary of session (handle, task) ID",
   "NODE receives the whole record first, then leads it while it is up; the other replicas stay."},
  {"backup", "backup ID", "backup_session: every replica of session (handle, task) ID gets its whole record now"},
  {"failover", "failover FROM [TO]",
   "manual failover: drain member FROM (its primaries move, to TO if given) and wait until it handed over every record",
   "Every acknowledged write reaches the new primaries first; FROM keeps forwarding requests and can be stopped "
   "once this returns. The same as `cafmcp failover --from FROM [--to TO]`."},
  {"audit", "audit [NODE] [N]", "the last N (default 20) changes made through the shell on NODE"},
  {"watch", "watch status", "refresh `status` every second until a key is pressed"},
  {"quit", "quit", "leave the shell (also: exit, Ctrl-D)"},
};

const shell_command_info* find_command(const std::string& name) {
  for (auto& c : command_table)
    if (c.name == name)
      return &c;
  return nullptr;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      auto up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& xs, const std::string& sep) {
  std::string out;
  for (auto& x : xs)
    out += (out.empty() ? "" : sep) + x;
  return out;
}

json tree_json(const supervision::tree_node& n) {
  json j{{"id", n.id},       {"path", n.path},         {"type", n.type},     {"state", n.state},
         {"restarts", n.restarts}, {"actor_id", n.actor_id}};
  if (!n.strategy.empty())
    j["strategy"] = n.strategy;
  if (!n.restart.empty())
    j["restart"] = n.restart;
  j["mailbox"] = n.mailbox < 0 ? json(nullptr) : json(n.mailbox);
  if (n.type == "supervisor") {
    j["children"] = json::array();
    for (auto& c : n.children)
      j["children"].push_back(tree_json(c));
  }
  return j;
}

json session_json(const std::string& member, const actors::session_record& r) {
  return {{"node", member},         {"id", r.id},         {"created_ms", r.created_ms},
          {"last_active_ms", r.last_active_ms}, {"ttl_ms", r.ttl_ms}, {"data", r.data},
          {"replicas", r.replicas}};
}

void flatten(const supervision::tree_node& n, bool supervisors_only, std::vector<std::string>& out) {
  if (!supervisors_only || n.type == "supervisor")
    out.push_back(n.path);
  for (auto& c : n.children)
    flatten(c, supervisors_only, out);
}

std::string mailbox_text(int64_t m) {
  return m < 0 ? "-" : std::to_string(m);
}

} // namespace

shell::shell(caf::actor_system& sys, std::function<caf::expected<caf::actor>()> reattach, std::string address,
             std::string who, bool json)
  : sys_(sys), reattach_(std::move(reattach)), address_(std::move(address)), who_(std::move(who)), json_(json) {
  stop_watching = [](std::chrono::milliseconds wait) { return key_pressed(wait); };
}

const std::vector<shell_command_info>& shell::commands() {
  return command_table;
}

std::string shell::closest_command(const std::string& word) {
  std::string best;
  size_t best_d = 4;
  for (auto& c : command_table) {
    auto d = edit_distance(word, c.name);
    // A prefix of a command is as good as a near miss.
    if (c.name.rfind(word, 0) == 0 && !word.empty())
      d = std::min<size_t>(d, 1);
    if (d < best_d) {
      best_d = d;
      best = c.name;
    }
  }
  return best;
}

std::vector<std::string> shell::split_words(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size())
        cur += line[++i];
      else
        cur += c;
    } else if (c == '{' && !in_word) {
      // A JSON argument (start_child's SPEC) is the rest of the line, verbatim.
      auto rest = line.substr(i);
      while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t'))
        rest.pop_back();
      out.push_back(rest);
      return out;
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word)
        out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote)
    throw std::invalid_argument(std::string{"unterminated "} + quote + " quote");
  if (in_word)
    out.push_back(std::move(cur));
  return out;
}

bool shell::connect(std::ostream& err) {
  auto node = reattach_();
  if (!node) {
    err << "cannot reach " << address_ << ": " << explain(node.error()) << '\n';
    return false;
  }
  node_ = *node;
  self_.clear();
  members_.clear();
  trees_.clear();
  return true;
}

std::string shell::explain(const caf::error& e) const {
  auto& ctx = e.context();
  if (ctx.match_elements<std::string>()) {
    auto rendered = sys_.render(e);
    auto code = rendered.substr(0, rendered.find(' '));
    // "no child …" says more than "supervision:not_found (no child …)".
    if (code == "supervision:not_found" || code == "supervision:bad_spec")
      return ctx.get_as<std::string>(0);
    return rendered;
  }
  return sys_.render(e);
}

bool shell::check_connection(std::ostream& err) {
  if (node_ && cluster::cluster_status(sys_, node_, 3s))
    return true;
  err << "lost the connection to " << address_ << "; reconnecting … ";
  auto node = reattach_();
  if (!node) {
    err << "failed: " << explain(node.error()) << '\n';
    node_ = caf::actor{};
    return false;
  }
  err << "connected again\n";
  node_ = *node;
  self_.clear();
  return true;
}

std::string shell::self_name() {
  if (!self_.empty() || !node_)
    return self_;
  if (auto rows = cluster::cluster_status(sys_, node_, call_timeout))
    for (auto& r : *rows)
      if (r.self)
        self_ = r.node;
  return self_;
}

std::vector<std::string> shell::member_names() {
  auto now = std::chrono::steady_clock::now();
  if (!members_.empty() && now - members_at_ < cache_for)
    return members_;
  members_.clear();
  if (node_)
    if (auto rows = cluster::cluster_status(sys_, node_, 3s))
      for (auto& r : *rows)
        if (r.state != "removed")
          members_.push_back(r.node);
  members_at_ = now;
  return members_;
}

shell::target shell::parse_target(const std::string& arg, const std::string& fallback) const {
  target t;
  t.path = fallback;
  if (arg.empty())
    return t;
  if (arg[0] == '/') {
    t.path = arg;
    return t;
  }
  auto colon = arg.find(':');
  if (colon == std::string::npos) {
    t.member = arg;
    return t;
  }
  t.member = arg.substr(0, colon);
  auto rest = arg.substr(colon + 1);
  if (!rest.empty())
    t.path = rest;
  return t;
}

std::vector<std::string> shell::paths_of(const std::string& member, bool supervisors_only) {
  auto now = std::chrono::steady_clock::now();
  auto i = trees_.find(member);
  if (i == trees_.end() || now - i->second.at >= cache_for) {
    auto tree = cluster::supervision_tree({sys_, node_, member, 3s}, "/root");
    if (!tree)
      return {};
    i = trees_.insert_or_assign(member, cached_tree{now, std::move(*tree)}).first;
  }
  std::vector<std::string> out;
  flatten(i->second.tree, supervisors_only, out);
  return out;
}

std::vector<std::string> shell::complete(const std::string& before, const std::string& word) {
  std::vector<std::string> words;
  try {
    words = split_words(before);
  } catch (const std::invalid_argument&) {
    return {};
  }
  std::vector<std::string> out;
  auto add_if_prefix = [&](const std::string& candidate) {
    if (candidate.rfind(word, 0) == 0)
      out.push_back(candidate);
  };
  if (words.empty()) {
    for (auto& c : command_table)
      add_if_prefix(c.name);
    add_if_prefix("exit");
    return out;
  }
  auto& cmd = words[0];
  auto arg = words.size() - 1; // index of the argument being typed
  if (cmd == "help" && arg == 0) {
    for (auto& c : command_table)
      add_if_prefix(c.name);
    return out;
  }
  if (cmd == "watch" && arg == 0) {
    add_if_prefix("status");
    return out;
  }
  if (((cmd == "sessions" || cmd == "audit") && arg == 0) || (cmd == "failover" && arg <= 1)) {
    for (auto& m : member_names())
      add_if_prefix(m);
    return out;
  }
  static const std::vector<std::string> path_commands{"tree",          "which_children", "count_children",
                                                      "start_child",   "restart_child",  "terminate_child",
                                                      "delete_child",  "kill"};
  if (std::find(path_commands.begin(), path_commands.end(), cmd) == path_commands.end())
    return out;
  bool supervisors_only = cmd != "kill" && cmd != "tree";
  if (arg == 0) {
    auto colon = word.find(':');
    if (word.empty() || (word[0] != '/' && colon == std::string::npos)) {
      // A member name (then ':' and a path), or a path on the attached node.
      for (auto& m : member_names()) {
        if (cmd == "tree")
          add_if_prefix(m);
        add_if_prefix(m + ":/root");
      }
      if (!word.empty())
        return out;
    }
    std::string member = word[0] == '/' || colon == std::string::npos ? self_name() : word.substr(0, colon);
    std::string prefix = word[0] == '/' || colon == std::string::npos ? "" : member + ":";
    for (auto& p : paths_of(member, supervisors_only))
      add_if_prefix(prefix + p);
    return out;
  }
  if (arg == 1 && (cmd == "restart_child" || cmd == "terminate_child" || cmd == "delete_child")) {
    auto t = parse_target(words[1], "/root");
    auto member = t.member.empty() ? self_name() : t.member;
    auto kids = cluster::which_children({sys_, node_, member, 3s}, t.path);
    if (kids)
      for (auto& k : *kids)
        add_if_prefix(k.id);
  }
  return out;
}

int shell::execute(const std::string& line, std::ostream& out, std::ostream& err) {
  std::vector<std::string> words;
  try {
    words = split_words(line);
  } catch (const std::invalid_argument& e) {
    err << e.what() << '\n';
    return 2;
  }
  if (words.empty())
    return 0;
  if (!node_ && words[0] != "help" && words[0] != "quit" && words[0] != "exit") {
    if (!connect(err))
      return 1;
  }
  return run(words, out, err);
}

int shell::run(const std::vector<std::string>& words, std::ostream& out, std::ostream& err) {
  auto& cmd = words[0];
  auto args = std::vector<std::string>(words.begin() + 1, words.end());
  auto usage = [&](const std::string& name) {
    err << "usage: " << find_command(name)->usage << '\n';
    return 2;
  };
  /// Reports a failed call; says so clearly when the node itself is gone.
  auto failed = [&](const caf::error& e) {
    auto lost = cluster::is(e, cluster::errc::timeout) || cluster::is(e, cluster::errc::no_node)
                || e == caf::sec::request_receiver_down;
    err << explain(e) << '\n';
    if (lost)
      check_connection(err);
    return 1;
  };
  auto known_member = [&](const std::string& m) {
    auto all = member_names();
    if (std::find(all.begin(), all.end(), m) != all.end())
      return true;
    err << "no member named " << m << "; members: " << join(all, ", ") << '\n';
    return false;
  };
  // The first argument as NODE:PATH: fills `t` and `member` (the attached
  // node unless one is named); false (said on err) for an unknown member.
  std::string member;
  target t;
  auto locate = [&](const std::string& arg, const std::string& fallback) {
    t = parse_target(arg, fallback);
    member = t.member.empty() ? self_name() : t.member;
    return t.member.empty() || known_member(member);
  };
  auto admin = [&](const std::string& member) { return cluster::admin_target{sys_, node_, member, call_timeout}; };

  if (cmd == "quit" || cmd == "exit") {
    quit_ = true;
    return 0;
  }
  if (cmd == "help") {
    if (args.size() > 1)
      return usage("help");
    if (args.empty()) {
      std::vector<std::vector<std::string>> rows{{"COMMAND", "WHAT IT DOES"}};
      for (auto& c : command_table)
        rows.push_back({c.usage, c.summary});
      out << render_table(rows)
          << "NODE is a member's name (default: the attached node); PATH a supervisor path such as "
             "/root/core_sup.\n";
      return 0;
    }
    auto* c = find_command(args[0]);
    if (!c) {
      auto near = closest_command(args[0]);
      err << "no command " << args[0] << (near.empty() ? "" : "; did you mean " + near + "?") << '\n';
      return 2;
    }
    out << c->usage << "\n  " << c->summary << '\n';
    if (!c->details.empty())
      out << "  " << c->details << '\n';
    return 0;
  }
  if (cmd == "nodes" || cmd == "status") {
    if (!args.empty())
      return usage(cmd);
    auto rows = cluster::cluster_status(sys_, node_, call_timeout);
    if (!rows)
      return failed(rows.error());
    if (cmd == "status") {
      auto repl = replication_of(sys_, node_, *rows);
      out << (json_ ? status_json(*rows, repl).dump(2) + "\n" : render_status(*rows, repl));
    } else if (json_) {
      out << status_json(*rows).dump(2) << '\n';
    } else {
      std::vector<std::vector<std::string>> cells{{"NODE", "STATE", "HEALTH"}};
      for (auto& r : *rows)
        cells.push_back({r.node + (r.self ? " (attached)" : ""), r.state, r.health});
      out << render_table(cells);
    }
    return 0;
  }
  if (cmd == "watch") {
    if (args.size() != 1 || args[0] != "status")
      return usage("watch");
    for (int i = 0; i < 100000; ++i) { // bounded: about a day at one refresh a second
      auto rows = cluster::cluster_status(sys_, node_, call_timeout);
      if (!rows)
        return failed(rows.error());
      out << "\x1b[2J\x1b[H" << "status of the cluster via " << address_ << " (press a key to stop)\n"
          << render_status(*rows, replication_of(sys_, node_, *rows)) << std::flush;
      if (stop_watching(1s))
        break;
    }
    return 0;
  }
  if (cmd == "tree") {
    if (args.size() > 1)
      return usage("tree");
    if (!locate(args.empty() ? "" : args[0], "/root"))
      return 1;
    auto tree = cluster::supervision_tree(admin(member), t.path);
    if (!tree)
      return failed(tree.error());
    if (json_) {
      auto j = tree_json(*tree);
      j["node"] = member;
      out << j.dump(2) << '\n';
    } else {
      out << member << ":" << tree->path << '\n' << supervision::draw_tree(*tree);
    }
    return 0;
  }
  if (cmd == "which_children" || cmd == "count_children") {
    if (args.size() != 1)
      return usage(cmd);
    if (!locate(args[0], "/root"))
      return 1;
    if (cmd == "count_children") {
      auto c = cluster::count_children(admin(member), t.path);
      if (!c)
        return failed(c.error());
      if (json_)
        out << json{{"specs", c->specs}, {"active", c->active}, {"supervisors", c->supervisors}, {"workers", c->workers}}
                 .dump(2)
            << '\n';
      else
        out << "specs " << c->specs << ", active " << c->active << ", supervisors " << c->supervisors << ", workers "
            << c->workers << '\n';
      return 0;
    }
    auto kids = cluster::which_children(admin(member), t.path);
    if (!kids)
      return failed(kids.error());
    if (json_) {
      auto j = json::array();
      for (auto& k : *kids)
        j.push_back(tree_json(k));
      out << j.dump(2) << '\n';
      return 0;
    }
    std::vector<std::vector<std::string>> rows{{"ID", "TYPE", "RESTART", "STATE", "ACTOR", "RESTARTS", "MAILBOX"}};
    for (auto& k : *kids)
      rows.push_back({k.id, k.type + (k.strategy.empty() ? "" : " (" + k.strategy + ")"), k.restart, k.state,
                      k.actor_id ? std::to_string(k.actor_id) : "-", std::to_string(k.restarts),
                      mailbox_text(k.mailbox)});
    out << render_table(rows);
    return 0;
  }
  if (cmd == "restart_child" || cmd == "terminate_child" || cmd == "delete_child") {
    if (args.size() != 2)
      return usage(cmd);
    if (!locate(args[0], "/root"))
      return 1;
    auto a = admin(member);
    if (cmd == "restart_child") {
      auto aid = cluster::restart_child(a, who_, t.path, args[1]);
      if (!aid)
        return failed(aid.error());
      out << (json_ ? json{{"node", member}, {"path", t.path}, {"id", args[1]}, {"actor_id", *aid}}.dump(2)
                    : "restarted " + args[1] + " under " + member + ":" + t.path + " (actor " + std::to_string(*aid) + ")")
          << '\n';
      return 0;
    }
    auto e = cmd == "terminate_child" ? cluster::terminate_child(a, who_, t.path, args[1])
                                      : cluster::delete_child(a, who_, t.path, args[1]);
    if (e)
      return failed(e);
    out << (json_ ? json{{"node", member}, {"path", t.path}, {"id", args[1]}, {"ok", true}}.dump(2)
                  : std::string{cmd == "terminate_child" ? "terminated " : "deleted "} + args[1] + " under " + member
                      + ":" + t.path)
        << '\n';
    return 0;
  }
  if (cmd == "start_child") {
    if (args.size() != 2)
      return usage(cmd);
    if (!locate(args[0], "/root"))
      return 1;
    supervision::child_spec_desc spec;
    try {
      auto j = json::parse(args[1]);
      if (!j.is_object())
        throw std::invalid_argument("SPEC must be a JSON object");
      for (auto& [key, value] : j.items())
        if (key != "id" && key != "actor_type" && key != "restart" && key != "shutdown_ms" && key != "type")
          throw std::invalid_argument("unknown key \"" + key
                                      + "\" in SPEC (id, actor_type, restart, shutdown_ms, type)");
      spec.id = j.value("id", "");
      spec.actor_type = j.value("actor_type", "");
      spec.restart = j.value("restart", spec.restart);
      spec.shutdown_ms = j.value("shutdown_ms", spec.shutdown_ms);
      spec.type = j.value("type", spec.type);
    } catch (const std::exception& e) {
      err << "bad SPEC: " << e.what() << '\n';
      return 2;
    }
    auto aid = cluster::start_child(admin(member), who_, t.path, spec);
    if (!aid)
      return failed(aid.error());
    out << (json_ ? json{{"node", member}, {"path", t.path}, {"id", spec.id}, {"actor_id", *aid}}.dump(2)
                  : "started " + spec.id + " under " + member + ":" + t.path + " (actor " + std::to_string(*aid) + ")")
        << '\n';
    return 0;
  }
  if (cmd == "kill") {
    if (args.size() != 1)
      return usage(cmd);
    if (!locate(args[0], ""))
      return 1;
    if (t.path.empty())
      return usage(cmd);
    auto aid = cluster::kill_actor(admin(member), who_, t.path);
    if (!aid)
      return failed(aid.error());
    out << (json_ ? json{{"node", member}, {"path", t.path}, {"killed_actor_id", *aid}}.dump(2)
                  : "killed " + member + ":" + t.path + " (actor " + std::to_string(*aid)
                      + "); its supervisor restarts it by its restart type")
        << '\n';
    return 0;
  }
  if (cmd == "migrate" || cmd == "backup") {
    if (args.size() != (cmd == "migrate" ? 2u : 1u))
      return usage(cmd);
    if (cmd == "migrate" && !known_member(args[1]))
      return 1;
    auto r = cmd == "migrate" ? cluster::migrate_session(admin(self_name()), args[0], args[1])
                              : cluster::backup_session(admin(self_name()), args[0]);
    if (!r)
      return failed(r.error());
    std::string where;
    for (auto& m : r->replicas)
      where += (where.empty() ? "" : ", ") + m;
    out << (json_ ? json{{"id", r->id}, {"replicas", r->replicas}}.dump(2)
                  : std::string{cmd == "migrate" ? "migrated " : "backed up "} + r->id + ": replicas " + where
                      + " (primary first)")
        << '\n';
    return 0;
  }
  if (cmd == "failover") {
    if (args.empty() || args.size() > 2)
      return usage(cmd);
    for (auto& m : args)
      if (!known_member(m))
        return 1;
    auto to = args.size() == 2 ? args[1] : std::string{};
    auto target = admin(args[0]);
    target.timeout = std::chrono::seconds(60);
    auto r = cluster::trigger_failover(target, to);
    if (!r)
      return failed(r.error());
    out << (json_ ? json{{"from", args[0]}, {"to", to}, {"records", r->records}, {"took_ms", r->took.count()}}.dump(2)
                  : "drained " + args[0] + ": " + std::to_string(r->records) + " record(s) handed over"
                      + (to.empty() ? "" : " (primaries to " + to + ")") + " in " + std::to_string(r->took.count())
                      + " ms; " + args[0] + " can be stopped now")
        << '\n';
    return 0;
  }
  if (cmd == "sessions" || cmd == "session") {
    if (cmd == "sessions" ? args.size() > 1 : args.size() != 1)
      return usage(cmd);
    std::vector<std::string> members;
    if (cmd == "sessions" && !args.empty()) {
      if (!known_member(args[0]))
        return 1;
      members.push_back(args[0]);
    } else {
      members = member_names();
    }
    auto j = json::array();
    std::vector<std::vector<std::string>> rows{{"NODE", "ID", "KEYS", "IDLE", "TTL"}};
    int rc = 0;
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    for (auto& m : members) {
      std::vector<actors::session_record> found;
      if (cmd == "sessions") {
        auto list = cluster::list_sessions(admin(m));
        if (!list) {
          err << m << ": " << explain(list.error()) << '\n';
          rc = 1;
          continue;
        }
        found = std::move(*list);
      } else if (auto list = cluster::list_sessions(admin(m))) {
        // Each member lists what it leads: the one that lists it is its primary.
        for (auto& r : *list)
          if (r.id == args[0])
            found.push_back(r);
      }
      for (auto& r : found) {
        j.push_back(session_json(m, r));
        rows.push_back({m, r.id, std::to_string(r.data.size()), std::to_string((now_ms - r.last_active_ms) / 1000) + " s",
                        std::to_string(r.ttl_ms / 1000) + " s"});
      }
    }
    if (cmd == "session") {
      if (j.empty()) {
        err << "no member holds a session " << args[0] << '\n';
        return 1;
      }
      if (json_) {
        out << j[0].dump(2) << '\n';
      } else {
        auto& s = j[0];
        out << "session " << s["id"].get<std::string>() << " on " << s["node"].get<std::string>() << '\n'
            << "  idle " << rows[1][3] << ", ttl " << rows[1][4] << '\n';
        if (!s["replicas"].empty()) {
          std::string where;
          for (auto& r : s["replicas"])
            where += (where.empty() ? "" : ", ") + r.get<std::string>();
          out << "  replicas " << where << " (primary first)\n";
        }
        for (auto& [k, v] : s["data"].items())
          out << "  " << k << " = " << v.get<std::string>() << '\n';
      }
      return 0;
    }
    out << (json_ ? j.dump(2) + "\n" : render_table(rows));
    return rc;
  }
  if (cmd == "audit") {
    if (args.size() > 2)
      return usage(cmd);
    uint32_t n = 20;
    for (auto& a : args) {
      if (!a.empty() && std::all_of(a.begin(), a.end(), ::isdigit) && a.size() < 7)
        n = static_cast<uint32_t>(std::stoul(a));
      else
        member = a;
    }
    if (!member.empty() && !known_member(member))
      return 1;
    if (member.empty())
      member = self_name();
    auto lines = cluster::audit_tail(admin(member), n);
    if (!lines)
      return failed(lines.error());
    if (json_) {
      auto j = json::array();
      for (auto& l : *lines)
        j.push_back(json::parse(l, nullptr, false));
      out << j.dump(2) << '\n';
    } else {
      for (auto& l : *lines)
        out << l << '\n';
    }
    return 0;
  }
  auto near = closest_command(cmd);
  err << "unknown command " << cmd << (near.empty() ? "" : "; did you mean " + near + "?") << " (help lists all)\n";
  return 2;
}

} // namespace cafmcp::cli
