// The shell's routing rules command: each member's version, changes made once for the whole cluster, a request explained.

#include "cli/shell.hpp"

#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "cli/detail/shell_support.hpp"
#include "cli/routes_command.hpp"
#include "cli/text_table.hpp"
#include "cluster/admin_client.hpp"
#include "cluster/client.hpp"
#include "protocol/route_document.hpp"

namespace cafmcp::cli {

namespace {

using nlohmann::json;
using detail::shell_call_timeout;
using protocol::route_document;
using namespace std::chrono_literals;

// A change reaches every member within its routes_poll_ms; past this the
// command says which members do not apply it yet.
constexpr auto spread_limit = 15s;

} // namespace

std::optional<route_document> shell::routes_on(const std::string& member, std::ostream& err) {
  auto text = cluster::routes_of({sys_, node_, member, shell_call_timeout});
  if (!text) {
    err << member << ": " << explain(text.error()) << '\n';
    return std::nullopt;
  }
  auto doc = route_document::from_text(*text);
  if (!doc)
    err << member << ": answered something that is not routing rules: " << *text << '\n';
  return doc;
}

int shell::run_routes(const shell_call& c) {
  auto& args = c.args;
  auto verb = args.empty() ? std::string{} : args[0];
  if (auto rc = change_verbs(c, "routes", [&](auto& v, auto& id, auto& rule) { return change_routes(c, v, id, rule); }))
    return *rc;
  if (verb == "test")
    return test_routes(c);
  auto v = list_versions(c, "routes", "RULES", "routes", [](const route_document& d) { return d.routes; });
  if (v.newest)
    c.out << render_routes(v.newest->compile().get(), v.newest->version);
  return v.rc;
}

shell::member_versions
shell::list_versions(const shell_call& c, const std::string& command, const std::string& column, const std::string& key,
                     const std::function<std::optional<json>(const route_document&)>& part) {
  auto& args = c.args;
  if (args.size() > 1)
    return {{}, std::nullopt, usage(command, c.err)};
  if (!args.empty() && !known_member(args[0], c.err))
    return {{}, std::nullopt, 1};
  auto members = args.empty() ? member_names() : std::vector<std::string>{args[0]};
  auto v = versions_on(members, c.err);
  std::vector<std::vector<std::string>> rows{{"NODE", "VERSION", column}};
  auto j = json::array();
  bool mixed = false;
  for (auto& [m, doc] : v.found) {
    auto named = part(doc);
    rows.push_back({m, std::to_string(doc.version), named ? std::to_string(named->size()) : "its config's"});
    j.push_back({{"node", m}, {"version", doc.version}, {key, named ? *named : json(nullptr)}});
    mixed = mixed || (v.newest && doc.version != v.newest->version);
  }
  if (json_) {
    c.out << j.dump(2) << '\n';
    v.newest.reset();
    return v;
  }
  c.out << render_table(rows);
  if (mixed)
    c.out << "members apply different versions: a change is on its way (each member looks every "
             "cluster.routes_poll_ms)\n";
  return v;
}

int shell::change_routes(const shell_call& c, const std::string& verb, const std::string& id, const std::string& rule) {
  // Checked here first, so that a typo is bad usage (2) named as the node would name it.
  try {
    if (verb == "remove" ? !protocol::valid_route_id(id) : false)
      throw std::invalid_argument("route id \"" + id + "\": must be 1 to 64 of a-z, A-Z, 0-9, _, - and .");
    if (verb != "remove")
      route_document{}.with_rule(id, rule, true);
  } catch (const std::invalid_argument& e) {
    c.err << "routes " << verb << ": " << e.what() << '\n';
    return 2;
  }
  // Made once, by the attached member; every member then finds the new version.
  // Longer than the node retries a change (30 s, cluster/route_sync.cpp).
  cluster::admin_target at{sys_, node_, self_name(), std::chrono::seconds(60)};
  auto answer = verb == "remove" ? cluster::routes_remove(at, id) : cluster::routes_add(at, id, rule, verb == "replace");
  auto change = spread_change(c, "routes " + verb, id, answer);
  if (!change)
    return 1;
  return report_change(c, "route", id, verb, "rules version", change->first.version, change->second, "");
}

std::optional<int> shell::change_verbs(const shell_call& c, const std::string& command,
                                       const std::function<int(const std::string&, const std::string&,
                                                               const std::string&)>& change) {
  auto& args = c.args;
  auto verb = args.empty() ? std::string{} : args[0];
  if (verb == "add" || verb == "replace")
    return args.size() == 3 ? change(verb, args[1], args[2]) : usage(command, c.err);
  if (verb == "remove")
    return args.size() == 2 ? change(verb, args[1], {}) : usage(command, c.err);
  return std::nullopt;
}

int shell::report_change(const shell_call& c, const std::string& kind, const std::string& name, const std::string& verb,
                         const std::string& version_word, uint64_t version, const version_spread& spread,
                         const std::string& note) {
  auto& [applied, pending, away, versions] = spread;
  auto what = verb == "remove" ? "removed" : verb == "replace" ? "replaced" : "added";
  if (json_) {
    c.out << json{{kind, name},           {"change", what},      {"version", version},
                  {"applied", applied},   {"pending", pending},  {"unreachable", away}}
               .dump(2)
          << '\n';
  } else {
    c.out << kind << " " << name << " " << what << ": " << version_word << " " << version << ", applied on "
          << (applied.empty() ? "no member yet" : detail::join(applied, ", ")) << '\n';
    if (!note.empty())
      c.out << note << '\n';
    if (!away.empty())
      c.out << "not reachable now: " << detail::join(away, ", ") << "; each applies it once it is back\n";
  }
  return pending.empty() ? 0 : 1;
}

shell::member_versions shell::versions_on(const std::vector<std::string>& members, std::ostream& err) {
  member_versions out;
  for (auto& m : members) {
    auto doc = routes_on(m, err);
    if (!doc) {
      out.rc = 1;
      continue;
    }
    if (!out.newest || doc->version > out.newest->version)
      out.newest = doc;
    out.found.emplace_back(m, std::move(*doc));
  }
  return out;
}

std::optional<std::pair<route_document, shell::version_spread>>
shell::spread_change(const shell_call& c, const std::string& what, const std::string& subject,
                     const caf::expected<std::string>& answer) {
  if (!answer) {
    c.err << what << " " << subject << ": " << explain(answer.error()) << '\n';
    return std::nullopt;
  }
  auto doc = route_document::from_text(*answer);
  if (!doc) {
    c.err << what << ": the node answered something that is not a routing version: " << *answer << '\n';
    return std::nullopt;
  }
  auto spread = spread_version(c, what, doc->version);
  if (!spread)
    return std::nullopt;
  return std::make_pair(std::move(*doc), std::move(*spread));
}

std::optional<shell::version_spread> shell::spread_version(const shell_call& c, const std::string& what,
                                                           uint64_t version) {
  // Wait (bounded) until every reachable member applies it, and say which
  // do not; one that is down finds it when it is back.
  version_spread out;
  auto& [applied, pending, away, versions] = out;
  auto deadline = std::chrono::steady_clock::now() + spread_limit;
  for (int round = 0; round < 300; ++round) { // bounded in count too: 300 × 50 ms
    applied.clear();
    pending.clear();
    away.clear();
    auto rows = cluster::cluster_status(sys_, node_, shell_call_timeout);
    if (!rows) {
      c.err << what << ": version " << version << " made, but the cluster's members cannot be listed: "
            << explain(rows.error()) << '\n';
      return std::nullopt;
    }
    for (auto& r : *rows) {
      if (r.state == "removed")
        continue;
      if (r.state != "up" || r.health == "unhealthy") {
        away.push_back(r.node + " (" + (r.state != "up" ? r.state : r.health) + ")");
        continue;
      }
      // Each member looks now (it would within cluster.routes_poll_ms).
      auto text = cluster::routes_look({sys_, node_, r.node, shell_call_timeout});
      auto d = text ? route_document::from_text(*text) : std::nullopt;
      versions[r.node] = d ? d->version : 0;
      (d && d->version >= version ? applied : pending).push_back(r.node);
    }
    if (pending.empty() || std::chrono::steady_clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(50ms);
  }
  for (auto& m : pending)
    c.err << m << ": still applies version " << versions[m] << " after " << spread_limit.count()
          << " s (unreachable, or cannot read the cluster's rules: see its log)\n";
  return out;
}

int shell::test_routes(const shell_call& c) {
  // routes test NAME [--tenant T] [--method M] [--header "H: V"]... [--down TOOL]...
  auto& args = c.args;
  if (args.size() < 2 || args[1].rfind("--", 0) == 0)
    return usage("routes", c.err);
  routes_options opts;
  opts.name = args[1];
  for (size_t i = 2; i < args.size(); i += 2) {
    if (i + 1 >= args.size())
      return usage("routes", c.err);
    auto& flag = args[i];
    auto& value = args[i + 1];
    if (flag == "--tenant")
      opts.tenant = value;
    else if (flag == "--method")
      opts.method = value;
    else if (flag == "--header")
      opts.headers.push_back(value);
    else if (flag == "--down")
      opts.down.push_back(value);
    else
      return usage("routes", c.err);
  }
  auto doc = routes_on(self_name(), c.err);
  if (!doc)
    return 1;
  auto table = doc->compile();
  if (!table) {
    c.out << "rules version " << doc->version << ": no rules, " << opts.name << " goes to " << opts.name << '\n';
    return 0;
  }
  return explain_route(*table, opts, c.out, c.err, "routes test");
}

} // namespace cafmcp::cli
