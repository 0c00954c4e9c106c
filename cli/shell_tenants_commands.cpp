// The shell's tenants command: each tenant's view of the catalog and rate limit, changed for the whole cluster.

#include "cli/shell.hpp"

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

/// "a, b" for a list of globs ("-": none).
std::string globs_text(const json& list) {
  std::string out;
  for (auto& g : list)
    out += (out.empty() ? "" : ", ") + (g.is_string() ? g.get<std::string>() : g.dump());
  return out.empty() ? "-" : out;
}

} // namespace

int shell::run_tenants(const shell_call& c) {
  if (auto rc = change_verbs(c, "tenants",
                             [&](auto& verb, auto& name, auto& entry) { return change_tenants(c, verb, name, entry); }))
    return *rc;
  auto [found, newest, rc] =
    list_versions(c, "tenants", "TENANTS", "tenants", [](const route_document& d) { return d.tenants; });
  if (!newest)
    return rc;
  if (!newest->tenants) {
    c.out << "no tenant was added or removed at run time: each member applies its config's \"tenants\"\n";
    return rc;
  }
  std::vector<std::vector<std::string>> ts{{"TENANT", "TOOLS", "DENY_TOOLS", "RATE"}};
  for (auto& [name, entry] : newest->tenants->items()) {
    auto rate = entry.value("rate", std::string{});
    ts.push_back({name, globs_text(entry.value("tools", json::array())),
                  globs_text(entry.value("deny_tools", json::array())), rate.empty() ? "-" : rate});
  }
  c.out << "version " << newest->version << " names " << newest->tenants->size() << " tenants:\n" << render_table(ts);
  return rc;
}

int shell::change_tenants(const shell_call& c, const std::string& verb, const std::string& name,
                          const std::string& entry) {
  // Checked here first, so that a typo is bad usage (2), named as the node would name it.
  try {
    if (verb != "remove")
      route_document{}.with_tenant(name, entry, true, json::object());
    else if (name.empty())
      throw std::invalid_argument("give the tenant's name");
  } catch (const std::invalid_argument& e) {
    c.err << "tenants " << verb << ": " << e.what() << '\n';
    return 2;
  }
  // Made once, by the attached member; every member then finds the new version.
  cluster::admin_target at{sys_, node_, self_name(), std::chrono::seconds(60)};
  auto answer = verb == "remove" ? cluster::tenants_remove(at, name)
                                 : cluster::tenants_add(at, name, entry, verb == "replace");
  auto change = spread_change(c, "tenants " + verb, name, answer);
  if (!change)
    return 1;
  auto note = verb == "remove" ? "its callers see the whole catalog again, without its rate limit"
                               : "its callers see the tools it allows from the next request; clients are told "
                                 "their lists changed";
  return report_change(c, "tenant", name, verb, "version", change->first.version, change->second, note);
}

} // namespace cafmcp::cli
