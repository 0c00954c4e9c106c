// The admin shell's interpreter: parsing a line, dispatch and completion through the command table.

#include "cli/shell.hpp"

#include <algorithm>
#include <stdexcept>

#include <caf/all.hpp>

#include "cli/detail/shell_support.hpp"
#include "cli/status_command.hpp"
#include "cluster/admin_client.hpp"
#include "cluster/client.hpp"
#include "cluster/errors.hpp"

namespace cafmcp::cli {

namespace {

using namespace std::chrono_literals;

constexpr auto cache_for = std::chrono::seconds{3};

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

void flatten(const supervision::tree_node& n, bool supervisors_only, std::vector<std::string>& out) {
  if (!supervisors_only || n.type == "supervisor")
    out.push_back(n.path);
  for (auto& c : n.children)
    flatten(c, supervisors_only, out);
}

} // namespace

shell::shell(caf::actor_system& sys, std::function<caf::expected<caf::actor>()> reattach, std::string address,
             std::string who, bool json)
  : sys_(sys), reattach_(std::move(reattach)), address_(std::move(address)), who_(std::move(who)), json_(json) {
  stop_watching = [](std::chrono::milliseconds wait) { return key_pressed(wait); };
}

const std::vector<shell_command_info>& shell::commands() {
  return table();
}

const shell_command_info* shell::find_command(const std::string& name) {
  auto& wanted = name == "exit" ? std::string{"quit"} : name;
  for (auto& c : table())
    if (c.name == wanted)
      return &c;
  return nullptr;
}

std::string shell::closest_command(const std::string& word) {
  std::string best;
  size_t best_d = 4;
  for (auto& c : table()) {
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
  if (auto rows = cluster::cluster_status(sys_, node_, detail::shell_call_timeout))
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

bool shell::known_member(const std::string& m, std::ostream& err) {
  auto all = member_names();
  if (std::find(all.begin(), all.end(), m) != all.end())
    return true;
  err << "no member named " << m << "; members: " << detail::join(all, ", ") << '\n';
  return false;
}

std::optional<shell::target> shell::locate(const std::string& arg, const std::string& fallback, std::ostream& err) {
  auto t = parse_target(arg, fallback);
  bool named = !t.member.empty();
  if (!named)
    t.member = self_name();
  if (named && !known_member(t.member, err))
    return std::nullopt;
  return t;
}

int shell::failed(const caf::error& e, std::ostream& err) {
  auto lost = cluster::is(e, cluster::errc::timeout) || cluster::is(e, cluster::errc::no_node)
              || e == caf::sec::request_receiver_down;
  err << explain(e) << '\n';
  if (lost)
    check_connection(err);
  return 1;
}

int shell::usage(const std::string& name, std::ostream& err) const {
  err << "usage: " << find_command(name)->usage << '\n';
  return 2;
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
  if (words.empty()) {
    auto out = complete_arg(shell_arg::command, words, word);
    if (std::string{"exit"}.rfind(word, 0) == 0)
      out.push_back("exit");
    return out;
  }
  auto* c = find_command(words[0]);
  auto arg = words.size() - 1; // index of the argument being typed
  if (!c || arg >= c->args.size())
    return {};
  return complete_arg(c->args[arg], words, word);
}

std::vector<std::string> shell::complete_arg(shell_arg kind, const std::vector<std::string>& words,
                                             const std::string& word) {
  std::vector<std::string> out;
  auto add_if_prefix = [&](const std::string& candidate) {
    if (candidate.rfind(word, 0) == 0)
      out.push_back(candidate);
  };
  switch (kind) {
    case shell_arg::other:
      break;
    case shell_arg::command:
      for (auto& c : table())
        add_if_prefix(c.name);
      break;
    case shell_arg::status:
      add_if_prefix("status");
      break;
    case shell_arg::member:
      for (auto& m : member_names())
        add_if_prefix(m);
      break;
    case shell_arg::node_or_path:
    case shell_arg::actor_path:
    case shell_arg::supervisor_path: {
      auto colon = word.find(':');
      if (word.empty() || (word[0] != '/' && colon == std::string::npos)) {
        // A member name (then ':' and a path), or a path on the attached node.
        for (auto& m : member_names()) {
          if (kind == shell_arg::node_or_path)
            add_if_prefix(m);
          add_if_prefix(m + ":/root");
        }
        if (!word.empty())
          return out;
      }
      std::string member = word[0] == '/' || colon == std::string::npos ? self_name() : word.substr(0, colon);
      std::string prefix = word[0] == '/' || colon == std::string::npos ? "" : member + ":";
      for (auto& p : paths_of(member, kind == shell_arg::supervisor_path))
        add_if_prefix(prefix + p);
      break;
    }
    case shell_arg::child_id: {
      auto t = parse_target(words.at(1), "/root");
      auto member = t.member.empty() ? self_name() : t.member;
      if (auto kids = cluster::which_children({sys_, node_, member, 3s}, t.path))
        for (auto& k : *kids)
          add_if_prefix(k.id);
      break;
    }
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
  auto* c = find_command(words[0]);
  if (!c) {
    auto near = closest_command(words[0]);
    err << "unknown command " << words[0] << (near.empty() ? "" : "; did you mean " + near + "?")
        << " (help lists all)\n";
    return 2;
  }
  if (c->needs_node && !node_ && !connect(err))
    return 1;
  return (this->*(c->run))(shell_call{{words.begin() + 1, words.end()}, out, err});
}

} // namespace cafmcp::cli
