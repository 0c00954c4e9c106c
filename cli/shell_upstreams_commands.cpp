// The shell's upstreams command: the upstream servers each member runs, added and removed for the whole cluster.

#include "cli/shell.hpp"

#include <optional>
#include <stdexcept>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "cli/detail/shell_support.hpp"
#include "cli/text_table.hpp"
#include "cluster/admin_client.hpp"
#include "protocol/route_document.hpp"

namespace cafmcp::cli {

namespace {

using nlohmann::json;
using protocol::route_document;

/// "program a b" or the URL, for a listing.
std::string what_of(const json& entry) {
  if (!entry.is_object())
    return entry.dump();
  auto url = entry.value("url", std::string{});
  if (!url.empty())
    return url;
  std::string out;
  for (auto& w : entry.value("command", json::array()))
    out += (out.empty() ? "" : " ") + (w.is_string() ? w.get<std::string>() : w.dump());
  return out;
}

} // namespace

int shell::run_upstreams(const shell_call& c) {
  if (auto rc = change_verbs(c, "upstreams",
                             [&](auto& verb, auto& name, auto& entry) { return change_upstreams(c, verb, name, entry); }))
    return *rc;
  auto [found, newest, rc] =
    list_versions(c, "upstreams", "UPSTREAMS", "upstreams", [](const route_document& d) { return d.upstreams; });
  if (!newest)
    return rc;
  if (!newest->upstreams) {
    c.out << "no upstream was added or removed at run time: each member runs its config's \"upstreams\" (the "
             "shell's tree shows them under upstream_sup)\n";
    return rc;
  }
  std::vector<std::vector<std::string>> ups{{"UPSTREAM", "KIND", "SERVER"}};
  for (auto& [name, entry] : newest->upstreams->items())
    ups.push_back({name, entry.value("url", std::string{}).empty() ? "stdio" : "http", what_of(entry)});
  c.out << "version " << newest->version << " names " << newest->upstreams->size() << " upstreams:\n"
        << render_table(ups);
  return rc;
}

int shell::change_upstreams(const shell_call& c, const std::string& verb, const std::string& name,
                            const std::string& entry) {
  // Checked here first, so that a typo is bad usage (2), named as the node
  // would name it. Whether the program may run is for the members to say.
  try {
    if (verb != "remove") {
      auto parsed = json::parse(entry, nullptr, false);
      std::vector<std::string> program;
      if (parsed.is_object() && parsed.contains("command") && parsed["command"].is_array()
          && !parsed["command"].empty() && parsed["command"][0].is_string())
        program.push_back(parsed["command"][0].get<std::string>());
      route_document{}.with_upstream(name, entry, true, json::object(), program);
    } else if (name.empty()) {
      throw std::invalid_argument("give the upstream's name");
    }
  } catch (const std::invalid_argument& e) {
    c.err << "upstreams " << verb << ": " << e.what() << '\n';
    return 2;
  }
  // Made once, by the attached member; every member then finds the new version.
  cluster::admin_target at{sys_, node_, self_name(), std::chrono::seconds(60)};
  auto answer = verb == "remove" ? cluster::upstreams_remove(at, name)
                                 : cluster::upstreams_add(at, name, entry, verb == "replace");
  auto change = spread_change(c, "upstreams " + verb, name, answer);
  if (!change)
    return 1;
  auto note = verb == "remove" ? std::string{}
                               : "each member starts it now; its tools appear as " + name
                                   + ".* once it has listed them (see the tree, and the member's log)";
  return report_change(c, "upstream", name, verb, "version", change->first.version, change->second, note);
}

} // namespace cafmcp::cli
